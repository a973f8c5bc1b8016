import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { receiveWebhook } from "../../src/intake/receive.ts";
import { startTracing } from "../../src/lib/telemetry.ts";
import { enqueuer } from "../../src/queue/job-catalog.ts";
import type { WorkQueue } from "../../src/queue/queue.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { issueLabeled } from "../helpers/payloads.ts";

/** Without OTEL_* asking (or with the SDK disabled), nothing is traced: no span, and no traceparent queued. */
describe("tracing off", () => {
  const testDb = useTestDatabase();

  it("starts nothing, records no span and puts no traceparent in job data", async () => {
    const exporter = new InMemorySpanExporter();
    expect(await startTracing({ env: {}, exporter })).toBeNull();
    expect(
      await startTracing({
        env: { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" },
        exporter,
      }),
    ).toBeNull();

    // The queue as BullMQ would get it: name, data, id.
    const added: { name: string; data: object }[] = [];
    const queue = { add: async (name: string, data: object) => void added.push({ name, data }) };
    const received = await receiveWebhook(
      {
        db: testDb.database().db,
        enqueue: enqueuer(queue as unknown as WorkQueue),
        log: pino({ level: "silent" }),
      },
      { id: "delivery-off-1", name: "issues", payload: issueLabeled({ number: 7, title: "Untraced" }) },
    );

    expect(received.outcome).toBe("queued");
    expect(added.map((job) => job.name)).toContain("start-task");
    for (const job of added) expect(job.data).not.toHaveProperty("traceparent");
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
