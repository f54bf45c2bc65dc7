import type { DefaultConnectionArguments } from '@pothos/plugin-relay';
import type { AuditEvent, Prisma } from '../../generated/prisma/client.js';
import type { Db } from '../../infra/db.js';
import { ForbiddenError } from '../../shared/errors.js';
import { assertPageSize, keysetPage, NEWEST_FIRST } from '../../shared/pagination.js';
import { isAdmin, isEditor, type Principal } from '../auth/principal.js';
import type { AuditedType } from './revisions.js';

export interface AuditLogFilter {
  entityType?: string | null;
  action?: string | null;
  actorName?: string | null;
  from?: Date | null;
  to?: Date | null;
}

/** Reads the history the services record (src/modules/audit/revisions.ts). */
export class AuditService {
  constructor(private readonly db: Db) {}

  /** A workshop's or questionnaire's revisions (a questionnaire's include its questions'), newest first. Editors only. */
  async revisions(principal: Principal, root: { type: AuditedType; id: string }, args: DefaultConnectionArguments) {
    if (!isEditor(principal)) throw new ForbiddenError('Only editors may read revisions');
    return this.page({ rootType: root.type, rootId: root.id }, args);
  }

  /** Every recorded write, newest first (ADMIN). */
  async log(principal: Principal, filter: AuditLogFilter, args: DefaultConnectionArguments) {
    if (!isAdmin(principal)) throw new ForbiddenError('Only admins may read the audit log');
    const where: Prisma.AuditEventWhereInput = {
      ...(filter.entityType ? { entityType: filter.entityType } : {}),
      ...(filter.action ? { action: filter.action } : {}),
      ...(filter.actorName ? { actorName: filter.actorName } : {}),
      ...(filter.from || filter.to ? { createdAt: { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) } } : {}),
    };
    return this.page(where, args);
  }

  private async page(where: Prisma.AuditEventWhereInput, args: DefaultConnectionArguments) {
    assertPageSize(args);
    return {
      ...(await keysetPage<AuditEvent>(args, NEWEST_FIRST, ({ cursorWhere, orderBy, take }) =>
        this.db.auditEvent.findMany({ where: { AND: [where, ...cursorWhere] }, orderBy, take }),
      )),
      totalCount: () => this.db.auditEvent.count({ where }),
    };
  }
}
