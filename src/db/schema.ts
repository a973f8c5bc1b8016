import {
  bigint,
  boolean,
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
import { sql } from "drizzle-orm";

import type { EdgeSource, TaskState } from "../graph/model.ts";

// Task states belong to the pure graph; the schema stores them.
export { TASK_STATES, type TaskState } from "../graph/model.ts";

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

/** Repositories Drover works in: with a task, or warmed when the app was installed on them. */
export const repositories = pgTable("repositories", {
  id: id("id").primaryKey(),
  installationId: id("installation_id").notNull(),
  fullName: text("full_name").notNull(),
  cloneUrl: text("clone_url").notNull(),
  defaultBranch: text("default_branch").notNull(),
  /**
   * The base branch's head as the latest push webhook said (`after`), and when it came: a worker's mirror
   * whose base branch already points there needs no fetch when an attempt starts.
   */
  baseSha: text("base_sha"),
  basePushedAt: at("base_pushed_at"),
  /** When the app was taken off this repository (installation_repositories.removed): its mirror can go. */
  removedAt: at("removed_at"),
  createdAt: createdAt(),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

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
    /** The cycle last reported on the issue ("a → b → a"), so it is reported once and withdrawn once. */
    cycle: text("cycle"),
    /** drover.yml as validated when the task was last triggered. */
    config: jsonb("config").notNull(),
    attemptCount: integer("attempt_count").notNull().default(0),
    /** While `retrying`: when the next attempt may start. */
    nextAttemptAt: at("next_attempt_at"),
    /**
     * How the next attempt starts (from the base branch or on top of the task branch), why, and who asked:
     * set by whatever makes the task ready again, copied onto the attempt when it is queued. Null: from the
     * base branch (a new task, an automatic retry). See src/db/attempt-start.ts.
     */
    nextStart: jsonb("next_start"),
    /** `/drover resolve [note]`: the person's note, passed to the dependents' prompts. */
    resolution: text("resolution"),
    /** "Changes requested" reviews reworked so far (bounded by drover.yml `max_reworks`). */
    reworkCount: integer("rework_count").notNull().default(0),
    /** Who last approved the task's pull request, and when. */
    approvedBy: text("approved_by"),
    approvedAt: at("approved_at"),
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
    /** Who holds the lease; null once it was handed back on purpose (a shutdown, a job retry). */
    leaseOwner: text("lease_owner"),
    /**
     * Leases taken over after they ran out in their holder's hands (a crash, a kill, a freeze); leases
     * handed back on purpose do not count. Counted by `claimAttempt`.
     */
    lostLeases: integer("lost_leases").notNull().default(0),
    triggeredBy: text("triggered_by").notNull(),
    deliveryId: text("delivery_id"),
    /** How this attempt starts (src/db/attempt-start.ts): the task's `next_start` when it was queued. */
    start: jsonb("start"),
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
    /** Which agent ran (a failover list moves on when one is unavailable or rate-limited). */
    agent: text("agent"),
    /** How the agent's process ended: exited, timed-out, cancelled, unavailable, rate-limited, ... */
    agentOutcome: text("agent_outcome"),
    inputTokens: integer("input_tokens"),
    outputTokens: integer("output_tokens"),
    sessionId: text("session_id"),
    /** The repository's checks after the agent: command, outcome, exit code, duration, output tail. */
    checks: jsonb("checks"),
    /** Why the agent's verdict block could not be read, when it could not (the verdict is then unknown). */
    verdictProblem: text("verdict_problem"),
    /**
     * Where the attempt's time went, in ms (src/db/attempt-record.ts AttemptTimings): waiting, worktree,
     * setup, agent, checks, push. Shown on the status comment and the check run.
     */
    timings: jsonb("timings"),
    /** While running: the lease holds until this time unless the worker renews it. */
    leaseExpiresAt: at("lease_expires_at"),
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

/**
 * What people told Drover about a task: `/drover hint` text, a "changes requested" review's body and each
 * of its inline comments. Shown in the status comment and given to the agent as guidance, with who said it.
 */
export const hints = pgTable(
  "hints",
  {
    id: serial("id").primaryKey(),
    taskId: integer("task_id")
      .notNull()
      .references(() => tasks.id),
    kind: text("kind").$type<"hint" | "review" | "review-comment">().notNull(),
    author: text("author").notNull(),
    authorId: id("author_id"),
    body: text("body").notNull(),
    /** For an inline review comment: the file, the line and the diff hunk it is on. */
    path: text("path"),
    line: integer("line"),
    diffHunk: text("diff_hunk"),
    /** The review it belongs to (its body and inline comments share it). */
    reviewId: id("review_id"),
    url: text("url"),
    /** The comment, review or review comment it came from: the same one twice is recorded once. */
    sourceId: text("source_id"),
    /** When it was given to a running agent that reads input while it works (Claude Code), if it was. */
    givenLiveAt: at("given_live_at"),
    createdAt: createdAt(),
  },
  (t) => [index("hints_task").on(t.taskId), uniqueIndex("hints_source").on(t.sourceId)],
);

/**
 * Each `/drover` command of a comment, by the delivery that carried it and its place in the comment: a
 * redelivered comment applies each command once (the row is written in the transaction that applies it),
 * and is answered once.
 */
export const commandRuns = pgTable(
  "command_runs",
  {
    deliveryId: text("delivery_id").notNull(),
    index: integer("index").notNull(),
    taskId: integer("task_id"),
    command: text("command").notNull(),
    author: text("author").notNull(),
    /** What came of it: applied, or why not. */
    outcome: text("outcome").notNull(),
    appliedAt: at("applied_at").notNull().defaultNow(),
    /** The reaction or reply that answers it was made. */
    answeredAt: at("answered_at"),
  },
  (t) => [primaryKey({ columns: [t.deliveryId, t.index] })],
);

/** Webhook deliveries seen, by GitHub's delivery id: the same delivery twice changes state once. */
export const deliveries = pgTable("deliveries", {
  id: text("id").primaryKey(),
  event: text("event").notNull(),
  action: text("action"),
  installationId: id("installation_id"),
  repoFullName: text("repo_full_name"),
  /**
   * The body exactly as GitHub sent it: JSON text, parsed when read (src/db/deliveries.ts). Not jsonb, which
   * refuses what GitHub may send (a NUL or a lone surrogate escaped in a string) and would lose the delivery.
   */
  body: text("body").notNull(),
  /** The issue an `issues.*` delivery is about, so it is found without parsing bodies. */
  issueNumber: integer("issue_number"),
  receivedAt: at("received_at").notNull().defaultNow(),
  /** Its jobs are on the queue. */
  dispatchedAt: at("dispatched_at"),
  /**
   * The state change it asks for was made, in the same transaction (so a delivery run again, after a
   * crash or a day later, never changes state twice; what follows the change is still done).
   */
  appliedAt: at("applied_at"),
  /** The job that acts on it (start-task, close-task) finished with it. */
  processedAt: at("processed_at"),
  outcome: text("outcome"),
});

/**
 * Append-only history of what happened to tasks (src/db/events.ts has the types). A task's state change, a
 * hint, a resolution and a pull request opened are written by triggers on `tasks` and `hints` (migration
 * 0016), in the transaction that made the change, so no writer can forget one; other events are written
 * by their writers in their own transaction. `seq` is given at commit, in commit order (a deferred trigger
 * under one lock), so a reader that has seen `seq` N has seen every event committed before it: the
 * stream's cursor (`Last-Event-ID`). Each commit notifies the `drover_events` channel.
 */
export const events = pgTable(
  "events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    /** Null until the writing transaction commits. */
    seq: bigint("seq", { mode: "number" }),
    /** Kept (null) if the task row goes: the event still names its repository and issue. */
    taskId: integer("task_id").references(() => tasks.id, { onDelete: "set null" }),
    type: text("type").notNull(),
    /** The GitHub user who caused it; null: Drover itself. */
    actor: text("actor"),
    /** "owner/name", the issue's number, its story's key ("owner/name#N"), the attempt's number. */
    repo: text("repo"),
    issue: integer("issue"),
    story: text("story"),
    attempt: integer("attempt"),
    data: jsonb("data").notNull().default({}),
    at: at("at").notNull().defaultNow(),
  },
  (t) => [
    index("events_task").on(t.taskId),
    uniqueIndex("events_seq").on(t.seq),
    index("events_repo_seq").on(t.repo, t.seq),
  ],
);

/** Where a reader that must see every event once (the notify dispatcher) got to, by `events.seq`. */
export const eventCursors = pgTable("event_cursors", {
  name: text("name").primaryKey(),
  seq: bigint("seq", { mode: "number" }).notNull(),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

/**
 * Each outgoing webhook (drover.yml `notify`, or the deployment's DROVER_NOTIFY) owed for an event: one row
 * per target and event, made before the job that sends it, so a delivery that keeps failing stays visible
 * (dashboard, logs) and none is lost between the queue and the receiver.
 */
export const notifyDeliveries = pgTable(
  "notify_deliveries",
  {
    id: serial("id").primaryKey(),
    /** A hash of the target's url and format: the same target in two files is one target. */
    targetKey: text("target_key").notNull(),
    /** The url without its query or credentials, for showing. */
    target: text("target").notNull(),
    format: text("format").$type<"json" | "slack" | "discord">().notNull(),
    eventSeq: bigint("event_seq", { mode: "number" }).notNull(),
    repo: text("repo"),
    state: text("state").$type<"pending" | "delivered" | "failed">().notNull().default("pending"),
    tries: integer("tries").notNull().default(0),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    deliveredAt: at("delivered_at"),
    updatedAt: at("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("notify_deliveries_target_event").on(t.targetKey, t.eventSeq),
    index("notify_deliveries_state").on(t.state),
  ],
);

/** API tokens an operator issued (`drover token create`): only a hash is kept. */
export const apiTokens = pgTable("api_tokens", {
  id: serial("id").primaryKey(),
  name: text("name").notNull(),
  /** sha256 of the token, hex. */
  tokenHash: text("token_hash").notNull().unique(),
  /** Repositories ("owner/name") it may read; null: every repository. */
  repos: jsonb("repos").$type<string[] | null>(),
  /** Whether it may use the controls (retry, hint, ...), acting as `name`. */
  canWrite: boolean("can_write").notNull().default(false),
  createdAt: createdAt(),
  lastUsedAt: at("last_used_at"),
  revokedAt: at("revoked_at"),
});

/**
 * People signed in to the dashboard with GitHub (the App's OAuth client): a hash of the cookie's value, who
 * they are, and the repositories GitHub said they can read when they signed in. The user's GitHub token is
 * not kept.
 */
export const webSessions = pgTable("web_sessions", {
  idHash: text("id_hash").primaryKey(),
  login: text("login").notNull(),
  userId: id("user_id").notNull(),
  repos: jsonb("repos").$type<string[]>().notNull(),
  createdAt: createdAt(),
  expiresAt: at("expires_at").notNull(),
});

/**
 * GitHub's view of every issue in a task graph: tasks, their blockers (also in other repositories of the
 * installation), and story parents. Keyed by "owner/repo#number", the key the pure graph uses.
 */
export const issues = pgTable(
  "issues",
  {
    key: text("key").primaryKey(),
    installationId: id("installation_id").notNull(),
    repoFullName: text("repo_full_name").notNull(),
    number: integer("number").notNull(),
    title: text("title").notNull().default(""),
    state: text("state").$type<"open" | "closed">().notNull().default("open"),
    closedAs: text("closed_as").$type<"completed" | "not_planned" | null>(),
    labels: jsonb("labels").$type<string[]>().notNull().default([]),
    milestone: text("milestone"),
    /** The story this issue is a sub-issue of, and its place among the story's sub-issues. */
    parentKey: text("parent_key"),
    subOrder: integer("sub_order"),
    /** False when Drover cannot read the issue (another installation, deleted, no access), with why. */
    readable: boolean("readable").notNull().default(true),
    unreadableReason: text("unreadable_reason"),
    /** When its links (dependencies, sub-issues, parent) were last read; a task is not ready before. */
    linksSyncedAt: at("links_synced_at"),
    githubCreatedAt: at("github_created_at"),
    /**
     * GitHub's `updated_at` of the newest issue payload applied: a payload older than this (webhooks
     * arrive out of order, jobs retry) does not overwrite what a newer one wrote.
     */
    githubUpdatedAt: at("github_updated_at"),
    syncedAt: at("synced_at").notNull().defaultNow(),
  },
  (t) => [index("issues_installation").on(t.installationId), index("issues_parent").on(t.parentKey)],
);

/** "dependent waits for blocker", and where that came from (a native link, the issue text, a sub-issue). */
export const dependencies = pgTable(
  "dependencies",
  {
    dependent: text("dependent").notNull(),
    blocker: text("blocker").notNull(),
    source: text("source").$type<EdgeSource>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.dependent, t.blocker, t.source] }),
    index("dependencies_blocker").on(t.blocker),
  ],
);

/** Bumped whenever something may change what is ready; a scheduling pass repeats until it stops moving. */
export const schedulerState = pgTable("scheduler_state", {
  id: integer("id").primaryKey(),
  generation: bigint("generation", { mode: "number" }).notNull().default(0),
  /** `graph_changes` rows of transactions below this were pruned: a graph read before it is rebuilt. */
  changesPrunedBelow: bigint("changes_pruned_below", { mode: "number" }).notNull().default(0),
});

/**
 * What changed in the task graph, one row per changed issue or task, written by triggers on `issues`,
 * `dependencies` and `tasks` (migration 0006), so no writer can forget it. A scheduler that keeps the graph
 * in memory reads only these keys again. `txid` is the writing transaction's id: rows are read from the
 * oldest transaction still running at the last read, so a change committed late is never skipped.
 */
export const graphChanges = pgTable(
  "graph_changes",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    key: text("key").notNull(),
    taskId: integer("task_id"),
    txid: bigint("txid", { mode: "number" })
      .notNull()
      .default(sql`(pg_current_xact_id()::text)::bigint`),
    at: at("at").notNull().defaultNow(),
  },
  (t) => [index("graph_changes_txid").on(t.txid), index("graph_changes_at").on(t.at)],
);

/**
 * Work that failed for good (a permanent error, or its last try), parked with its reason by the job
 * wrapper: the watchdog does not queue it again; `drover status` lists it and `drover retry` runs it again.
 * One row per job id; a job retried that fails for good again updates its row.
 */
export const deadLetters = pgTable(
  "dead_letters",
  {
    jobId: text("job_id").primaryKey(),
    jobName: text("job_name").notNull(),
    /** The job's payload: ids pointing into PostgreSQL. */
    payload: jsonb("payload").notNull(),
    /** The webhook delivery the job acts on, when it acts on one. */
    deliveryId: text("delivery_id"),
    reason: text("reason").notNull(),
    /** Tries the queue made, over every time it failed for good. */
    attempts: integer("attempts").notNull(),
    /** Times it failed for good: a retry that failed again adds one. */
    failures: integer("failures").notNull().default(1),
    firstFailedAt: at("first_failed_at").notNull().defaultNow(),
    lastFailedAt: at("last_failed_at").notNull().defaultNow(),
    /** Set by `drover retry` when it queued the job again; cleared when it fails for good again. */
    retriedAt: at("retried_at"),
  },
  (t) => [index("dead_letters_delivery").on(t.deliveryId)],
);

/**
 * The watchdog's requeues of one item (a delivery, a job), so that each waits longer than the one
 * before across every worker process: the item is not requeued again before `next_at`.
 */
export const requeues = pgTable("requeues", {
  key: text("key").primaryKey(),
  count: integer("count").notNull(),
  lastAt: at("last_at").notNull().defaultNow(),
  nextAt: at("next_at").notNull(),
});

/**
 * What Drover last wrote on an issue, so its next write is a diff against this and nothing is read back
 * first: the labels it manages that it last set, and each comment it keeps there (the status comment, a
 * story's checklist) with a hash of the body it last sent. Keyed like `issues` ("owner/repo#number"). The
 * one place those comments' ids are kept (migration 0014 moved them here from `tasks` and `issues`).
 */
export const lastWritten = pgTable("last_written", {
  key: text("key").primaryKey(),
  /** The managed labels Drover last set; null: not known (shown before this was kept). */
  labels: jsonb("labels").$type<string[]>(),
  statusCommentId: id("status_comment_id"),
  statusHash: text("status_hash"),
  storyCommentId: id("story_comment_id"),
  storyHash: text("story_hash"),
  /** A cosmetic edit (status or story comment) was held back while the rate limit ran low: still owed. */
  owedSince: at("owed_since"),
  updatedAt: at("updated_at").notNull().defaultNow(),
});

/** Reconcile's place in each repository's issue list: issues updated at or after `since` are read next. */
export const reconcileMarks = pgTable("reconcile_marks", {
  repoId: id("repo_id")
    .primaryKey()
    .references(() => repositories.id),
  /** GitHub's `updated_at` of the last issue seen (its clock, not ours); null before the first pass. */
  since: at("since"),
  passedAt: at("passed_at").notNull().defaultNow(),
});

/**
 * `/drover plan` runs on a spec issue, one row per run (`run_key`: the command's delivery and index, so a
 * job run again finds its own): the proposal it made (`items`, exactly what its comment shows, so an
 * accept creates what people read, whatever is edited on GitHub), or why it made none (`problem`). The
 * proposal comment is one per issue, edited by each new proposal (`comment_id` and `comment_hash` carry
 * over); the issue's latest proposal (highest `version`) is the one accepted.
 */
export const planRuns = pgTable(
  "plan_runs",
  {
    id: serial("id").primaryKey(),
    runKey: text("run_key").notNull().unique(),
    repoId: id("repo_id")
      .notNull()
      .references(() => repositories.id),
    issueNumber: integer("issue_number").notNull(),
    requestedBy: text("requested_by").notNull(),
    /** 1, 2, ... for the issue's proposals; null for a run that proposed nothing. */
    version: integer("version"),
    /** BacklogItem[] (src/graph/backlog.ts), read back through its schema. */
    items: jsonb("items"),
    problem: text("problem"),
    /** The comment as rendered when the run ended: what a job run again posts, unchanged. */
    body: text("body").notNull(),
    commentId: id("comment_id"),
    commentHash: text("comment_hash"),
    acceptedBy: text("accepted_by"),
    acceptedAt: at("accepted_at"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("plan_runs_issue_version").on(t.repoId, t.issueNumber, t.version)],
);
