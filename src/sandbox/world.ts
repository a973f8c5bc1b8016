import { randomBytes } from "node:crypto";

/**
 * The sandbox's GitHub: accounts, the app and its installation, repositories with their issues, pull
 * requests, labels, comments, dependencies and check runs. Plain records in memory; the REST handlers
 * change them and say which webhooks follow. Nothing here does I/O.
 */

export type Permission = "admin" | "maintain" | "write" | "triage" | "read" | "none";

/** Permissions from least to most. */
export const RANK: Record<Permission, number> = {
  none: 0,
  read: 1,
  triage: 2,
  write: 3,
  maintain: 4,
  admin: 5,
};

export interface Account {
  id: number;
  login: string;
  type: "User" | "Organization" | "Bot";
  name: string | null;
  /** A person's token (`ghp_…`); bots and organisations have none. */
  token: string | null;
  /** What this person may do in the organisation's repositories. */
  permission: Permission;
}

export interface AppRecord {
  id: number;
  slug: string;
  name: string;
  owner: Account;
  bot: Account;
  /** PEM of the public half of the key the app signs its JWTs with. */
  publicKey: string;
  createdAt: string;
}

export interface InstallationRecord {
  id: number;
  account: Account;
  createdAt: string;
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
}

export interface ReactionRecord {
  id: number;
  user: Account;
  content: string;
  createdAt: string;
}

export interface CommentRecord {
  id: number;
  issue: IssueRecord;
  user: Account;
  body: string;
  createdAt: string;
  updatedAt: string;
  reactions: ReactionRecord[];
}

export interface IssueEventRecord {
  id: number;
  actor: Account;
  event: string;
  label?: { name: string; color: string };
  createdAt: string;
}

export type StateReason = "completed" | "not_planned" | "reopened" | "duplicate";

export interface IssueRecord {
  id: number;
  number: number;
  repo: RepoRecord;
  title: string;
  body: string | null;
  state: "open" | "closed";
  stateReason: StateReason | null;
  user: Account;
  labels: LabelRecord[];
  comments: CommentRecord[];
  events: IssueEventRecord[];
  reactions: ReactionRecord[];
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  closedBy: Account | null;
  blockedBy: IssueRecord[];
  parent: IssueRecord | null;
  subIssues: IssueRecord[];
  /** Set when this issue is a pull request (they share numbers, as on GitHub). */
  pull: PullRecord | null;
}

export interface ReviewRecord {
  id: number;
  user: Account;
  state: "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED";
  body: string;
  commitId: string;
  submittedAt: string;
}

export interface ReviewCommentRecord {
  id: number;
  pull: PullRecord;
  /** GitHub files every review comment under a review, a lone comment or reply under one of its own. */
  review: ReviewRecord;
  user: Account;
  body: string;
  path: string;
  /** Line of the file (the new file on RIGHT, the old one on LEFT); start* for a range. */
  line: number;
  side: "LEFT" | "RIGHT";
  startLine: number | null;
  startSide: "LEFT" | "RIGHT" | null;
  /** Lines down from the file's first `@@` in the pull request's diff (GitHub's closing-down `position`). */
  position: number;
  /** The diff from its hunk's `@@` header to the commented line, as GitHub shows it. */
  diffHunk: string;
  commitId: string;
  /** The thread's first comment, for a reply. */
  inReplyTo: ReviewCommentRecord | null;
  createdAt: string;
  updatedAt: string;
  reactions: ReactionRecord[];
}

/** GitHub's auto-merge request: merge as soon as the pull request's requirements are met. */
export interface AutoMergeRecord {
  enabledBy: Account;
  enabledAt: string;
  mergeMethod: "merge" | "squash";
  commitTitle: string;
  commitMessage: string;
}

export interface PullRecord {
  issue: IssueRecord;
  head: string;
  headSha: string;
  base: string;
  baseSha: string;
  draft: boolean;
  merged: boolean;
  mergedAt: string | null;
  mergedBy: Account | null;
  mergeCommitSha: string | null;
  reviews: ReviewRecord[];
  /** Review comments (inline, on lines of the diff), oldest first. */
  comments: ReviewCommentRecord[];
  autoMerge: AutoMergeRecord | null;
  /**
   * Whether head merges into base without conflicts; null while unknown. As on GitHub it is unknown once
   * either branch moves (and when the pull request is opened or retargeted), and is worked out, with
   * `stats`, when the pull request is next asked for by number: a push to a busy base would otherwise
   * redo every open pull request's merge at once.
   */
  mergeable: boolean | null;
  /** When `mergeable`, once worked out, is shown (ms since the epoch): SandboxOptions.mergeabilityDelayMs. */
  mergeableShownFrom?: number;
  /** Numbers from the last diff of head against base. */
  stats: { additions: number; deletions: number; changedFiles: number; commits: number };
}

export interface CheckRunRecord {
  id: number;
  repo: RepoRecord;
  headSha: string;
  name: string;
  status: "queued" | "in_progress" | "completed";
  conclusion: string | null;
  startedAt: string;
  completedAt: string | null;
  detailsUrl: string | null;
  externalId: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
}

export interface RepoRecord {
  id: number;
  owner: Account;
  name: string;
  fullName: string;
  description: string | null;
  defaultBranch: string;
  private: boolean;
  createdAt: string;
  updatedAt: string;
  pushedAt: string | null;
  labels: LabelRecord[];
  /**
   * Whether auto-merge may be enabled on its pull requests (GitHub's `allow_auto_merge`). On by default
   * here (GitHub's default is off) so the demo can use it; a test turns it off to see the refusal.
   */
  allowAutoMerge: boolean;
  /** Issues and pull requests, by number. */
  issues: Map<number, IssueRecord>;
  /** People given access to this repository alone (account id → permission), beside their organisation-wide one. */
  collaborators: Map<number, Permission>;
  checkRuns: CheckRunRecord[];
}

/** A webhook the change causes: event name and payload fields besides repository/sender/installation. */
export type Happening = {
  event: string;
  action?: string;
  repo: RepoRecord | null;
  sender: Account;
  fields: Record<string, unknown>;
};

export class SandboxError extends Error {
  override name = "SandboxError";
  constructor(
    readonly status: number,
    message: string,
    /** Objects naming the field, or plain sentences where GitHub answers with those (reviews). */
    readonly errors?: ({ resource: string; field: string; code: string } | string)[],
  ) {
    super(message);
  }
}

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function personToken(): string {
  return `ghp_${randomBytes(18).toString("base64url")}`;
}

export class World {
  readonly accounts = new Map<string, Account>();
  readonly repos = new Map<string, RepoRecord>();
  readonly issuesById = new Map<number, IssueRecord>();
  readonly commentsById = new Map<number, CommentRecord>();
  readonly reviewCommentsById = new Map<number, ReviewCommentRecord>();
  readonly installations = new Map<number, InstallationRecord>();
  app: AppRecord | null = null;
  #nextId = 1000;

  nextId(): number {
    return this.#nextId++;
  }

  addAccount(input: Omit<Account, "id" | "token"> & { token?: string | null }): Account {
    const account: Account = { id: this.nextId(), token: null, ...input };
    this.accounts.set(account.login.toLowerCase(), account);
    return account;
  }

  account(login: string): Account | undefined {
    return this.accounts.get(login.toLowerCase());
  }

  accountByToken(token: string): Account | undefined {
    for (const account of this.accounts.values()) if (account.token === token) return account;
    return undefined;
  }

  repo(owner: string, name: string): RepoRecord | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  addRepo(owner: Account, name: string, opts: { description?: string | null; defaultBranch?: string }) {
    if (!/^[A-Za-z0-9_.-]+$/.test(name) || name === "." || name === "..") {
      throw new SandboxError(422, `Repository creation failed: name '${name}' is not valid`, [
        { resource: "Repository", field: "name", code: "invalid" },
      ]);
    }
    if (this.repo(owner.login, name)) {
      throw new SandboxError(422, "Repository creation failed.", [
        { resource: "Repository", field: "name", code: "already_exists" },
      ]);
    }
    const at = now();
    const repo: RepoRecord = {
      id: this.nextId(),
      owner,
      name,
      fullName: `${owner.login}/${name}`,
      description: opts.description ?? null,
      defaultBranch: opts.defaultBranch ?? "main",
      private: true,
      createdAt: at,
      updatedAt: at,
      pushedAt: null,
      labels: [],
      allowAutoMerge: true,
      issues: new Map(),
      collaborators: new Map(),
      checkRuns: [],
    };
    this.repos.set(repo.fullName.toLowerCase(), repo);
    return repo;
  }

  /**
   * What `login` may do in `repo`: the owner's members by their permission, or more where the repository
   * names them a collaborator; anyone reads a public one. The app's bot writes.
   */
  permission(repo: RepoRecord, who: Account): Permission {
    if (who.type === "Bot") return this.installationFor(repo) ? "write" : "none";
    if (who.id === repo.owner.id) return "admin";
    const own = repo.collaborators.get(who.id) ?? "none";
    const most = RANK[own] > RANK[who.permission] ? own : who.permission;
    return !repo.private && most === "none" ? "read" : most;
  }

  /** Gives `who` `permission` in `repo` alone (as a repository's "Collaborators" settings do). */
  addCollaborator(repo: RepoRecord, who: Account, permission: Permission): void {
    repo.collaborators.set(who.id, permission);
  }

  installationFor(repo: RepoRecord): InstallationRecord | undefined {
    for (const installation of this.installations.values())
      if (installation.account.id === repo.owner.id) return installation;
    return undefined;
  }

  issue(repo: RepoRecord, number: number): IssueRecord {
    const issue = repo.issues.get(number);
    if (!issue) throw new SandboxError(404, "Not Found");
    return issue;
  }

  createIssue(repo: RepoRecord, author: Account, input: { title: string; body?: string | null }) {
    const at = now();
    const issue: IssueRecord = {
      id: this.nextId(),
      number: repo.issues.size + 1,
      repo,
      title: input.title,
      body: input.body ?? null,
      state: "open",
      stateReason: null,
      user: author,
      labels: [],
      comments: [],
      events: [],
      reactions: [],
      createdAt: at,
      updatedAt: at,
      closedAt: null,
      closedBy: null,
      blockedBy: [],
      parent: null,
      subIssues: [],
      pull: null,
    };
    repo.issues.set(issue.number, issue);
    this.issuesById.set(issue.id, issue);
    return issue;
  }

  /** The repository's label called `name`, created (grey) when it does not exist yet, as GitHub does. */
  label(repo: RepoRecord, name: string): LabelRecord {
    const found = repo.labels.find((label) => label.name.toLowerCase() === name.toLowerCase());
    if (found) return found;
    const label = { id: this.nextId(), name, color: "ededed", description: null };
    repo.labels.push(label);
    return label;
  }

  addComment(issue: IssueRecord, user: Account, body: string): CommentRecord {
    const at = now();
    const comment = { id: this.nextId(), issue, user, body, createdAt: at, updatedAt: at, reactions: [] };
    issue.comments.push(comment);
    this.commentsById.set(comment.id, comment);
    touch(issue);
    return comment;
  }

  recordEvent(issue: IssueRecord, actor: Account, event: string, label?: LabelRecord): void {
    issue.events.push({
      id: this.nextId(),
      actor,
      event,
      ...(label ? { label: { name: label.name, color: label.color } } : {}),
      createdAt: now(),
    });
  }
}

export function touch(issue: IssueRecord): void {
  issue.updatedAt = now();
}
