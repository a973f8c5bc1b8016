import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { DroverEnv } from "../config/env.ts";
import type { Db } from "../db/client.ts";
import type { EventFeed } from "../db/event-feed.ts";
import type { GitHubApp } from "../github/app.ts";
import type { Enqueue } from "../queue/job-catalog.ts";
import type { WorkQueue } from "../queue/queue.ts";

/**
 * Who is asking, for the API and the dashboard: a person signed in with GitHub, or an API token an
 * operator issued. No viewer, no data.
 */
export type Viewer = {
  /** The GitHub login (a person), or the token's name (`token:<name>`). */
  login: string;
  kind: "person" | "token";
  /** Repositories ("owner/name", lower-case) this viewer may read; undefined: every repository (an operator's token). */
  repos: readonly string[] | undefined;
  /**
   * Whether the controls (retry, hint, pause, ...) are theirs: a token as issued; a person as GitHub says
   * per repository (write, maintain or admin, the same check as a `/drover` command's author).
   */
  mayWrite: boolean | "ask-github";
};

/** Whether `viewer` may read `repo` ("owner/name", any case). */
export function canRead(viewer: Viewer, repo: string): boolean {
  return viewer.repos === undefined || viewer.repos.includes(repo.toLowerCase());
}

/** Everything a web route may use. */
export type WebContext = {
  db: Db;
  env: DroverEnv;
  log: Logger;
  feed: EventFeed;
  github: GitHubApp;
  enqueue: Enqueue;
  /** The queue's lanes, for `/metrics` (its depth, the agent slots busy, the figures kept in its Redis). */
  queue: WorkQueue;
};

/**
 * One part of Drover's web (`/drover/api/...`, `/drover/`, `/metrics`): answers the request and returns
 * true, or returns false for a path that is not its own.
 */
export type Route = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean>;
