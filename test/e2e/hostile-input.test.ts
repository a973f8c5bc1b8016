import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, startDroverProcess, type DroverProcess } from "../../src/demo/drover-process.ts";
import { deleteQueueKeys } from "../../src/queue/redis.ts";
import { startSandbox, type Sandbox } from "../../src/sandbox/server.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { issueLabeled } from "../helpers/payloads.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";
import { chunksOf, deliver, sign } from "../helpers/web.ts";

const MB = 1024 * 1024;
const LIMIT = 25 * MB;
/**
 * A refused request may hold up to the limit (the chunks read before the 25 MB were passed), plus this:
 * the socket's and the stream's 64 KiB buffers, V8's young generation grown to take the chunks, and
 * garbage not yet collected when the peak is sampled (the rest of the body is read and dropped while the
 * answer goes out). Measured: +24 MB for a streamed body, +0.1 MB for one refused by its declared length;
 * before, a 100 MB body was read whole (+1.2 GB with its logging).
 */
const MARGIN = 25 * MB;

/** The process's resident memory, in bytes (Linux). */
async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}

/** Runs `work`, sampling the process's memory every 5 ms; the peak it reached above where it started. */
async function peakGrowth(pid: number, work: () => Promise<unknown>): Promise<number> {
  const start = await rss(pid);
  let peak = start;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await rss(pid));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    await work();
    // The memory freed after the answer is still counted: keep sampling while the connection closes.
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    sampling = false;
    await sampler;
  }
  return peak - start;
}

describe("Drover's web process under hostile input", () => {
  const db = useTestDatabase();
  let dir: string;
  let sandbox: Sandbox;
  let web: DroverProcess;
  let url: string;
  let secret: string;
  const prefix = `drover-e2e-hostile-${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-hostile-"));
    // The sandbox lends the app's id, key and secret; nothing here reaches GitHub.
    sandbox = await startSandbox({ dir: path.join(dir, "sandbox"), webhookUrl: null });
    secret = sandbox.webhookSecret;
    const port = await freePort();
    web = startDroverProcess({
      role: "web",
      env: {
        ...sandbox.droverEnv(),
        DATABASE_URL: db.url(),
        REDIS_URL: TEST_REDIS_URL,
        DROVER_QUEUE_PREFIX: prefix,
        DROVER_HOME: path.join(dir, "home"),
        PORT: String(port),
        HOST: "127.0.0.1",
        LOG_LEVEL: "info",
      },
      cwd: dir,
      logFile: path.join(dir, "web.log"),
    });
    await web.ready;
    url = `http://127.0.0.1:${port}`;
    // Warm up (JIT, the database's connections), so the first measured request does not pay for it.
    const body = JSON.stringify(issueLabeled({ number: 1, title: "Warm-up" }));
    await deliver(url, { body, signature: sign(body, secret) });
  }, 90_000);
  afterAll(async () => {
    await web?.stop(5_000);
    await sandbox?.close();
    await deleteQueueKeys(TEST_REDIS_URL, prefix).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });

  const webLog = () => readFile(path.join(dir, "web.log"), "utf8");

  it("refuses a 100 MB streamed body with a bad signature at 25 MB, in bounded memory, logging one short line", async () => {
    const id = `hostile-${randomBytes(4).toString("hex")}`;
    const logBefore = (await webLog()).length;
    let status = 0;
    const growth = await peakGrowth(web.pid!, async () => {
      ({ status } = await deliver(url, { id, body: chunksOf(100 * MB), signature: sign("nope", secret) }));
    });
    expect(status).toBe(413);
    console.log(`100 MB streamed, bad signature: peak RSS +${(growth / MB).toFixed(1)} MB`);
    expect(growth).toBeLessThan(LIMIT + MARGIN);
    const added = (await webLog()).slice(logBefore);
    expect(added.split("\n").filter((line) => line.includes(id))).toHaveLength(1);
    expect(added.length).toBeLessThan(2_000);
  });

  it("refuses a 100 MB body by its declared length without reading it", async () => {
    const id = `hostile-${randomBytes(4).toString("hex")}`;
    const body = Buffer.alloc(100 * MB, " ");
    let status = 0;
    const growth = await peakGrowth(web.pid!, async () => {
      ({ status } = await deliver(url, { id, body, signature: sign("nope", secret) }));
    });
    expect(status).toBe(413);
    console.log(`100 MB with Content-Length: peak RSS +${(growth / MB).toFixed(1)} MB`);
    expect(growth).toBeLessThan(LIMIT + MARGIN);
    expect((await webLog()).split("\n").filter((line) => line.includes(id))).toHaveLength(1);
  });

  it("takes a correctly signed delivery just under the limit", async () => {
    const id = `large-${randomBytes(4).toString("hex")}`;
    const base = JSON.stringify(issueLabeled({ number: 3, title: "Large" }));
    const body = `${base.slice(0, -1)},"padding":"${"x".repeat(LIMIT - base.length - 100)}"}`;
    let status = 0;
    const growth = await peakGrowth(web.pid!, async () => {
      ({ status } = await deliver(url, { id, body, signature: sign(body, secret) }));
    });
    expect(status).toBe(200);
    console.log(`${(body.length / MB).toFixed(1)} MB accepted: peak RSS +${(growth / MB).toFixed(1)} MB`);
    // Held at once while it is recorded: the bytes, the text, the parsed payload and the driver's copy of
    // the text for PostgreSQL (about 5 times the body, measured); a limit on every delivery's memory.
    expect(growth).toBeLessThan(8 * LIMIT);
  });

  it("still takes a correctly signed delivery afterwards", async () => {
    const body = JSON.stringify(issueLabeled({ number: 2, title: "After" }));
    expect(await deliver(url, { body, signature: sign(body, secret) })).toMatchObject({ status: 200 });
    expect(web.exitedEarly).toBe(false);
  });
});
