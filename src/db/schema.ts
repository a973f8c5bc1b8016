import {
  bigint,
  bigserial,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const id = (name: string) => bigint(name, { mode: "number" });
const at = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const createdAt = () => at("created_at").notNull().defaultNow();

/** GitHub App installations Drover has seen. */
export const installations = pgTable("installations", {
  id: id("id").primaryKey(),
  accountLogin: text("account_login").notNull(),
  accountType: text("account_type").notNull(),
  suspendedAt: at("suspended_at"),
  deletedAt: at("deleted_at"),
  createdAt: createdAt(),
});

/** Repositories with at least one task. */
export const repositories = pgTable("repositories", {
  id: id("id").primaryKey(),
  installationId: id("installation_id").notNull(),
  fullName: text("full_name").notNull(),
  cloneUrl: text("clone_url").notNull(),
  defaultBranch: text("default_branch").notNull(),
  createdAt: createdAt(),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

export const TASK_STATES = [
  "waiting",
  "ready",
  "queued",
  "running",
  "review",
  "done",
  "blocked",
  "retrying",
  "failed",
  "cancelled",
  "paused",
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** One labelled issue: a mirror of GitHub's view plus what Drover is doing with it. */
export const tasks = pgTable(
  "tasks",
  {
    id: serial("id").primaryKey(),
    repoId: id("repo_id")
      .notNull()
      .references(() => repositories.id),
    issueNumber: integer("issue_number").notNull(),
    title: text("title").notNull(),
    state: text("state").$type<TaskState>().notNull(),
    /** Why the task is in its state, in a sentence a person can read. */
    stateReason: text("state_reason"),
    /** Issue author (created by), last person who steered it (modified by), who merged or closed it. */
    createdBy: text("created_by").notNull(),
    createdById: id("created_by_id"),
    modifiedBy: text("modified_by"),
    completedBy: text("completed_by"),
    branch: text("branch").notNull(),
    prNumber: integer("pr_number"),
    statusCommentId: id("status_comment_id"),
    /** drover.yml as validated when the task was last triggered. */
    config: jsonb("config").notNull(),
    attemptCount: integer("attempt_count").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: at("updated_at").notNull().defaultNow(),
    doneAt: at("done_at"),
  },
  (t) => [uniqueIndex("tasks_repo_issue").on(t.repoId, t.issueNumber), index("tasks_state").on(t.state)],
);

export const ATTEMPT_STATES = ["queued", "running", "finished", "abandoned"] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];

/** One run of an agent on a task. The lease epoch fences side effects of a worker that lost its job. */
export const attempts = pgTable(
  "attempts",
  {
    id: serial("id").primaryKey(),
    taskId: integer("task_id")
      .notNull()
      .references(() => tasks.id),
    number: integer("number").notNull(),
    state: text("state").$type<AttemptState>().notNull().default("queued"),
    leaseEpoch: integer("lease_epoch").notNull().default(0),
    leaseOwner: text("lease_owner"),
    triggeredBy: text("triggered_by").notNull(),
    deliveryId: text("delivery_id"),
    startedAt: at("started_at"),
    finishedAt: at("finished_at"),
    conclusion: text("conclusion"),
    verdict: jsonb("verdict"),
    reason: text("reason"),
    summary: text("summary"),
    logTail: text("log_tail"),
    baseSha: text("base_sha"),
    headSha: text("head_sha"),
    diffStat: text("diff_stat"),
    durationMs: integer("duration_ms"),
    costUsd: text("cost_usd"),
    turns: integer("turns"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("attempts_task_number").on(t.taskId, t.number)],
);

/** Side effects an attempt already made (branch pushed at SHA, PR number, check run id): never made twice. */
export const steps = pgTable(
  "steps",
  {
    attemptId: integer("attempt_id")
      .notNull()
      .references(() => attempts.id),
    name: text("name").notNull(),
    result: jsonb("result").notNull(),
    doneAt: at("done_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.attemptId, t.name] })],
);

/** Webhook deliveries seen, by GitHub's delivery id: the same delivery twice changes state once. */
export const deliveries = pgTable("deliveries", {
  id: text("id").primaryKey(),
  event: text("event").notNull(),
  action: text("action"),
  installationId: id("installation_id"),
  repoFullName: text("repo_full_name"),
  payload: jsonb("payload").notNull(),
  receivedAt: at("received_at").notNull().defaultNow(),
  processedAt: at("processed_at"),
  outcome: text("outcome"),
});

/** Append-only history of what happened to tasks. */
export const events = pgTable(
  "events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    taskId: integer("task_id").references(() => tasks.id),
    type: text("type").notNull(),
    actor: text("actor"),
    data: jsonb("data").notNull().default({}),
    at: at("at").notNull().defaultNow(),
  },
  (t) => [index("events_task").on(t.taskId)],
);
