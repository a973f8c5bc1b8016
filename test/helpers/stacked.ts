import path from "node:path";
import { resolveRef } from "../../src/sandbox/git/refs.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { baseWorld, REVIEW } from "./follow-base.ts";
import { git } from "./git-sandbox.ts";
import { eventually, type StackHandle } from "./stack.ts";

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;

/** drover.yml: stacked work on, and an agent that writes `task-<issue>.md` (what it saw, on its 2nd line). */
export const STACKED = [
  "stack: true",
  "agent: command",
  `agent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "own-file.mjs")])}`,
  "",
].join("\n");

/**
 * What a person sees of the repository `acme/<name>`, and does there, for a chain of stacked tasks
 * (test/e2e/stacked*.test.ts). As for baseWorld, one file's tasks must stay under Drover's budget of
 * content writes a minute, or its status comments go stale: three chains of three are too many for one file.
 */
export function chainWorld(drover: StackHandle, name: string) {
  const { issueOf, status, labelsOf, bare, blob, checksOn } = baseWorld(drover);
  const maintainer = drover.as("maintainer");
  const repo = { owner: "acme", repo: name };
  const world = () => drover.stack().sandbox.world.repo("acme", name)!;
  const pullOf = (issue: number): IssueRecord | undefined =>
    [...world().issues.values()].find((i) => i.pull && i.body?.includes(`Closes #${issue}`));
  const pull = (number: number) => world().issues.get(number)!.pull!;
  const passed = (sha: string) => checksOn(name, sha).some((run) => run.conclusion === "success");

  /** Issues with these titles, each natively "blocked by" the one before, then all labelled `drover`. */
  async function chain(titles: string[]) {
    const issues = [];
    for (const title of titles) issues.push((await maintainer.rest.issues.create({ ...repo, title })).data);
    for (const [i, blocked] of issues.entries()) {
      if (i === 0) continue;
      await maintainer.rest.issues.addBlockedByDependency({
        ...repo,
        issue_number: blocked.number,
        issue_id: issues[i - 1]!.id,
      });
    }
    for (const issue of issues)
      await maintainer.rest.issues.addLabels({ ...repo, issue_number: issue.number, labels: ["drover"] });
    return issues.map((issue) => issue.number);
  }

  /** The issue's pull request once it is in review: its check run passing, its status comment saying so. */
  const inReview = (issue: number) =>
    eventually(
      `#${issue}'s pull request in review with its check run passing`,
      () => {
        const found = pullOf(issue);
        return found?.pull && passed(found.pull.headSha) && status(name, issue).includes(REVIEW)
          ? found
          : undefined;
      },
      40_000,
    );

  /** The files a pull request changes against its base now, as the maintainer would see them. */
  async function changedFiles(number: number) {
    const { data } = await maintainer.rest.pulls.get({ ...repo, pull_number: number });
    const files = await git(bare(name), "diff", "--name-only", `${data.base.sha}...${data.head.sha}`);
    return { base: data.base.ref, files: files.split("\n").filter(Boolean), mergeable: data.mergeable };
  }

  /** Merges the pull request as the maintainer, at its head now. */
  const merge = (number: number) =>
    maintainer.rest.pulls.merge({ ...repo, pull_number: number, sha: pull(number).headSha });

  /** Waits until the pull request goes into main. */
  const intoMain = (number: number, what: string) =>
    eventually(what, () => pull(number).base === "main", 30_000);

  /** Waits until each issue is closed, its status comment says done and its review label is gone. */
  async function allDone(issues: number[]) {
    for (const issue of issues)
      await eventually(
        `#${issue} done`,
        () =>
          issueOf(name, issue).state === "closed" &&
          !labelsOf(name, issue).includes("drover:review") &&
          status(name, issue).includes("🎉 Done"),
      );
  }

  /** The files on main's tip. */
  async function filesOnMain() {
    const main = (await resolveRef(bare(name), "refs/heads/main"))!;
    return (await git(bare(name), "ls-tree", "--name-only", main)).split("\n");
  }

  return {
    maintainer,
    repo,
    status,
    blob,
    bare,
    pull,
    passed,
    chain,
    inReview,
    changedFiles,
    merge,
    intoMain,
    allDone,
    filesOnMain,
  };
}
