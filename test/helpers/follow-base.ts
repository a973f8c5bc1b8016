import path from "node:path";
import { STATUS_MARKER } from "../../src/github/comments.ts";
import { readBlob } from "../../src/sandbox/git/refs.ts";
import type { IssueRecord } from "../../src/sandbox/world.ts";
import { BOT, eventually, repoWithConfig, type StackHandle } from "./stack.ts";

const AGENTS = new URL("../fixtures/agents/", import.meta.url).pathname;

/**
 * drover.yml for the fake agent that writes the issue's title on LINE.md's first line, or resolves a
 * merge by keeping both sides (with `leave`: claims it did, and leaves the conflicts).
 */
export const lineAgent = (...args: string[]) =>
  `agent: command\nagent_command: ${JSON.stringify([process.execPath, path.join(AGENTS, "line-or-resolve.mjs"), ...args])}\n`;

/** The status comment's headline for a task in review. */
export const REVIEW = "✅ Pull request ready for review";

/**
 * What a person sees of the sandbox's `acme/<name>` repositories, for the tests of pull requests following
 * their base branch. Each such file makes few enough writes a minute that Drover never defers a status
 * comment edit for its budget (src/github/budget.ts: at 64 content writes a minute per installation, and
 * the sandbox has one installation a file); a file running more tasks than these would see stale comments.
 */
export function baseWorld(drover: StackHandle) {
  const world = (name: string) => drover.stack().sandbox.world.repo("acme", name)!;
  const issueOf = (name: string, number: number) => world(name).issues.get(number)!;
  const status = (name: string, number: number) =>
    issueOf(name, number).comments.find((c) => c.user.login === BOT && c.body.includes(STATUS_MARKER))
      ?.body ?? "";
  const labelsOf = (name: string, number: number) => issueOf(name, number).labels.map((l) => l.name);
  const pullFor = (name: string, number: number): IssueRecord | undefined =>
    [...world(name).issues.values()].find((i) => i.pull && i.body?.includes(`Closes #${number}`));
  const bare = (name: string) => drover.stack().sandbox.bareRepository("acme", name);
  const blob = async (name: string, ref: string, file: string) =>
    (await readBlob(bare(name), ref, file))?.toString();
  /** The completed check runs on a commit, latest last. */
  const checksOn = (name: string, sha: string) =>
    world(name).checkRuns.filter((run) => run.headSha === sha && run.status === "completed");
  const passedOn = (name: string, sha: string) =>
    checksOn(name, sha).some((run) => run.conclusion === "success");
  const headOf = (name: string, pull: number) => issueOf(name, pull).pull!.headSha;
  const branchOf = (name: string, pull: number) => issueOf(name, pull).pull!.head;

  /** A repository whose main branch has LINE.md: the line every task changes, and one below it. */
  async function repoWithLine(name: string, config: string) {
    const maintainer = drover.as("maintainer");
    const repo = await repoWithConfig(maintainer, name, config);
    await maintainer.rest.repos.createOrUpdateFileContents({
      ...repo,
      path: "LINE.md",
      message: "Add the line",
      content: Buffer.from("the line\nbelow it\n").toString("base64"),
    });
    return repo;
  }

  /** Issues labelled `drover`, each until in review with its check run passing: issue, pull request, head. */
  async function inReview(repo: { owner: string; repo: string }, titles: string[]) {
    const maintainer = drover.as("maintainer");
    const issues = [];
    for (const title of titles) {
      const { data } = await maintainer.rest.issues.create({ ...repo, title });
      await maintainer.rest.issues.addLabels({ ...repo, issue_number: data.number, labels: ["drover"] });
      issues.push(data.number);
    }
    const pulls = [];
    for (const number of issues) {
      const pull = await eventually(
        `#${number}'s pull request with its check run passing`,
        () => {
          const found = pullFor(repo.repo, number);
          return found?.pull &&
            passedOn(repo.repo, found.pull.headSha) &&
            status(repo.repo, number).includes(REVIEW)
            ? found
            : undefined;
        },
        40_000,
      );
      pulls.push({ issue: number, pull: pull.number, head: pull.pull!.headSha });
    }
    return pulls;
  }

  /** Waits until the pull request's head moved from `from` to a commit with a passing check run. */
  const movedOn = (name: string, pull: number, from: string, what: string) =>
    eventually(
      what,
      () => {
        const now = headOf(name, pull);
        return now !== from && passedOn(name, now) && now;
      },
      40_000,
    );

  return {
    issueOf,
    status,
    labelsOf,
    bare,
    blob,
    checksOn,
    headOf,
    branchOf,
    repoWithLine,
    inReview,
    movedOn,
  };
}
