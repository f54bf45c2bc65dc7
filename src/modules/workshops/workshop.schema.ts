import { builder } from '../../builder.js';
import { LocaleEnum, LocalizedTextInput } from '../../shared/locale-enum.js';
import { localized } from '../../shared/locale.js';
import { assertPageSize, resolveCursorConnection, resolveTotalCount, selectsField } from '../../shared/pagination.js';
import { seatsTaken } from './seats.js';
import { workshopVisibility } from './workshop-visibility.js';
import type { WorkshopRow } from './workshops-service.js';

export const WorkshopStatusEnum = builder.enumType('WorkshopStatus', {
  values: ['DRAFT', 'PUBLISHED', 'ARCHIVED'] as const,
});

export const WorkshopRef = builder.prismaNode('Workshop', {
  id: { field: 'id' },
  nullable: true,
  // Hidden workshops (drafts for non-editors, deleted ones for all) resolve to null, like missing ones.
  findUnique: (id, ctx) => ({ id, AND: [workshopVisibility(ctx.principal).where] }),
  fields: (t) => ({
    slug: t.exposeString('slug'),
    title: t.string({
      args: { locale: t.arg({ type: LocaleEnum }) },
      resolve: (w, args, ctx) => localized(args.locale ?? ctx.locale, w.titleEn, w.titlePl),
    }),
    description: t.string({
      args: { locale: t.arg({ type: LocaleEnum }) },
      resolve: (w, args, ctx) => localized(args.locale ?? ctx.locale, w.descriptionEn, w.descriptionPl),
    }),
    hasPolishTranslation: t.boolean({ resolve: (w) => Boolean(w.titlePl && w.descriptionPl) }),
    status: t.expose('status', { type: WorkshopStatusEnum }),
    startsAt: t.expose('startsAt', { type: 'DateTime' }),
    endsAt: t.expose('endsAt', { type: 'DateTime' }),
    timezone: t.exposeString('timezone', { description: 'IANA time zone the workshop is held in, for display.' }),
    capacity: t.exposeInt('capacity'),
    location: t.exposeString('location', { nullable: true }),
    onlineUrl: t.exposeString('onlineUrl', { nullable: true }),
    tags: t.exposeStringList('tags', { description: 'Topic slugs (see `topics`).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    enrollmentCount: t.int({
      description: 'Seats taken (ENROLLED, ATTENDED, or PENDING: held for a person who has not confirmed yet).',
      resolve: async (w, _args, ctx) => seatsTaken(await ctx.loaders.workshops.enrollmentCounts.load(w.id)),
    }),
    waitlistCount: t.int({
      resolve: async (w, _args, ctx) => (await ctx.loaders.workshops.enrollmentCounts.load(w.id)).WAITLISTED,
    }),
    seatsLeft: t.int({
      resolve: async (w, _args, ctx) => Math.max(0, w.capacity - seatsTaken(await ctx.loaders.workshops.enrollmentCounts.load(w.id))),
    }),
  }),
});

const WorkshopOrderEnum = builder.enumType('WorkshopOrder', {
  values: {
    STARTS_AT_ASC: { description: 'Soonest first (default).' },
    STARTS_AT_DESC: {},
    CREATED_AT_DESC: { description: 'Newest first.' },
    TITLE_ASC: { description: 'By title in the requested locale.' },
    RELEVANCE: { description: 'Best full-text match first (default when searching).' },
  } as const,
});

const WorkshopFilter = builder.inputType('WorkshopFilter', {
  fields: (t) => ({
    status: t.field({ type: WorkshopStatusEnum, description: 'Non-editors only ever see PUBLISHED.' }),
    tag: t.string({ description: 'A topic slug.' }),
    search: t.string({ description: 'Full-text search over titles and descriptions: English stemmed, Polish inflected forms by trigram similarity, with or without diacritics.' }),
    startsAfter: t.field({ type: 'DateTime', description: 'Inclusive.' }),
    startsBefore: t.field({ type: 'DateTime', description: 'Exclusive.' }),
    upcoming: t.boolean({ description: 'true: only workshops starting now or later; false: only those that have started.' }),
  }),
});

builder.queryFields((t) => ({
  workshops: t.connection(
    {
      type: WorkshopRef,
      description: 'Workshops the caller may see, in keyset pages.',
      args: {
        filter: t.arg({ type: WorkshopFilter }),
        orderBy: t.arg({ type: WorkshopOrderEnum }),
      },
      resolve: async (_root, args, ctx, info) => {
        assertPageSize(args);
        const filter = args.filter ?? {};
        const orderBy = args.orderBy ?? (filter.search?.trim() ? 'RELEVANCE' : 'STARTS_AT_ASC');
        const service = ctx.services.workshops;
        // The count rides along with the page when it is asked for (one statement instead of two).
        const withTotal = selectsField(info, 'totalCount');
        let counted: number | null = null;
        const page = await resolveCursorConnection(
          { args, toCursor: (row: WorkshopRow) => service.cursorFor(row), toNode: (row) => row.workshop },
          async (params): Promise<WorkshopRow[]> => {
            const { rows, totalCount } = await service.page(ctx.principal, { ...params, filter, orderBy, locale: ctx.locale, withTotal });
            counted = totalCount;
            return rows;
          },
        );
        // Whole rows came with the page: the loader serves them to nested fields (an enrollment's workshop).
        for (const { node } of page.edges) ctx.loaders.workshops.byId.prime(node.id, node);
        return { ...page, totalCount: async () => counted ?? service.count(ctx.principal, filter) };
      },
    },
    {
      name: 'WorkshopConnection',
      fields: (c) => ({ totalCount: c.int({ resolve: resolveTotalCount }) }),
    },
  ),
  workshop: t.prismaField({
    type: 'Workshop',
    nullable: true,
    args: { id: t.arg.globalID({ required: true, for: WorkshopRef }) },
    resolve: (query, _root, { id }, ctx) =>
      ctx.db.workshop.findFirst({ ...query, where: { id: id.id, ...workshopVisibility(ctx.principal).where } }),
  }),
  workshopBySlug: t.prismaField({
    type: 'Workshop',
    nullable: true,
    args: { slug: t.arg.string({ required: true }) },
    resolve: (query, _root, { slug }, ctx) =>
      ctx.db.workshop.findFirst({ ...query, where: { slug, ...workshopVisibility(ctx.principal).where } }),
  }),
}));

const workshopInputFields = (required: boolean) =>
  builder.inputType(required ? 'CreateWorkshopInput' : 'UpdateWorkshopInput', {
    fields: (t) => ({
      slug: t.string({ required }),
      title: t.field({ type: LocalizedTextInput, required }),
      description: t.field({ type: LocalizedTextInput, required }),
      startsAt: t.field({ type: 'DateTime', required }),
      endsAt: t.field({ type: 'DateTime', required }),
      timezone: t.string({ required, description: 'IANA time zone, e.g. Europe/Warsaw.' }),
      capacity: t.int({ required }),
      location: t.string(),
      onlineUrl: t.string(),
      tags: t.stringList({ description: 'Topic slugs.' }),
    }),
  });

const CreateWorkshopInput = workshopInputFields(true);
const UpdateWorkshopInput = workshopInputFields(false);

builder.mutationFields((t) => ({
  createWorkshop: t.field({
    type: WorkshopRef,
    description: 'Creates a DRAFT workshop (editors).',
    args: { input: t.arg({ type: CreateWorkshopInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.workshops.create(ctx.principal, input),
  }),
  updateWorkshop: t.field({
    type: WorkshopRef,
    description: 'Changes the given fields (editors). Raising the capacity seats waitlisted people.',
    args: { id: t.arg.globalID({ required: true, for: WorkshopRef }), input: t.arg({ type: UpdateWorkshopInput, required: true }) },
    resolve: (_root, { id, input }, ctx) => ctx.services.workshops.update(ctx.principal, id.id, input),
  }),
  publishWorkshop: t.field({
    type: WorkshopRef,
    args: { id: t.arg.globalID({ required: true, for: WorkshopRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.workshops.setStatus(ctx.principal, id.id, 'PUBLISHED'),
  }),
  archiveWorkshop: t.field({
    type: WorkshopRef,
    args: { id: t.arg.globalID({ required: true, for: WorkshopRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.workshops.setStatus(ctx.principal, id.id, 'ARCHIVED'),
  }),
  deleteWorkshop: t.field({
    type: WorkshopRef,
    description: 'Soft-deletes a workshop (editors); it disappears from every query.',
    args: { id: t.arg.globalID({ required: true, for: WorkshopRef }) },
    resolve: (_root, { id }, ctx) => ctx.services.workshops.softDelete(ctx.principal, id.id),
  }),
}));
