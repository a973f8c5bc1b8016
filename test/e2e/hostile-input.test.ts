import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { DroverProcess } from "../../src/demo/drover-process.ts";
import { issueLabeled } from "../helpers/payloads.ts";
import { useStack } from "../helpers/stack.ts";
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
  // The web alone: nothing here needs a worker, and the sandbox only lends the app's id, key and secret.
  const handle = useStack({ workerProcesses: 0, workers: 1 });
  let url: string;
  let secret: string;
  let web: DroverProcess;

  beforeAll(async () => {
    web = handle.stack().web;
    url = `http://127.0.0.1:${handle.stack().env.PORT}`;
    secret = handle.stack().sandbox.webhookSecret;
    // Warm up (JIT, the database's connections), so the first measured request does not pay for it.
    const body = JSON.stringify(issueLabeled({ number: 1, title: "Warm-up" }));
    await deliver(url, { body, signature: sign(body, secret) });
  });

  /** The web's log lines that mention `id`. */
  const linesAbout = (id: string) =>
    web
      .output()
      .split("\n")
      .filter((line) => line.includes(id));

  it("refuses a 100 MB streamed body with a bad signature at 25 MB, in bounded memory, logging one short line", async () => {
    const id = `hostile-${randomBytes(4).toString("hex")}`;
    let status = 0;
    const growth = await peakGrowth(web.pid!, async () => {
      ({ status } = await deliver(url, { id, body: chunksOf(100 * MB), signature: sign("nope", secret) }));
    });
    expect(status).toBe(413);
    console.log(`100 MB streamed, bad signature: peak RSS +${(growth / MB).toFixed(1)} MB`);
    expect(growth).toBeLessThan(LIMIT + MARGIN);
    const [line, ...more] = linesAbout(id);
    expect(more).toEqual([]);
    expect(line?.length).toBeLessThan(1_000);
  });

  it("refuses a 100 MB body by its declared length without reading it", async () => {
    const id = `hostile-${randomBytes(4).toString("hex")}`;
    let status = 0;
    const growth = await peakGrowth(web.pid!, async () => {
      // The headers and a first chunk, then the answer is awaited: the web answers from the declared
      // length alone, reading none of the rest.
      ({ status } = await deliver(url, {
        id,
        body: chunksOf(100 * MB),
        headers: { "content-length": String(100 * MB) },
        signature: sign("nope", secret),
        holdAfterBytes: 64 * 1024,
      }));
    });
    expect(status).toBe(413);
    console.log(`100 MB with Content-Length: peak RSS +${(growth / MB).toFixed(1)} MB`);
    expect(growth).toBeLessThan(LIMIT + MARGIN);
    expect(linesAbout(id)).toHaveLength(1);
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
