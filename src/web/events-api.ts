import type { IncomingMessage, ServerResponse } from "node:http";
import { readEvents, type DroverEvent, type EventFilter } from "../db/events.ts";
import { answer } from "../lib/http.ts";
import { authenticate } from "./auth.ts";
import { ndjsonLine, parseEventQuery, sseFrame, type EventQuery } from "./event-query.ts";
import { canRead, type Route, type Viewer, type WebContext } from "./viewer.ts";

export const EVENTS_PATH = "/drover/api/events";

/** A reader this far behind (bytes not yet taken by its connection) is cut off; it resumes by its cursor. */
const MAX_BUFFERED = 8 * 1024 * 1024;
/** Proxies close connections that say nothing for a minute or so. */
const KEEPALIVE_MS = 15_000;
const PAGE = 500;

/** The message a request without a viewer gets: how to become one. */
export const SIGN_IN_HINT =
  "sign in with GitHub at /drover/auth/login, or send Authorization: Bearer <token> (an operator issues one with `drover token create`)";

/**
 * `GET /drover/api/events`: what happened, as NDJSON or server-sent events, filtered by type, repository,
 * story and time; history from `since` or after a cursor, then live (every worker's events, through the
 * process's EventFeed). A viewer sees only the repositories they can read.
 */
export function eventsApi(context: WebContext): Route {
  return async (request, response, url) => {
    if (url.pathname !== EVENTS_PATH) return false;
    if (request.method !== "GET") {
      answer(response, 405, { error: "use GET" });
      return true;
    }
    const viewer = await authenticate(context.db, request);
    if (!viewer) {
      answer(response, 401, { error: `not signed in: ${SIGN_IN_HINT}` });
      return true;
    }
    const lastEventId = request.headers["last-event-id"];
    const query = parseEventQuery(url, {
      ...(request.headers.accept ? { accept: request.headers.accept } : {}),
      ...(typeof lastEventId === "string" ? { lastEventId } : {}),
    });
    if ("error" in query) {
      answer(response, 400, { error: query.error });
      return true;
    }
    const hidden = (query.filter.repos ?? []).find((repo) => !canRead(viewer, repo));
    if (hidden) {
      answer(response, 404, { error: `no repository ${hidden} that you can read` });
      return true;
    }
    const filter: EventFilter = { ...query.filter, ...(viewer.repos ? { visible: viewer.repos } : {}) };
    startStream(response, query);
    if (query.follow) follow(context, request, response, query, filter, viewer);
    else await dump(context, response, query, filter);
    return true;
  };
}

function startStream(response: ServerResponse, query: EventQuery): void {
  response.writeHead(200, {
    "content-type": query.format === "sse" ? "text/event-stream; charset=utf-8" : "application/x-ndjson",
    "cache-control": "no-cache, no-store",
    // Proxies (nginx) would otherwise hold events back in their buffers.
    "x-accel-buffering": "no",
  });
  if (query.format === "sse") response.write("retry: 3000\n\n");
}

const render = (query: EventQuery) => (query.format === "sse" ? sseFrame : ndjsonLine);

/** History only (`follow=0`), page by page, then the end. */
async function dump(context: WebContext, response: ServerResponse, query: EventQuery, filter: EventFilter) {
  let after = query.afterSeq ?? 0;
  for (;;) {
    const page = await readEvents(context.db, filter, after, PAGE);
    for (const event of page) response.write(render(query)(event));
    if (page.length < PAGE || response.destroyed) break;
    after = page.at(-1)?.seq ?? after;
    if (response.writableLength > MAX_BUFFERED)
      await new Promise((resolve) => response.once("drain", resolve));
  }
  response.end();
}

/** History after the cursor, then live, until the client goes (or falls too far behind, or Drover stops). */
function follow(
  context: WebContext,
  request: IncomingMessage,
  response: ServerResponse,
  query: EventQuery,
  filter: EventFilter,
  viewer: Viewer,
): void {
  const line = render(query);
  const keepalive = setInterval(
    () => response.write(query.format === "sse" ? ": keepalive\n\n" : "\n"),
    KEEPALIVE_MS,
  );
  const stop = () => {
    clearInterval(keepalive);
    unsubscribe();
    if (!response.writableEnded) response.end();
  };
  const unsubscribe = context.feed.subscribe(
    filter,
    query.afterSeq,
    (event: DroverEvent) => {
      if (response.writableLength > MAX_BUFFERED) {
        context.log.info(
          { viewer: viewer.login },
          "event stream reader too slow; closed (it resumes by cursor)",
        );
        stop();
        return;
      }
      response.write(line(event));
    },
    stop,
  );
  request.on("close", stop);
  response.on("close", stop);
}
