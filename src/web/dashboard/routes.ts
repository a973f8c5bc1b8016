import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { findSession } from "../../db/access.ts";
import { CommandOutcome } from "../../db/commands.ts";
import {
  controlOutcome,
  dashboardAttempts,
  dashboardTasks,
  repoGraph,
  taskPage,
} from "../../db/dashboard.ts";
import { latestSeq, newestEvents } from "../../db/events.ts";
import { findRepository } from "../../db/repositories.ts";
import { notifyProblems } from "../../db/notify.ts";
import { authenticate, cookieOf, SESSION_COOKIE } from "../auth.ts";
import { canRead, type Route, type Viewer, type WebContext } from "../viewer.ts";
import { controlCommand, CONTROL_NAMES, type ControlName } from "./control-command.ts";
import { DASHBOARD, page, repoHref, taskHref, type Html, type PageOptions } from "./html.ts";
import {
  overviewMain,
  problemMain,
  queuesTable,
  repoMain,
  signInMain,
  taskLive,
  type ControlView,
  type Overview,
} from "./pages.ts";
import {
  completionHistogram,
  costs,
  failureClusters,
  notifyClusters,
  repoQueues,
  successByAgent,
  successByStory,
  utilisation,
  utilisationWindow,
} from "./stats.ts";
import { crossSiteProblem, csrfTokenOf, WriteAccessCache } from "./write-access.ts";

/** How long a control's POST waits for its job to apply it, so the page it returns shows the outcome. */
const CONTROL_WAIT_MS = 10_000;
const MAX_FORM_BYTES = 64 * 1024;

const ASSETS: Record<string, string> = {
  "dashboard.css": "text/css; charset=utf-8",
  "dashboard.js": "text/javascript; charset=utf-8",
};

/**
 * The dashboard (`/drover/`): pages drawn on the server for a signed-in viewer, showing only the
 * repositories they may read, with the controls for those who may steer a task.
 */
export function dashboardRoute(context: WebContext): Route {
  const access = new WriteAccessCache(context.github);
  const webUrl = context.env.GITHUB_WEB_URL.replace(/\/$/, "");
  return async (request, response, url) => {
    const path = url.pathname;
    if (path !== DASHBOARD && !path.startsWith(`${DASHBOARD}/`)) return false;
    const rest = path.slice(DASHBOARD.length);
    const asset = /^\/assets\/([\w.-]+)$/.exec(rest)?.[1];
    if (asset && ASSETS[asset]) {
      await sendAsset(response, asset);
      return true;
    }
    const task = /^\/tasks\/([^/]+)\/([^/]+)\/(\d{1,9})(\/control)?$/.exec(rest);
    const repo = /^\/repos\/([^/]+)\/([^/]+)$/.exec(rest);
    const overview = rest === "" || rest === "/";
    if (!task && !repo && !overview) return false;

    const viewer = await authenticate(context.db, request);
    if (!viewer) {
      if (request.method === "GET" && !url.searchParams.has("fragment"))
        return send(response, 401, page({ title: "Sign in" }, signInMain(`${path}${url.search}`)));
      return send(response, 401, page({ title: "Sign in" }, signInMain(DASHBOARD + "/")));
    }
    if (task) {
      const [, owner, name, number, control] = task;
      const fullName = repoName(owner!, name!);
      if (!fullName) return notFound(response, viewer);
      if (control) {
        if (request.method !== "POST")
          return sendProblem(
            response,
            405,
            viewer,
            "Use the buttons",
            "A control is used with the page's buttons.",
          );
        return useControl(context, access, request, response, viewer, fullName, Number(number));
      }
      return showTask(context, access, request, response, url, viewer, fullName, Number(number), webUrl);
    }
    if (request.method !== "GET")
      return sendProblem(response, 405, viewer, "Not here", "This page is only read.");
    if (repo) {
      const fullName = repoName(repo[1]!, repo[2]!);
      if (!fullName) return notFound(response, viewer);
      return showRepo(context, response, url, viewer, fullName);
    }
    return showOverview(context, response, url, viewer);
  };
}

/** "owner/name" from a path's two segments; null when they are not a repository's (bad escapes, a slash). */
function repoName(owner: string, name: string): string | null {
  try {
    const full = `${decodeURIComponent(owner)}/${decodeURIComponent(name)}`;
    return /^[\w.-]+\/[\w.-]+$/.test(full) ? full : null;
  } catch {
    return null;
  }
}

async function showOverview(context: WebContext, response: ServerResponse, url: URL, viewer: Viewer) {
  const [taskRows, attemptRows, after] = await Promise.all([
    dashboardTasks(context.db, viewer.repos),
    dashboardAttempts(context.db, viewer.repos),
    latestSeq(context.db),
  ]);
  const now = new Date();
  const queues = repoQueues(taskRows);
  if (url.searchParams.get("fragment") === "queues")
    return send(response, 200, queuesTable(queues, now).html);
  const overview: Overview = {
    queues,
    events: await newestEvents(context.db, viewer.repos ? { visible: viewer.repos } : {}),
    byStory: successByStory(taskRows),
    byAgent: successByAgent(attemptRows),
    histogram: completionHistogram(taskRows),
    utilisation: utilisation(attemptRows, now, utilisationWindow(attemptRows, now)),
    costs: costs(attemptRows),
    failures: failureClusters(attemptRows),
    notify: notifyClusters(await notifyProblems(context.db, viewer.repos)),
    now,
  };
  return sendPage(
    response,
    { title: "Dashboard", login: viewer.login, live: live(after) },
    overviewMain(overview),
  );
}

async function showRepo(
  context: WebContext,
  response: ServerResponse,
  url: URL,
  viewer: Viewer,
  fullName: string,
) {
  const repository = await findRepository(context.db, fullName);
  if (!repository || !canRead(viewer, repository.fullName)) return notFound(response, viewer);
  const graph = await repoGraph(context.db, repository.fullName);
  if (url.searchParams.get("fragment") === "states") {
    const states = Object.fromEntries(graph.nodes.filter((n) => n.state).map((n) => [n.key, n.state]));
    return sendJson(response, states);
  }
  const [after, events] = await Promise.all([
    latestSeq(context.db),
    newestEvents(context.db, {
      repos: [repository.fullName],
      ...(viewer.repos ? { visible: viewer.repos } : {}),
    }),
  ]);
  return sendPage(
    response,
    {
      title: repository.fullName,
      login: viewer.login,
      crumbs: [{ label: repository.fullName }],
      live: { ...live(after), repo: repository.fullName },
    },
    repoMain(repository.fullName, graph, events),
  );
}

async function showTask(
  context: WebContext,
  access: WriteAccessCache,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  viewer: Viewer,
  fullName: string,
  number: number,
  webUrl: string,
) {
  if (request.method !== "GET")
    return sendProblem(response, 405, viewer, "Not here", "This page is only read.");
  const repository = await findRepository(context.db, fullName);
  if (!repository || !canRead(viewer, repository.fullName)) return notFound(response, viewer);
  const [details, after] = await Promise.all([
    taskPage(context.db, repository.fullName, number),
    latestSeq(context.db),
  ]);
  if (!details) return notFound(response, viewer);
  const controls = await controlView(context, access, request, url, viewer, repository);
  const main = taskLive(details, controls, webUrl, new Date());
  if (url.searchParams.get("fragment") === "task") return send(response, 200, main.html);
  return sendPage(
    response,
    {
      title: `${repository.fullName}#${number}`,
      login: viewer.login,
      crumbs: [{ label: repository.fullName, href: repoHref(repository.fullName) }, { label: `#${number}` }],
      live: { ...live(after), repo: repository.fullName, issue: number },
    },
    main,
  );
}

/** What a page's live updates start from. */
function live(after: number) {
  return { after };
}

/** The controls as this viewer gets them: drawn (with the form's token) for a writer, absent otherwise. */
async function controlView(
  context: WebContext,
  access: WriteAccessCache,
  request: IncomingMessage,
  url: URL,
  viewer: Viewer,
  repository: { fullName: string; installationId: number },
): Promise<ControlView> {
  const controlId = url.searchParams.get("control");
  const result =
    controlId && /^dashboard-[\w-]{8,64}$/.test(controlId) ? await resultOf(context, controlId) : null;
  let allowed: { allowed: true } | { allowed: false; why: string };
  try {
    allowed = await access.check(viewer, repository);
  } catch (error) {
    context.log.warn({ err: (error as Error).message, repo: repository.fullName }, "write access not read");
    allowed = {
      allowed: false,
      why: "GitHub did not say whether you may steer this task; reload the page to try again.",
    };
  }
  if (!allowed.allowed) return { csrf: null, refusal: allowed.why, result };
  // A token has no cookie to derive a form token from; it posts with its Authorization header instead.
  return { csrf: csrfTokenOf(request) ?? "bearer", refusal: null, result };
}

async function resultOf(context: WebContext, controlId: string): Promise<ControlView["result"]> {
  const row = await controlOutcome(context.db, controlId);
  if (!row) return { ok: true, text: "Your control is queued; this page updates when Drover applies it." };
  let outcome: CommandOutcome;
  try {
    outcome = CommandOutcome.parse(JSON.parse(row.outcome));
  } catch {
    return { ok: true, text: `${row.command} was applied.` };
  }
  if (outcome.applied)
    return {
      ok: true,
      text: `${row.command} applied, by ${row.author}.${outcome.say ? ` ${outcome.say}` : ""}`,
    };
  return { ok: false, text: outcome.say ?? `${row.command} was not applied: Drover refused it.` };
}

async function useControl(
  context: WebContext,
  access: WriteAccessCache,
  request: IncomingMessage,
  response: ServerResponse,
  viewer: Viewer,
  fullName: string,
  number: number,
) {
  const form = await readForm(request);
  if (form === null)
    return sendProblem(
      response,
      413,
      viewer,
      "Too long",
      "The form was larger than Drover takes; shorten the text.",
    );
  const crossSite = crossSiteProblem(request, form.get("csrf") ?? undefined, context.env.DROVER_PUBLIC_URL);
  if (crossSite) return sendProblem(response, 403, viewer, "Refused", crossSite);
  const repository = await findRepository(context.db, fullName);
  if (!repository || !canRead(viewer, repository.fullName)) return notFound(response, viewer);
  const name = form.get("control") ?? "";
  if (!(CONTROL_NAMES as readonly string[]).includes(name))
    return sendProblem(
      response,
      400,
      viewer,
      "Unknown control",
      `"${name.slice(0, 40)}" is not one of ${CONTROL_NAMES.join(", ")}.`,
    );
  const command = controlCommand(name as ControlName, form.get("text") ?? "");
  if (!command.ok) return sendProblem(response, 400, viewer, "Not sent", command.problem);
  const allowed = await access.check(viewer, repository);
  if (!allowed.allowed) return sendProblem(response, 403, viewer, "Read-only", allowed.why);

  const controlId = `dashboard-${randomBytes(9).toString("base64url")}`;
  const author = await authorOf(context, request, viewer);
  await context.enqueue("control", {
    controlId,
    repoFullName: repository.fullName,
    number,
    command: command.text,
    author,
    via: viewer.kind,
  });
  context.log.info(
    { controlId, repo: repository.fullName, number, control: name, by: viewer.login },
    "dashboard control queued",
  );
  // The page that follows shows what came of it: wait a little for the job, then show it either way.
  const until = Date.now() + CONTROL_WAIT_MS;
  while (Date.now() < until && !(await controlOutcome(context.db, controlId)))
    await new Promise((resolve) => setTimeout(resolve, 150));
  response
    .writeHead(303, { location: `${taskHref(repository.fullName, number)}?control=${controlId}` })
    .end();
  return true;
}

/** The person behind a control, as the command's author: their login and GitHub id (a session knows it). */
async function authorOf(context: WebContext, request: IncomingMessage, viewer: Viewer) {
  if (viewer.kind === "token") return { login: viewer.login, id: 0 };
  const cookie = cookieOf(request, SESSION_COOKIE);
  const session = cookie ? await findSession(context.db, cookie) : undefined;
  return { login: viewer.login, id: session?.userId ?? 0 };
}

async function readForm(request: IncomingMessage): Promise<URLSearchParams | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const part of request as AsyncIterable<Buffer>) {
    size += part.length;
    if (size > MAX_FORM_BYTES) return null;
    parts.push(part);
  }
  return new URLSearchParams(Buffer.concat(parts).toString("utf8"));
}

const assetCache = new Map<string, Buffer>();

async function sendAsset(response: ServerResponse, name: string): Promise<void> {
  let body = assetCache.get(name);
  if (!body) {
    body = await readFile(new URL(`./assets/${name}`, import.meta.url));
    assetCache.set(name, body);
  }
  response
    .writeHead(200, {
      "content-type": ASSETS[name]!,
      "content-length": body.length,
      "cache-control": "no-cache",
      "x-content-type-options": "nosniff",
    })
    .end(body);
}

/** Pages allow only Drover's own script and stylesheet: nothing inline, nothing from elsewhere. */
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store",
};

function send(response: ServerResponse, status: number, html: string): true {
  response
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "content-length": Buffer.byteLength(html),
      ...SECURITY_HEADERS,
    })
    .end(html);
  return true;
}

function sendJson(response: ServerResponse, body: object): true {
  const text = JSON.stringify(body);
  response
    .writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      "cache-control": "no-store",
    })
    .end(text);
  return true;
}

function sendPage(response: ServerResponse, options: PageOptions, main: Html): true {
  return send(response, 200, page(options, main));
}

function sendProblem(
  response: ServerResponse,
  status: number,
  viewer: Viewer,
  title: string,
  text: string,
): true {
  return send(response, status, page({ title, login: viewer.login }, problemMain(title, text)));
}

function notFound(response: ServerResponse, viewer: Viewer): true {
  // The same answer for a repository that does not exist and one the viewer may not read.
  return sendProblem(
    response,
    404,
    viewer,
    "Not found",
    "There is no such task or repository, or you cannot read it.",
  );
}
