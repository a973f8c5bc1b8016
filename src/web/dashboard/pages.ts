import type { DroverEvent } from "../../db/events.ts";
import type { RepoGraph, TaskPage } from "../../db/dashboard.ts";
import { appliesIn } from "../../graph/commands.ts";
import { TASK_STATES, type TaskState } from "../../graph/model.ts";
import type { ControlName } from "./control-command.ts";
import { graphSvg } from "./graph-svg.ts";
import { ago, badge, DASHBOARD, duration, h, raw, repoHref, taskHref, type Html } from "./html.ts";
import type { Bucket, Cost, FailureCluster, NotifyCluster, Rate, RepoQueue, Utilisation } from "./stats.ts";

/** One event as a line of the activity feed (the client script draws live ones the same way). */
export function feedItem(event: DroverEvent): Html {
  const what = event.type.replace(/^task\./, "");
  const where =
    event.repo && event.issue !== null
      ? h`<a href="${taskHref(event.repo, event.issue)}">${event.repo}#${event.issue}</a>`
      : (event.repo ?? "");
  return h`<li data-seq="${event.seq}"><time datetime="${event.at}">${event.at.slice(11, 19)}</time> <span class="badge ev ev-${what.replace(/\W/g, "-")}">${what}</span> ${where}${
    event.actor ? h` <span class="actor">by ${event.actor}</span>` : ""
  }</li>`;
}

export function feed(events: readonly DroverEvent[]): Html {
  return h`<section class="card feed-card"><h2>Activity</h2><ol id="feed" class="feed">${events.map(feedItem)}</ol>${
    events.length === 0 ? h`<p class="empty" id="feed-empty">Nothing has happened yet.</p>` : ""
  }</section>`;
}

export type Overview = {
  queues: RepoQueue[];
  events: DroverEvent[];
  byStory: Rate[];
  byAgent: Rate[];
  histogram: Bucket[];
  utilisation: Utilisation;
  costs: { tasks: Cost[]; repos: Cost[] };
  failures: FailureCluster[];
  /** Outgoing webhooks that failed or are being retried. */
  notify: NotifyCluster[];
  now: Date;
};

/** `/drover/`: the repositories and their queues, the feed, and the figures. */
export function overviewMain(o: Overview): Html {
  return h`<div class="grid">
<section class="card wide" id="queues">${queuesTable(o.queues, o.now)}</section>
${feed(o.events)}
<section class="card"><h2>Success by story</h2>${rates(o.byStory, "No finished tasks yet.")}</section>
<section class="card"><h2>Success by agent</h2>${rates(o.byAgent, "No finished attempts yet.")}</section>
<section class="card"><h2>Time to completion</h2>${histogram(o.histogram)}</section>
<section class="card"><h2>Worker utilisation</h2>${utilisationChart(o.utilisation)}</section>
<section class="card"><h2>Cost</h2>${costTables(o.costs)}</section>
<section class="card wide"><h2>Failures by cause</h2>${failureTable(o.failures)}</section>
<section class="card wide" id="notify-problems"><h2>Outgoing webhooks</h2>${notifyProblems(o.notify, o.now)}</section>
</div>`;
}

export function queuesTable(queues: readonly RepoQueue[], now: Date): Html {
  if (queues.length === 0)
    return h`<h2>Repositories</h2><p class="empty">No repository you can read has Drover tasks yet.</p>`;
  const shown = TASK_STATES.filter((state) => queues.some((q) => q.counts[state] > 0));
  return h`<h2>Repositories</h2><div class="table-scroll"><table class="queues"><thead><tr><th>Repository</th>${shown.map(
    (state) => h`<th class="num">${badge(state)}</th>`,
  )}<th>Running now</th><th>Waiting longest</th></tr></thead><tbody>${queues.map(
    (q) =>
      h`<tr data-repo="${q.repo}"><td><a href="${repoHref(q.repo)}">${q.repo}</a></td>${shown.map(
        (state) => h`<td class="num" data-state="${state}">${q.counts[state] || ""}</td>`,
      )}<td>${q.running.map((n, i) => h`${i > 0 ? ", " : ""}<a href="${taskHref(q.repo, n)}">#${n}</a>`)}</td><td>${
        q.oldestWaiting
          ? h`<a href="${taskHref(q.repo, q.oldestWaiting.number)}">#${q.oldestWaiting.number}</a> ${ago(q.oldestWaiting.since, now)}`
          : "–"
      }</td></tr>`,
  )}</tbody></table></div>`;
}

function percent(rate: Rate): number {
  return rate.total === 0 ? 0 : Math.round((100 * rate.succeeded) / rate.total);
}

function rates(list: readonly Rate[], empty: string): Html {
  if (list.length === 0) return h`<p class="empty">${empty}</p>`;
  return h`<ul class="bars">${list.map(
    (rate) =>
      h`<li><span class="bar-label">${rate.name}</span><span class="bar"><span class="fill" style="width:${percent(rate)}%"></span></span><span class="num">${percent(rate)}% of ${rate.total}</span></li>`,
  )}</ul>`;
}

function histogram(buckets: readonly Bucket[]): Html {
  const most = Math.max(...buckets.map((b) => b.count));
  if (most === 0) return h`<p class="empty">No task is done yet.</p>`;
  return h`<ul class="bars">${buckets.map(
    (b) =>
      h`<li><span class="bar-label">${b.label}</span><span class="bar"><span class="fill" style="width:${Math.round(
        (100 * b.count) / most,
      )}%"></span></span><span class="num">${b.count}</span></li>`,
  )}</ul>`;
}

function utilisationChart(u: Utilisation): Html {
  const most = Math.max(1, ...u.busy);
  if (u.busy.every((n) => n === 0))
    return h`<p class="empty">No agent ran in the last ${duration(u.stepMs * u.busy.length)}.</p>`;
  const w = 4;
  const height = 60;
  const bars = u.busy.map((n, i) => {
    const bh = Math.round((height * n) / most);
    const at = new Date(u.from.getTime() + i * u.stepMs);
    return h`<rect x="${i * w}" y="${height - bh}" width="${w - 1}" height="${bh}"><title>${at.toISOString().slice(11, 16)}: ${n} busy</title></rect>`;
  });
  return h`<svg class="spark" viewBox="0 0 ${u.busy.length * w} ${height}" preserveAspectRatio="none" role="img" aria-label="Busy agent slots over time">${bars}</svg><p class="caption">Busy agent slots, last ${duration(
    u.stepMs * u.busy.length,
  )} (peak ${most}).</p>`;
}

function costTables(c: { tasks: Cost[]; repos: Cost[] }): Html {
  if (c.repos.length === 0) return h`<p class="empty">No agent reported a cost or tokens.</p>`;
  const rows = (list: readonly Cost[], link: (name: string) => string) =>
    list
      .slice(0, 10)
      .map(
        (cost) =>
          h`<tr><td><a href="${link(cost.name)}">${cost.name}</a></td><td class="num">$${cost.usd.toFixed(2)}</td><td class="num">${cost.tokens.toLocaleString("en")}</td></tr>`,
      );
  const taskLink = (name: string) => {
    const [repo, number] = name.split("#");
    return taskHref(repo!, Number(number));
  };
  return h`<table><thead><tr><th>Repository</th><th>Cost</th><th>Tokens</th></tr></thead><tbody>${rows(c.repos, repoHref)}</tbody></table>
<table><thead><tr><th>Task</th><th>Cost</th><th>Tokens</th></tr></thead><tbody>${rows(c.tasks, taskLink)}</tbody></table>`;
}

function failureTable(list: readonly FailureCluster[]): Html {
  if (list.length === 0) return h`<p class="empty">No attempt has failed.</p>`;
  return h`<div class="table-scroll"><table class="failures"><thead><tr><th>Count</th><th>Cause</th><th>Check</th><th>Tasks</th></tr></thead><tbody>${list.map(
    (f) =>
      h`<tr><td class="num">${f.count}</td><td><code>${f.signature}</code></td><td>${f.check ? h`<code>${f.check}</code>` : "–"}</td><td>${f.tasks
        .slice(0, 8)
        .map((t, i) => {
          const [repo, number] = t.split("#");
          return h`${i > 0 ? ", " : ""}<a href="${taskHref(repo!, Number(number))}">${t}</a>`;
        })}</td></tr>`,
  )}</tbody></table></div>`;
}

function notifyProblems(list: readonly NotifyCluster[], now: Date): Html {
  if (list.length === 0) return h`<p class="empty">No outgoing webhook is failing.</p>`;
  return h`<div class="table-scroll"><table class="notify"><thead><tr><th>Target</th><th>State</th><th>Problem</th><th>Deliveries</th><th>Latest</th></tr></thead><tbody>${list.map(
    (p) =>
      h`<tr><td>${p.target}</td><td>${p.state}</td><td><code>${p.problem}</code></td><td class="num">${p.count}</td><td>${p.latest.eventType}${
        p.latest.repo && p.latest.issue !== null
          ? h` <a href="${taskHref(p.latest.repo, p.latest.issue)}">${p.latest.repo}#${p.latest.issue}</a>`
          : ""
      } ${ago(p.latest.at, now)}</td></tr>`,
  )}</tbody></table></div>`;
}

/** `/drover/repos/<owner>/<name>`: the task graph, a legend and the repository's feed. */
export function repoMain(repo: string, graph: RepoGraph, events: readonly DroverEvent[]): Html {
  const states = TASK_STATES.filter((s) => graph.nodes.some((n) => n.state === s));
  return h`<section class="card wide"><h2>${repo}</h2><p class="legend">${states.map(badge)}</p>${graphSvg(graph)}</section>${feed(events)}`;
}

export type ControlView = {
  /** Null: the viewer may not steer this task (no controls drawn). */
  csrf: string | null;
  /** Why the controls are absent, shown to a signed-in reader. */
  refusal: string | null;
  /** What came of a control just used, if the page follows one. */
  result: { ok: boolean; text: string } | null;
};

const CONTROLS: { name: ControlName; label: string; text?: string }[] = [
  { name: "retry", label: "Retry" },
  { name: "pause", label: "Pause" },
  { name: "resume", label: "Resume" },
  { name: "cancel", label: "Cancel", text: "Reason (optional)" },
  { name: "resolve", label: "Resolve", text: "Note for its dependents (optional)" },
  { name: "hint", label: "Send hint", text: "Guidance for the agent's next attempt" },
];

/** `/drover/tasks/<owner>/<name>/<number>`: the task's live part (re-fetched as a fragment when it changes). */
export function taskLive(p: TaskPage, controls: ControlView, webUrl: string, now: Date): Html {
  const t = p.task;
  const repo = p.repo.fullName;
  return h`<div id="task-live">
<section class="card wide"><h2>#${t.issueNumber} ${t.title} ${badge(t.state)}</h2>
${t.stateReason ? h`<p class="reason">${t.stateReason}</p>` : ""}
<dl class="facts"><dt>Issue</dt><dd><a href="${webUrl}/${repo}/issues/${t.issueNumber}">${repo}#${t.issueNumber}</a></dd>
<dt>Pull request</dt><dd>${t.prNumber ? h`<a id="pr-link" href="${webUrl}/${repo}/pull/${t.prNumber}">#${t.prNumber}</a>` : "none yet"}</dd>
<dt>Created by</dt><dd>${t.createdBy}</dd>${t.modifiedBy ? h`<dt>Last steered by</dt><dd>${t.modifiedBy}</dd>` : ""}${
    t.completedBy ? h`<dt>Completed by</dt><dd>${t.completedBy}</dd>` : ""
  }
<dt>Blocked by</dt><dd>${p.blockers.length === 0 ? "nothing" : p.blockers.map((b, i) => h`${i > 0 ? ", " : ""}${blockerLink(b)}`)}</dd>
${p.story ? h`<dt>Story</dt><dd>${blockerLink(p.story)}</dd>` : ""}<dt>Updated</dt><dd>${ago(t.updatedAt, now)}</dd></dl>
${controlsForm(t.state, controls, repo, t.issueNumber)}
</section>
<section class="card wide"><h2>Attempts</h2>${attemptsTable(p)}</section>
<section class="card"><h2>Hints</h2>${
    p.hints.length === 0
      ? h`<p class="empty">No hints.</p>`
      : h`<ul class="hints">${p.hints.map((hint) => h`<li><b>${hint.author}</b> <span class="badge">${hint.kind}</span> ${ago(hint.createdAt, now)}<pre>${hint.body}</pre></li>`)}</ul>`
  }</section>
<section class="card"><h2>Who did what</h2>${
    p.events.length === 0
      ? h`<p class="empty">No events yet.</p>`
      : h`<ol class="feed">${[...p.events].reverse().map(feedItem)}</ol>`
  }</section>
${logTail(p)}
</div>`;
}

/** Text as the command answers write it, its `code` spans shown as code. */
function withCode(text: string): Html {
  return h`${text.split("`").map((part, i) => (i % 2 === 1 ? h`<code>${part}</code>` : part))}`;
}

function blockerLink(key: string): Html {
  const [repo, number] = key.split("#");
  return h`<a href="${taskHref(repo!, Number(number))}">${key}</a>`;
}

function controlsForm(state: string, c: ControlView, repo: string, number: number): Html {
  const result = c.result
    ? h`<p class="control-result ${c.result.ok ? "ok" : "refused"}" id="control-result" role="status">${withCode(c.result.text)}</p>`
    : "";
  if (c.csrf === null)
    return h`${result}${c.refusal ? h`<p class="read-only" id="read-only">${c.refusal}</p>` : ""}`;
  const action = `${taskHref(repo, number)}/control`;
  const usable = CONTROLS.filter((control) => appliesIn(control.name, state as TaskState));
  if (usable.length === 0)
    return h`${result}<p class="read-only" id="controls" data-state="${state}">No control applies to a ${state} task.</p>`;
  const buttons = usable.map((control) =>
    control.text
      ? h`<form method="post" action="${action}" class="control control-text"><input type="hidden" name="csrf" value="${c.csrf!}"><input type="hidden" name="control" value="${control.name}"><input name="text" placeholder="${control.text}" aria-label="${control.text}"${
          control.name === "hint" ? " required" : ""
        }><button type="submit" data-control="${control.name}">${control.label}</button></form>`
      : h`<form method="post" action="${action}" class="control"><input type="hidden" name="csrf" value="${c.csrf!}"><input type="hidden" name="control" value="${control.name}"><button type="submit" data-control="${control.name}">${control.label}</button></form>`,
  );
  return h`${result}<div class="controls" id="controls" data-state="${state}">${buttons}</div>`;
}

function attemptsTable(p: TaskPage): Html {
  if (p.attempts.length === 0) return h`<p class="empty">No attempt yet.</p>`;
  return h`<div class="table-scroll"><table class="attempts"><thead><tr><th>#</th><th>Agent</th><th>State</th><th>Outcome</th><th>Verdict</th><th>Duration</th><th>Cost</th><th>Timings</th><th>Checks</th></tr></thead><tbody>${p.attempts.map(
    (a) => {
      const verdict = a.verdict as { status?: string; summary?: string } | null;
      const timings = (a.timings ?? {}) as Record<string, unknown>;
      const checks = Array.isArray(a.checks)
        ? (a.checks as { command?: string; outcome?: string; exitCode?: number | null }[])
        : [];
      return h`<tr><td>${a.number}</td><td>${a.agent ?? "–"}</td><td>${a.state}</td><td>${a.conclusion ?? a.agentOutcome ?? "–"}${
        a.reason ? h`<div class="reason">${a.reason}</div>` : ""
      }</td><td>${verdict?.status ?? "–"}${verdict?.summary ? h`<div class="reason">${verdict.summary}</div>` : ""}</td><td>${duration(
        a.durationMs,
      )}</td><td>${a.costUsd ? `$${Number(a.costUsd).toFixed(2)}` : "–"}${
        a.inputTokens || a.outputTokens
          ? h`<div class="reason">${(a.inputTokens ?? 0) + (a.outputTokens ?? 0)} tokens</div>`
          : ""
      }</td><td>${Object.entries(timings)
        .filter(([, v]) => typeof v === "number")
        .map(([k, v]) => h`<div>${k.replace(/Ms$/, "")}: ${duration(v as number)}</div>`)}</td><td>${
        checks.length === 0
          ? "–"
          : checks.map(
              (c) =>
                h`<div><code>${c.command ?? "?"}</code> ${c.outcome ?? ""}${c.exitCode != null ? ` (${c.exitCode})` : ""}</div>`,
            )
      }</td></tr>`;
    },
  )}</tbody></table></div>`;
}

function logTail(p: TaskPage): Html {
  const latest = p.attempts.find((a) => a.logTail);
  if (!latest?.logTail) return raw("");
  // Scrubbed when it was stored; escaped here like any other text.
  return h`<section class="card wide"><h2>Log tail (attempt ${latest.number})</h2><pre class="log">${latest.logTail}</pre></section>`;
}

/** The page for someone Drover does not know yet. */
export function signInMain(next: string): Html {
  return h`<section class="card signin"><h2>Sign in to see Drover's work</h2><p>The dashboard shows the repositories GitHub says you can read.</p><p><a class="button" id="sign-in" href="${DASHBOARD}/auth/login?next=${encodeURIComponent(
    next,
  )}">Sign in with GitHub</a></p></section>`;
}

/** A page saying what went wrong and what to do. */
export function problemMain(title: string, text: string): Html {
  return h`<section class="card"><h2>${title}</h2><p>${text}</p><p><a href="${DASHBOARD}/">Back to the dashboard</a></p></section>`;
}
