import path from "node:path";
import { describe, expect, it } from "vitest";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { BOT, eventually, repoWithConfig, useStack } from "../helpers/stack.ts";

/**
 * End to end, as a user sees it on GitHub: an agent that prints where it runs ($PWD, $HOME) and a check
 * that prints `pwd` leave no absolute path of the worker's on the issue, the pull request or the check
 * run: the worktree reads as `.`. The status comment and the check run say where the attempt's time went.
 */

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;
const agent = (script: string) =>
  `agent: command\nagent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, script)])}\n`;

const drover = useStack({ workers: 2 });

async function taskIn(name: string, config: string, title: string) {
  const maintainer = drover.as("maintainer");
  const repo = await repoWithConfig(maintainer, name, config);
  const { data } = await maintainer.rest.issues.create({ ...repo, title });
  await maintainer.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: ["drover"] });
  return data.number;
}

const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
const status = (name: string, number: number) =>
  world(name)
    .issues.get(number)!
    .comments.find((c) => c.user.login === BOT && c.body.includes(STATUS_MARKER))?.body ?? "";
const pullFor = (name: string, number: number): IssueRecord | undefined =>
  [...world(name).issues.values()].find((i) => i.pull && i.body?.includes(`Closes #${number}`));
/** Everything Drover posted on the repository: comments, pull requests' bodies, check runs. */
const postedOn = (name: string) =>
  JSON.stringify([
    [...world(name).issues.values()].map((issue) => [issue.body, issue.comments.map((c) => c.body)]),
    world(name).checkRuns.map((run) => run.output),
  ]);

describe("no server paths on GitHub", () => {
  it("shows a failing check's `pwd` and the agent's cwd as `.`, and where the time went", async () => {
    const number = await taskIn(
      "where-failing",
      `${agent("where-am-i.mjs")}max_attempts: 1\nchecks:\n  - run: "pwd; exit 1"\n`,
      "Say where you are",
    );
    await eventually("the failure on the issue", () => status("where-failing", number).includes("Failed"));
    const body = status("where-failing", number);
    expect(body).toContain("cwd=.");
    expect(body).toContain("home=<run>/home");
    expect(body).toMatch(/Output of `pwd; exit 1`<\/summary>\n\n```text\n\.\n```/);
    expect(body).toMatch(/\*\*Time:\*\* waiting \S+ · worktree \S+ · agent [^·]+ · checks \S+\n/);
    expect(postedOn("where-failing")).not.toContain(drover.stack().env.DROVER_HOME);
  }, 60_000);

  it("keeps the worker's paths off the pull request and its check run", async () => {
    const number = await taskIn("where-passing", agent("where-am-i.mjs"), "Say where you are, then pass");
    const pull = await eventually("a pull request", () => pullFor("where-passing", number));
    const check = await eventually("its check run", () =>
      world("where-passing").checkRuns.find((run) => run.headSha === pull.pull!.headSha),
    );
    expect(check.output.summary).toContain("cwd=.");
    expect(check.output.summary).toMatch(
      /\*\*Time:\*\* waiting \S+ · worktree \S+ · agent [^·]+ · push \S+\n/,
    );
    expect(pull.body).toContain("Wrote WHERE.md in .");
    await eventually("the status comment", () => status("where-passing", number).includes("review"));
    expect(postedOn("where-passing")).not.toContain(drover.stack().env.DROVER_HOME);
  }, 60_000);
});
