import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { personClient, type Person } from "../../src/demo/maintainer.ts";
import { startStack, type Stack, type StackOptions } from "../../src/demo/stack.ts";
import { APP_SLUG } from "../../src/sandbox/seed.ts";
import { useTestDatabase } from "./db.ts";
import { TEST_REDIS_URL } from "./services.ts";

/** The sandbox app's bot: the author of Drover's comments and pull requests in end-to-end runs. */
export const BOT = `${APP_SLUG}[bot]`;

export type StackHandle = {
  stack: () => Stack;
  /** A REST client acting as one of the sandbox's seeded people. */
  as: (login: string) => Person;
  database: ReturnType<typeof useTestDatabase>["database"];
};

/**
 * For one test file: a fresh database, the sandbox, and Drover's web and worker as child processes
 * against them (started before the tests, stopped after). On failure, the processes' output is in
 * the thrown error or in `stack().web.output()`.
 */
export function useStack(
  options: Partial<Pick<StackOptions, "workers" | "workerProcesses" | "env" | "homePerWorker">> & {
    /** The URL Drover's processes reach the test database by (e.g. through a proxy); default as is. */
    databaseUrl?: (url: string) => string;
  } = {},
) {
  const db = useTestDatabase();
  let stack: Stack | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-e2e-"));
    stack = await startStack({
      dir,
      databaseUrl: options.databaseUrl ? options.databaseUrl(db.url()) : db.url(),
      redisUrl: TEST_REDIS_URL,
      queuePrefix: `drover-e2e-${randomBytes(4).toString("hex")}`,
      workers: options.workers ?? 2,
      ...(options.workerProcesses ? { workerProcesses: options.workerProcesses } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.homePerWorker ? { homePerWorker: true } : {}),
    });
  }, 90_000);
  afterAll(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 30_000);
  const current = () => {
    if (!stack) throw new Error("the stack is used before beforeAll");
    return stack;
  };
  const handle: StackHandle = {
    stack: current,
    as: (login) => personClient(current().sandbox.urls.api, current().sandbox.token(login)),
    database: db.database,
  };
  return handle;
}

/** Polls `check` until it returns a value (not undefined/false), or fails naming `what`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** A new repository in the sandbox's organisation with `.github/drover.yml` holding `config`. */
export async function repoWithConfig(
  person: Person,
  name: string,
  config: string,
): Promise<{ owner: string; repo: string }> {
  await person.rest.repos.createInOrg({ org: "acme", name });
  const repo = { owner: "acme", repo: name };
  await person.rest.repos.createOrUpdateFileContents({
    ...repo,
    path: ".github/drover.yml",
    message: "Configure Drover",
    content: Buffer.from(config).toString("base64"),
  });
  return repo;
}
