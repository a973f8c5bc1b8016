import type { BacklogItem } from "../../src/graph/backlog.ts";
import type { TestSandbox } from "./sandbox.ts";

/** A backlog record: a task with no description, priority, parent or blockers, unless `fields` says. */
export const backlogItem = (id: string, fields: Partial<BacklogItem> = {}): BacklogItem => ({
  id,
  kind: "task",
  title: id,
  description: "",
  priority: null,
  parent: null,
  blockedBy: [],
  line: null,
  ...fields,
});

/**
 * A repository's issue graph as the sandbox holds it, by title (titles are unique in these tests): each
 * issue's labels, parent, sub-issues in GitHub's order and "blocked by" links. Read from the sandbox's
 * world, so taking it costs no request the tests count.
 */
export type GraphNode = {
  title: string;
  labels: string[];
  parent: string | null;
  subIssues: string[];
  blockedBy: string[];
};

export function issueGraph(sandbox: TestSandbox, repo: { owner: string; repo: string }): GraphNode[] {
  const record = sandbox.sandbox.world.repo(repo.owner, repo.repo);
  if (!record) throw new Error(`no repository ${repo.owner}/${repo.repo} in the sandbox`);
  return [...record.issues.values()]
    .filter((issue) => issue.pull === null)
    .map((issue) => ({
      title: issue.title,
      labels: issue.labels.map((label) => label.name).sort(),
      parent: issue.parent?.title ?? null,
      subIssues: issue.subIssues.map((child) => child.title),
      blockedBy: issue.blockedBy.map((blocker) => blocker.title).sort(),
    }))
    .sort((a, b) => a.title.localeCompare(b.title));
}

/** How many issues (not pull requests) the repository has. */
export function issueCount(sandbox: TestSandbox, repo: { owner: string; repo: string }): number {
  const record = sandbox.sandbox.world.repo(repo.owner, repo.repo);
  return [...(record?.issues.values() ?? [])].filter((issue) => issue.pull === null).length;
}

/** A backlog in the JSONL format with an epic, two stories, tasks in each (one straight in the epic), priorities and blockers. */
export const BACKLOG_JSONL = [
  { id: "EPIC-001", type: "epic", title: "Project foundation", description: "Everything else stands on it." },
  { id: "STORY-001", type: "story", epic_id: "EPIC-001", title: "Accounts", priority: 10 },
  { id: "STORY-002", type: "story", epic_id: "EPIC-001", title: "Billing", priority: "low" },
  { id: "TASK-001", type: "task", story_id: "STORY-001", title: "User table", priority: 5 },
  {
    id: "TASK-002",
    type: "task",
    story_id: "STORY-001",
    title: "Sign-up form",
    priority: "high",
    blocked_by: ["TASK-001"],
  },
  {
    id: "TASK-003",
    type: "task",
    story_id: "STORY-002",
    title: "Invoices",
    blocked_by: ["TASK-001", "TASK-002"],
  },
  { id: "TASK-004", type: "task", epic_id: "EPIC-001", title: "Deploy script", priority: 2 },
]
  .map((record) => JSON.stringify(record))
  .join("\n\n");
