import type { Logger } from './logger.js';

/**
 * Starts the OpenTelemetry SDK when the standard OTEL_* variables name an exporter (`env.tracing`).
 * The NodeSDK reads the exporter, protocol, endpoint, headers, sampler, service name and resource
 * attributes from those variables itself, so operators configure tracing as for any other service.
 * Database spans come from Prisma's own instrumentation (it hooks the client through a global, so it
 * works under ESM without loader hooks); the request and GraphQL spans from src/plugins/use-tracing.ts.
 * Loaded lazily: with tracing off (the default) none of the SDK is imported.
 * Returns the flush-and-stop for the graceful shutdown, which runs last so the final spans leave.
 */
export async function startTracing(logger: Logger, defaultServiceName: 'workshops-api' | 'workshops-worker'): Promise<{ close(): Promise<void> }> {
  const [{ NodeSDK }, { PrismaInstrumentation }] = await Promise.all([import('@opentelemetry/sdk-node'), import('@prisma/instrumentation')]);
  // The SDK's `serviceName` overrides OTEL_SERVICE_NAME, so it is given only when the operator named none.
  const serviceName = process.env.OTEL_SERVICE_NAME ? undefined : defaultServiceName;
  const sdk = new NodeSDK({ serviceName, instrumentations: [new PrismaInstrumentation()] });
  sdk.start();
  logger.info({ service: serviceName ?? process.env.OTEL_SERVICE_NAME }, 'OpenTelemetry tracing on');
  return { close: () => sdk.shutdown() };
}
