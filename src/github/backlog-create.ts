import { creationOrder, priorityLevel, type BacklogItem } from "../graph/backlog.ts";
import { priorityLabel } from "../graph/commands.ts";
import { noMentions } from "../lib/markdown.ts";
import { issueRefOfUrl } from "./read-issues.ts";
import type { Octokit, RepoRef } from "./types.ts";

/**
 * A backlog (src/graph/backlog.ts) made into GitHub issues: epics and stories as parent issues, tasks
 * labelled for Drover, priority labels, sub-issue links and native "blocked by" links. Used by
 * `drover import-jsonl` and `/drover plan accept`.
 *
 * Each issue's body ends with its source id in a hidden marker, so a rerun finds what an earlier run made
 * (one listing of the issues the App's bot opened: a marker on anyone else's issue is only text) and only
 * finishes what is missing. The rule for a rerun: what goes in the request that makes an issue (title, body,
 * labels) is never set again, since no interrupted run can have left it out, so a label a person removed
 * or a priority changed in the file since stays as the issue has it; what takes requests of its own
 * (closing, sub-issue and "blocked by" links) is added where missing, except that an issue a person
 * reopened stays open. Closed items (an export's finished work) are made and then closed with their
 * reason. The items must have passed `checkBacklog`.
 */

export type CreateBacklogOptions = {
  /** The Drover label put on tasks (the repo's drover.yml `label`, default "drover"); null: none. */
  label: string | null;
  /** An existing issue that every item without a parent becomes a sub-issue of (plan accept); null: none. */
  under: number | null;
  /** Read GitHub, write nothing, report what would be made. */
  dryRun: boolean;
  /**
   * The App's bot login (`my-app[bot]`): only issues it opened are taken as an earlier run's, so a marker
   * someone else plants (`TASK-001` is easy to guess) does not get their issue labelled and started.
   */
  botLogin: string;
  /** Called once per item done. */
  progress?: (note: string) => void;
};
/** One item's issue: `created` when this run made it (or, dry, would); `number` null when dry and new. */
export type BacklogOutcome = { id: string; number: number | null; created: boolean; url: string | null };
export type CreateBacklogResult = {
  items: BacklogOutcome[];
  created: number;
  reused: number;
  linked: number;
};

const MARKER = /<!-- drover-source: (.+?) -->/g;

/**
 * The hidden marker carrying `id`. An HTML comment ends at the first `--` followed by `>` and cannot hold
 * `--` at all, so `%`, `<`, `>`, line breaks and every second `-` of a run are percent-escaped.
 */
export function sourceMarker(id: string): string {
  const escaped = id
    .replace(/%/g, "%25")
    .replace(/</g, "%3C")
    .replace(/>/g, "%3E")
    .replace(/\r/g, "%0D")
    .replace(/\n/g, "%0A")
    .replace(/--/g, "-%2D");
  return `<!-- drover-source: ${escaped} -->`;
}

/** The source id an issue body carries: its last marker, the one written after the description; or null. */
export function sourceIdOf(body: string | null | undefined): string | null {
  const match = [...(body ?? "").matchAll(MARKER)].at(-1);
  if (!match?.[1]) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return null;
  }
}

/**
 * The issue body: the item's description, then its marker. The description comes from a file or an agent:
 * it opens no HTML comment (so it hides nothing and carries no marker of its own) and pings no one.
 */
export function backlogBody(item: BacklogItem): string {
  const description = noMentions(item.description.trim().replaceAll("<!--", "&lt;!--"));
  return `${description}${description ? "\n\n" : ""}${sourceMarker(item.id)}\n`;
}

/** The labels an item's issue carries: the Drover label on Drover's tasks, and its priority's label. */
export function backlogLabels(item: BacklogItem, label: string | null): string[] {
  return [
    ...(item.kind === "task" && item.drover !== false && label !== null ? [label] : []),
    ...(item.priority === null ? [] : [priorityLabel(priorityLevel(item.priority))]),
  ];
}

/** An issue as the repository listing shows it: what a rerun needs to know without reading further. */
type Existing = {
  number: number;
  /** GitHub's id of the issue, which links name it by. */
  issueId: number;
  url: string;
  /** Open and never closed, closed, or open again after a person reopened it. */
  state: "open" | "closed" | "reopened";
  parent: number | null;
  /** How many issues block it (null where the host does not say: read the list). */
  blockedByCount: number | null;
  /** Made by an earlier run (its links may be missing), not this one. */
  before: boolean;
};

type ListedIssue = {
  number: number;
  id: number;
  html_url: string;
  body?: string | null;
  user?: { login: string } | null;
  state?: string;
  state_reason?: string | null;
  pull_request?: unknown;
  parent_issue_url?: string | null;
  issue_dependencies_summary?: { total_blocked_by?: number } | null;
};

export async function createBacklog(
  octokit: Octokit,
  repo: RepoRef,
  items: readonly BacklogItem[],
  options: CreateBacklogOptions,
): Promise<CreateBacklogResult> {
  const bySource = await listIssues(octokit, repo, options.botLogin);
  const under = options.under === null ? null : await parentIssue(octokit, repo, options.under);
  const result: CreateBacklogResult = { items: [], created: 0, reused: 0, linked: 0 };
  const made = new Map<string, Existing | null>();

  for (const item of creationOrder(items)) {
    let issue = bySource.get(item.id) ?? null;
    if (issue === null) {
      issue = options.dryRun
        ? null
        : await createIssue(octokit, repo, item, backlogLabels(item, options.label));
      result.created++;
    } else result.reused++;
    made.set(item.id, issue);
    // Closed right after it is made; an issue an interrupted run left open is closed now.
    const closed = item.state ?? "open";
    if (closed !== "open" && issue?.state === "open" && !options.dryRun) {
      await octokit.rest.issues.update({
        ...repo,
        issue_number: issue.number,
        state: "closed",
        state_reason: closed === "not_planned" ? "not_planned" : "completed",
      });
      issue.state = "closed";
    }

    // A link between this item's issue and `other`, counted in every run and written unless dry: in a dry
    // run either end may be still to be made (known by its id only, null here).
    const self = issue;
    const link = async <T>(other: T | null, write: (self: Existing, other: T) => Promise<unknown>) => {
      if (!options.dryRun && self !== null && other !== null) await write(self, other);
      result.linked++;
    };
    const hasParent = item.parent === null ? under !== null : made.has(item.parent);
    const parent = item.parent === null ? under : (made.get(item.parent) ?? null);
    if (hasParent && (issue === null || issue.parent === null))
      await link(parent, (child, to) =>
        octokit.rest.issues.addSubIssue({ ...repo, issue_number: to.number, sub_issue_id: child.issueId }),
      );
    for (const blocker of await missingBlockers(octokit, repo, issue, item, made))
      await link(blocker, (blocked, to) =>
        octokit.rest.issues.addBlockedByDependency({
          ...repo,
          issue_number: blocked.number,
          issue_id: to.issueId,
        }),
      );
    const created = issue === null || !issue.before;
    result.items.push({ id: item.id, number: issue?.number ?? null, created, url: issue?.url ?? null });
    options.progress?.(
      `${item.id} ${issue === null ? "would be created" : `#${issue.number} ${created ? "created" : "already there"}`}`,
    );
  }
  return result;
}

/**
 * The issues the App's bot opened, open and closed, once, by the source id their bodies carry. Anyone who
 * can open an issue can write a marker; only the bot's are an earlier run's, so each issue's author is
 * checked here. The listing is not narrowed with `creator=<bot login>`: whether GitHub matches an App's
 * `[bot]` login there is not documented, and a filter that matched nothing would make a rerun create
 * everything twice. A busy repository costs a page per 100 issues instead.
 */
async function listIssues(octokit: Octokit, repo: RepoRef, botLogin: string): Promise<Map<string, Existing>> {
  const listed = (await octokit.paginate(octokit.rest.issues.listForRepo, {
    ...repo,
    state: "all",
    sort: "created",
    direction: "asc",
    per_page: 100,
  })) as ListedIssue[];
  const bot = botLogin.toLowerCase();
  const bySource = new Map<string, Existing>();
  for (const raw of listed) {
    if (raw.pull_request !== undefined || raw.user?.login.toLowerCase() !== bot) continue;
    const existing: Existing = {
      number: raw.number,
      issueId: raw.id,
      url: raw.html_url,
      state: raw.state === "closed" ? "closed" : raw.state_reason === "reopened" ? "reopened" : "open",
      parent: raw.parent_issue_url ? (issueRefOfUrl(raw.parent_issue_url)?.number ?? null) : null,
      blockedByCount: raw.issue_dependencies_summary?.total_blocked_by ?? null,
      before: true,
    };
    const source = sourceIdOf(raw.body);
    // The oldest issue with a marker is the item's; a later copy is left alone.
    if (source !== null && !bySource.has(source)) bySource.set(source, existing);
  }
  return bySource;
}

/** The issue every item without a parent goes under (a plan's spec issue, opened by a person): read once. */
async function parentIssue(
  octokit: Octokit,
  repo: RepoRef,
  number: number,
): Promise<{ number: number; issueId: number }> {
  const missing = new Error(`issue #${number} is not an issue of ${repo.owner}/${repo.repo}`);
  const { data } = await octokit.rest.issues
    .get({ ...repo, issue_number: number })
    .catch((error: unknown) => {
      throw (error as { status?: number }).status === 404 ? missing : error;
    });
  if (data.pull_request) throw missing;
  return { number: data.number, issueId: data.id };
}

async function createIssue(
  octokit: Octokit,
  repo: RepoRef,
  item: BacklogItem,
  labels: string[],
): Promise<Existing> {
  // Labels given here are made in the repository on first use, so no label is created apart.
  const { data } = await octokit.rest.issues.create({
    ...repo,
    title: item.title,
    body: backlogBody(item),
    labels,
  });
  return {
    number: data.number,
    issueId: data.id,
    url: data.html_url,
    state: "open",
    parent: null,
    blockedByCount: 0,
    before: false,
  };
}

/**
 * The item's blockers not yet linked. An issue this run made has none. For one an earlier run made, the
 * listing says how many links it has: none, and all are missing; as many as the item names or more, and
 * none is (what an interrupted run leaves is fewer; a link a person swapped for another is their choice);
 * in between, its list is read once to add only the missing ones.
 */
async function missingBlockers(
  octokit: Octokit,
  repo: RepoRef,
  issue: Existing | null,
  item: BacklogItem,
  made: ReadonlyMap<string, Existing | null>,
): Promise<(Existing | null)[]> {
  const blockers = item.blockedBy.map((id) => made.get(id) ?? null);
  if (issue === null || !issue.before || issue.blockedByCount === 0 || blockers.length === 0) return blockers;
  if (issue.blockedByCount !== null && issue.blockedByCount >= blockers.length) return [];
  const linked = await octokit.paginate(octokit.rest.issues.listDependenciesBlockedBy, {
    ...repo,
    issue_number: issue.number,
    per_page: 100,
  });
  const ids = new Set(linked.map((other) => other.id));
  return blockers.filter((blocker) => blocker === null || !ids.has(blocker.issueId));
}
