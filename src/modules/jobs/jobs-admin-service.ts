import type { JobSystem, QueueCounts, QueueName } from '../../infra/jobs/types.js';
import { QUEUE_NAMES } from '../../infra/jobs/types.js';
import { ForbiddenError } from '../../shared/errors.js';
import { isAdmin, type Principal } from '../auth/principal.js';

export interface JobQueueView extends QueueCounts {
  name: QueueName;
}

/** Operators' view of the job queues (ADMIN). */
export class JobsAdminService {
  constructor(private readonly jobs: JobSystem | null) {}

  async queues(principal: Principal): Promise<JobQueueView[]> {
    requireAdmin(principal);
    if (!this.jobs) return [];
    const counts = await this.jobs.counts();
    return QUEUE_NAMES.map((name) => ({ name, ...counts[name] }));
  }

  async retryDeadLetters(principal: Principal, queue: QueueName): Promise<number> {
    requireAdmin(principal);
    return this.jobs ? this.jobs.retryDeadLetters(queue) : 0;
  }
}

function requireAdmin(principal: Principal): void {
  if (!isAdmin(principal)) throw new ForbiddenError('Only admins may see or retry job queues');
}
