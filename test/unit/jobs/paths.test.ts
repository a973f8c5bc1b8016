import { describe, expect, it } from "vitest";
import { serverPaths } from "../../../src/agent/scrub.ts";
import { relativizeOutcome } from "../../../jobs/run-task/paths.ts";
import { failed, type Outcome } from "../../../jobs/run-task/run.ts";

const HOME = "/var/lib/drover";
const paths = serverPaths({ droverHome: HOME, workerHome: "/home/drover" });

describe("an outcome as it is posted", () => {
  it("names no server path in its reason, summary, verdict, log tail or checks' output", () => {
    const mirror = `${HOME}/mirrors/octo/app.git`;
    const outcome: Outcome = {
      ...failed(`Drover could not run the task: git fetch failed in ${mirror}: locked`, {
        summary: `Looked in ${HOME}/pool/octo/app/ab12cd34`,
      }),
      fields: {
        logTail: `cd ${HOME}/worktrees/1-2-1-1 && npm test\nsee /home/drover/.npm/_logs`,
        verdict: { status: "blocked", summary: `stuck in ${HOME}`, blocker: `needs ${HOME}/secrets` },
        verdictProblem: null,
        checks: [
          { command: "pwd", outcome: "failed", exitCode: 1, durationMs: 5, outputTail: `${HOME}/x\n` },
        ],
        durationMs: 10,
      },
    };
    const shown = relativizeOutcome(outcome, paths);
    expect(JSON.stringify(shown)).not.toContain(HOME);
    expect(JSON.stringify(shown)).not.toContain("/home/drover");
    expect(shown.judgement.reason).toBe(
      "Drover could not run the task: git fetch failed in <drover-home>/mirrors/octo/app.git: locked",
    );
    expect(shown.fields.logTail).toBe("cd <drover-home>/worktrees/1-2-1-1 && npm test\nsee ~/.npm/_logs");
    expect(shown.fields.verdict).toEqual({
      status: "blocked",
      summary: "stuck in <drover-home>",
      blocker: "needs <drover-home>/secrets",
    });
    expect(shown.fields.checks?.[0]?.outputTail).toBe("<drover-home>/x\n");
    // What holds no path is as it was.
    expect({ ...shown.fields, logTail: null, verdict: null, checks: null }).toEqual({
      ...outcome.fields,
      logTail: null,
      verdict: null,
      checks: null,
    });
  });
});
