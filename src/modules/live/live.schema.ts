import { builder } from '../../builder.js';
import { createLoaders, type Context } from '../../context.js';
import type { Workshop } from '../../generated/prisma/client.js';
import { WorkshopRef, WorkshopStatusEnum } from '../workshops/workshop.schema.js';
import type { Subscriber } from './live-updates.js';

builder.subscriptionType({ description: 'Live updates over Server-Sent Events (`Accept: text/event-stream`).' });

const WorkshopChangeFilter = builder.inputType('WorkshopChangeFilter', {
  fields: (t) => ({
    status: t.field({ type: WorkshopStatusEnum, description: 'Non-editors only ever see PUBLISHED.' }),
    tag: t.string({ description: 'A topic slug.' }),
    upcoming: t.boolean({ description: 'true: only workshops starting now or later; false: only those that have started.' }),
  }),
});

/** The subscriber as the live updates see it; each event gets fresh loaders, so counts are never the previous event's. */
function subscriber(ctx: Context): Subscriber {
  // Yoga's context also carries the request it serves.
  const { request } = ctx as Context & { request?: Request };
  return { principal: ctx.principal, clientAddress: ctx.clientAddress, signal: request?.signal, onEvent: () => (ctx.loaders = createLoaders(ctx.db)) };
}

builder.subscriptionFields((t) => ({
  workshopChanged: t.field({
    type: WorkshopRef,
    description:
      'The workshop now, then again after every change (enrollments, cancellations, check-ins, edits, publishing): select `seatsLeft`, `waitlistCount`, `status`. Anonymous callers follow published workshops only; one that is unpublished or deleted stops being delivered.',
    args: { id: t.arg.globalID({ required: true, for: WorkshopRef }) },
    subscribe: (_root, { id }, ctx) => ctx.services.live.followWorkshop(subscriber(ctx), id.id),
    resolve: (workshop: Workshop) => workshop,
  }),
  workshopsChanged: t.field({
    type: WorkshopRef,
    description: 'Every workshop the caller may see that changes and matches the filter, as it is after the change (for list pages).',
    args: { filter: t.arg({ type: WorkshopChangeFilter }) },
    subscribe: (_root, { filter }, ctx) => ctx.services.live.followWorkshops(subscriber(ctx), filter ?? {}),
    resolve: (workshop: Workshop) => workshop,
  }),
}));
