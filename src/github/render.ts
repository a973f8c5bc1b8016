import type { ConfigProblem } from "../config/parse.ts";
import type { TaskState } from "../db/schema.ts";
import type { AgentVerdict, CheckResult } from "../db/run-results.ts";
import type { AttemptTimings } from "../db/attempt-record.ts";
import { readStart } from "../db/attempt-start.ts";
import { formatDuration } from "../agent/format-duration.ts";
import { fence } from "../lib/markdown.ts";

/** Markdown Drover posts. Pure: everything it shows comes in as data. */

const HEADLINES: Record<TaskState, string> = {
  waiting: "⏳ Waiting for its blockers",
  ready: "🟡 Ready: waiting for a worker",
  queued: "🟡 Queued: waiting for a worker",
  running: "🔵 Running",
  review: "✅ Pull request ready for review",
  conflict: "⚠️ Conflicts with the base branch: waiting for a person",
  done: "🎉 Done",
  blocked: "🛑 Blocked: the agent needs a person",
  retrying: "🔁 Retrying",
  failed: "❌ Failed",
  cancelled: "⚪ Cancelled",
  paused: "⏸️ Paused",
};

export type StatusView = {
  state: TaskState;
  branch: string;
  startedBy: string | null;
  attempt: number;
  agent?: string;
  reason?: string | null;
  summary?: string | null;
  pullRequest?: { number: number; url: string } | null;
  durationMs?: number | null;
  diffStat?: string | null;
  logTail?: string | null;
  completedBy?: string | null;
  /** The issue's author. */
  createdBy?: string | null;
  /** The last person who steered the task (label, command, hint, review). */
  steeredBy?: string | null;
  /** What people told Drover about the task (hints, reviews): the latest few, newest last. */
  hints?: readonly StatusHint[];
  /** How many hints there are in all (more than `hints` shows). */
  hintCount?: number;
  /** The dependency cycle the issue is on ("#4 → #7 → #4"), if any. */
  cycle?: string | null;
  /** drover.yml `max_attempts`, to say "attempt 2 of 3". */
  maxAttempts?: number;
  /** While retrying: when the next attempt starts. */
  nextAttemptAt?: Date | null;
  facts?: RunFacts | null;
  /**
   * The attempt ahead (ready, queued) or running merges the pull request's base branch into it: to resolve
   * conflicts with it, or to bring it up to date. Shown in the headline.
   */
  following?: Following | null;
};

/** An attempt that merges the base branch `base` into the task's branch first (AttemptStart's `merge`). */
export type Following = { base: string; cause: "update" | "conflict" };

export type StatusHint = {
  author: string;
  kind: "hint" | "review" | "review-comment";
  body: string;
  /** It reached the agent while it ran (an agent that reads input while it works). */
  givenLive?: boolean;
};

/** Hints the status comment lists; the rest are counted. */
export const STATUS_HINTS = 3;

/** The headline: the state's, or what an attempt following the base branch is doing. */
function headline(view: StatusView): string {
  const following = view.following;
  if (!following || !["ready", "queued", "running"].includes(view.state)) return HEADLINES[view.state];
  const base = `\`${following.base}\``;
  const running = view.state === "running";
  if (following.cause === "conflict")
    return running
      ? `🔀 Resolving conflicts with ${base}`
      : `🔀 Conflicts with ${base}: waiting for a worker to resolve them`;
  return running
    ? `🔄 Merging ${base} into the pull request`
    : `🔄 Behind ${base}: waiting for a worker to merge it in`;
}

/** What a person can do about a task waiting in `conflict`. */
function conflictAdvice(branch: string): string {
  return (
    "**What now:** comment `/drover retry` to have the agent resolve the conflicts again, or merge the base " +
    `branch into \`${branch}\` yourself and push: Drover notices when the pull request merges cleanly, and ` +
    "the task goes back to review."
  );
}

export function renderStatus(view: StatusView): string {
  const rows: [string, string][] = [["State", `\`${view.state}\``]];
  if (view.attempt > 0)
    rows.push([
      "Attempt",
      // Merges of the base and reworks are attempts too, beyond max_attempts (which bounds failed tries).
      view.maxAttempts && view.attempt <= view.maxAttempts
        ? `${view.attempt} of ${view.maxAttempts}`
        : String(view.attempt),
    ]);
  if (view.state === "retrying" && view.nextAttemptAt)
    rows.push([
      "Next try",
      `${view.nextAttemptAt
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
        .replace("T", " ")} (attempt ${view.attempt + 1})`,
    ]);
  if (view.agent) rows.push(["Agent", `\`${view.agent}\``]);
  rows.push(["Branch", `\`${view.branch}\``]);
  if (view.pullRequest) rows.push(["Pull request", `#${view.pullRequest.number}`]);
  if (view.durationMs != null) rows.push(["Duration", formatDuration(view.durationMs)]);
  if (view.createdBy) rows.push(["Created by", `@${view.createdBy}`]);
  if (view.startedBy) rows.push(["Started by", `@${view.startedBy}`]);
  if (view.steeredBy) rows.push(["Last steered by", `@${view.steeredBy}`]);
  if (view.completedBy) rows.push(["Completed by", `@${view.completedBy}`]);
  const parts = [
    `### Drover: ${headline(view)}`,
    "",
    "| | |\n|---|---|\n" + rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n"),
  ];
  if (view.cycle) {
    parts.push(
      "",
      `**Dependency cycle:** ${view.cycle}. None of these issues runs until one of their links is removed.`,
    );
  }
  if (view.reason) parts.push("", `**Why:** ${oneLine(view.reason)}`);
  if (view.state === "conflict") parts.push("", conflictAdvice(view.branch));
  if (view.summary) parts.push("", `**Summary:** ${view.summary}`);
  if (view.hints && view.hints.length > 0) parts.push("", ...renderHints(view.hints, view.hintCount));
  const facts = view.facts ? renderRunFacts(view.facts) : [];
  if (facts.length > 0) parts.push("", ...facts);
  if (view.diffStat) parts.push("", details("Changes", fence(view.diffStat)));
  if (view.logTail) parts.push("", details("Log tail", fence(lastLines(view.logTail, 60))));
  return parts.join("\n");
}

const HINT_KIND = { hint: "hint", review: "review", "review-comment": "review comment" } as const;

/** The latest hints, one line each (author, kind, first line), and how many more there are. */
function renderHints(hints: readonly StatusHint[], count = hints.length): string[] {
  const shown = hints.slice(-STATUS_HINTS);
  const more = Math.max(count, hints.length) - shown.length;
  return [
    `**Guidance from people** (${Math.max(count, hints.length)}):`,
    "",
    ...shown.map(
      (hint) =>
        `- @${hint.author} (${HINT_KIND[hint.kind]}${hint.givenLive ? ", given to the running agent" : ""}): ${firstLine(hint.body)}`,
    ),
    ...(more > 0 ? [`- and ${more} earlier`] : []),
  ];
}

/** The first non-empty line of `text`, short enough for a list, with nothing that could break the list. */
function firstLine(text: string, max = 120): string {
  const first = text.split("\n").find((l) => l.trim() !== "") ?? "";
  const one = first.replace(/\s+/g, " ").trim().replaceAll("<", "&lt;");
  const chars = [...one];
  return chars.length <= max ? one || "_(no text)_" : `${chars.slice(0, max - 1).join("")}…`;
}

export function renderRefusal(input: {
  login: string;
  reason: "bot" | "permission";
  permission: string;
  label: string;
}): string {
  const why =
    input.reason === "bot"
      ? `@${input.login} is a bot, and bots cannot start Drover.`
      : `@${input.login} has \`${input.permission}\` access to this repository.`;
  return [
    `Drover did not start: ${why}`,
    "",
    `Only people with write, maintain or admin access can start work, by adding the \`${input.label}\` label ` +
      "(remove and add it again once someone with access agrees).",
  ].join("\n");
}

export function renderConfigProblems(problems: readonly ConfigProblem[], path: string): string {
  const lines = problems.map((p) => {
    const got = p.value === undefined ? "" : ` (got \`${JSON.stringify(p.value)}\`)`;
    return `- \`${p.key}\`${got}: ${p.message}`;
  });
  return [
    `Drover did not start: \`${path}\` is not valid.`,
    "",
    ...lines,
    "",
    "Fix the file on the default branch, then remove and add the label again. The README lists every key.",
  ].join("\n");
}

export function renderPullRequestBody(input: {
  issueNumber: number;
  summary: string;
  reason: string;
  diffStat: string | null;
  attempt: number;
  /** Who the work is for and from: shown under the summary. */
  people?: PullRequestPeople;
}): string {
  const people = input.people ? renderPeople(input.people) : [];
  return [
    `Closes #${input.issueNumber}`,
    "",
    "## Summary",
    "",
    input.summary || "_The agent gave no summary._",
    "",
    `**Verdict:** ${oneLine(input.reason)}`,
    ...(input.diffStat ? ["", details("Changes", fence(input.diffStat))] : []),
    ...(people.length > 0 ? ["", ...people] : []),
    "",
    `<sub>Opened by Drover, attempt ${input.attempt}. Review it like any other pull request; ` +
      "merging it completes the task.</sub>",
  ].join("\n");
}

export type PullRequestPeople = {
  createdBy: string;
  steeredBy?: string | null;
  completedBy?: string | null;
  /** Credited in the commits' `Co-authored-by:` trailers. */
  coAuthors?: readonly string[];
};

function renderPeople(people: PullRequestPeople): string[] {
  const rows: [string, string][] = [["Created by", `@${people.createdBy}`]];
  if (people.steeredBy) rows.push(["Last steered by", `@${people.steeredBy}`]);
  if (people.completedBy) rows.push(["Completed by", `@${people.completedBy}`]);
  if (people.coAuthors && people.coAuthors.length > 0)
    rows.push(["Co-authors", people.coAuthors.map((login) => `@${login}`).join(", ")]);
  return ["| | |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
}

/**
 * The answer to a "changes requested" review, on its pull request, once the rework attempt ended: what
 * changed (the agent's summary and the new commits), or that the attempt did not get there and why.
 */
export function renderReviewAnswer(input: {
  reviewer: string;
  reviewUrl: string;
  attempt: number;
  outcome:
    | { kind: "pushed"; summary: string; baseSha: string | null; headSha: string; diffStat: string | null }
    | { kind: "failed"; state: TaskState; reason: string };
}): string {
  const review = `[review](${input.reviewUrl})`;
  const { outcome } = input;
  if (outcome.kind === "failed") {
    const next =
      outcome.state === "retrying"
        ? "Drover tries again."
        : "Push the changes yourself, or comment `/drover retry` to try again.";
    return [
      `@${input.reviewer}: Drover could not rework this pull request for your ${review} (attempt ${input.attempt}, \`${outcome.state}\`).`,
      "",
      `**Why:** ${oneLine(outcome.reason) || "no reason was recorded"}`,
      "",
      next,
    ].join("\n");
  }
  const range = outcome.baseSha
    ? `${short(outcome.baseSha)}..${short(outcome.headSha)}`
    : short(outcome.headSha);
  return [
    `@${input.reviewer}: Drover reworked this pull request for your ${review} (attempt ${input.attempt}): new commits ${range}.`,
    "",
    outcome.summary.trim() || "_The agent gave no summary._",
    ...(outcome.diffStat ? ["", details("Changes", fence(outcome.diffStat))] : []),
  ].join("\n");
}

/** What Drover says when a "changes requested" review comes after `max_reworks` rounds. */
export function renderReworkLimit(input: {
  reviewer: string;
  reviewUrl: string;
  maxReworks: number;
}): string {
  return [
    `@${input.reviewer}: Drover has reworked this pull request ${input.maxReworks} time${input.maxReworks === 1 ? "" : "s"} (\`max_reworks\` in \`.github/drover.yml\`), so it does not rework it for this [review](${input.reviewUrl}).`,
    "",
    "Push the changes to the branch yourself, or comment `/drover retry` to have Drover run once more on top of the pull request.",
  ].join("\n");
}

function short(sha: string): string {
  return sha.slice(0, 7);
}

export function renderCheckSummary(
  input: {
    reason: string;
    summary: string;
    durationMs: number | null;
    diffStat: string | null;
    logTail: string | null;
  } & RunFacts,
): string {
  const facts = renderRunFacts(input);
  return [
    `**Verdict:** ${oneLine(input.reason)}`,
    "",
    input.summary || "_The agent gave no summary._",
    ...(facts.length > 0 ? ["", ...facts] : []),
    ...(input.durationMs != null ? ["", `Duration: ${formatDuration(input.durationMs)}`] : []),
    ...(input.diffStat ? ["", "### Changes", fence(input.diffStat)] : []),
    ...(input.logTail ? ["", "### Log tail", fence(lastLines(input.logTail, 100))] : []),
  ].join("\n");
}

/** What an attempt's run produced beyond its verdict line: shown in the check run and the status comment. */
export type RunFacts = {
  agent?: string | null;
  /** The agent's own verdict block status; `unknown` when it gave none that could be read. */
  agentWord?: "pass" | "fail" | "blocked" | "unknown" | null;
  verdictProblem?: string | null;
  checks?:
    | readonly {
        command: string;
        outcome: string;
        exitCode: number | null;
        durationMs: number;
        outputTail: string;
      }[]
    | null;
  costUsd?: string | null;
  turns?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  /** Where the attempt's time went (AttemptTimings, as stored). */
  timings?: AttemptTimings | null;
};

const CHECK_MARK: Record<string, string> = { passed: "✅", failed: "❌", "timed-out": "⏱️", cancelled: "⚪" };

/** The agent's word, the checks table and what the run cost, as Markdown lines. */
export function renderRunFacts(facts: RunFacts): string[] {
  const out: string[] = [];
  const usage = [
    facts.agent ? `agent \`${facts.agent}\`` : null,
    facts.costUsd != null ? `cost $${Number(facts.costUsd).toFixed(2)}` : null,
    facts.turns != null ? `${facts.turns} turns` : null,
    facts.inputTokens != null || facts.outputTokens != null
      ? `${facts.inputTokens ?? 0} tokens in, ${facts.outputTokens ?? 0} out`
      : null,
  ].filter(Boolean);
  if (facts.agentWord) {
    out.push(
      facts.agentWord === "unknown"
        ? `**Agent's verdict:** unknown ⚠️ (${oneLine(facts.verdictProblem ?? "no drover-verdict block")}); judged by its exit, the changes and the checks`
        : `**Agent's verdict:** \`${facts.agentWord}\``,
    );
  }
  if (usage.length > 0) out.push(`**Run:** ${usage.join(", ")}`);
  const time = facts.timings ? renderTimings(facts.timings) : null;
  if (time) out.push(`**Time:** ${time}`);
  if (facts.checks && facts.checks.length > 0) {
    const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/`/g, "'");
    out.push(
      "",
      "| check | result | time |",
      "|---|---|---|",
      ...facts.checks.map(
        (c) =>
          `| \`${cell(c.command)}\` | ${CHECK_MARK[c.outcome] ?? ""} ${c.outcome}${c.exitCode != null && c.outcome === "failed" ? ` (exit ${c.exitCode})` : ""} | ${formatDuration(c.durationMs)} |`,
      ),
    );
    for (const c of facts.checks.filter((c) => c.outcome !== "passed" && c.outputTail.trim() !== ""))
      out.push("", details(`Output of \`${cell(c.command)}\``, fence(lastLines(c.outputTail, 60))));
  }
  return out;
}

/** The phases of an attempt, in the order they happen, as the time line names them. */
const PHASES = [
  ["waitingMs", "waiting"],
  ["worktreeMs", "worktree"],
  ["setupMs", "setup"],
  ["agentMs", "agent"],
  ["checksMs", "checks"],
  ["pushMs", "push"],
] as const satisfies readonly (readonly [keyof AttemptTimings, string])[];

/**
 * Where an attempt's time went, on one line: "waiting 2s · worktree 400ms · agent 4m 12s · checks 48s",
 * only the phases it reached; null when none was measured.
 */
export function renderTimings(timings: AttemptTimings): string | null {
  const shown = PHASES.flatMap(([key, name]) => {
    const ms = timings[key];
    return ms === undefined ? [] : [`${name} ${formatDuration(ms)}`];
  });
  return shown.length > 0 ? shown.join(" · ") : null;
}

function details(summary: string, body: string): string {
  return `<details><summary>${summary}</summary>\n\n${body}\n\n</details>`;
}

function lastLines(text: string, n: number): string {
  const lines = text.replace(/\n+$/, "").split("\n");
  return lines.slice(-n).join("\n");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** The status view of a task and its latest attempt, as stored. */
export function statusViewOf(
  task: {
    state: TaskState;
    branch: string;
    modifiedBy: string | null;
    attemptCount: number;
    stateReason: string | null;
    prNumber: number | null;
    completedBy: string | null;
    /** The issue's author (start-task's view before the task is recorded may not know it). */
    createdBy?: string | null;
    cycle?: string | null;
    nextAttemptAt?: Date | null;
    /** How the next attempt starts (AttemptStart, as stored): shown while the task is ready. */
    nextStart?: unknown;
  },
  attempt?: {
    /** Who started this attempt; the task's `modifiedBy` may since be whoever closed or cancelled it. */
    triggeredBy?: string | null;
    summary: string | null;
    reason: string | null;
    durationMs: number | null;
    diffStat: string | null;
    logTail: string | null;
    agent?: string | null;
    verdict?: AgentVerdict | null;
    verdictProblem?: string | null;
    checks?: readonly CheckResult[] | null;
    costUsd?: string | null;
    turns?: number | null;
    inputTokens?: number | null;
    outputTokens?: number | null;
    timings?: AttemptTimings | null;
    /** How the attempt started (AttemptStart, as stored): shown while it is queued or running. */
    start?: unknown;
  } | null,
  // drover.yml `agent`: a failover list, or one name in configs recorded before lists existed.
  extra: { agent?: string | readonly string[]; prUrl?: string; maxAttempts?: number } = {},
): StatusView {
  const finished = ["review", "conflict", "done", "blocked", "failed", "cancelled", "retrying"].includes(
    task.state,
  );
  return {
    state: task.state,
    branch: task.branch,
    startedBy: attempt?.triggeredBy ?? task.modifiedBy,
    attempt: task.attemptCount,
    ...(extra.agent?.length
      ? { agent: typeof extra.agent === "string" ? extra.agent : extra.agent.join(", ") }
      : {}),
    reason: task.stateReason ?? (finished ? attempt?.reason : null) ?? null,
    summary: finished ? (attempt?.summary ?? null) : null,
    pullRequest: task.prNumber !== null ? { number: task.prNumber, url: extra.prUrl ?? "" } : null,
    durationMs: finished ? (attempt?.durationMs ?? null) : null,
    diffStat: finished ? (attempt?.diffStat ?? null) : null,
    logTail: finished ? (attempt?.logTail ?? null) : null,
    completedBy: task.completedBy,
    createdBy: task.createdBy ?? null,
    steeredBy: task.modifiedBy,
    cycle: task.cycle ?? null,
    ...(extra.maxAttempts ? { maxAttempts: extra.maxAttempts } : {}),
    nextAttemptAt: task.nextAttemptAt ?? null,
    facts: finished && attempt ? runFactsOf(attempt) : null,
    following: followingOf(task.state === "ready" ? task.nextStart : attempt?.start),
  };
}

/** The base branch an attempt's start merges first, if it is one that does. */
function followingOf(start: unknown): Following | null {
  const read = start === undefined || start === null ? null : readStart(start);
  if (!read?.merge || (read.cause !== "update" && read.cause !== "conflict")) return null;
  return { base: read.merge.branch, cause: read.cause };
}

/** What brought a pull request's base branch into question: a push to it, or a push to the pull request. */
export type BaseMove = {
  base: string;
  /** The commit the base moved to, when a push to it is what Drover follows. */
  sha?: string;
  /** Who pushed. */
  by: string;
};

function movedBy(move: BaseMove): string {
  return move.sha ? ` (moved to ${short(move.sha)} by @${move.by})` : "";
}

/** Why a task changed state as its pull request followed the base branch: its status comment's "Why". */
export function renderFollowReason(
  pr: number,
  move: BaseMove,
  outcome:
    | { kind: "resolve"; attempt: number; of: number }
    | { kind: "wait-for-person"; maxConflictAttempts: number }
    | { kind: "update" }
    | { kind: "mergeable-again" },
): string {
  const base = `\`${move.base}\``;
  switch (outcome.kind) {
    case "resolve":
      return `#${pr} conflicts with ${base}${movedBy(move)}: the agent is asked to resolve the conflicts (attempt ${outcome.attempt} of ${outcome.of}, \`max_conflict_attempts\`)`;
    case "wait-for-person":
      return outcome.maxConflictAttempts === 0
        ? `#${pr} conflicts with ${base}${movedBy(move)}, and \`max_conflict_attempts\` is 0: Drover leaves the conflicts to a person`
        : `#${pr} conflicts with ${base}${movedBy(move)}, and the agent has had its ${outcome.maxConflictAttempts} tries (\`max_conflict_attempts\`)`;
    case "update":
      return `${base} moved${movedBy(move)}: it is merged into #${pr} and the checks run again (\`update_branch: always\`)`;
    case "mergeable-again":
      return `#${pr} merges cleanly into ${base} again`;
  }
}

/**
 * The `Drover` check run of a pull request that no longer merges into its base: `action_required`, saying
 * what Drover does about it, or that a person has to.
 */
export function renderConflictCheck(
  move: BaseMove,
  outcome: { kind: "resolve"; attempt: number; of: number } | { kind: "wait-for-person" },
): { title: string; summary: string } {
  const base = `\`${move.base}\``;
  const next =
    outcome.kind === "resolve"
      ? `Drover is asking the agent to resolve the conflicts (attempt ${outcome.attempt} of ${outcome.of}); its result comes as new commits on this pull request, checked again.`
      : "Drover leaves it to a person now: comment `/drover retry` to have the agent resolve the conflicts again, or merge the base branch into this branch yourself and push.";
  return {
    title: `Conflicts with ${move.base}`,
    summary: [`This pull request no longer merges cleanly into ${base}${movedBy(move)}.`, "", next].join(
      "\n",
    ),
  };
}

/** The facts of a stored attempt (its `verdict` and `checks` read back through their schemas). */
export function runFactsOf(attempt: {
  agent?: string | null;
  verdict?: AgentVerdict | null;
  verdictProblem?: string | null;
  checks?: readonly CheckResult[] | null;
  costUsd?: string | null;
  turns?: number | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
  timings?: AttemptTimings | null;
}): RunFacts {
  const recorded = attempt.agent !== undefined && attempt.agent !== null;
  return {
    agent: attempt.agent ?? null,
    agentWord: !recorded ? null : (attempt.verdict?.status ?? "unknown"),
    verdictProblem: attempt.verdictProblem ?? null,
    checks: attempt.checks ? [...attempt.checks] : null,
    costUsd: attempt.costUsd ?? null,
    turns: attempt.turns ?? null,
    inputTokens: attempt.inputTokens ?? null,
    outputTokens: attempt.outputTokens ?? null,
    timings: attempt.timings ?? null,
  };
}

export type StoryItem = { number: number; title: string; state: string; done: boolean; isTask: boolean };

/** The checklist a story's parent issue carries: each sub-issue with its state, in GitHub's order. */
export function renderStory(items: readonly StoryItem[]): string {
  const done = items.filter((item) => item.done).length;
  return [
    `### Drover: story progress, ${done} of ${items.length} sub-issues done`,
    "",
    ...items.map(
      (item) =>
        `- [${item.done ? "x" : " "}] #${item.number} ${item.title.replace(/\s+/g, " ")}: \`${item.state}\`` +
        (item.isTask ? "" : " (not a Drover task)"),
    ),
    "",
    "<sub>Sub-issues run first; this issue's own task (if it is labelled) runs when they are all done.</sub>",
  ].join("\n");
}
