import { timingSafeEqual } from "node:crypto";
import { answer } from "../lib/http.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { readBoundedBody } from "./read-body.ts";
import type { Received, WebhookDelivery } from "./receive.ts";

/** GitHub caps webhook payloads at 25 MB: nothing larger is a delivery. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;

/** Probot's and GitHub's default path for an app's webhooks. */
export const WEBHOOK_PATH = "/api/github/webhooks";

export type WebhookEndpointOptions = {
  /** The app's webhook secret: every delivery is signed with it (X-Hub-Signature-256). */
  secret: string;
  log: Logger;
  /** Intake: record and queue a delivery whose signature holds (receiveWebhook). */
  receive: (delivery: WebhookDelivery) => Promise<Received>;
  /** Bodies larger than this are refused unread. Default MAX_BODY_BYTES. */
  maxBodyBytes?: number;
};

/** What is known of a request before its body is read, for the one line a refusal logs. */
type Described = { deliveryId: string | undefined; event: string | undefined; bytes: number | undefined };

type Refusal = { status: number; reason: string };

const DELIVERY_ID = /^[\w-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

/**
 * GitHub's webhooks in: refuse what cannot be a delivery before it costs memory or log space, then hand
 * the rest to intake. In order: the method and headers, the declared size (a body over the limit is
 * refused unread), the body read up to the limit, the signature, the JSON (an object), then the fields
 * intake reads. A refusal is one log line (delivery id, event, size, reason, remote address), never the
 * body, and its answer names the problem and nothing else. Returns false for requests on other paths.
 */
export function webhookEndpoint(options: WebhookEndpointOptions) {
  const limit = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const tooLarge = {
    status: 413,
    reason: `the body is larger than ${limit} bytes, GitHub's limit for a delivery`,
  };
  return async (request: IncomingMessage, response: ServerResponse): Promise<boolean> => {
    if (pathOf(request.url) !== WEBHOOK_PATH) return false;
    const described = describe(request);
    const refuse = ({ status, reason }: Refusal) => {
      options.log.warn(
        { ...described, status, reason, remoteAddress: request.socket.remoteAddress },
        "webhook refused",
      );
      answer(response, status, { error: reason });
      if (!request.complete) lingerThenClose(request);
      return true;
    };

    // 1. Before reading: method, headers, declared size.
    const early = requestProblem(request);
    if (early) return refuse(early);
    if (described.bytes !== undefined && described.bytes > limit) return refuse(tooLarge);

    // 2. The body, signed as it is read, and never past the limit.
    const read = await readBoundedBody(request, limit, options.secret);
    if (read.kind === "aborted") return true; // the sender went away: nobody to answer
    described.bytes = read.kind === "too-large" ? read.bytes : read.body.length;
    if (read.kind === "too-large") return refuse(tooLarge);
    if (!signatureMatches(header(request, "x-hub-signature-256") ?? "", read.signature)) {
      return refuse({
        status: 401,
        reason: "x-hub-signature-256 does not match the body and the app's webhook secret",
      });
    }
    const parsed = parseObject(read.body);
    if (typeof parsed === "string") return refuse({ status: 400, reason: parsed });

    // 3. Intake: the fields it reads, then record and queue.
    const name = described.event ?? "";
    let received: Received;
    try {
      received = await options.receive({
        id: described.deliveryId ?? "",
        name,
        payload: parsed.payload,
        body: parsed.text,
      });
    } catch (error) {
      // The error's own text may quote the query and its parameters (the whole payload): log its cause.
      options.log.error({ ...described, cause: rootCause(error) }, "delivery not recorded");
      answer(response, 500, {
        error: "the delivery could not be recorded; redeliver it from the app's settings later",
      });
      return true;
    }
    if (received.outcome === "invalid") {
      return refuse({
        status: 422,
        reason: `not a ${name} event Drover can act on: ${received.why ?? "invalid payload"}`,
      });
    }
    answer(response, 200, { outcome: received.outcome });
    return true;
  };
}

function pathOf(url: string | undefined): string | null {
  try {
    return new URL(url ?? "/", "http://localhost").pathname;
  } catch {
    return null;
  }
}

function describe(request: IncomingMessage): Described {
  const declared = Number(request.headers["content-length"] ?? NaN);
  return {
    deliveryId: header(request, "x-github-delivery")?.slice(0, 100),
    event: header(request, "x-github-event")?.slice(0, 64),
    bytes: Number.isFinite(declared) ? declared : undefined,
  };
}

/** What makes the request no delivery before its body is read, if anything. */
function requestProblem(request: IncomingMessage): Refusal | null {
  if (request.method !== "POST") {
    return { status: 405, reason: `${request.method} is not allowed here: POST a delivery` };
  }
  const missing = ["x-github-delivery", "x-github-event", "x-hub-signature-256"].filter(
    (name) => header(request, name) === undefined,
  );
  if (missing.length > 0) return { status: 400, reason: `required headers missing: ${missing.join(", ")}` };
  if (!DELIVERY_ID.test(header(request, "x-github-delivery") ?? "")) {
    return { status: 400, reason: "x-github-delivery is not a delivery id" };
  }
  if (!EVENT_NAME.test(header(request, "x-github-event") ?? "")) {
    return { status: 400, reason: "x-github-event is not an event name" };
  }
  if (!/^\s*application\/json\s*(;|$)/i.test(request.headers["content-type"] ?? "")) {
    return { status: 415, reason: "content-type must be application/json" };
  }
  return null;
}

/**
 * After refusing a body not read whole: Node reads and discards the rest (nothing is kept), so the sender,
 * still sending, gets the answer instead of a reset connection; past LINGER_MS the connection is closed.
 */
function lingerThenClose(request: IncomingMessage): void {
  // A body cut off at the limit was paused by its reader; flowing with no listener discards what comes.
  request.resume();
  const timer = setTimeout(() => request.socket.destroy(), LINGER_MS);
  timer.unref();
  request.once("end", () => clearTimeout(timer));
  request.once("close", () => clearTimeout(timer));
}

const LINGER_MS = 5_000;

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" ? value : undefined;
}

function signatureMatches(received: string, expectedHex: string): boolean {
  const expected = Buffer.from(`sha256=${expectedHex}`);
  const given = Buffer.from(received);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The body as text and JSON, or why it is not a JSON object. */
function parseObject(body: Buffer): { text: string; payload: object } | string {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return "the body is not UTF-8";
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return "the body is not JSON";
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return `the body is JSON but not an object (${payload === null ? "null" : Array.isArray(payload) ? "an array" : `a ${typeof payload}`})`;
  }
  return { text, payload };
}

/** The innermost cause: a driver's error (code and message), not a wrapper quoting the SQL it ran. */
function rootCause(error: unknown): { name: string; message: string; code?: string } {
  let inner = error;
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause;
  if (!(inner instanceof Error)) return { name: "Error", message: String(inner).slice(0, 500) };
  const code = (inner as { code?: unknown }).code;
  return {
    name: inner.name,
    message: inner.message.slice(0, 500),
    ...(typeof code === "string" ? { code } : {}),
  };
}

export { answer };
