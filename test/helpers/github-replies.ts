import * as shapes from "../../src/sandbox/shapes.ts";
import type {
  Account,
  AppRecord,
  IssueRecord,
  LabelRecord,
  PullRecord,
  RepoRecord,
  ReviewRecord,
  StateReason,
} from "../../src/sandbox/world.ts";
import { OCTO_REPO, type TestUser } from "./payloads.ts";

/**
 * Reply bodies for nock, whole, as GitHub sends them: built by the sandbox's shapes (src/sandbox/shapes.ts,
 * which test/integration/sandbox/conformance.test.ts holds to GitHub's OpenAPI description) from a few
 * fields a test names. test/helpers/github.ts checks every reply against that description, so a mock
 * cannot answer with a shape the real GitHub never sends.
 */

const URLS: shapes.Urls = { web: "https://github.com", api: "https://api.github.com" };
const CREATED = "2026-11-01T00:00:00Z";

/** An id for a record the test gave no id: stable for the same name, so replies are repeatable. */
function idOf(name: string): number {
  let hash = 7;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) % 1_000_000_007;
  return hash;
}

function account(who: TestUser | Account): Account {
  if ("permission" in who) return who;
  return {
    id: who.id,
    login: who.login,
    type: who.type ?? "User",
    name: null,
    token: null,
    permission: "write",
  };
}

function repoRecord(fullName = OCTO_REPO.fullName): RepoRecord {
  const [owner = "octo-org", name = "widgets"] = fullName.split("/");
  return {
    id: fullName.toLowerCase() === OCTO_REPO.fullName ? OCTO_REPO.id : idOf(fullName),
    owner: {
      id: idOf(owner),
      login: owner,
      type: "Organization",
      name: null,
      token: null,
      permission: "none",
    },
    name,
    fullName,
    description: null,
    defaultBranch: "main",
    private: false,
    createdAt: CREATED,
    updatedAt: CREATED,
    pushedAt: null,
    labels: [],
    allowAutoMerge: true,
    issues: new Map(),
    collaborators: new Map(),
    checkRuns: [],
  };
}

function labelRecord(name: string): LabelRecord {
  return { id: idOf(name), name, color: "ededed", description: null };
}

function issueRecord(input: {
  number: number;
  title?: string;
  body?: string | null;
  author: TestUser;
  labels?: string[];
  state?: "open" | "closed";
  stateReason?: StateReason | null;
  repo?: string;
}): IssueRecord {
  const repo = repoRecord(input.repo);
  const closed = input.state === "closed";
  return {
    id: idOf(`${repo.fullName}#${input.number}`),
    number: input.number,
    repo,
    title: input.title ?? `Issue ${input.number}`,
    body: input.body ?? null,
    state: input.state ?? "open",
    stateReason: input.stateReason ?? null,
    user: account(input.author),
    labels: (input.labels ?? []).map(labelRecord),
    comments: [],
    events: [],
    reactions: [],
    createdAt: CREATED,
    updatedAt: CREATED,
    closedAt: closed ? CREATED : null,
    closedBy: null,
    blockedBy: [],
    parent: null,
    subIssues: [],
    pull: null,
  };
}

/** GET /repos/{owner}/{repo}/issues/{number}. */
export function issueReply(input: Parameters<typeof issueRecord>[0]): shapes.Json {
  return shapes.issue(URLS, issueRecord(input));
}

/** A label list (GET, POST or DELETE on an issue's labels) holding `names`. */
export function labelsReply(names: readonly string[], repo?: string): shapes.Json[] {
  const record = repoRecord(repo);
  return names.map((name) => shapes.label(URLS, record, labelRecord(name)));
}

/**
 * An issue comment `id` (POST to an issue's comments, PATCH of a comment, one of a list), written by
 * `by` at `at` (an ISO time).
 */
export function commentReply(input: {
  id: number;
  body: string;
  issue: number;
  by: TestUser;
  repo?: string;
  at?: string;
}): shapes.Json {
  const issue = issueRecord({
    number: input.issue,
    author: input.by,
    ...(input.repo ? { repo: input.repo } : {}),
  });
  return shapes.comment(URLS, {
    id: input.id,
    issue,
    user: account(input.by),
    body: input.body,
    createdAt: input.at ?? CREATED,
    updatedAt: input.at ?? CREATED,
    reactions: [],
  });
}

/** GET /repos/{owner}/{repo}/collaborators/{username}/permission. */
export function permissionReply(who: TestUser, permission: string, roleName = permission): shapes.Json {
  return {
    permission,
    role_name: roleName,
    user: { ...shapes.user(URLS, account(who)), role_name: roleName },
  };
}

/** GET /users/{username}. */
export function userReply(who: TestUser): shapes.Json {
  return shapes.publicUser(URLS, account(who));
}

function appRecord(app: { id: number; slug: string; name: string; botId: number }): AppRecord {
  const owner = repoRecord().owner;
  return {
    id: app.id,
    slug: app.slug,
    name: app.name,
    owner,
    bot: account({ login: `${app.slug}[bot]`, id: app.botId, type: "Bot" }),
    publicKey: "",
    createdAt: CREATED,
  };
}

/** GET /app. */
export function appReply(app: { id: number; slug: string; name: string; botId: number }): shapes.Json {
  return shapes.app(URLS, appRecord(app));
}

type PullInput = {
  number: number;
  head: string;
  title?: string;
  body?: string;
  by: TestUser;
  repo?: string;
  /** Default "1" x 40. */
  headSha?: string;
  labels?: string[];
  /** Auto-merge on, enabled by `by` (default: the pull request's author) with `method` (default merge). */
  autoMerge?: { by?: TestUser; method?: "merge" | "squash" };
};

function pullRecord(input: PullInput): PullRecord {
  const issue = issueRecord({
    number: input.number,
    title: input.title ?? `Pull request ${input.number}`,
    body: input.body ?? null,
    author: input.by,
    ...(input.labels ? { labels: input.labels } : {}),
    ...(input.repo ? { repo: input.repo } : {}),
  });
  const title = issue.title;
  const pull: PullRecord = {
    issue,
    head: input.head,
    headSha: input.headSha ?? "1".repeat(40),
    base: "main",
    baseSha: "0".repeat(40),
    draft: false,
    merged: false,
    mergedAt: null,
    mergedBy: null,
    mergeCommitSha: null,
    reviews: [],
    comments: [],
    autoMerge: input.autoMerge
      ? {
          enabledBy: account(input.autoMerge.by ?? input.by),
          enabledAt: CREATED,
          mergeMethod: input.autoMerge.method ?? "merge",
          commitTitle:
            input.autoMerge.method === "squash"
              ? `${title} (#${input.number})`
              : `Merge pull request #${input.number} from ${issue.repo.owner.login}/${input.head}`,
          commitMessage: input.autoMerge.method === "squash" ? "" : title,
        }
      : null,
    mergeable: true,
    stats: { additions: 1, deletions: 0, changedFiles: 1, commits: 1 },
  };
  issue.pull = pull;
  return pull;
}

/**
 * POST /repos/{owner}/{repo}/pulls (or GET of one): pull request `number` from `head` onto main, opened
 * by `by`; with `autoMerge`, its `auto_merge` as GitHub shows it once auto-merge is on.
 */
export function pullReply(input: PullInput): shapes.Json {
  return shapes.pullRequest(URLS, pullRecord(input), 1);
}

type ReviewInput = {
  id: number;
  /** The pull request reviewed (its number and head branch are enough). */
  pull: PullInput;
  by: TestUser;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED";
  body?: string;
  /** Default: the pull request's head sha. */
  commitId?: string;
  at?: string;
};

function reviewRecord(pull: PullRecord, input: ReviewInput): ReviewRecord {
  return {
    id: input.id,
    user: account(input.by),
    state: input.state,
    body: input.body ?? "",
    commitId: input.commitId ?? pull.headSha,
    submittedAt: input.at ?? CREATED,
  };
}

/** One review as REST answers it (POST or GET a review, one of a list): state in upper case. */
export function reviewReply(input: ReviewInput): shapes.Json {
  const pull = pullRecord(input.pull);
  return shapes.review(URLS, pull, reviewRecord(pull, input));
}

/**
 * A review comment `id` on `path` line `line` (GET a review's comments, POST a comment or reply): part
 * of review `review`, with the diff hunk GitHub would show (default: a one-line hunk adding that line).
 */
export function reviewCommentReply(input: {
  id: number;
  review: ReviewInput;
  path: string;
  line: number;
  body: string;
  side?: "LEFT" | "RIGHT";
  diffHunk?: string;
  inReplyTo?: number;
  at?: string;
}): shapes.Json {
  const pull = pullRecord(input.review.pull);
  const review = reviewRecord(pull, input.review);
  const json = shapes.reviewComment(URLS, {
    id: input.id,
    pull,
    review,
    user: review.user,
    body: input.body,
    path: input.path,
    line: input.line,
    side: input.side ?? "RIGHT",
    startLine: null,
    startSide: null,
    position: 1,
    diffHunk: input.diffHunk ?? `@@ -${input.line - 1},0 +${input.line},1 @@\n+line ${input.line}`,
    commitId: review.commitId,
    inReplyTo: null,
    createdAt: input.at ?? CREATED,
    updatedAt: input.at ?? CREATED,
    reactions: [],
  });
  return input.inReplyTo === undefined ? json : { ...json, in_reply_to_id: input.inReplyTo };
}

/** A reaction (POST to an issue's, a comment's or a review comment's reactions; one of a list). */
export function reactionReply(input: {
  id: number;
  content: string;
  by: TestUser;
  at?: string;
}): shapes.Json {
  return shapes.reaction(URLS, {
    id: input.id,
    user: account(input.by),
    content: input.content,
    createdAt: input.at ?? CREATED,
  });
}

/** POST /repos/{owner}/{repo}/check-runs: check run `id` on `headSha`, made by the app. */
export function checkRunReply(input: {
  id: number;
  name: string;
  headSha: string;
  app: { id: number; slug: string; name: string; botId: number };
  repo?: string;
}): shapes.Json {
  return shapes.checkRun(URLS, appRecord(input.app), {
    id: input.id,
    repo: repoRecord(input.repo),
    headSha: input.headSha,
    name: input.name,
    status: "completed",
    conclusion: "success",
    startedAt: CREATED,
    completedAt: CREATED,
    detailsUrl: null,
    externalId: null,
    output: { title: null, summary: null, text: null },
  });
}

/** One entry of GET /repos/{owner}/{repo}/issues/{number}/events: `actor` labelled the issue `label`. */
export function labeledEventReply(input: {
  id: number;
  issue: number;
  label: string;
  actor: TestUser;
  repo?: string;
}): shapes.Json {
  const issue = issueRecord({
    number: input.issue,
    author: input.actor,
    ...(input.repo ? { repo: input.repo } : {}),
  });
  return shapes.issueEvent(URLS, issue, {
    id: input.id,
    actor: account(input.actor),
    event: "labeled",
    label: { name: input.label, color: "ededed" },
    createdAt: CREATED,
  });
}

/** The app the job tests act as, and its bot user. */
export const TEST_APP = { id: 1, slug: "drover-test", name: "Drover test", botId: 555 };
export const TEST_BOT: TestUser = { login: `${TEST_APP.slug}[bot]`, id: TEST_APP.botId, type: "Bot" };

/** GET /repos/{owner}/{repo}: the repository `fullName` (id `id`), cloned from `cloneUrl`. */
export function repositoryReply(input: {
  fullName: string;
  id: number;
  cloneUrl: string;
  defaultBranch?: string;
}): shapes.Json {
  const record = {
    ...repoRecord(input.fullName),
    id: input.id,
    defaultBranch: input.defaultBranch ?? "main",
  };
  return {
    ...shapes.repository(URLS, record, 0),
    clone_url: input.cloneUrl,
    network_count: 0,
    subscribers_count: 0,
  };
}
