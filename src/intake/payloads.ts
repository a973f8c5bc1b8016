import { z } from "zod";

/**
 * The webhook fields Drover reads, validated where they enter against what its tables hold, so a payload
 * no real GitHub event carries is refused at intake instead of failing every job it would start.
 * Everything else in a payload is ignored (and kept as sent).
 */

/** Issue and pull request numbers: PostgreSQL `integer` columns. */
const IssueNumber = z.number().int().positive().max(2_147_483_647);
/** GitHub's ids: `bigint` columns read as JS numbers, so safe integers only (zod's int() is). */
const GitHubId = z.number().int().positive();
/** GitHub logins (letters, digits, hyphens; `_` for managed users) of up to 39; a bot adds `[bot]`. */
const Login = z
  .string()
  .max(100)
  .regex(/^[\w.-]+(\[bot\])?$/, "must be a login");
/** A webhook's action (`labeled`, `blocked_by_added`): stored in a text column, so nothing else. */
const Action = z.string().regex(/^[a-z][a-z_]{0,99}$/, "must be a webhook action such as labeled");
/** GitHub's kinds of account: User, Bot, Organization, Mannequin. */
const AccountType = z
  .string()
  .regex(/^[A-Za-z]{1,50}$/, "must be an account type")
  .default("User");
/**
 * Text Drover keeps in a column. PostgreSQL's text holds no NUL, so one becomes U+FFFD here, as a lone
 * surrogate does on its way into PostgreSQL; the delivery itself keeps both as sent.
 */
const StoredText = (max: number) =>
  z
    .string()
    .max(max)
    .transform((text) => text.replaceAll("\u0000", "\ufffd"));
/** owner/name, each of GitHub's name characters; never `.` or `..`, which would be paths. */
const RepoFullName = z
  .string()
  .max(201)
  .regex(/^(?!\.\.?\/)[\w.-]{1,100}\/(?!\.\.?$)[\w.-]{1,100}$/, "must be owner/name");
/** A git branch name: no control characters, spaces or the characters git refuses. */
const BranchName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\p{Cc}\s~^:?*[\\]+$/u, "must be a branch name");

const User = z.object({ login: Login, id: GitHubId, type: AccountType });

export const Repository = z.object({
  id: GitHubId,
  full_name: RepoFullName,
  clone_url: z
    .string()
    .max(2_000)
    .regex(/^[^\p{Cc}\s]+$/u, "must be a URL or path"),
  default_branch: BranchName,
});
export type Repository = z.infer<typeof Repository>;

const Installation = z.object({ id: GitHubId });

/** Where an event happened and who did it: every repository event Drover acts on carries these. */
const InRepository = { repository: Repository, sender: User, installation: Installation };

/** The issue of an `issues.labeled` or `issue_comment` event (a pull request is an issue to GitHub). */
const EventIssue = z.object({
  number: IssueNumber,
  /** GitHub keeps titles to 256 characters. */
  title: StoredText(1_024),
  user: User,
  state: z.enum(["open", "closed"]),
  pull_request: z.unknown().optional(),
});

export const IssueLabeled = z.object({
  action: z.literal("labeled"),
  issue: EventIssue,
  label: z.object({ name: StoredText(1_000) }),
  ...InRepository,
});
export type IssueLabeled = z.infer<typeof IssueLabeled>;

export const IssueClosed = z.object({
  action: z.literal("closed"),
  issue: z.object({
    number: IssueNumber,
    state_reason: z
      .string()
      .regex(/^[a-z_]{1,50}$/, "must be a state reason")
      .nullish(),
  }),
  ...InRepository,
});
export type IssueClosed = z.infer<typeof IssueClosed>;

export const PullRequestClosed = z.object({
  action: z.literal("closed"),
  pull_request: z.object({
    number: IssueNumber,
    merged: z.boolean().nullish(),
    merged_by: User.nullish(),
    head: z.object({ ref: BranchName }),
  }),
  ...InRepository,
});
export type PullRequestClosed = z.infer<typeof PullRequestClosed>;

/** A commit's SHA as webhooks give it (SHA-1, or SHA-256 repositories); all zeros for a deleted ref. */
const CommitSha = z.string().regex(/^[0-9a-f]{40,64}$/, "must be a commit SHA");

/**
 * When GitHub says a repository was pushed to: seconds since the epoch in push webhooks, an ISO time in
 * other events (and in the sandbox's). Only the order of pushes hangs on it, so a time that cannot be
 * read is taken as none (the delivery's arrival stands in), rather than refusing the push.
 */
const PushedAt = z
  .union([z.number(), z.string().max(100)])
  .nullish()
  .transform((value): Date | null => {
    if (value === null || value === undefined) return null;
    const at = typeof value === "number" ? new Date(value * 1000) : new Date(value);
    return Number.isNaN(at.getTime()) ? null : at;
  })
  .catch(null);

/** push: a ref moved (a base branch Drover's pull requests follow, perhaps). */
export const PushEvent = z.object({
  ref: z.string().min(1).max(1_000),
  /** Where the ref was before (all zeros for a new branch): orders two pushes of the same second. */
  before: CommitSha.nullish(),
  after: CommitSha,
  deleted: z.boolean().nullish(),
  /** The pushed commits with the files each touched (GitHub lists up to 2,048; more are left out). */
  commits: z
    .array(
      z.object({
        added: z.array(z.string()).nullish(),
        removed: z.array(z.string()).nullish(),
        modified: z.array(z.string()).nullish(),
      }),
    )
    .max(5_000)
    .nullish(),
  ...InRepository,
  repository: Repository.extend({ pushed_at: PushedAt }),
});
export type PushEvent = z.infer<typeof PushEvent>;

/** pull_request.synchronize: new commits on a pull request's branch. */
export const PullRequestSynchronize = z.object({
  action: z.literal("synchronize"),
  pull_request: z.object({
    number: IssueNumber,
    head: z.object({ ref: BranchName, sha: CommitSha }),
    base: z.object({ ref: BranchName }),
  }),
  ...InRepository,
});
export type PullRequestSynchronize = z.infer<typeof PullRequestSynchronize>;

/** A repository as installation webhooks list it: no clone URL or default branch (read from GitHub later). */
const InstalledRepository = z.object({ id: GitHubId, full_name: RepoFullName });
export type InstalledRepository = z.infer<typeof InstalledRepository>;

export const InstallationEvent = z.object({
  action: Action,
  installation: z.object({
    id: GitHubId,
    account: z.object({ login: Login, type: AccountType }).nullable(),
  }),
  /** installation.created: the repositories it was installed on. */
  repositories: z.array(InstalledRepository).nullish(),
});
export type InstallationEvent = z.infer<typeof InstallationEvent>;

/** installation_repositories.added / removed: the app put on, or taken off, some repositories. */
export const InstallationRepositoriesEvent = z.object({
  action: z.enum(["added", "removed"]),
  installation: z.object({ id: GitHubId }),
  repositories_added: z.array(InstalledRepository).default([]),
  repositories_removed: z.array(InstalledRepository).default([]),
});
export type InstallationRepositoriesEvent = z.infer<typeof InstallationRepositoriesEvent>;

/** Any issues.* event: which issue changed. */
export const IssueChanged = z.object({
  action: Action,
  issue: z.object({ number: IssueNumber, pull_request: z.unknown().optional() }),
  repository: Repository,
  installation: Installation,
  sender: User.optional(),
});
export type IssueChanged = z.infer<typeof IssueChanged>;

const LinkedIssue = z.object({
  number: IssueNumber,
  repository_url: z
    .string()
    .max(2_000)
    .regex(/\/repos\/(?!\.\.?\/)[\w.-]{1,100}\/(?!\.\.?$)[\w.-]{1,100}$/, "must end in /repos/owner/name"),
});

/** The repository a link webhook was sent to, or the other side's (`blocking_issue_repo`, ...). */
const LinkRepository = z.object({ id: GitHubId, full_name: RepoFullName });

/**
 * issue_dependencies.*: both families (blocked_by_* sent to the blocked issue's repository, blocking_* to
 * the blocker's), each with the other side's repository.
 */
export const DependencyChanged = z.object({
  action: Action,
  blocked_issue: LinkedIssue,
  blocking_issue: LinkedIssue,
  installation: Installation,
  repository: LinkRepository.optional(),
  blocked_issue_repo: LinkRepository.optional(),
  blocking_issue_repo: LinkRepository.optional(),
});
export type DependencyChanged = z.infer<typeof DependencyChanged>;

/** sub_issues.*: from the parent's side (sub_issue_*) or the child's (parent_issue_*). */
export const SubIssueChanged = z.object({
  action: Action,
  parent_issue: LinkedIssue,
  sub_issue: LinkedIssue,
  installation: Installation,
  repository: LinkRepository.optional(),
  parent_issue_repo: LinkRepository.optional(),
  sub_issue_repo: LinkRepository.optional(),
});
export type SubIssueChanged = z.infer<typeof SubIssueChanged>;

/** The text of a comment or review (GitHub keeps it to 65,536 characters); none is empty text. */
const CommentBody = StoredText(262_144)
  .nullish()
  .transform((body) => body ?? "");

/** A comment on an issue, a pull request or its diff, as Drover reads it. */
const EventComment = z.object({
  id: GitHubId,
  body: CommentBody,
  user: User,
  html_url: z.string().max(2_000),
  created_at: z.string().max(100),
});

/** issue_comment.created: a comment on an issue or a pull request. */
export const IssueCommentCreated = z.object({
  action: z.literal("created"),
  issue: EventIssue,
  comment: EventComment,
  ...InRepository,
});
export type IssueCommentCreated = z.infer<typeof IssueCommentCreated>;

const PullRequestRef = z.object({
  number: IssueNumber,
  head: z.object({ ref: BranchName, sha: z.string().regex(/^[0-9a-f]{40,64}$/, "must be a commit SHA") }),
  user: User,
  html_url: z.string().max(2_000).optional(),
});

/** pull_request_review_comment.created: an inline comment on a pull request's diff. */
export const ReviewCommentCreated = z.object({
  action: z.literal("created"),
  comment: EventComment.extend({ pull_request_review_id: GitHubId.nullish() }),
  pull_request: PullRequestRef,
  ...InRepository,
});
export type ReviewCommentCreated = z.infer<typeof ReviewCommentCreated>;

/** pull_request_review.submitted: a review of a pull request, with its state. */
export const ReviewSubmitted = z.object({
  action: z.literal("submitted"),
  review: z.object({
    id: GitHubId,
    body: CommentBody,
    /** GitHub sends these in lower case in webhooks (`changes_requested`), upper case in the REST API. */
    state: z
      .string()
      .regex(/^[A-Za-z_]{1,50}$/, "must be a review state")
      .transform((state) => state.toLowerCase()),
    user: User,
    html_url: z.string().max(2_000),
    submitted_at: z.string().max(100).nullish(),
    commit_id: z.string().max(64).nullish(),
  }),
  pull_request: PullRequestRef,
  ...InRepository,
});
export type ReviewSubmitted = z.infer<typeof ReviewSubmitted>;

/** issues.unlabeled: a label taken off an issue (the Drover label stops its task). */
export const IssueUnlabeled = z.object({
  action: z.literal("unlabeled"),
  issue: z.object({ number: IssueNumber, pull_request: z.unknown().optional() }),
  label: z.object({ name: StoredText(1_000) }),
  ...InRepository,
});
export type IssueUnlabeled = z.infer<typeof IssueUnlabeled>;

/**
 * An issue as a webhook shows it (`issues.*`, and both sides of a link event): what sync-issue records of
 * it, read from the payload instead of from GitHub. Link counts and the parent come with it where GitHub
 * sends them.
 */
export const WebhookIssue = z.object({
  number: IssueNumber,
  title: StoredText(1_024),
  body: z.string().max(1_000_000).nullish(),
  state: z.enum(["open", "closed"]),
  state_reason: z.string().max(50).nullish(),
  labels: z.array(z.object({ name: StoredText(1_000) })).default([]),
  milestone: z.object({ title: StoredText(1_000) }).nullish(),
  user: z.object({ login: Login, id: GitHubId }).nullish(),
  created_at: z.string().max(100),
  /** Which of two copies of the issue is newer (webhooks arrive out of order); absent in older fixtures. */
  updated_at: z.string().max(100).nullish(),
  repository_url: LinkedIssue.shape.repository_url,
  pull_request: z.unknown().optional(),
  sub_issues_summary: z.object({ total: z.number().int().nonnegative() }).nullish(),
  issue_dependencies_summary: z.object({ total_blocked_by: z.number().int().nonnegative() }).nullish(),
  parent_issue_url: z.string().max(2_000).nullish(),
});
export type WebhookIssue = z.infer<typeof WebhookIssue>;

/** Any issues.* delivery, with the issue as it was sent. */
export const IssueSnapshot = z.object({
  action: Action,
  issue: WebhookIssue,
  label: z.object({ name: StoredText(1_000) }).optional(),
});
export type IssueSnapshot = z.infer<typeof IssueSnapshot>;
