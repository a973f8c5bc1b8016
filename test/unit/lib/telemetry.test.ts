import { describe, expect, it } from "vitest";
import { tracingWanted } from "../../../src/lib/telemetry.ts";

describe("whether the OTEL_* variables ask for traces", () => {
  it("asks for them with an OTLP endpoint or a traces exporter", () => {
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true);
    expect(tracingWanted({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toBe(
      true,
    );
    expect(tracingWanted({ OTEL_TRACES_EXPORTER: "console" })).toBe(true);
  });

  it("does not without them, with the exporter `none`, or when the SDK is disabled", () => {
    expect(tracingWanted({})).toBe(false);
    expect(tracingWanted({ OTEL_SERVICE_NAME: "drover", OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBe(false);
    expect(
      tracingWanted({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }),
    ).toBe(false);
    expect(tracingWanted({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBe(
      false,
    );
    expect(tracingWanted({ OTEL_SDK_DISABLED: "TRUE", OTEL_TRACES_EXPORTER: "otlp" })).toBe(false);
    expect(tracingWanted({ OTEL_SDK_DISABLED: "false", OTEL_TRACES_EXPORTER: "otlp" })).toBe(true);
  });
});
