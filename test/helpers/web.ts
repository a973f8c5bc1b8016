import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import { Writable } from "node:stream";
import pino from "pino";
import { ProbotOctokit } from "probot";
import { afterAll, beforeAll } from "vitest";
import { readEnv } from "../../src/config/env.ts";
import type { Db } from "../../src/db/client.ts";
import { startWeb, type Services, type WebServer } from "../../src/main/boot.ts";
import { enqueuer, type Enqueue, type JobName } from "../../src/queue/job-catalog.ts";
import { WorkQueue } from "../../src/queue/queue.ts";
import { connectRedis } from "../../src/queue/redis.ts";
import { useTestDatabase } from "./db.ts";
import { TEST_PRIVATE_KEY, TEST_WEBHOOK_SECRET } from "./drover.ts";
import { TEST_REDIS_URL } from "./services.ts";

import { WEBHOOK_PATH } from "../../src/intake/webhook-endpoint.ts";

export { WEBHOOK_PATH };

/** GitHub's X-Hub-Signature-256 of `body`, computed here rather than by the code under test. */
export function sign(body: string | Buffer, secret = TEST_WEBHOOK_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export type Answer = { status: number; body: string };

export type Delivery = {
  /** Default a fresh random id. */
  id?: string;
  event?: string;
  /**
   * The body, sent with its Content-Length; or chunks, sent until the answer comes (chunked, unless the
   * headers declare a Content-Length).
   */
  body: string | Buffer | Iterable<Buffer>;
  /** Default the body's signature with the test secret; a string is sent as the header as is. */
  signature?: string;
  /** Headers replaced or, with undefined, left out. */
  headers?: Record<string, string | undefined>;
  /**
   * Chunks only: stop sending (without ending the request) once this many bytes are out, and wait for the
   * answer. For a server that answers from the headers alone: a client still writing then may meet the
   * closed connection (EPIPE) before it reads the answer, which is a race of the test, not of Drover.
   */
  holdAfterBytes?: number;
};

/**
 * POSTs a delivery to Drover's web as GitHub would. A chunked body stops being sent once the answer
 * comes (a refused body need not be sent whole), and errors writing it after the answer are ignored: the
 * server closes the connection on a body it refused.
 */
export function deliver(baseUrl: string, delivery: Delivery): Promise<Answer> {
  const chunked = typeof delivery.body !== "string" && !Buffer.isBuffer(delivery.body);
  const whole = chunked ? undefined : (delivery.body as string | Buffer);
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/test",
    "x-github-event": delivery.event ?? "issues",
    "x-github-delivery": delivery.id ?? randomBytes(8).toString("hex"),
    ...(whole === undefined ? {} : { "content-length": String(Buffer.byteLength(whole)) }),
    ...(delivery.signature !== undefined
      ? { "x-hub-signature-256": delivery.signature }
      : whole !== undefined
        ? { "x-hub-signature-256": sign(whole) }
        : {}),
  };
  for (const [name, value] of Object.entries(delivery.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const request = http.request(`${baseUrl}${WEBHOOK_PATH}`, { method: "POST", headers }, (response) => {
      answered = true;
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }),
      );
      response.on("error", reject);
    });
    request.on("error", (error) => {
      if (!answered) reject(error);
    });
    if (whole !== undefined) {
      request.end(whole);
      return;
    }
    const chunks = (delivery.body as Iterable<Buffer>)[Symbol.iterator]();
    let sent = 0;
    const pump = () => {
      for (;;) {
        if (answered || request.destroyed) return;
        if (delivery.holdAfterBytes !== undefined && sent >= delivery.holdAfterBytes) return;
        const next = chunks.next();
        if (!next.done) sent += next.value.length;
        if (next.done) return void request.end();
        if (!request.write(next.value)) return void request.once("drain", pump);
      }
    };
    pump();
  });
}

/** `total` bytes of JSON-looking text in chunks of `size`, made as they are sent. */
export function* chunksOf(total: number, size = 64 * 1024): Iterable<Buffer> {
  const chunk = Buffer.alloc(size, " ");
  chunk[0] = "{".charCodeAt(0);
  for (let sent = 0; sent < total; sent += size)
    yield sent + size > total ? chunk.subarray(0, total - sent) : chunk;
}

export type WebHandle = {
  /** http://127.0.0.1:port */
  url: () => string;
  db: () => Db;
  /** Its database's URL, for a CLI run against the same data. */
  databaseUrl: () => string;
  /** The web's log lines since it started (pino JSON). */
  logs: () => string[];
  /** Names and payloads of the jobs intake queued so far. */
  queued: () => { name: JobName; payload: unknown }[];
};

/**
 * Drover's web (startWeb, a real HTTP server) in this process for one test file, on a fresh database and
 * a queue prefix of its own, its log kept in memory. `env` adds to its environment (read in beforeAll).
 */
export function useWeb(options: { env?: () => Record<string, string> } = {}): WebHandle {
  const testDb = useTestDatabase();
  const lines: string[] = [];
  const queued: { name: JobName; payload: unknown }[] = [];
  let web: WebServer | undefined;
  let queue: WorkQueue | undefined;
  let connection: ReturnType<typeof connectRedis> | undefined;
  beforeAll(async () => {
    const log = pino(
      { level: "info" },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
          done();
        },
      }),
    );
    const prefix = `drover-test-web-${randomBytes(4).toString("hex")}`;
    const env = readEnv({
      DATABASE_URL: testDb.url(),
      REDIS_URL: TEST_REDIS_URL,
      PORT: "0",
      // Read once the hooks before this one ran: a sandbox's URLs, sign-in's client.
      ...options.env?.(),
    });
    connection = connectRedis(TEST_REDIS_URL);
    connection.on("error", () => {});
    queue = new WorkQueue(connection, prefix, () => {});
    const services: Services = {
      env: { ...env, DROVER_QUEUE_PREFIX: prefix },
      log,
      database: testDb.database(),
      queue,
      enqueue: recording(enqueuer(queue), queued),
      close: async () => {},
    };
    web = await startWeb(services, {
      appId: "1",
      privateKey: TEST_PRIVATE_KEY,
      secret: TEST_WEBHOOK_SECRET,
      baseUrl: "http://127.0.0.1:1",
      Octokit: ProbotOctokit,
    });
  });
  afterAll(async () => {
    await web?.stop();
    await queue?.close();
    await connection?.quit().catch(() => connection?.disconnect());
  });
  return {
    url: () => `http://127.0.0.1:${present(web).port}`,
    db: () => testDb.database().db,
    databaseUrl: () => testDb.url(),
    logs: () => lines,
    queued: () => queued,
  };
}

function recording(enqueue: Enqueue, into: { name: JobName; payload: unknown }[]): Enqueue {
  return (async (name, payload, options) => {
    into.push({ name, payload });
    await enqueue(name, payload, options);
  }) as Enqueue;
}

function present<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("the web is used before beforeAll");
  return value;
}
