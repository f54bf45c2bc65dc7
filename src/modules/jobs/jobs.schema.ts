import { builder } from '../../builder.js';
import { QUEUE_NAMES, type QueueName } from '../../infra/jobs/types.js';
import type { JobQueueView } from './jobs-admin-service.js';

const QueueNameEnum = builder.enumType('JobQueueName', {
  description: 'mail: transactional messages; alerts: instant publish alerts (own workers, never behind newsletters); newsletters; maintenance: statistics, partitions.',
  values: Object.fromEntries(QUEUE_NAMES.map((name) => [name.toUpperCase(), { value: name }])) as Record<string, { value: QueueName }>,
});

const JobQueueRef = builder.objectRef<JobQueueView>('JobQueue').implement({
  description: 'Jobs of one queue by state, now.',
  fields: (t) => ({
    name: t.field({ type: QueueNameEnum, resolve: (q) => q.name }),
    waiting: t.exposeInt('waiting'),
    active: t.exposeInt('active'),
    delayed: t.exposeInt('delayed', { description: 'Waiting for their time: retries in backoff, alerts held for quiet hours.' }),
    failed: t.exposeInt('failed', { description: 'Failed for good (kept for inspection).' }),
    deadLettered: t.exposeInt('deadLettered', { description: 'Used up their attempts; `retryDeadLetters` sends them again.' }),
  }),
});

builder.queryFields((t) => ({
  jobQueues: t.field({
    type: [JobQueueRef],
    description: 'The job queues and their sizes (ADMIN).',
    resolve: (_root, _args, ctx) => ctx.services.jobsAdmin.queues(ctx.principal),
  }),
}));

builder.mutationFields((t) => ({
  retryDeadLetters: t.field({
    type: 'Int',
    description: "Sends a queue's dead-lettered jobs again with fresh attempts (ADMIN); returns how many.",
    args: { queue: t.arg({ type: QueueNameEnum, required: true }) },
    resolve: (_root, { queue }, ctx) => ctx.services.jobsAdmin.retryDeadLetters(ctx.principal, queue),
  }),
}));
