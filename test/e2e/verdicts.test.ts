import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { taskSummaries } from "../../src/db/tasks.ts";
import { readBlob } from "../../src/sandbox/git/refs.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * How an attempt is judged, as a user sees it on GitHub: the agent's word, the repository's checks,
 * retries, a blocked agent, secrets kept out of what is posted, and a budget that keeps partial work.
 */

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;
const agent = (script: string, ...args: string[]) =>
  `agent: command\nagent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, script), ...args])}\n`;

const drover = useStack({ workers: 2 });
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), "drover-verdicts-"));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

async function taskIn(name: string, config: string, title = "Do the thing") {
  const maintainer = drover.as("maintainer");
  const repo = await repoWithConfig(maintainer, name, config);
  const { data } = await maintainer.rest.issues.create({ ...repo, title });
  await maintainer.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: ["drover"] });
  return { repo, number: data.number };
}

const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
const issueOf = (name: string, number: number) => world(name).issues.get(number)!;
const status = (name: string, number: number) =>
  issueOf(name, number).comments.find((c) => c.user.login === BOT && c.body.includes(STATUS_MARKER))?.body ??
  "";
const pullFor = (name: string, number: number): IssueRecord | undefined =>
  [...world(name).issues.values()].find((i) => i.pull && i.body?.includes(`Closes #${number}`));
const stateOf = async (name: string, number: number) =>
  (await taskSummaries(drover.database().db, `acme/${name}`)).find((t) => t.number === number);

describe("verdicts on GitHub", () => {
  it("retries a failed attempt after a backoff, and says so", async () => {
    const counter = path.join(scratch, "flaky.count");
    const { number } = await taskIn(
      "retried",
      `${agent("flaky.mjs", counter)}retry_delay: 1s\nmax_attempts: 2\n`,
    );
    await eventually("the retry shown on the issue", () => status("retried", number).includes("Retrying"));
    expect(status("retried", number)).toMatch(/Next try \| .*\(attempt 2\)/);
    await eventually("a pull request from the second attempt", () => pullFor("retried", number), 45_000);
    expect(await stateOf("retried", number)).toMatchObject({ state: "review", attempts: 2, verdict: "pass" });
    await eventually("the status comment at attempt 2 of 2", () =>
      status("retried", number).includes("| Attempt | 2 of 2 |"),
    );
  }, 60_000);

  it("fails a run whose checks fail, with the checks table, and opens no pull request", async () => {
    const { number } = await taskIn(
      "checked",
      `${agent("edit-and-pass.mjs")}max_attempts: 1\nchecks:\n  - test -f CHANGED.md\n  - run: "echo lint says no >&2; exit 3"\n    timeout: 30s\n`,
    );
    await eventually("the failure on the issue", () => status("checked", number).includes("Failed"));
    const body = status("checked", number);
    expect(body).toContain("check `echo lint says no >&2; exit 3` failed (exit 3)");
    expect(body).toMatch(/\| `test -f CHANGED.md` \| ✅ passed \|/);
    expect(body).toMatch(/❌ failed \(exit 3\)/);
    expect(body).toContain("lint says no");
    expect(body).toContain("**Agent's verdict:** `pass`");
    expect(pullFor("checked", number)).toBeUndefined();
    await eventually("the failed label", () =>
      issueOf("checked", number).labels.some((l) => l.name === "drover:failed"),
    );
  }, 60_000);

  it("labels a blocked task and quotes what the agent needs", async () => {
    const verdict = JSON.stringify({
      status: "blocked",
      summary: "Cannot reach the API.",
      blocker: "an API key for staging",
    });
    const { number } = await taskIn("blocked", `${agent("say.mjs", verdict)}max_attempts: 3\n`);
    await eventually("the blocked label", () =>
      issueOf("blocked", number).labels.some((l) => l.name === "drover:blocked"),
    );
    expect(status("blocked", number)).toContain('the agent is blocked: "an API key for staging"');
    expect((await stateOf("blocked", number))?.attempts).toBe(1); // a person is needed: no retry
  }, 60_000);

  it("flags a missing verdict and judges by the exit, the changes and the checks", async () => {
    const { number } = await taskIn(
      "unknown",
      `${agent("say.mjs", "none", "NOTES.md")}checks: ["test -f NOTES.md"]\n`,
    );
    const pull = await eventually("a pull request", () => pullFor("unknown", number));
    await eventually("the status comment", () => status("unknown", number).includes("review"));
    expect(status("unknown", number)).toContain("**Agent's verdict:** unknown ⚠️");
    const check = world("unknown").checkRuns.find((run) => run.headSha === pull.pull!.headSha);
    expect(check?.output.summary).toContain("unknown ⚠️");
    expect(check?.output.summary).toContain("| `test -f NOTES.md` | ✅ passed |");
  }, 60_000);

  it("keeps secrets the agent prints out of everything posted", async () => {
    const leak = `token ghp_${"A1b2".repeat(9)} and key sk-ant-api03-${"x".repeat(40)}`;
    const { number } = await taskIn("leaky", `${agent("say.mjs", "none", "", leak)}max_attempts: 1\n`);
    await eventually("the failure on the issue", () => status("leaky", number).includes("Failed"));
    const posted = issueOf("leaky", number)
      .comments.map((c) => c.body)
      .join("\n");
    expect(posted).toContain("[REDACTED:github-token]");
    expect(posted).toContain("[REDACTED:anthropic-key]");
    expect(posted).not.toContain("A1b2A1b2");
    expect(posted).not.toContain("xxxxxxxxxx");
  }, 60_000);

  it("stops at the budget, keeps the partial work on the branch, and does not retry", async () => {
    const { number } = await taskIn(
      "budgeted",
      `${agent("partial-then-hang.mjs")}budget: 6s\nmax_attempts: 3\n`,
    );
    await eventually("the budget failure", () => status("budgeted", number).includes("Failed"), 45_000);
    const body = status("budgeted", number);
    expect(body).toContain("the task's time budget ran out");
    const sha = /partial work is on `(drover\/[^`]+)` at ([0-9a-f]{12})/.exec(body);
    expect(sha).not.toBeNull();
    const bare = drover.stack().sandbox.bareRepository("acme", "budgeted");
    expect((await readBlob(bare, `refs/heads/${sha![1]}`, "PARTIAL.md"))?.toString()).toBe("half done\n");
    expect(await stateOf("budgeted", number)).toMatchObject({ state: "failed", attempts: 1 });
  }, 60_000);

  it("fails over to the next agent at once when one is not installed", async () => {
    const argv = JSON.stringify([process.execPath, path.join(AGENTS, "edit-and-pass.mjs")]);
    const { number } = await taskIn(
      "failover",
      `agent: [claude, command]\nagent_command: ${argv}\nretry_delay: 1h\n`,
    );
    // retry_delay is an hour: only a failover starts the second attempt this soon.
    await eventually("a pull request from the second agent", () => pullFor("failover", number), 45_000);
    const attempts = await drover.database()
      .sql`select a.number, a.agent, a.agent_outcome, a.reason from attempts a
        join tasks t on t.id = a.task_id join repositories r on r.id = t.repo_id
        where r.full_name = 'acme/failover' order by a.number desc`;
    const [second, first] = attempts as unknown as { agent: string; agent_outcome: string; reason: string }[];
    expect(first).toMatchObject({ agent: "claude", agent_outcome: "unavailable" });
    expect(first?.reason).toContain("the next attempt uses command");
    expect(second).toMatchObject({ agent: "command", agent_outcome: "exited" });
  }, 60_000);
});
