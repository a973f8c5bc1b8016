import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

/**
 * Whether the standard OpenTelemetry variables ask for traces: an OTLP endpoint, or an exporter named
 * (other than `none`); OTEL_SDK_DISABLED=true wins over both.
 */
export function tracingWanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporter) return exporter !== "none";
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

export type Tracing = { shutdown: () => Promise<void> };

/**
 * Starts OpenTelemetry's NodeSDK when `tracingWanted`, else does nothing (and loads none of it): Drover's
 * spans then go to the API's no-op tracer. The exporter is OTLP over HTTP unless OTEL_TRACES_EXPORTER or
 * OTEL_EXPORTER_OTLP_PROTOCOL names another, which the SDK then makes itself; service name, resource
 * attributes and sampling come from the standard variables too. `exporter`: spans go there at once (tests).
 */
export async function startTracing(
  options: { env?: NodeJS.ProcessEnv; exporter?: SpanExporter } = {},
): Promise<Tracing | null> {
  const env = options.env ?? process.env;
  if (!tracingWanted(env)) return null;
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const { SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? "drover",
    // No automatic instrumentation: Drover's own spans say what happened (webhook, job, agent, push, PR).
    instrumentations: [],
    ...(options.exporter
      ? { spanProcessors: [new SimpleSpanProcessor(options.exporter)] }
      : ((await otlpHttp(env)) ?? {})),
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/** OTLP/HTTP (JSON), when the variables leave the exporter and protocol at their defaults. */
async function otlpHttp(env: NodeJS.ProcessEnv) {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim() || "otlp";
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (exporter !== "otlp" || (protocol !== undefined && protocol !== "http/json")) return undefined;
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  // The endpoint from `env` (the exporter would read process.env's); headers, timeouts from process.env.
  const url =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() ||
    (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()
      ? `${env.OTEL_EXPORTER_OTLP_ENDPOINT.trim().replace(/\/+$/, "")}/v1/traces`
      : undefined);
  return { traceExporter: new OTLPTraceExporter(url ? { url } : {}) };
}
