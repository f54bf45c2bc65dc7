import { getOperationAST } from 'graphql';
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
  const scoped = ({ args, executeFn, setExecuteFn }: { args: { contextValue: Context; document: any; operationName?: string | null }; executeFn: (...a: any[]) => any; setExecuteFn: (fn: any) => void }) => {
    const reads = args.contextValue.reads;
    if (getOperationAST(args.document, args.operationName)?.operation !== 'query') reads.wrote = true;
    setExecuteFn((executeArgs: unknown) => withRequestReads(reads, () => executeFn(executeArgs)));
  };
  return {
    onExecute: ({ args, executeFn, setExecuteFn }) => scoped({ args: args as never, executeFn, setExecuteFn }),
    onSubscribe: ({ args, subscribeFn, setSubscribeFn }) => scoped({ args: args as never, executeFn: subscribeFn, setExecuteFn: setSubscribeFn }),
  };
}
