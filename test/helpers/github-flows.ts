import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { and, eq } from "drizzle-orm";
import type { Db } from "../../src/db/client.ts";
import { attempts, tasks } from "../../src/db/schema.ts";
import { git } from "./git-sandbox.ts";
import { mockInstallationToken, type useGitHubMock } from "./github.ts";
import {
  appReply,
  checkRunReply,
  commentReply,
  issueReply,
  labelsReply,
  permissionReply,
  pullReply,
  TEST_APP,
  TEST_BOT,
  userReply,
} from "./github-replies.ts";
import { AUTHOR, MAINTAINER, OCTO_REPO, type TestRepo, type TestUser } from "./payloads.ts";

/** GitHub conversations the job and end-to-end tests share: mocks for each stage, and what Drover sent in them. */

export type Scope = ReturnType<ReturnType<typeof useGitHubMock>["api"]>;

export const AGENTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/agents");
export const REPO_PATH = `/repos/${OCTO_REPO.fullName}`;
export const BOT = { slug: TEST_APP.slug, login: TEST_BOT.login, id: TEST_BOT.id };
const BOT_USER = TEST_BOT;
const APP = TEST_APP;

/** A comment by the app's bot, as GitHub answers a post or an edit of it. */
function botComment(id: number, issue: number, body: unknown): Record<string, unknown> {
  return commentReply({ id, issue, by: BOT_USER, body: (body as { body: string }).body });
}

/** What Drover wrote to GitHub, in order. */
export type Sent = {
  /** Every comment body posted (`post`) or edited (`patch`). */
  comments: { how: "post" | "patch"; id: number; body: string }[];
  /** Label sets added, and labels removed. */
  added: string[][];
  removed: string[];
};

/** What Drover wrote to GitHub for a run that passed: also the pull request and the check run it made. */
export type Published = Sent & { pr?: Record<string, unknown>; check?: Record<string, unknown> };

export function recorder(): Sent {
  return { comments: [], added: [], removed: [] };
}

/** drover.yml that runs a fixture agent through the command adapter. */
export function agentConfig(
  script: string,
  options: { args?: string[]; extra?: string; timeout?: string; attempts?: number } = {},
): string {
  const argv = [process.execPath, path.join(AGENTS, script), ...(options.args ?? []), "{prompt_file}"];
  return [
    "agent: command",
    `agent_command: ${JSON.stringify(argv)}`,
    `task_timeout: ${options.timeout ?? "60s"}`,
    // One attempt unless a test is about retries: a failure is then final.
    `max_attempts: ${options.attempts ?? 1}`,
    options.extra ?? "",
  ].join("\n");
}

export function mockConfig(scope: Scope, yaml: string): void {
  scope
    .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/drover.yml")}`)
    .reply(200, yaml, { "content-type": "application/vnd.github.raw; charset=utf-8" });
}

export function mockPermission(scope: Scope, login: string, permission: string, roleName = permission): void {
  scope
    .get(`${REPO_PATH}/collaborators/${encodeURIComponent(login)}/permission`)
    .reply(200, permissionReply({ login, id: 1 }, permission, roleName));
}

/** A one-off comment (a refusal, a config error). */
export function mockReply(scope: Scope, sent: Sent, issue: number, id = 7001): void {
  scope.post(`${REPO_PATH}/issues/${issue}/comments`).reply(201, (_uri, body) => {
    sent.comments.push({ how: "post", id, body: (body as { body: string }).body });
    return botComment(id, issue, body);
  });
}

/** Edits of the status comment `commentId`, `times` of them. */
export function mockPatch(scope: Scope, sent: Sent, commentId: number, times = 1, issue = 1): void {
  scope
    .patch(`${REPO_PATH}/issues/comments/${commentId}`)
    .times(times)
    .reply(200, (_uri, body) => {
      sent.comments.push({ how: "patch", id: commentId, body: (body as { body: string }).body });
      return botComment(commentId, issue, body);
    });
}

/** One read of the issue's labels (it `has` them), the removal of each in `remove`, and an add if `add`. */
export function mockLabels(
  scope: Scope,
  sent: Sent,
  issue: number,
  has: string[],
  remove: string[],
  add?: string,
): void {
  scope.get(`${REPO_PATH}/issues/${issue}/labels`).reply(200, labelsReply(has));
  for (const name of remove) {
    scope.delete(`${REPO_PATH}/issues/${issue}/labels/${encodeURIComponent(name)}`).reply(200, () => {
      sent.removed.push(name);
      return [];
    });
  }
  if (add) {
    scope.post(`${REPO_PATH}/issues/${issue}/labels`).reply(200, (_uri, body) => {
      sent.added.push((body as { labels: string[] }).labels);
      return [];
    });
  }
}

/** An issue as a test describes it; what GitHub answers for it is `issueJson`. */
export type TestIssue = {
  number: number;
  title: string;
  body?: string;
  author?: TestUser;
  /** Its labels (names); the trigger label, for an issue Drover is working on. */
  labels?: string[];
  state?: "open" | "closed";
  stateReason?: "completed" | "not_planned" | null;
  /** owner/name; the test repository unless given. */
  repo?: string;
};

/** GET /repos/{owner}/{repo}/issues/{number}, as GitHub answers it. */
export function issueJson(issue: TestIssue): Record<string, unknown> {
  return issueReply({
    number: issue.number,
    title: issue.title,
    body: issue.body ?? "Please do the thing.",
    author: issue.author ?? AUTHOR,
    labels: issue.labels ?? [],
    state: issue.state ?? "open",
    stateReason: issue.stateReason ?? null,
    repo: issue.repo ?? OCTO_REPO.fullName,
  });
}

/** The issue read `times` times (sync-issue, run-task). */
export function mockIssue(scope: Scope, issue: TestIssue, times = 1): void {
  scope.get(`${REPO_PATH}/issues/${issue.number}`).times(times).reply(200, issueJson(issue));
}

/**
 * The issue's place in the graph read `times` times (a sync from GitHub: `/drover run`, reconcile): the
 * issue, whose link counts say it has no "blocked by" links and no sub-issues, and no parent, so nothing
 * else is read. A labelled issue's sync reads nothing: the label's payload carries the issue and its
 * counts.
 */
export function mockSync(scope: Scope, issue: TestIssue, times = 1): void {
  mockIssue(scope, issue, times);
}

/**
 * A task's first status, once the scheduler knows its state (announce): the status comment is made, with
 * nothing read first (Drover has written nothing on the issue yet); a ready task has no state label.
 */
export function mockFirstStatus(scope: Scope, sent: Sent, issue: number, commentId: number): void {
  mockReply(scope, sent, issue, commentId);
}

/**
 * The status comment `commentId` and the labels of issue `issue`, kept as GitHub keeps them, for when
 * jobs race to show a task (the scheduler's `announce` beside run-task and publish), so how often each is
 * written varies. Give it `github.optional()`. Every edit is recorded in `sent.comments`, every label
 * added in `sent.added` and every label actually removed in `sent.removed` (removing one the issue does
 * not have answers 404, as GitHub does). Returns the issue's labels, as they end up.
 */
export function mockIssueState(
  scope: Scope,
  sent: Sent,
  input: { issue: number; commentId: number; labels?: string[] },
): Set<string> {
  const labels = new Set(input.labels ?? []);
  const path = `${REPO_PATH}/issues/${input.issue}`;
  const listed = () => labelsReply([...labels]);
  scope.patch(`${REPO_PATH}/issues/comments/${input.commentId}`).reply(200, (_uri, body) => {
    sent.comments.push({ how: "patch", id: input.commentId, body: (body as { body: string }).body });
    return botComment(input.commentId, input.issue, body);
  });
  scope.get(`${path}/labels`).reply(200, () => listed());
  scope.post(`${path}/labels`).reply(200, (_uri, body) => {
    const added = (body as { labels: string[] }).labels;
    sent.added.push(added);
    for (const name of added) labels.add(name);
    return listed();
  });
  scope
    .delete((uri) => uri.startsWith(`${path}/labels/`))
    .reply((uri) => {
      const name = decodeURIComponent(uri.slice(`${path}/labels/`.length));
      if (!labels.delete(name)) return [404, { message: "Label does not exist" }];
      sent.removed.push(name);
      return [200, listed()];
    });
  return labels;
}

/** Labels added, in order, each once (an add that raced another for the same label counts once). */
export function addedOnce(sent: Sent): string[] {
  return [...new Set(sent.added.flat())];
}

/** The issue's comments, read for the agent's prompt: none. */
export function mockDiscussion(scope: Scope, issue: number): void {
  scope.get(`${REPO_PATH}/issues/${issue}/comments`).query(true).reply(200, []);
}

/**
 * run-task up to the commit (the issue, the bot identity when this harness has not read it yet) for an
 * attempt that fails. Its status edits and labels (running, then failed) are `mockIssueState`'s.
 */
export function mockRunThatFails(scope: Scope, input: { issue: TestIssue; identity?: boolean }): void {
  mockIssue(scope, input.issue);
  mockDiscussion(scope, input.issue.number);
  if (input.identity !== false) mockIdentity(scope);
}

/**
 * run-task and publish for an attempt that passed: the issue, the bot identity (unless `identity` is
 * false: this harness has read it already), the pull request and the check run. Its status edits and labels (running, then review) are `mockIssueState`'s.
 */
export function mockRunThatPasses(
  scope: Scope,
  sent: Published,
  input: { issue: TestIssue; branch: string; pr: number; identity?: boolean },
): void {
  mockIssue(scope, input.issue);
  mockDiscussion(scope, input.issue.number);
  if (input.identity !== false) mockIdentity(scope);
  scope
    .get(`${REPO_PATH}/pulls`)
    .query({ head: `octo-org:${input.branch}`, state: "open", per_page: 1 })
    .reply(200, []);
  scope.post(`${REPO_PATH}/pulls`).reply(201, (_uri, body) => {
    sent.pr = body as Record<string, unknown>;
    const { title, body: text } = body as { title: string; body?: string };
    return pullReply({
      number: input.pr,
      head: input.branch,
      title,
      ...(text ? { body: text } : {}),
      by: BOT_USER,
    });
  });
  scope
    .get(new RegExp(`^${REPO_PATH}/commits/[0-9a-f]{40}/check-runs`))
    .query(true)
    .reply(200, { total_count: 0, check_runs: [] });
  scope.post(`${REPO_PATH}/check-runs`).reply(201, (_uri, body) => {
    sent.check = body as Record<string, unknown>;
    const { name, head_sha: headSha } = body as { name: string; head_sha: string };
    return checkRunReply({ id: 31, name, headSha, app: APP });
  });
}

/**
 * GitHub for a task started by the maintainer's label and run to its end: drover.yml (`config`), the
 * labeller's write access (the issue and its link counts come with the label: nothing of it is read), the
 * first status comment `commentId`, the run (failing, or passing with pull request `passes.pr` from `passes.branch`),
 * and the issue's status and labels as they change. Returns the labels the issue ends with.
 */
export function mockLabelledRun(
  github: ReturnType<typeof useGitHubMock>,
  sent: Published,
  input: {
    issue: TestIssue;
    commentId: number;
    config: string;
    installationId: number;
    token?: string;
    passes?: { branch: string; pr: number };
  },
): Set<string> {
  const api = github.api();
  mockInstallationToken(github.api().persist(), input.installationId, input.token);
  mockConfig(api, input.config);
  mockPermission(api, MAINTAINER.login, "write");
  mockFirstStatus(api, sent, input.issue.number, input.commentId);
  if (input.passes) mockRunThatPasses(api, sent, { issue: input.issue, ...input.passes });
  else mockRunThatFails(api, { issue: input.issue });
  return mockIssueState(github.optional(), sent, {
    issue: input.issue.number,
    commentId: input.commentId,
    labels: input.issue.labels ?? [],
  });
}

/** close-task: the status comment edited, every state label the issue has removed. */
export function mockClosed(
  scope: Scope,
  sent: Sent,
  input: { issue: number; commentId: number; labels: string[] },
): void {
  mockPatch(scope, sent, input.commentId, 1, input.issue);
  mockLabels(
    scope,
    sent,
    input.issue,
    input.labels,
    input.labels.filter((l) => l.startsWith("drover:")),
  );
}

/** The app and its bot user, which the commit is authored as. */
export function mockIdentity(scope: Scope): void {
  scope.get("/app").reply(200, appReply(APP));
  scope.get(`/users/${encodeURIComponent(BOT.login)}`).reply(200, userReply(BOT_USER));
}

/** Branches on the "GitHub" repository. */
export async function originBranches(origin: string): Promise<string[]> {
  const out = await git(origin, "for-each-ref", "--format=%(refname:short)", "refs/heads/");
  return out.split("\n").filter(Boolean);
}

export async function taskOf(db: Db, repo: TestRepo, issue: number) {
  const [task] = await db
    .select()
    .from(tasks)
    .where(and(eq(tasks.repoId, repo.id), eq(tasks.issueNumber, issue)));
  const runs = task ? await db.select().from(attempts).where(eq(attempts.taskId, task.id)) : [];
  return { task, attempts: runs };
}

/** Run directories the agent runner made under DROVER_HOME for this issue (one per agent run). */
export async function runDirs(home: string, repo: TestRepo, issue: number): Promise<string[]> {
  const all = await readdir(path.join(home, "runs")).catch(() => [] as string[]);
  return all.filter((name) => name.startsWith(`${repo.id}-${issue}-`));
}
