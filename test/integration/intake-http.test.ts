import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { getDelivery } from "../../src/db/deliveries.ts";
import { deliveries } from "../../src/db/schema.ts";
import { IssueLabeled } from "../../src/intake/payloads.ts";
import { MAX_BODY_BYTES, webhookEndpoint } from "../../src/intake/webhook-endpoint.ts";
import { TEST_WEBHOOK_SECRET } from "../helpers/drover.ts";
import { issueClosed, issueLabeled } from "../helpers/payloads.ts";
import { chunksOf, deliver, sign, useWeb, WEBHOOK_PATH } from "../helpers/web.ts";

const newId = () => randomBytes(8).toString("hex");
const MB = 1024 * 1024;

/** The log lines that mention `id`, each parsed. */
function linesAbout(lines: string[], id: string): Record<string, unknown>[] {
  return lines.filter((line) => line.includes(id)).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("webhook endpoint (startWeb, over HTTP)", () => {
  const web = useWeb();

  it("records and queues a correctly signed delivery, answering 200", async () => {
    const id = newId();
    const body = JSON.stringify(issueLabeled({ number: 20, title: "Signed" }));
    const answer = await deliver(web.url(), { id, body });
    expect(answer).toEqual({ status: 200, body: '{"outcome":"queued"}' });
    expect(await getDelivery(web.db(), id)).toMatchObject({ event: "issues", action: "labeled" });
    // start-task alone: it is the label's one sync.
    expect(web.queued().filter((job) => JSON.stringify(job.payload).includes(id))).toHaveLength(1);
  });

  it.each([
    ["signed with another secret", (body: string) => ({ body, signature: sign(body, "not-the-secret") })],
    [
      "changed after signing",
      (body: string) => ({ body: body.replace("Original", "Tampered"), signature: sign(body) }),
    ],
    ["with a malformed signature", (body: string) => ({ body, signature: "sha1=abc" })],
  ])("refuses a delivery %s with 401, one log line and no body logged", async (_, make) => {
    const id = newId();
    const body = JSON.stringify(issueLabeled({ number: 21, title: "Original" }));
    const answer = await deliver(web.url(), { id, ...make(body) });
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({
      error: "x-hub-signature-256 does not match the body and the app's webhook secret",
    });
    expect(await getDelivery(web.db(), id)).toBeUndefined();
    const [line, ...more] = linesAbout(web.logs(), id);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ deliveryId: id, event: "issues", status: 401, msg: "webhook refused" });
    expect(line).toHaveProperty("remoteAddress");
    expect(line?.bytes).toBe(Buffer.byteLength(make(body).body));
    expect(JSON.stringify(line)).not.toContain("Original");
  });

  it.each([
    [
      "no signature",
      { "x-hub-signature-256": undefined },
      400,
      /required headers missing: x-hub-signature-256/,
    ],
    ["no event", { "x-github-event": undefined }, 400, /required headers missing: x-github-event/],
    ["a delivery id that is not one", { "x-github-delivery": "a b" }, 400, /not a delivery id/],
    ["another content type", { "content-type": "text/plain" }, 415, /application\/json/],
  ])("refuses a request with %s", async (_, headers, status, reason) => {
    const body = JSON.stringify(issueLabeled({ number: 22, title: "Headers" }));
    const answer = await deliver(web.url(), { body, headers });
    expect(answer.status).toBe(status);
    expect(JSON.parse(answer.body).error).toMatch(reason);
  });

  it("answers 413 to a declared length over 25 MB before reading any of it", async () => {
    const id = newId();
    // Declares 100 MB and sends 1 MB: an answer proves nothing waited for the rest.
    const answer = await deliver(web.url(), {
      id,
      body: chunksOf(100 * MB),
      headers: { "content-length": String(100 * MB) },
      signature: sign("whatever"),
      holdAfterBytes: MB,
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({
      error: `the body is larger than ${MAX_BODY_BYTES} bytes, GitHub's limit for a delivery`,
    });
    expect(linesAbout(web.logs(), id)).toEqual([
      expect.objectContaining({ deliveryId: id, status: 413, bytes: 100 * MB, msg: "webhook refused" }),
    ]);
  });

  it("answers 413 to a chunked body once it passes 25 MB, without reading the rest", async () => {
    const id = newId();
    const answer = await deliver(web.url(), { id, body: chunksOf(100 * MB), signature: sign("whatever") });
    expect(answer.status).toBe(413);
    const [line, ...more] = linesAbout(web.logs(), id);
    expect(more).toEqual([]);
    // Reading stopped at the first chunk past the limit.
    expect(line?.bytes).toBeGreaterThan(MAX_BODY_BYTES);
    expect(line?.bytes).toBeLessThanOrEqual(MAX_BODY_BYTES + 64 * 1024);
  });

  it("stores NUL, lone surrogates and right-to-left text losslessly, and the job's reader gets them as sent", async () => {
    const id = newId();
    const title = "NUL \u0000 lone \ud800 and \udfff, RTL \u202e\u05e9\u05dc\u05d5\u05dd, emoji \u{1f600}";
    const payload = issueLabeled({ number: 23, title, body: `body \u0000 \ud83d` });
    const body = JSON.stringify(payload);
    // JSON.stringify escapes NUL and lone surrogates: the body is the ASCII escapes GitHub sends.
    expect(body).toContain("\\u0000");
    expect(body).toContain("\\ud800");

    expect(await deliver(web.url(), { id, body })).toMatchObject({ status: 200 });

    const stored = await getDelivery(web.db(), id);
    expect(stored?.payload).toEqual(payload);
    // start-task reads it so (getDelivery, then IssueLabeled), and keeps the title in a column that holds
    // no NUL: that one character becomes U+FFFD, the rest as sent.
    expect(IssueLabeled.parse(stored?.payload).issue.title).toBe(title.replace("\u0000", "\ufffd"));
  });

  it("stores a close with NUL in its text and finds it by issue number", async () => {
    const id = newId();
    const payload = { ...issueClosed({ number: 24, stateReason: "completed" }), comment: "\u0000" };
    expect(await deliver(web.url(), { id, body: JSON.stringify(payload) })).toMatchObject({ status: 200 });
    expect(await getDelivery(web.db(), id)).toMatchObject({ issueNumber: 24, payload });
  });

  it("stores very long strings and deep nesting within the limit, byte for byte", async () => {
    const id = newId();
    let nested: unknown = "bottom";
    for (let depth = 0; depth < 1_000; depth++) nested = depth % 2 ? [nested] : { n: nested };
    const payload = {
      ...issueLabeled({ number: 25, title: "Large" }),
      extra: { long: "\u0000x\ud800".repeat(1_000_000), nested },
    };
    // Spacing GitHub might use: the text stored is the text sent, not a re-serialisation.
    const body = JSON.stringify(payload, null, 1);
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_BODY_BYTES);
    expect(await deliver(web.url(), { id, body })).toMatchObject({ status: 200 });
    expect((await getDelivery(web.db(), id))?.payload).toEqual(payload);
    const [stored] = await web.db().select().from(deliveries).where(eq(deliveries.id, id));
    expect(stored?.body).toBe(body);
  });

  it.each([
    ["null", "null", "the body is JSON but not an object (null)"],
    ["42", "42", "the body is JSON but not an object (a number)"],
    ["[]", "[]", "the body is JSON but not an object (an array)"],
    ['"x"', '"x"', "the body is JSON but not an object (a string)"],
    ["invalid JSON", '{"action": ', "the body is not JSON"],
    ["an empty body", "", "the body is not JSON"],
  ])("answers a signed body of %s with 400 and the reason", async (_, body, reason) => {
    const id = newId();
    const answer = await deliver(web.url(), { id, body });
    expect(answer).toEqual({ status: 400, body: JSON.stringify({ error: reason }) });
    expect(await getDelivery(web.db(), id)).toBeUndefined();
  });

  it("refuses an action that is no webhook action (a NUL in it) with 422, not a 500", async () => {
    // Found by the fuzz test: the action is stored in a text column, which refuses NUL.
    const id = newId();
    const link = (number: number) => ({
      id: number * 1000,
      number,
      title: `Issue ${number}`,
      repository_url: "https://api.github.com/repos/octo-org/widgets",
    });
    const payload = {
      action: "\u0000\n",
      blocked_issue: link(1),
      blocking_issue: link(2),
      installation: { id: 77 },
    };
    const answer = await deliver(web.url(), {
      id,
      event: "issue_dependencies",
      body: JSON.stringify(payload),
    });
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.body).error).toMatch(/action: must be a webhook action/);
    expect(await getDelivery(web.db(), id)).toBeUndefined();
  });

  it("answers a body that is not UTF-8 with 400", async () => {
    const body = Buffer.concat([Buffer.from('{"action":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const answer = await deliver(web.url(), { body });
    expect(answer).toEqual({ status: 400, body: JSON.stringify({ error: "the body is not UTF-8" }) });
  });

  it.each([
    ["an issue number past 2^31-1", { issue: { number: 2 ** 31 } }, /issue\.number: Too big/],
    ["a negative issue number", { issue: { number: -1 } }, /issue\.number/],
    ["an installation id past 2^53", { installation: { id: 2 ** 60 } }, /installation\.id/],
    ["a repository that is not owner/name", { repository: { full_name: "a/b/c" } }, /must be owner\/name/],
    ["a repository named ..", { repository: { full_name: "acme/.." } }, /must be owner\/name/],
    ["a branch with a space", { repository: { default_branch: "a b" } }, /must be a branch name/],
    ["a 10 MB login", { sender: { login: "x".repeat(10 * MB) } }, /sender\.login: Too big/],
    ["a title of the wrong type", { issue: { title: 42 } }, /issue\.title/],
  ])("refuses %s with 422 and queues nothing", async (_, change, reason) => {
    const id = newId();
    const base = issueLabeled({ number: 26, title: "Out of range" }) as Record<
      string,
      Record<string, unknown>
    >;
    const payload = { ...base };
    for (const [key, fields] of Object.entries(change)) payload[key] = { ...base[key], ...fields };
    const answer = await deliver(web.url(), { id, body: JSON.stringify(payload) });
    expect(answer.status).toBe(422);
    expect(JSON.parse(answer.body).error).toMatch(reason);
    expect(await getDelivery(web.db(), id)).toBeUndefined();
    expect(web.queued().filter((job) => JSON.stringify(job.payload).includes(id))).toEqual([]);
    expect(linesAbout(web.logs(), id)).toEqual([
      expect.objectContaining({ msg: "webhook refused", status: 422, reason: JSON.parse(answer.body).error }),
    ]);
  });

  it("refuses an id written past 2^53 in the JSON text, which no JS number holds exactly", async () => {
    const id = newId();
    const body = JSON.stringify(issueLabeled({ number: 27, title: "Big id" })).replace(
      /"installation":\{"id":\d+/,
      '"installation":{"id":9007199254740993',
    );
    expect(body).toContain("9007199254740993");
    expect((await deliver(web.url(), { id, body })).status).toBe(422);
  });

  it("answers 404 elsewhere and 405 to a GET on the webhook path; /healthz is up", async () => {
    expect((await fetch(`${web.url()}/nowhere`)).status).toBe(404);
    expect((await fetch(`${web.url()}${WEBHOOK_PATH}`)).status).toBe(405);
    expect(await (await fetch(`${web.url()}/healthz`)).json()).toEqual({ status: "ok" });
  });
});

describe("webhook endpoint when intake fails", () => {
  const lines: string[] = [];
  let server: http.Server;
  let url: string;
  const SECRET_TEXT = "payload-text-that-must-not-leak";

  beforeAll(async () => {
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    const endpoint = webhookEndpoint({
      secret: TEST_WEBHOOK_SECRET,
      log,
      // As drizzle reports a failed insert: the message quotes the query and its parameters.
      receive: async (delivery) => {
        throw new Error(`Failed query: insert into "deliveries" ... params: ${delivery.body}`, {
          cause: Object.assign(new Error("unsupported Unicode escape sequence"), { code: "22P05" }),
        });
      },
    });
    server = http.createServer((request, response) => void endpoint(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("answers 500 naming the problem, with no SQL or payload, and logs only the cause", async () => {
    const body = JSON.stringify(issueLabeled({ number: 28, title: SECRET_TEXT }));
    const answer = await deliver(url, { body });
    expect(answer).toEqual({
      status: 500,
      body: JSON.stringify({
        error: "the delivery could not be recorded; redeliver it from the app's settings later",
      }),
    });
    expect(lines.join("")).not.toContain(SECRET_TEXT);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        msg: "delivery not recorded",
        cause: { name: "Error", message: "unsupported Unicode escape sequence", code: "22P05" },
      }),
    ]);
  });
});
