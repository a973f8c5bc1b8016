/** What Drover is doing with a task (README "Task states"); the database stores it (src/db/schema.ts). */
export const TASK_STATES = [
  "waiting",
  "ready",
  "queued",
  "running",
  "review",
  "conflict",
  "done",
  "blocked",
  "retrying",
  "failed",
  "cancelled",
  "paused",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** One issue, as `owner/repo#12`. Repository names are lower-cased: GitHub treats them case-insensitively. */
export type IssueKey = string;

export function issueKey(repoFullName: string, number: number): IssueKey {
  return `${repoFullName.toLowerCase()}#${number}`;
}

export function parseIssueKey(key: IssueKey): { repoFullName: string; number: number } | null {
  const match = /^([\w.-]+\/[\w.-]+)#([1-9]\d*)$/.exec(key);
  if (!match?.[1] || !match[2]) return null;
  return { repoFullName: match[1], number: Number(match[2]) };
}

/** "#12" within the repository, "owner/repo#12" across. */
export function describeKey(key: IssueKey, here: string): string {
  const ref = parseIssueKey(key);
  if (!ref) return key;
  return ref.repoFullName.toLowerCase() === here.toLowerCase() ? `#${ref.number}` : key;
}

export type Priority = 0 | 1 | 2 | 3;

export const DEFAULT_PRIORITY: Priority = 2;

/** Used for a task's expected duration until it has past attempts to learn from. */
export const DEFAULT_EXPECTED_MS = 10 * 60_000;

/** What the graph knows of one issue: GitHub's view plus Drover's task state when it is a task. */
export interface IssueNode {
  key: IssueKey;
  /** Labelled for Drover. Unlabelled issues still count as blockers. */
  isTask: boolean;
  issueState: "open" | "closed";
  /**
   * Why a closed issue was closed. GitHub reports null for issues closed before close reasons existed;
   * those were closed as completed, and the graph reads them so.
   */
  closedAs: "completed" | "not_planned" | null;
  taskState: TaskState | null;
  /** False when Drover cannot read the issue (another installation, no access, deleted). */
  readable: boolean;
  unreadableReason?: string;
  /** 0 critical, 1 high, 2 normal, 3 low. */
  priority: Priority;
  createdAt: number;
  expectedMs: number;
  parent?: IssueKey;
  /** Position among the parent's sub-issues, in GitHub's order. */
  subOrder?: number;
}

/** Where an edge came from; the strongest source wins when several say the same: native > sub-issue > body. */
export type EdgeSource = "native" | "body" | "sub-issue";

export const SOURCE_STRENGTH: Record<EdgeSource, number> = { native: 3, "sub-issue": 2, body: 1 };

/** `dependent` waits for `blocker`. For sub-issues the parent is the dependent and each child a blocker. */
export interface Edge {
  dependent: IssueKey;
  blocker: IssueKey;
  source: EdgeSource;
}

/** A node with the defaults for everything not given: an open, readable, normal-priority task. */
export function newNode(key: IssueKey, fields: Partial<Omit<IssueNode, "key">> = {}): IssueNode {
  return {
    isTask: true,
    issueState: "open",
    closedAs: null,
    taskState: null,
    readable: true,
    priority: DEFAULT_PRIORITY,
    createdAt: 0,
    expectedMs: DEFAULT_EXPECTED_MS,
    ...fields,
    key,
  };
}

/** Closed as completed (or with no reason given), or Drover's task finished. Not planned is not done. */
export function nodeIsDone(node: IssueNode): boolean {
  if (!node.readable) return false;
  if (node.taskState === "done") return true;
  return node.issueState === "closed" && node.closedAs !== "not_planned";
}

/** Orders `owner/repo#9` before `owner/repo#10`. */
export function compareKeys(a: IssueKey, b: IssueKey): number {
  const hashA = a.lastIndexOf("#");
  const hashB = b.lastIndexOf("#");
  const repoA = a.slice(0, hashA);
  const repoB = b.slice(0, hashB);
  if (repoA !== repoB) return repoA < repoB ? -1 : 1;
  const numberA = Number(a.slice(hashA + 1));
  const numberB = Number(b.slice(hashB + 1));
  if (numberA !== numberB && !Number.isNaN(numberA) && !Number.isNaN(numberB)) return numberA - numberB;
  return a < b ? -1 : a > b ? 1 : 0;
}
