import { describe, expect, it } from "vitest";
import { useDrover } from "../helpers/drover.ts";
import { git } from "../helpers/git-sandbox.ts";
import { mockInstallationToken } from "../helpers/github.ts";
import {
  REPO_PATH,
  agentConfig,
  issueJson,
  mockConfig,
  mockFirstStatus,
  mockIssueState,
  mockPermission,
  mockRunThatPasses,
  originBranches,
  recorder,
  taskOf,
  type Published,
  type Scope,
  type TestIssue,
} from "../helpers/github-flows.ts";
import { MAINTAINER, issueLabeled, pullRequestClosed } from "../helpers/payloads.ts";

const FIRST: TestIssue = { number: 21, title: "Add a changelog", labels: ["drover"] };
const SECOND: TestIssue = { number: 22, title: "Link the changelog", labels: ["drover"] };
const FIRST_BRANCH = "drover/21-add-a-changelog";
const SECOND_BRANCH = "drover/22-link-the-changelog";

/**
 * The links of a labelled issue whose payload counts one "blocked by" link (and no sub-issues, no parent):
 * only that list is read, once.
 */
function mockBlockedSync(scope: Scope, issue: TestIssue, blocker: TestIssue): void {
  const path = `${REPO_PATH}/issues/${issue.number}`;
  scope
    .get(`${path}/dependencies/blocked_by`)
    .query(true)
    .reply(200, [issueJson(blocker)]);
}

/**
 * Two labelled issues, the second natively "blocked by" the first, through the real queue, PostgreSQL,
 * git and a fake agent: the blocker runs and the blocked task waits, saying why, with no branch pushed;
 * merging the blocker's pull request makes it done and the blocked task runs in turn.
 */
describe("a chain of blocked tasks", () => {
  const { db, harness, sandbox, repo, github } = useDrover();

  it("runs the blocker first and the blocked task once the blocker's pull request is merged", async () => {
    const first: Published = recorder();
    const second: Published = recorder();
    const api = github.api();
    mockInstallationToken(github.api().persist(), repo().installationId);

    // start-task for each delivery: config, permission, the first status comment. The issues and their
    // link counts come with the labels: only the second's one "blocked by" list is read.
    mockConfig(api, agentConfig("edit-and-pass.mjs"));
    mockConfig(api, agentConfig("edit-and-pass.mjs"));
    mockPermission(api, MAINTAINER.login, "write");
    mockPermission(api, MAINTAINER.login, "write");
    mockBlockedSync(api, SECOND, FIRST);
    mockFirstStatus(api, first, 21, 9001);
    mockFirstStatus(api, second, 22, 9002);
    // Only the blocker runs now: run-task (the issue, the bot identity) and publish (PR, check run).
    mockRunThatPasses(api, first, { issue: FIRST, branch: FIRST_BRANCH, pr: 23 });
    // Status edits and labels of both issues, however often the racing jobs write them.
    mockIssueState(github.optional(), first, { issue: 21, commentId: 9001, labels: ["drover"] });
    mockIssueState(github.optional(), second, { issue: 22, commentId: 9002, labels: ["drover"] });

    await harness().receive("issues", issueLabeled({ repo: repo(), number: 21, title: FIRST.title }));
    await harness().receive(
      "issues",
      issueLabeled({ repo: repo(), number: 22, title: SECOND.title, links: { blockedBy: 1 } }),
    );
    await harness().drain();

    const origin = sandbox().origin;
    const firstHead = await git(origin, "rev-parse", `refs/heads/${FIRST_BRANCH}`);
    expect(await git(origin, "show", `${firstHead}:CHANGED.md`)).toBe("the agent was here");
    expect(first.pr).toMatchObject({ head: FIRST_BRANCH, base: "main" });
    expect(String(first.pr?.body)).toMatch(/^Closes #21\n/);
    const { task: blocker } = await taskOf(db(), repo(), 21);
    expect(blocker).toMatchObject({ state: "review", prNumber: 23 });

    // The blocked task waits, naming its blocker and where the link comes from; nothing of it is pushed.
    const waiting = await taskOf(db(), repo(), 22);
    expect(waiting.task).toMatchObject({ state: "waiting", attemptCount: 0 });
    expect(waiting.task?.stateReason).toContain("#21 (from a blocked-by link)");
    expect(waiting.attempts).toEqual([]);
    // Its state was announced once known: made saying it waits, never "ready" first and then edited.
    expect(second.comments[0]).toMatchObject({ how: "post", body: expect.stringContaining("Waiting") });
    expect(second.comments.some((c) => c.body.includes("🟡 Ready"))).toBe(false);
    const branches = await originBranches(origin);
    expect(branches).toContain(FIRST_BRANCH);
    expect(branches).not.toContain(SECOND_BRANCH);
    expect(second.pr).toBeUndefined();

    // The blocker's PR is merged: it is done, and the blocked task is queued, runs and is published (the
    // harness has the bot identity already).
    mockRunThatPasses(api, second, { issue: SECOND, branch: SECOND_BRANCH, pr: 24, identity: false });
    await harness().receive(
      "pull_request",
      pullRequestClosed({ repo: repo(), number: 23, headRef: FIRST_BRANCH, merged: true }),
    );
    await harness().drain();

    const { task: done } = await taskOf(db(), repo(), 21);
    expect(done).toMatchObject({ id: blocker?.id, state: "done", completedBy: MAINTAINER.login });

    const secondHead = await git(origin, "rev-parse", `refs/heads/${SECOND_BRANCH}`);
    expect(await git(origin, "show", `${secondHead}:CHANGED.md`)).toBe("the agent was here");
    expect(await git(origin, "log", "-1", "--format=%B", secondHead)).toContain(
      `Drover-Task: ${repo().fullName}#22`,
    );
    expect(second.pr).toMatchObject({ head: SECOND_BRANCH, base: "main" });
    expect(String(second.pr?.body)).toMatch(/^Closes #22\n/);
    expect(second.check).toMatchObject({ head_sha: secondHead, conclusion: "success" });
    const ran = await taskOf(db(), repo(), 22);
    expect(ran.task).toMatchObject({ id: waiting.task?.id, state: "review", prNumber: 24 });
    expect(ran.attempts).toHaveLength(1);
    expect(ran.attempts[0]).toMatchObject({ state: "finished", conclusion: "success", headSha: secondHead });
  });
});
