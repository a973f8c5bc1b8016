import { randomUUID } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createAppAuth } from "@octokit/auth-app";
import { Webhooks } from "@octokit/webhooks";
import pino, { type Logger } from "pino";
import { Probot } from "probot";
import { personClient, type Person } from "../../src/demo/maintainer.ts";
import { GitHubApp } from "../../src/github/app.ts";
import type { RequestBudget } from "../../src/github/budget.ts";
import { droverOctokit } from "../../src/github/octokit.ts";
import { credentialEnv } from "../../src/git/credentials.ts";
import { runGit } from "../../src/git/run-git.ts";
import { startSandbox, type ApiRecord, type Sandbox } from "../../src/sandbox/server.ts";

/**
 * A sandbox (src/sandbox/) for tests, with a webhook receiver on 127.0.0.1 that keeps every delivery and
 * checks its signature, a record of every REST answer (the sandbox's `onResponse`) and of every request
 * body the clients made here send, and clients acting as a person, as the app (JWT) and as its
 * installation (installation access token).
 */

type Json = Record<string, unknown>;

export interface Received {
  event: string;
  action: string | undefined;
  id: string;
  headers: IncomingHttpHeaders;
  /** The body as sent, for signature checks. */
  raw: string;
  payload: Json;
  /** Whether X-Hub-Signature-256 verifies with the sandbox's secret. */
  verified: boolean;
}

export type SentRequest = { method: string; path: string; body: unknown };

export interface TestSandbox {
  sandbox: Sandbox;
  api: string;
  /** Every REST answer, with GitHub's path template. */
  responses: ApiRecord[];
  /** Every REST request sent through `as`, `app` and `installation` clients, by concrete path. */
  requests: SentRequest[];
  /** Every webhook the receiver got, in order. */
  received: Received[];
  /** A seeded person's client (maintainer, developer, triager, reader, outsider). */
  as(login: string): Person;
  /** A client authenticated as the app, with a JWT signed by the app's key. */
  app(): Promise<Person>;
  /**
   * Signs `login` in through the app's OAuth client (authorize, then exchange the code) as Drover's sign-in
   * does: a client acting as them with the user-to-server token, the token, and the code (used up).
   */
  signIn(login: string): Promise<{ client: Person; token: string; code: string }>;
  /** A client with a new installation access token, and the token. */
  installation(): Promise<{ client: Person; token: string }>;
  /**
   * One REST call sent as is, with `token` (none when null): for bodies GitHub refuses, which Octokit's
   * types would not let through. Not kept in `requests`.
   */
  call(
    token: string | null,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: unknown; headers: Headers }>;
  /** Waits for every webhook queued so far, then returns those received since `from`. */
  deliveries(from?: number): Promise<Received[]>;
  /**
   * Waits (up to 5 s) for a delivery since index `from` that `match` accepts. A git push is announced
   * only after git has been told it landed (as on GitHub), so `deliveries()` right after one may not
   * hold its webhooks yet.
   */
  delivery(match: (delivery: Received) => boolean, from?: number): Promise<Received>;
  /** How many webhooks have arrived once every one queued so far has: where the next change's begin. */
  mark(): Promise<number>;
  /** The webhooks about `repo` received since `from` (an index into everything received). */
  hooksFor(repo: { repo: string }, from: number): Promise<Received[]>;
  /**
   * A new repository in the organisation, created by the maintainer; with a README on `main` unless
   * `autoInit` is false (no git work: quicker, for tests that use only REST).
   */
  newRepo(name: string, opts?: { autoInit?: boolean }): Promise<{ owner: string; repo: string }>;
  close(): Promise<void>;
}

/**
 * Drover's side of the sandbox's App: its GitHubApp with Drover's own Octokit, unpaced as the sandbox runs
 * it (GITHUB_THROTTLE=off), counting in `budget` when given.
 */
export function droverApp(
  hub: TestSandbox,
  options: { budget?: RequestBudget; log?: Logger } = {},
): GitHubApp {
  return new GitHubApp(
    new Probot({
      appId: hub.sandbox.appId,
      privateKey: hub.sandbox.privateKey,
      secret: hub.sandbox.webhookSecret,
      baseUrl: hub.api,
      Octokit: droverOctokit({ pace: false, ...(options.budget ? { budget: options.budget } : {}) }),
      log: options.log ?? pino({ level: "silent" }),
    }),
  );
}

export async function startTestSandbox(): Promise<TestSandbox> {
  const received: Received[] = [];
  const responses: ApiRecord[] = [];
  const requests: SentRequest[] = [];
  const secret = randomUUID();
  const webhooks = new Webhooks({ secret });
  const receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const signature = String(request.headers["x-hub-signature-256"] ?? "");
      void webhooks
        .verify(raw, signature)
        .catch(() => false)
        .then((verified) => {
          const payload = JSON.parse(raw) as Json;
          received.push({
            event: String(request.headers["x-github-event"]),
            action: typeof payload.action === "string" ? payload.action : undefined,
            id: String(request.headers["x-github-delivery"]),
            headers: request.headers,
            raw,
            payload,
            verified,
          });
          response.writeHead(202).end();
        });
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const { port } = receiver.address() as AddressInfo;
  const sandbox = await startSandbox({
    webhookUrl: `http://127.0.0.1:${port}/api/github/webhooks`,
    webhookSecret: secret,
    onResponse: (record) => responses.push(record),
  });
  const api = sandbox.urls.api;

  const recorded = (client: Person): Person => {
    client.hook.before("request", (options) => {
      const parsed = client.request.endpoint(options);
      const url = new URL(parsed.url);
      // GraphQL (`/api/graphql`) has no REST description to hold its bodies to.
      if (!url.pathname.startsWith(`${new URL(api).pathname}/`)) return;
      requests.push({
        method: parsed.method,
        path: decodeURIComponent(url.pathname.slice(new URL(api).pathname.length)),
        // Octokit sends "" for a PUT or PATCH without parameters: no body.
        body: parsed.body === "" ? undefined : parsed.body,
      });
    });
    return client;
  };
  const appJwt = async () => {
    const auth = createAppAuth({ appId: sandbox.appId, privateKey: sandbox.privateKey });
    return (await auth({ type: "app" })).token;
  };

  return {
    sandbox,
    api,
    responses,
    requests,
    received,
    as: (login) => recorded(personClient(api, sandbox.token(login))),
    app: async () => recorded(personClient(api, await appJwt())),
    installation: async () => {
      const app = personClient(api, await appJwt());
      const { data } = await app.rest.apps.createInstallationAccessToken({
        installation_id: sandbox.installationId,
      });
      return { client: recorded(personClient(api, data.token)), token: data.token };
    },
    signIn: async (login) => {
      const { clientId, clientSecret, webUrl } = sandbox.describe().oauth as Record<string, string>;
      const authorize = new URL(`${webUrl}/login/oauth/authorize`);
      authorize.search = new URLSearchParams({
        client_id: clientId ?? "",
        redirect_uri: "http://127.0.0.1:9/callback",
        state: "s1",
        login,
      }).toString();
      const approved = await fetch(authorize, { redirect: "manual" });
      const back = new URL(approved.headers.get("location") ?? "");
      if (back.searchParams.get("state") !== "s1") throw new Error("the sandbox lost the state");
      const code = back.searchParams.get("code") ?? "";
      const exchanged = await fetch(`${webUrl}/login/oauth/access_token`, {
        method: "POST",
        headers: { accept: "application/json", "content-type": "application/json" },
        body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, code }),
      });
      const { access_token: token } = (await exchanged.json()) as { access_token: string };
      return { client: recorded(personClient(api, token)), token, code };
    },
    call: async (token, method, apiPath, body, headers = {}) => {
      const response = await fetch(`${api}${apiPath}`, {
        method,
        headers: {
          accept: "application/vnd.github+json",
          ...(token === null ? {} : { authorization: `token ${token}` }),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      const type = response.headers.get("content-type") ?? "";
      return {
        status: response.status,
        body: type.includes("json") && text !== "" ? (JSON.parse(text) as unknown) : text,
        headers: response.headers,
      };
    },
    deliveries: async (from = 0) => {
      await sandbox.webhooksSent();
      return received.slice(from);
    },
    delivery: async (match, from = 0) => {
      const deadline = Date.now() + 5_000;
      for (;;) {
        await sandbox.webhooksSent();
        const found = received.slice(from).find(match);
        if (found) return found;
        if (Date.now() > deadline) throw new Error("no matching webhook arrived within 5 s");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    mark: async () => {
      await sandbox.webhooksSent();
      return received.length;
    },
    hooksFor: async (repo, from) => {
      await sandbox.webhooksSent();
      return received
        .slice(from)
        .filter((d) => (d.payload.repository as { name?: string } | undefined)?.name === repo.repo);
    },
    newRepo: async (name, { autoInit = true } = {}) => {
      await personClient(api, sandbox.token("maintainer")).rest.repos.createInOrg({
        org: sandbox.organization,
        name,
        auto_init: autoInit,
      });
      return { owner: sandbox.organization, repo: name };
    },
    close: async () => {
      await sandbox.close();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    },
  };
}

/** Webhooks as `event.action` (or `event` alone), for comparing what arrived with what should. */
export function hookNames(hooks: Received[]): string[] {
  return hooks.map((d) => (d.action ? `${d.event}.${d.action}` : d.event));
}

/** The HTTP status an Octokit call ended with: 200 for any success, else its RequestError's status. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    if (typeof status === "number") return status;
    throw error;
  }
}

/** A working copy of a sandbox repository, cloned over HTTP with `token`, where git runs as a person. */
export interface Clone {
  dir: string;
  git(...args: string[]): Promise<string>;
  /** Writes files, commits them on the current branch and returns the new sha. */
  commit(files: Record<string, string>, message: string): Promise<string>;
  remove(): Promise<void>;
}

const GIT_PERSON = {
  GIT_AUTHOR_NAME: "Sandbox Person",
  GIT_AUTHOR_EMAIL: "person@example.com",
  GIT_COMMITTER_NAME: "Sandbox Person",
  GIT_COMMITTER_EMAIL: "person@example.com",
};

export async function cloneRepo(
  sandbox: Sandbox,
  repo: { owner: string; repo: string },
  token: string,
): Promise<Clone> {
  const root = await mkdtemp(path.join(os.tmpdir(), "drover-sandbox-clone-"));
  const env = { ...GIT_PERSON, ...credentialEnv(token) };
  const git = (cwd: string, ...args: string[]) =>
    runGit(["-c", "core.hooksPath=/dev/null", ...args], { cwd, env, timeoutMs: 20_000 });
  const dir = path.join(root, repo.repo);
  try {
    await git(root, "clone", "--quiet", `${sandbox.urls.web}/${repo.owner}/${repo.repo}.git`, dir);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    git: (...args) => git(dir, ...args),
    commit: async (files, message) => {
      for (const [file, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
        await writeFile(path.join(dir, file), text);
      }
      await git(dir, "add", "--all");
      await git(dir, "commit", "--quiet", "-m", message);
      return git(dir, "rev-parse", "HEAD");
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}
