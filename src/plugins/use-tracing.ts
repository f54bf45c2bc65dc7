import { context, createContextKey, propagation, SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { Plugin } from 'graphql-yoga';
import { getOperationAST, type DocumentNode, type ExecutionResult } from 'graphql';
import { requestUrl } from '../shared/request-url.js';

/**
 * OpenTelemetry spans for each GraphQL request, following the semantic conventions: an HTTP server
 * span (`POST /graphql`, continuing an incoming `traceparent`), one span per operation named
 * `{graphql.operation.type} {graphql.operation.name}` with those attributes, and `graphql.parse`,
 * `graphql.validate`, `graphql.execute` under it; Prisma's spans (src/infra/tracing.ts) nest below
 * execute. Hand-written over Yoga's instrumentation hooks (made for this) and @opentelemetry/api
 * because @envelop/opentelemetry 9.2.1 requires the 1.x SDK (we run 2.x) and
 * @graphql-hive/plugin-opentelemetry pulls in the Hive gateway runtime. Variable values and the
 * document are never recorded (they may hold personal data).
 */
export function useTracing(): Plugin<{ params?: { operationName?: string | null } }> {
  const tracer = trace.getTracer('workshops-api');
  const OPERATION_SPAN = createContextKey('graphql operation span');
  const requestSpans = new WeakMap<Request, Span>();

  /** Runs `wrapped` in a child span of the active one; a thrown error marks the span. */
  function inSpan<T>(name: string, wrapped: () => T): T {
    const span = tracer.startSpan(name, {}, context.active());
    const fail = (error: unknown) => {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
      throw error;
    };
    try {
      const result = context.with(trace.setSpan(context.active(), span), wrapped);
      if (result instanceof Promise) return result.then((value) => (span.end(), value), fail) as T;
      span.end();
      return result;
    } catch (error) {
      return fail(error);
    }
  }

  /** Puts `graphql.operation.*` on the active span and the operation's, and names the latter `{type} {name}`. */
  function nameOperation(document: DocumentNode, operationName: string | null | undefined): Span | undefined {
    const operation = getOperationAST(document, operationName);
    const type = operation?.operation ?? 'query';
    const name = operation?.name?.value;
    const attributes = { 'graphql.operation.type': type, ...(name && { 'graphql.operation.name': name }) };
    trace.getActiveSpan()?.setAttributes(attributes);
    const operationSpan = context.active().getValue(OPERATION_SPAN) as Span | undefined;
    operationSpan?.setAttributes(attributes).updateName(name ? `${type} ${name}` : type);
    return operationSpan;
  }

  return {
    instrumentation: {
      request: ({ request }, wrapped) => {
        const url = requestUrl(request);
        if (!url.pathname.endsWith('/graphql')) return wrapped();
        const parent = propagation.extract(context.active(), Object.fromEntries(request.headers));
        const span = tracer.startSpan(
          `${request.method} ${url.pathname}`,
          { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'url.path': url.pathname, 'url.scheme': url.protocol.slice(0, -1), 'http.route': url.pathname } },
          parent,
        );
        requestSpans.set(request, span);
        return context.with(trace.setSpan(parent, span), async () => {
          try {
            await wrapped();
          } finally {
            span.end();
          }
        });
      },
      operation: (_, wrapped) => {
        const span = tracer.startSpan('GraphQL Operation', {}, context.active());
        return context.with(trace.setSpan(context.active(), span).setValue(OPERATION_SPAN, span), async () => {
          try {
            await wrapped();
          } finally {
            span.end();
          }
        });
      },
      parse: (_, wrapped) => inSpan('graphql.parse', wrapped),
      validate: (_, wrapped) => inSpan('graphql.validate', wrapped),
      execute: (_, wrapped) => inSpan('graphql.execute', wrapped),
    },
    onValidate({ params, context: { params: request } }) {
      // Named as soon as the document is known, so operations refused by validation are named too.
      const operationSpan = nameOperation(params.documentAST, request?.operationName);
      return ({ valid }) => {
        if (!valid) operationSpan?.setStatus({ code: SpanStatusCode.ERROR, message: 'GRAPHQL_VALIDATION_FAILED' });
      };
    },
    onExecute({ args }) {
      const operationSpan = nameOperation(args.document, args.operationName);
      return {
        onExecuteDone: ({ result }) => {
          const errors = 'errors' in result ? (result as ExecutionResult).errors : undefined;
          if (!errors?.length) return;
          const codes = [...new Set(errors.map((error) => String(error.extensions?.code ?? 'INTERNAL_SERVER_ERROR')))];
          operationSpan?.setStatus({ code: SpanStatusCode.ERROR, message: codes.join(',') });
        },
      };
    },
    onResponse({ request, response }) {
      const span = requestSpans.get(request);
      if (!span) return;
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    },
  };
}
