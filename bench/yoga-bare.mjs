// graphql-yoga alone, as our server configures it where it matters for `{ __typename }` (no body-size
// stream, no GraphiQL or landing page, logging off), on an empty schema without plugins: the ceiling
// of the framework per request, printed by bench/peer.ts beside ours and PostGraphile's. Loopback only.
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { ping: Boolean }' }),
  maxRequestBodySize: false,
  graphiql: false,
  landingPage: false,
  logging: false,
});
const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}/graphql`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
