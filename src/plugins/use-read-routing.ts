import { getOperationAST, type ExecutionArgs } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { withRequestReads } from '../infra/replicas.js';

/**
 * Read replicas, per request (src/infra/replicas.ts): the operation runs with the context's routing
 * state, so every Prisma read inside it (resolvers, loaders, services) may go to a replica until the
 * request writes. A mutation writes from its first resolver on: all of it, the selections read after
 * the write included, runs on the primary (read-your-writes). So does a subscription: its events are
 * read right after another request's write, which a replica may not have replayed yet.
 */
export function useReadRouting(): Plugin<Context> {
  /** The routing state of this operation, marked as writing unless it is a query. */
  const readsOf = (args: ExecutionArgs): Context['reads'] => {
    const { reads } = args.contextValue as Context;
    if (getOperationAST(args.document, args.operationName)?.operation !== 'query') reads.wrote = true;
    return reads;
  };
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const reads = readsOf(args);
      setExecuteFn((executeArgs) => withRequestReads(reads, () => executeFn(executeArgs)));
    },
    onSubscribe({ args, subscribeFn, setSubscribeFn }) {
      const reads = readsOf(args);
      setSubscribeFn((subscribeArgs) => withRequestReads(reads, () => subscribeFn(subscribeArgs)));
    },
  };
}
