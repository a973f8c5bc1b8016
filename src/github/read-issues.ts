import { issueKey, type IssueKey } from "../graph/model.ts";
import type { Octokit, RepoRef } from "./types.ts";

/** Reads of issues from GitHub: an issue with its labels, native links, sub-issues and parent. */

export type IssueFacts = {
  key: IssueKey;
  repoFullName: string;
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  closedAs: "completed" | "not_planned" | null;
  labels: string[];
  milestone: string | null;
  author: { login: string; id: number };
  createdAt: Date;
  /**
   * GitHub's `updated_at` of this copy (null where it does not say): a copy older than the one recorded
   * is not recorded over it, as webhooks arrive out of order.
   */
  updatedAt: Date | null;
  isPullRequest: boolean;
  /** What the issue itself says of its links, so only the lists that have something in them are read. */
  hints: LinkHints;
};

/**
 * An issue's own account of its links (REST issues and webhook payloads alike carry it): how many issues
 * block it and how many sub-issues it has (null where the host does not say: read the list), and its
 * parent from `parent_issue_url`, which GitHub leaves out when there is none (so the parent is never
 * probed with GET …/parent, which answers 404 for most issues).
 */
export type LinkHints = {
  blockedBy: number | null;
  subIssues: number | null;
  parent: { repoFullName: string; number: number } | null;
};

export type IssueLinks = {
  blockedBy: IssueFacts[];
  subIssues: IssueFacts[];
  parent: { repoFullName: string; number: number } | null;
};

/** An issue as GitHub's REST API and webhooks show it: the fields Drover reads. */
export type RawIssue = {
  number: number;
  title: string;
  body?: string | null | undefined;
  state: string;
  state_reason?: string | null | undefined;
  labels?: (string | { name?: string | undefined })[] | undefined;
  milestone?: { title: string } | null | undefined;
  user?: { login: string; id: number } | null | undefined;
  created_at: string;
  updated_at?: string | null | undefined;
  repository_url: string;
  pull_request?: unknown;
  sub_issues_summary?: { total?: number | undefined } | null | undefined;
  issue_dependencies_summary?: { total_blocked_by?: number | undefined } | null | undefined;
  parent_issue_url?: string | null | undefined;
};

/** "https://api.github.com/repos/owner/name" → "owner/name" (works for Enterprise hosts too). */
export function repoOfUrl(repositoryUrl: string): string {
  const match = /\/repos\/([^/]+\/[^/]+)\/?$/.exec(repositoryUrl);
  if (!match?.[1]) throw new Error(`not a repository URL: ${repositoryUrl}`);
  return match[1];
}

export function issueFacts(raw: RawIssue): IssueFacts {
  const repoFullName = repoOfUrl(raw.repository_url);
  return {
    key: issueKey(repoFullName, raw.number),
    repoFullName,
    number: raw.number,
    title: raw.title,
    body: raw.body ?? "",
    state: raw.state === "closed" ? "closed" : "open",
    closedAs:
      raw.state_reason === "not_planned" ? "not_planned" : raw.state === "closed" ? "completed" : null,
    labels: (raw.labels ?? []).map((l) => (typeof l === "string" ? l : (l.name ?? ""))).filter(Boolean),
    milestone: raw.milestone?.title ?? null,
    author: { login: raw.user?.login ?? "ghost", id: raw.user?.id ?? 0 },
    createdAt: new Date(raw.created_at),
    updatedAt: dateOrNull(raw.updated_at),
    isPullRequest: raw.pull_request !== undefined,
    hints: linkHints(raw),
  };
}

/** A time GitHub sent, or null where it sent none it can be compared by. */
function dateOrNull(text: string | null | undefined): Date | null {
  const at = text ? new Date(text) : null;
  return at && !Number.isNaN(at.getTime()) ? at : null;
}

function linkHints(raw: RawIssue): LinkHints {
  const blockedBy = raw.issue_dependencies_summary?.total_blocked_by;
  const subIssues = raw.sub_issues_summary?.total;
  return {
    blockedBy: typeof blockedBy === "number" ? blockedBy : null,
    subIssues: typeof subIssues === "number" ? subIssues : null,
    parent: raw.parent_issue_url ? issueRefOfUrl(raw.parent_issue_url) : null,
  };
}

/** "https://api.github.com/repos/owner/name/issues/7" → owner/name and 7; null for anything else. */
export function issueRefOfUrl(url: string): { repoFullName: string; number: number } | null {
  const match = /\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/?$/.exec(url);
  if (!match?.[1] || !match[2]) return null;
  return { repoFullName: match[1], number: Number(match[2]) };
}

export type IssueRead = { ok: true; issue: IssueFacts } | { ok: false; reason: string };

/** One issue, or why Drover cannot read it (not installed on that repository, no access, deleted). */
export async function readIssueFacts(octokit: Octokit, repo: RepoRef, number: number): Promise<IssueRead> {
  try {
    const { data } = await octokit.rest.issues.get({ ...repo, issue_number: number });
    return { ok: true, issue: issueFacts(data as RawIssue) };
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 404 || status === 403 || status === 410) {
      const why =
        status === 410
          ? "it was deleted"
          : `Drover cannot read it (HTTP ${status}: the app is not installed on ${repo.owner}/${repo.repo}, or has no access)`;
      return { ok: false, reason: why };
    }
    throw error;
  }
}

/**
 * The issue's native "blocked by" links and its sub-issues (in GitHub's order), read only where the issue
 * says it has some, and its parent as the issue names it. Hosts without these endpoints (older GitHub
 * Enterprise Server) answer 404: that reads as no links, and the issue text is the fallback.
 */
export async function readIssueLinks(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
  hints: LinkHints,
): Promise<IssueLinks> {
  const params = { ...repo, issue_number: number, per_page: 100 };
  const [blockedBy, subIssues] = await Promise.all([
    hints.blockedBy === 0
      ? []
      : absentAsEmpty(octokit.paginate(octokit.rest.issues.listDependenciesBlockedBy, params)),
    hints.subIssues === 0 ? [] : absentAsEmpty(octokit.paginate(octokit.rest.issues.listSubIssues, params)),
  ]);
  return {
    blockedBy: blockedBy.map((raw) => issueFacts(raw as RawIssue)),
    subIssues: subIssues.map((raw) => issueFacts(raw as RawIssue)),
    parent: hints.parent,
  };
}

async function absentAsEmpty<T>(request: Promise<T[]>): Promise<T[]> {
  try {
    return await request;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return [];
    throw error;
  }
}

/**
 * Reconcile's listing, oldest change first: every issue updated at or after `since`, whatever its labels
 * (a Drover label taken off, or an unlabelled blocker closed, while its webhook was lost shows up here and
 * not in a `labels=` listing); before the first pass (no `since`), the open ones carrying `label`.
 * Conditional like every GET, so a listing nothing changed in is a 304. Pull requests are left out.
 */
export async function listChangedIssues(
  octokit: Octokit,
  repo: RepoRef,
  label: string,
  since: Date | null,
): Promise<{ issue: IssueFacts; updatedAt: Date }[]> {
  const raw = await octokit.paginate(octokit.rest.issues.listForRepo, {
    ...repo,
    sort: "updated",
    direction: "asc",
    per_page: 100,
    ...(since
      ? { state: "all" as const, since: since.toISOString() }
      : { state: "open" as const, labels: label }),
  });
  return raw
    .map((item) => ({ issue: issueFacts(item as RawIssue), updatedAt: new Date(item.updated_at) }))
    .filter(({ issue }) => !issue.isPullRequest);
}
