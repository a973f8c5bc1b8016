import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };

/**
 * Webhook payloads for tests, built from GitHub's real examples (@octokit/webhooks-examples) with the
 * fields a test cares about replaced.
 */

type Json = Record<string, unknown>;

export type TestRepo = {
  id: number;
  fullName: string;
  cloneUrl: string;
  defaultBranch: string;
  installationId: number;
};
export type TestUser = { login: string; id: number; type?: "User" | "Bot" };

export const OCTO_REPO: TestRepo = {
  id: 4242,
  fullName: "octo-org/widgets",
  cloneUrl: "https://github.com/octo-org/widgets.git",
  defaultBranch: "main",
  installationId: 77,
};
export const MAINTAINER: TestUser = { login: "mona", id: 101 };
export const AUTHOR: TestUser = { login: "hubber", id: 202 };

function example(event: string, action: string | undefined): Json {
  const group = (examples as { name: string; examples: Json[] }[]).find((e) => e.name === event);
  const found = group?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${event}.${action ?? ""} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

function repository(base: Json, repo: TestRepo): Json {
  const [owner, name] = repo.fullName.split("/");
  return {
    ...base,
    id: repo.id,
    name,
    full_name: repo.fullName,
    clone_url: repo.cloneUrl,
    default_branch: repo.defaultBranch,
    owner: { ...(base.owner as Json), login: owner },
  };
}

function user(base: unknown, who: TestUser): Json {
  return { ...(base as Json), login: who.login, id: who.id, type: who.type ?? "User" };
}

export function issueLabeled(input: {
  repo?: TestRepo;
  number: number;
  title: string;
  body?: string;
  label?: string;
  sender?: TestUser;
  author?: TestUser;
  /**
   * What the issue says of its links, as GitHub's webhooks carry it (`issue_dependencies_summary`,
   * `sub_issues_summary`, `parent_issue_url`); default none. `null`: left out, as older hosts do.
   */
  links?: { blockedBy?: number; subIssues?: number; parent?: number } | null;
}): Json {
  const p = example("issues", "labeled");
  const repo = input.repo ?? OCTO_REPO;
  const issue = p.issue as Json;
  return {
    ...p,
    issue: {
      ...issue,
      number: input.number,
      title: input.title,
      body: input.body ?? "",
      state: "open",
      user: user(issue.user, input.author ?? AUTHOR),
      ...linkCounts(repo, input.links),
    },
    label: { ...(p.label as Json), name: input.label ?? "drover" },
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, input.sender ?? MAINTAINER),
    installation: { id: repo.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=" },
  };
}

function linkCounts(
  repo: TestRepo,
  links: { blockedBy?: number; subIssues?: number; parent?: number } | null | undefined,
): Json {
  if (links === null) return {};
  const blockedBy = links?.blockedBy ?? 0;
  const subIssues = links?.subIssues ?? 0;
  return {
    sub_issues_summary: { total: subIssues, completed: 0, percent_completed: 0 },
    issue_dependencies_summary: {
      blocked_by: blockedBy,
      total_blocked_by: blockedBy,
      blocking: 0,
      total_blocking: 0,
    },
    ...(links?.parent === undefined
      ? {}
      : { parent_issue_url: `https://api.github.com/repos/${repo.fullName}/issues/${links.parent}` }),
  };
}

export function issueClosed(input: {
  repo?: TestRepo;
  number: number;
  stateReason: "completed" | "not_planned";
  sender?: TestUser;
}): Json {
  const p = issueLabeled({
    number: input.number,
    title: "closed",
    ...(input.repo ? { repo: input.repo } : {}),
  });
  delete p.label;
  return {
    ...p,
    action: "closed",
    issue: { ...(p.issue as Json), state: "closed", state_reason: input.stateReason },
    sender: user(p.sender, input.sender ?? MAINTAINER),
  };
}

export function pullRequestClosed(input: {
  repo?: TestRepo;
  number: number;
  headRef: string;
  merged: boolean;
  mergedBy?: TestUser;
}): Json {
  const p = example("pull_request", "closed");
  const repo = input.repo ?? OCTO_REPO;
  const pr = p.pull_request as Json;
  const merger = input.mergedBy ?? MAINTAINER;
  return {
    ...p,
    number: input.number,
    pull_request: {
      ...pr,
      number: input.number,
      merged: input.merged,
      merged_by: input.merged ? user(pr.user, merger) : null,
      head: { ...(pr.head as Json), ref: input.headRef },
    },
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, merger),
    installation: { id: repo.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=" },
  };
}

const INSTALLATION_NODE = "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=";

/** issue_comment.created: `body` by `author` on issue `number` (a pull request's conversation if `pull`). */
export function issueCommentCreated(input: {
  repo?: TestRepo;
  number: number;
  body: string;
  commentId: number;
  author?: TestUser;
  title?: string;
  issueAuthor?: TestUser;
  state?: "open" | "closed";
  pull?: boolean;
}): Json {
  const p = example("issue_comment", "created");
  const repo = input.repo ?? OCTO_REPO;
  const issue = p.issue as Json;
  const comment = p.comment as Json;
  const author = input.author ?? MAINTAINER;
  const { pull_request: _pull, ...plainIssue } = issue;
  return {
    ...p,
    issue: {
      ...plainIssue,
      number: input.number,
      title: input.title ?? `Task ${input.number}`,
      state: input.state ?? "open",
      user: user(issue.user, input.issueAuthor ?? AUTHOR),
      ...(input.pull
        ? {
            pull_request: {
              url: `https://api.github.com/repos/${repo.fullName}/pulls/${input.number}`,
              html_url: `https://github.com/${repo.fullName}/pull/${input.number}`,
            },
          }
        : {}),
    },
    comment: {
      ...comment,
      id: input.commentId,
      body: input.body,
      user: user(comment.user, author),
      html_url: `https://github.com/${repo.fullName}/issues/${input.number}#issuecomment-${input.commentId}`,
    },
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, author),
    installation: { id: repo.installationId, node_id: INSTALLATION_NODE },
  };
}

/** A pull request's fields in the review payloads: its number and head branch. */
function pullRequest(base: unknown, input: { pr: number; headRef: string }): Json {
  const pr = base as Json;
  return {
    ...pr,
    number: input.pr,
    head: { ...(pr.head as Json), ref: input.headRef, sha: "a".repeat(40) },
  };
}

/** pull_request_review_comment.created: an inline comment `body` by `author` on pull request `pr`. */
export function reviewCommentCreated(input: {
  repo?: TestRepo;
  pr: number;
  headRef: string;
  body: string;
  commentId: number;
  author?: TestUser;
}): Json {
  const p = example("pull_request_review_comment", "created");
  const repo = input.repo ?? OCTO_REPO;
  const comment = p.comment as Json;
  const author = input.author ?? MAINTAINER;
  return {
    ...p,
    comment: {
      ...comment,
      id: input.commentId,
      body: input.body,
      user: user(comment.user, author),
      html_url: `https://github.com/${repo.fullName}/pull/${input.pr}#discussion_r${input.commentId}`,
    },
    pull_request: pullRequest(p.pull_request, input),
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, author),
    installation: { id: repo.installationId, node_id: INSTALLATION_NODE },
  };
}

/** pull_request_review.submitted: a review `state` (commented, approved, ...) with `body` on `pr`. */
export function reviewSubmitted(input: {
  repo?: TestRepo;
  pr: number;
  headRef: string;
  body: string;
  reviewId: number;
  state?: string;
  author?: TestUser;
}): Json {
  const p = example("pull_request_review", "submitted");
  const repo = input.repo ?? OCTO_REPO;
  const review = p.review as Json;
  const author = input.author ?? MAINTAINER;
  return {
    ...p,
    review: {
      ...review,
      id: input.reviewId,
      body: input.body,
      state: input.state ?? "commented",
      user: user(review.user, author),
      html_url: `https://github.com/${repo.fullName}/pull/${input.pr}#pullrequestreview-${input.reviewId}`,
    },
    pull_request: pullRequest(p.pull_request, input),
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, author),
    installation: { id: repo.installationId, node_id: INSTALLATION_NODE },
  };
}

/** issues.unlabeled: `label` taken off issue `number` by `sender`. */
export function issueUnlabeled(input: {
  repo?: TestRepo;
  number: number;
  label?: string;
  sender?: TestUser;
}): Json {
  const p = issueLabeled({
    number: input.number,
    title: `Task ${input.number}`,
    ...(input.repo ? { repo: input.repo } : {}),
    ...(input.label ? { label: input.label } : {}),
    ...(input.sender ? { sender: input.sender } : {}),
  });
  return { ...p, action: "unlabeled" };
}

/**
 * push: `ref` moved from `before` to `after` (GitHub's example with these fields), pushed by `by` at
 * `pushedAt` (the repository's `pushed_at`, seconds since 1970 as push webhooks give it).
 */
export function pushed(input: {
  repo?: TestRepo;
  ref: string;
  after: string;
  before?: string;
  pushedAt?: Date;
  by?: TestUser;
}): Json {
  const p = example("push", undefined);
  const repo = input.repo ?? OCTO_REPO;
  const pusher = input.by ?? MAINTAINER;
  const base = repository(p.repository as Json, repo);
  return {
    ...p,
    ref: input.ref,
    ...(input.before === undefined ? {} : { before: input.before }),
    after: input.after,
    deleted: /^0+$/.test(input.after),
    repository: {
      ...base,
      ...(input.pushedAt === undefined ? {} : { pushed_at: Math.floor(input.pushedAt.getTime() / 1000) }),
    },
    sender: user(p.sender, pusher),
    installation: { id: repo.installationId, node_id: INSTALLATION_NODE },
  };
}

/** pull_request.synchronize: new commits on pull request `number`'s `headRef`, pushed by `by`. */
export function pullRequestSynchronized(input: {
  repo?: TestRepo;
  number: number;
  headRef: string;
  headSha?: string;
  baseRef?: string;
  by?: TestUser;
}): Json {
  const p = example("pull_request", "synchronize");
  const repo = input.repo ?? OCTO_REPO;
  const pr = p.pull_request as Json;
  const by = input.by ?? MAINTAINER;
  return {
    ...p,
    number: input.number,
    pull_request: {
      ...pr,
      number: input.number,
      head: { ...(pr.head as Json), ref: input.headRef, sha: input.headSha ?? "2".repeat(40) },
      base: { ...(pr.base as Json), ref: input.baseRef ?? repo.defaultBranch },
    },
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, by),
    installation: { id: repo.installationId, node_id: INSTALLATION_NODE },
  };
}

/** A repository as installation webhooks list it (GitHub's example's fields, this repository's values). */
function installedRepository(base: unknown, repo: TestRepo): Json {
  const [, name] = repo.fullName.split("/");
  return { ...(base as Json), id: repo.id, name, full_name: repo.fullName };
}

/** installation.created: the app installed (on installation `repos[0]`'s id) on `repos`. */
export function installationCreated(input: { repos: TestRepo[] }): Json {
  const p = example("installation", "created");
  const [first] = (p.repositories as Json[] | undefined) ?? [];
  const installationId = input.repos[0]?.installationId ?? OCTO_REPO.installationId;
  return {
    ...p,
    installation: { ...(p.installation as Json), id: installationId },
    repositories: input.repos.map((repo) => installedRepository(first, repo)),
  };
}

/** installation_repositories.added / removed: the app put on `added` and taken off `removed`. */
export function installationRepositories(input: {
  action: "added" | "removed";
  installationId?: number;
  added?: TestRepo[];
  removed?: TestRepo[];
}): Json {
  const p = example("installation_repositories", input.action);
  const sample = [
    ...((p.repositories_added as Json[]) ?? []),
    ...((p.repositories_removed as Json[]) ?? []),
  ][0];
  return {
    ...p,
    installation: { ...(p.installation as Json), id: input.installationId ?? OCTO_REPO.installationId },
    repositories_added: (input.added ?? []).map((repo) => installedRepository(sample, repo)),
    repositories_removed: (input.removed ?? []).map((repo) => installedRepository(sample, repo)),
  };
}
