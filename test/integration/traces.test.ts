import { SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTracing, type Tracing } from "../../src/lib/telemetry.ts";
import { SpanKind, traced } from "../../src/lib/trace.ts";
import { useDrover } from "../helpers/drover.ts";
import { agentConfig, mockLabelledRun, recorder, taskOf } from "../helpers/github-flows.ts";
import { issueLabeled } from "../helpers/payloads.ts";

/**
 * With tracing on (as OTEL_TRACES_EXPORTER asks; spans kept in memory here instead of sent), one labelled
 * issue is one trace: intake, each job it leads to across the queue, the agent run, the push and the pull
 * request, with the delivery, task and attempt on them.
 */
const exporter = new InMemorySpanExporter();
let tracing: Tracing | null = null;

beforeAll(async () => {
  tracing = await startTracing({ env: { OTEL_TRACES_EXPORTER: "otlp" }, exporter });
});
afterAll(async () => {
  await tracing?.shutdown();
});

describe("a trace from webhook to pull request", () => {
  const { db, harness, repo, github } = useDrover();

  it("puts intake, the jobs, the agent, the push and the pull request of one delivery in one trace", async () => {
    expect(tracing).not.toBeNull();
    const branch = "drover/61-trace-me";
    mockLabelledRun(github, recorder(), {
      issue: { number: 61, title: "Trace me", labels: ["drover"] },
      commentId: 9061,
      config: agentConfig("edit-and-pass.mjs"),
      installationId: repo().installationId,
      passes: { branch, pr: 161 },
    });
    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 61, title: "Trace me" }),
      "delivery-61",
    );
    await harness().drain();
    const { task, attempts } = await taskOf(db(), repo(), 61);
    expect(task?.state).toBe("review");

    const spans = exporter.getFinishedSpans();
    const intake = only(spans, (span) => span.name === "drover.intake");
    expect(intake.attributes).toEqual({
      "drover.delivery_id": "delivery-61",
      "drover.event": "issues",
      "drover.repo": repo().fullName,
      "drover.outcome": "queued",
    });
    const traceId = intake.spanContext().traceId;
    const trace = spans.filter((span) => span.spanContext().traceId === traceId);
    // Every span this delivery led to is in its trace: none started a trace of its own.
    expect(trace).toHaveLength(spans.length);

    // Each job continues the trace of whatever queued it: the label's start-task, the scheduling pass it
    // asked for, the attempt the pass queued (and its announcement), and the publishing the attempt queued.
    const jobs = trace.filter((span) => span.name === "drover.job");
    expect(jobs.map((span) => span.attributes["drover.job"])).toEqual(
      expect.arrayContaining(["start-task", "schedule", "run-task", "publish"]),
    );
    const startTask = only(jobs, (span) => span.attributes["drover.job"] === "start-task");
    expect(startTask.parentSpanContext?.spanId).toBe(intake.spanContext().spanId);
    const runTask = only(jobs, (span) => span.attributes["drover.job"] === "run-task");
    const publish = only(jobs, (span) => span.attributes["drover.job"] === "publish");
    for (const job of [runTask, publish])
      expect(job.attributes).toMatchObject({ "drover.task_id": task!.id, "drover.attempt": 1 });
    expect(runTask.attributes["drover.job_id"]).toBe(`run-${attempts[0]!.id}`);

    // Inside the attempt's job: the agent run (which agent, how it ended) and the push of what it made.
    const agent = only(trace, (span) => span.name === "drover.agent");
    expect(agent.parentSpanContext?.spanId).toBe(runTask.spanContext().spanId);
    expect(agent.attributes).toEqual({ "drover.agent": "command", "drover.outcome": "exited" });
    const push = only(trace, (span) => span.name === "drover.push");
    expect(push.attributes).toEqual({ "drover.branch": branch, "drover.sha": attempts[0]!.headSha });
    // Inside publishing: the pull request, by number.
    const pull = only(trace, (span) => span.name === "drover.pull_request");
    expect(pull.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(pull.attributes).toMatchObject({ "drover.pr_number": 161, "drover.branch": branch });
  });
});

describe("a span's status", () => {
  it("marks a failure as an error, with what was thrown, and a job put back to wait as none", async () => {
    exporter.reset();
    const failing = traced("drover.job", { "drover.job": "fails" }, async () => {
      throw new Error("GitHub refused: 422");
    });
    await expect(failing).rejects.toThrow("GitHub refused: 422");
    const waiting = traced(
      "drover.job",
      { "drover.job": "waits" },
      async () => {
        throw new Error("put back");
      },
      SpanKind.CONSUMER,
      () => true,
    );
    await expect(waiting).rejects.toThrow("put back");

    const [failed, waited] = exporter.getFinishedSpans();
    expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: "GitHub refused: 422" });
    expect(failed?.events.map((event) => event.name)).toEqual(["exception"]);
    expect(waited?.status.code).toBe(SpanStatusCode.UNSET);
    expect(waited?.events).toEqual([]);
  });
});

function only(spans: ReadableSpan[], match: (span: ReadableSpan) => boolean): ReadableSpan {
  const found = spans.filter(match);
  if (found.length !== 1)
    throw new Error(
      `${found.length} spans match, not 1: ${spans.map((s) => `${s.name} ${JSON.stringify(s.attributes)}`).join("\n")}`,
    );
  return found[0]!;
}
