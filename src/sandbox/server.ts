import { createHash, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import {
  etagMatches,
  isContentGenerating,
  RateLimits,
  rateLimitHeaders,
  type RateLimitOptions,
  type RateLimitState,
  type RequestRecord,
} from "./accounting.ts";
import { appRoutes } from "./api/app.ts";
import { checkRoutes } from "./api/checks.ts";
import { issueRoutes } from "./api/issues.ts";
import { linkRoutes } from "./api/links.ts";
import { pullRoutes } from "./api/pulls.ts";
import { repoRoutes } from "./api/repos.ts";
import { authenticate, InstallationTokens, type Actor } from "./auth.ts";
import { SandboxContext } from "./context.ts";
import { isGitRequest, serveGitRequest } from "./git/serve-request.ts";
import { answerGraphql } from "./graphql.ts";
import { OAUTH_PATHS, oauthClientId, serveOAuth } from "./oauth.ts";
import { Router, type ApiResponse } from "./router.ts";
import { seedWorld, type SandboxUser, type Seeded } from "./seed.ts";
import { WebhookSender, type Delivery } from "./webhooks.ts";
import { SandboxError, type World } from "./world.ts";

export interface SandboxOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default 127.0.0.1: the sandbox is for this machine only. */
  host?: string;
  /** Where repositories and the app's key live. Default: a new temporary directory, removed on close. */
  dir?: string;
  /** Where webhooks go (Drover's `/api/github/webhooks`); null sends none until `setWebhookUrl`. */
  webhookUrl?: string | null;
  /** Default: random. */
  webhookSecret?: string;
  /** The organisation that owns the repositories and has the app installed. Default `acme`. */
  organization?: string;
  /** One line per request and per delivery. */
  log?: (line: string) => void;
  /** Called with every REST answer and the route (GitHub's path template) that gave it; for conformance tests. */
  onResponse?: (record: ApiRecord) => void;
  /** Each caller's primary rate limit (`x-ratelimit-*`): by default GitHub's, reported and not enforced. */
  rateLimits?: RateLimitOptions;
  /**
   * How long GitHub's background job takes to work out a pull request's mergeability: asked for by number
   * after either branch moved, it answers `mergeable: null` for this long (GitHub: usually a second or
   * so), then the result. Default 0: the first answer has it.
   */
  mergeabilityDelayMs?: number;
}

export type ApiRecord = { method: string; path: string; status: number; body: unknown };

export interface Sandbox {
  /**
   * `web` (pages and git: `<web>/<owner>/<name>.git`), `api` (REST: `<web>/api/v3`) and `graphql`
   * (`<web>/api/graphql`: the auto-merge mutations and the query `repository { pullRequests }`).
   */
  urls: { web: string; api: string; graphql: string };
  appId: number;
  appSlug: string;
  installationId: number;
  organization: string;
  privateKey: string;
  privateKeyPath: string;
  webhookSecret: string;
  users: SandboxUser[];
  world: World;
  deliveries: Delivery[];
  /**
   * Every request served, in the order answered: REST, GraphQL and git, with who made it, whether GitHub
   * counts it as content-generating, and whether it was a 304.
   */
  requests: RequestRecord[];
  /** An installation's primary (REST) rate limit as it stands: what its next answer's headers would say. */
  rateLimit(installationId: number): RateLimitState;
  /** Every REST operation the sandbox implements, as GitHub's method and path template. */
  operations: { method: string; path: string }[];
  /** A seeded person's token. */
  token(login: string): string;
  /** Path of the bare git repository behind `owner/name` (what clones and pushes reach). */
  bareRepository(owner: string, name: string): string;
  setWebhookUrl(url: string | null): void;
  /** Resolves once every webhook queued so far has been sent. */
  webhooksSent(): Promise<void>;
  /** Sends a past delivery again, with the same delivery id. */
  redeliver(id: string): void;
  /** The environment that points Drover at this sandbox. */
  droverEnv(): Record<string, string>;
  /** What `drover sandbox` prints. */
  describe(): Record<string, unknown>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 25 * 1024 * 1024;
/** Where GitHub Enterprise Server (and so Octokit, given a `/api/v3` base URL) takes GraphQL. */
const GRAPHQL_PATH = "/api/graphql";
/** Also `/graphql` under the REST root, where github.com takes it (`POST /graphql` on api.github.com). */
const GRAPHQL_PATHS = new Set([GRAPHQL_PATH, "/api/v3/graphql"]);

/** Starts the local stand-in for GitHub. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), "drover-sandbox-")));
  const log = options.log ?? (() => {});
  const secret = options.webhookSecret ?? randomUUID();
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const web = `http://${host}:${address.port}`;
  const urls = { web, api: `${web}/api/v3` };

  const seeded: Seeded = await seedWorld({ dir, organization: options.organization ?? "acme" });
  const hooks = new WebhookSender({
    url: options.webhookUrl ?? null,
    secret,
    hookId: seeded.world.nextId(),
    onDelivery: (d) =>
      log(
        `webhook ${d.event}${d.action ? `.${d.action}` : ""} ${d.id} -> ${d.status ?? d.error} (${d.durationMs} ms)`,
      ),
  });
  const ctx = new SandboxContext(
    seeded.world,
    urls,
    new InstallationTokens(),
    hooks,
    path.join(dir, "git"),
    options.mergeabilityDelayMs ?? 0,
  );
  const limits = new RateLimits(options.rateLimits);
  const requests: RequestRecord[] = [];
  const accounting: Accounting = { limits, record: (r) => requests.push(r) };
  const router = new Router();
  for (const routes of [appRoutes, repoRoutes, issueRoutes, linkRoutes, pullRoutes, checkRoutes])
    routes(router, ctx);
  const pushLocks = new Map<string, Promise<void>>();

  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    response.on("finish", () =>
      log(
        `${request.method} ${request.url} ${response.statusCode} ${Math.round(performance.now() - started)} ms`,
      ),
    );
    const pathname = new URL(request.url ?? "/", web).pathname;
    const handled = isGitRequest(pathname)
      ? serveGit(ctx, request, response, pushLocks, accounting)
      : OAUTH_PATHS.has(pathname)
        ? serveOAuth(ctx.world, ctx.tokens.oauth, request, response, new URL(request.url ?? "/", web))
        : pathname.startsWith("/api/v3/") && !GRAPHQL_PATHS.has(pathname)
          ? serveApi(ctx, router, request, response, options.onResponse, accounting)
          : GRAPHQL_PATHS.has(pathname) && request.method === "POST"
            ? serveGraphql(ctx, request, response, accounting)
            : Promise.resolve(void notFound(response));
    handled.catch((error: unknown) => {
      log(`sandbox error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      if (!response.headersSent) sendJson(response, 500, { message: "Sandbox error" });
      else response.destroy();
    });
  });

  const { world } = seeded;
  const app = world.app!;
  return {
    urls: { ...urls, graphql: `${web}${GRAPHQL_PATH}` },
    appId: app.id,
    appSlug: app.slug,
    installationId: seeded.installationId,
    organization: seeded.organization.login,
    privateKey: seeded.privateKey,
    privateKeyPath: seeded.privateKeyPath,
    webhookSecret: secret,
    users: seeded.users,
    world,
    deliveries: hooks.deliveries,
    requests,
    rateLimit: (installationId) => limits.forInstallation(installationId),
    operations: router.routes.map(({ method, path }) => ({ method, path })),
    token: (login) => {
      const found = seeded.users.find((u) => u.login === login);
      if (!found) throw new Error(`the sandbox has no user ${login}`);
      return found.token;
    },
    bareRepository: (owner, name) => {
      const repo = world.repo(owner, name);
      if (!repo) throw new Error(`the sandbox has no repository ${owner}/${name}`);
      return ctx.barePath(repo);
    },
    setWebhookUrl: (url) => {
      hooks.url = url;
    },
    webhooksSent: async () => {
      // A push's webhooks are queued after git has answered the pusher; wait for pushes in flight first.
      await Promise.all(pushLocks.values());
      await hooks.idle();
    },
    redeliver: (id) => hooks.redeliver(id),
    droverEnv: () => ({
      GITHUB_API_URL: urls.api,
      APP_ID: String(app.id),
      PRIVATE_KEY_PATH: seeded.privateKeyPath,
      WEBHOOK_SECRET: secret,
      GITHUB_WEB_URL: web,
      GITHUB_CLIENT_ID: oauthClientId(app),
      GITHUB_CLIENT_SECRET: ctx.tokens.oauth.clientSecret,
    }),
    describe: () => ({
      apiUrl: urls.api,
      graphqlUrl: `${web}${GRAPHQL_PATH}`,
      gitUrl: `${web}/{owner}/{repo}.git`,
      appId: app.id,
      appSlug: app.slug,
      installationId: seeded.installationId,
      organization: seeded.organization.login,
      privateKeyPath: seeded.privateKeyPath,
      webhookSecret: secret,
      webhookUrl: hooks.url,
      oauth: { clientId: oauthClientId(app), clientSecret: ctx.tokens.oauth.clientSecret, webUrl: web },
      users: seeded.users.map(({ login, permission, token }) => ({ login, permission, token })),
    }),
    close: async () => {
      await hooks.idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Where the sandbox counts what it serves. */
type Accounting = { limits: RateLimits; record: (record: RequestRecord) => void };

/**
 * Who a request's credentials name, read once: the actor the handlers act as (or the 401 to answer), and
 * the caller counted for it (nobody when they name no one).
 */
function identify(ctx: SandboxContext, request: IncomingMessage): { caller: Actor; actor: () => Actor } {
  try {
    const actor = authenticate(ctx.world, ctx.tokens, request.headers.authorization);
    return { caller: actor, actor: () => actor };
  } catch (error) {
    return {
      caller: { kind: "anonymous" },
      actor: () => {
        throw error;
      },
    };
  }
}

function recordOf(
  actor: Actor,
  fields: Pick<RequestRecord, "kind" | "method" | "route" | "url" | "status"> & {
    mutation?: boolean;
    conditional?: boolean;
    notModified?: boolean;
    counted: boolean;
  },
): RequestRecord {
  const { mutation, ...rest } = fields;
  return {
    at: Date.now(),
    ...rest,
    actor: actor.kind,
    installationId: actor.kind === "installation" ? actor.installation.id : null,
    login: actor.kind === "installation" || actor.kind === "person" ? actor.account.login : null,
    contentGenerating: isContentGenerating({ ...fields, ...(mutation === undefined ? {} : { mutation }) }),
    conditional: fields.conditional ?? false,
    notModified: fields.notModified ?? false,
  };
}

/** GitHub's answer to a caller past its primary limit. */
function rateLimited(actor: Actor): ApiResponse {
  const who =
    actor.kind === "installation"
      ? `installation ID ${actor.installation.id}`
      : actor.kind === "person"
        ? `user ID ${actor.account.id}`
        : actor.kind === "app"
          ? `app ID ${actor.app.id}`
          : "this address";
  return {
    status: 403,
    body: {
      message: `API rate limit exceeded for ${who}.`,
      documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
      status: "403",
    },
  };
}

async function serveApi(
  ctx: SandboxContext,
  router: Router,
  request: IncomingMessage,
  response: ServerResponse,
  onResponse: SandboxOptions["onResponse"],
  accounting: Accounting,
): Promise<void> {
  const url = new URL(request.url ?? "/", ctx.urls.web);
  const method = request.method ?? "GET";
  const { caller, actor: actorOf } = identify(ctx, request);
  let result: ApiResponse;
  let template = "(no route)";
  let overLimit = false;
  try {
    const raw = await readBody(request);
    let body: unknown = undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        throw new SandboxError(400, "Problems parsing JSON");
      }
    }
    const { route, params } = router.match(method, url.pathname.slice("/api/v3".length));
    template = route.path;
    const actor = actorOf();
    overLimit = accounting.limits.enforced && accounting.limits.exhausted(actor, "core");
    result = overLimit
      ? rateLimited(actor)
      : await route.handler({
          method,
          params,
          query: url.searchParams,
          body,
          actor,
          headers: request.headers,
        });
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    result = {
      status: error.status,
      body: {
        message: error.message,
        ...(error.errors ? { errors: error.errors } : {}),
        documentation_url: "https://docs.github.com/rest",
        status: String(error.status),
      },
    };
  }
  onResponse?.({ method, path: template, status: result.status, body: result.raw ? undefined : result.body });
  const headers: Record<string, string> = {
    "x-github-request-id": randomUUID(),
    "x-github-media-type": "github.v3; format=json",
    ...result.headers,
  };
  const text =
    result.raw !== undefined
      ? result.raw.data
      : result.body === undefined
        ? undefined
        : JSON.stringify(result.body);
  // Conditional requests, as GitHub answers them: a GET's 200 carries an ETag (weak for JSON, strong for
  // a raw file), and the same request with a matching If-None-Match is answered 304, with no body and
  // without counting against the caller's rate limit.
  const conditional = request.headers["if-none-match"] !== undefined;
  if (method === "GET" && result.status === 200 && text !== undefined) {
    const digest = createHash("sha256").update(text).digest("hex").slice(0, 40);
    headers.etag = result.raw ? `"${digest}"` : `W/"${digest}"`;
    headers.vary = "Accept, Authorization, Cookie, X-GitHub-OTP";
    if (etagMatches(request.headers["if-none-match"], headers.etag)) {
      const limit = accounting.limits.peek(caller, "core");
      response.writeHead(304, { ...headers, ...rateLimitHeaders(limit, "core") }).end();
      accounting.record(
        recordOf(caller, {
          kind: "rest",
          method,
          route: template,
          url: request.url ?? "",
          status: 304,
          conditional,
          notModified: true,
          counted: false,
        }),
      );
      return;
    }
  }
  // Refused for the limit: the answer used none of it.
  const limit = overLimit ? accounting.limits.peek(caller, "core") : accounting.limits.count(caller, "core");
  Object.assign(headers, rateLimitHeaders(limit, "core"));
  accounting.record(
    recordOf(caller, {
      kind: "rest",
      method,
      route: template,
      url: request.url ?? "",
      status: result.status,
      conditional,
      counted: !overLimit,
    }),
  );
  if (result.raw) {
    response
      .writeHead(result.status, { ...headers, "content-type": result.raw.contentType })
      .end(result.raw.data);
    return;
  }
  if (text === undefined) {
    response.writeHead(result.status, headers).end();
    return;
  }
  sendJson(response, result.status, text, headers);
}

async function serveGraphql(
  ctx: SandboxContext,
  request: IncomingMessage,
  response: ServerResponse,
  accounting: Accounting,
) {
  const { caller, actor: actorOf } = identify(ctx, request);
  let answer: { status: number; body: unknown };
  let mutation = false;
  try {
    const raw = await readBody(request);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString("utf8"));
    } catch {
      throw new SandboxError(400, "Problems parsing JSON");
    }
    const query = (body as { query?: unknown } | null)?.query;
    mutation = typeof query === "string" && /^\s*mutation\b/.test(query);
    answer = await answerGraphql(ctx, actorOf(), body);
  } catch (error) {
    if (!(error instanceof SandboxError)) throw error;
    answer = {
      status: error.status,
      body: { message: error.message, documentation_url: "https://docs.github.com/graphql" },
    };
  }
  const limit = accounting.limits.count(caller, "graphql");
  accounting.record(
    recordOf(caller, {
      kind: "graphql",
      method: "POST",
      route: "/graphql",
      url: request.url ?? "",
      status: answer.status,
      mutation,
      counted: true,
    }),
  );
  sendJson(response, answer.status, answer.body, {
    "x-github-request-id": randomUUID(),
    ...rateLimitHeaders(limit, "graphql"),
  });
}

/** Git over HTTP, recorded once answered (fetches and pushes are not API requests: never counted). */
async function serveGit(
  ctx: SandboxContext,
  request: IncomingMessage,
  response: ServerResponse,
  pushLocks: Map<string, Promise<void>>,
  accounting: Accounting,
): Promise<void> {
  const { caller } = identify(ctx, request);
  const url = new URL(request.url ?? "/", ctx.urls.web);
  const route = url.pathname.endsWith("/info/refs")
    ? `/info/refs?service=${url.searchParams.get("service") ?? ""}`
    : url.pathname.slice(url.pathname.lastIndexOf("/"));
  response.once("finish", () =>
    accounting.record(
      recordOf(caller, {
        kind: "git",
        method: request.method ?? "GET",
        route,
        url: request.url ?? "",
        status: response.statusCode,
        counted: false,
      }),
    ),
  );
  await serveGitRequest(ctx, request, response, pushLocks);
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response
    .writeHead(status, {
      ...headers,
      "content-type": "application/json; charset=utf-8",
      "content-length": String(Buffer.byteLength(text)),
    })
    .end(text);
}

function notFound(response: ServerResponse): void {
  sendJson(response, 404, {
    message: "Not Found: the sandbox serves REST under /api/v3 and git at /<owner>/<repo>.git",
    documentation_url: "https://docs.github.com/rest",
  });
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new SandboxError(413, "Request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
