import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback stand-in for the Anthropic Messages API (https://docs.claude.com/en/api/messages), for running
 * the real agent CLIs (Claude Code, OpenCode's anthropic provider) without the internet. Point a client at
 * `url` (ANTHROPIC_BASE_URL; clients add `/v1/messages` themselves).
 *
 * - `POST /v1/messages` answers with the scripted reply: a message as server-sent events when the body has
 *   `stream: true` (message_start, content_block_start/delta/stop per block, message_delta, message_stop,
 *   the published event shapes), else one message object; or an error with Anthropic's error body
 *   `{type: "error", error: {type, message}, request_id}` and the given status.
 * - `POST /v1/messages/count_tokens` answers `{input_tokens}` (a rough count of the body), unscripted.
 * - `GET /v1/models` lists one model (`claude-sonnet-4-5`); anything else is a 404 `not_found_error`.
 *
 * Every request is recorded, in order. With `apiKey` set, a request whose `x-api-key` (or `Authorization:
 * Bearer ...`) is anything else gets 401 `authentication_error` "invalid x-api-key" before the script sees
 * it, as the real API answers a bad key.
 */
export interface AnthropicStandIn {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Stops listening and drops open connections (a reply still pending is abandoned). */
  close(): Promise<void>;
}

export interface RecordedRequest {
  method: string;
  /** The path with its query string, e.g. `/v1/messages?beta=true`. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
}

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

/** A successful reply: text and/or tool calls (in that order), ending the turn or asking for tool results. */
export interface AnthropicMessageReply {
  text?: string;
  toolUses?: { name: string; input: unknown }[];
  /** Defaults to 10 tokens in, 5 out. */
  usage?: AnthropicUsage;
  /** Defaults to `tool_use` when there are tool calls, else `end_turn`. */
  stopReason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence";
}

/** A failed reply, e.g. `{status: 429, errorType: "rate_limit_error", message: "..."}`. */
export interface AnthropicErrorReply {
  status: number;
  errorType: string;
  message: string;
  /** Extra response headers, e.g. `{"retry-after": "0"}`. */
  headers?: Record<string, string>;
}

export type AnthropicReply = AnthropicMessageReply | AnthropicErrorReply;

/** The fields of a `/v1/messages` request body a script may look at (the rest as sent). */
export interface MessagesBody {
  model?: string;
  stream?: boolean;
  max_tokens?: number;
  system?: string | { type: string; text?: string }[];
  messages?: { role: "user" | "assistant"; content: string | ContentBlockParam[] }[];
  /** The tools the client offers; client tools have `name` and `input_schema`. */
  tools?: { name: string; type?: string; input_schema?: unknown }[];
  [field: string]: unknown;
}

/** A content block in a request: text, a tool call the model made, a tool's result, or others. */
export interface ContentBlockParam {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
  [field: string]: unknown;
}

export interface AnthropicStandInOptions {
  /**
   * The reply to one `/v1/messages` request. `index` counts those requests from 0 (count_tokens and others
   * are not counted). A CLI also sends side requests (titles, summaries: usually without `tools`), so a
   * script for a session should look at `body.tools` / `body.messages` rather than rely on `index` alone.
   * May return a promise (to hold the reply back, e.g. until a hint arrives).
   */
  reply: (request: { body: MessagesBody; index: number }) => AnthropicReply | Promise<AnthropicReply>;
  /** When set, any other key gets 401 authentication_error. */
  apiKey?: string;
}

/** The errors the real API sends, with its status codes and messages, for scripts to return. */
export const anthropicErrors = {
  noCredit: {
    status: 400,
    errorType: "invalid_request_error",
    message:
      "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
  },
  badKey: { status: 401, errorType: "authentication_error", message: "invalid x-api-key" },
  rateLimited: {
    status: 429,
    errorType: "rate_limit_error",
    message:
      "This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.",
    headers: { "retry-after": "1" },
  },
  overloaded: { status: 529, errorType: "overloaded_error", message: "Overloaded" },
} satisfies Record<string, AnthropicErrorReply>;

export async function startAnthropicStandIn(options: AnthropicStandInOptions): Promise<AnthropicStandIn> {
  const requests: RecordedRequest[] = [];
  let messagesSeen = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const body = parseBody(text);
      const path = request.url ?? "/";
      const method = request.method ?? "GET";
      requests.push({ method, path, headers: request.headers, body });
      const route = path.split("?")[0];
      if (options.apiKey !== undefined && presentedKey(request.headers) !== options.apiKey) {
        sendError(response, anthropicErrors.badKey);
        return;
      }
      if (method === "POST" && route === "/v1/messages") {
        const index = messagesSeen;
        messagesSeen += 1;
        Promise.resolve()
          .then(() => options.reply({ body: asMessagesBody(body), index }))
          .then((reply) => sendReply(response, reply, asMessagesBody(body)))
          .catch((error: unknown) =>
            sendError(response, {
              status: 500,
              errorType: "api_error",
              message: `stand-in script failed: ${String(error)}`,
            }),
          );
        return;
      }
      if (method === "POST" && route === "/v1/messages/count_tokens") {
        sendJson(response, 200, { input_tokens: Math.max(1, Math.ceil(text.length / 4)) });
        return;
      }
      if (method === "GET" && route === "/v1/models") {
        sendJson(response, 200, {
          data: [
            {
              type: "model",
              id: "claude-sonnet-4-5",
              display_name: "Claude Sonnet 4.5",
              created_at: "2025-09-29T00:00:00Z",
            },
          ],
          has_more: false,
          first_id: "claude-sonnet-4-5",
          last_id: "claude-sonnet-4-5",
        });
        return;
      }
      sendError(response, { status: 404, errorType: "not_found_error", message: `${method} ${route}` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function asMessagesBody(body: unknown): MessagesBody {
  return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as MessagesBody) : {};
}

function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers["x-api-key"];
  if (typeof apiKey === "string") return apiKey;
  const authorization = headers.authorization;
  return authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.destroyed) return;
  response.writeHead(status, {
    "content-type": "application/json",
    "request-id": requestId(),
    ...headers,
  });
  response.end(JSON.stringify(body));
}

function sendError(response: ServerResponse, reply: AnthropicErrorReply): void {
  sendJson(
    response,
    reply.status,
    { type: "error", error: { type: reply.errorType, message: reply.message }, request_id: requestId() },
    reply.headers,
  );
}

function sendReply(response: ServerResponse, reply: AnthropicReply, body: MessagesBody): void {
  if ("status" in reply) {
    sendError(response, reply);
    return;
  }
  const message = buildMessage(reply, typeof body.model === "string" ? body.model : "claude-sonnet-4-5");
  if (body.stream === true) streamMessage(response, message);
  else sendJson(response, 200, message);
}

type ContentBlock =
  { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: unknown };

interface Message {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: ContentBlock[];
  stop_reason: string;
  stop_sequence: null;
  usage: AnthropicUsage;
}

function buildMessage(reply: AnthropicMessageReply, model: string): Message {
  const content: ContentBlock[] = [];
  if (reply.text !== undefined) content.push({ type: "text", text: reply.text });
  for (const use of reply.toolUses ?? []) {
    content.push({ type: "tool_use", id: `toolu_${randomId()}`, name: use.name, input: use.input });
  }
  const usage: AnthropicUsage = reply.usage ?? { input_tokens: 10, output_tokens: 5 };
  return {
    id: `msg_${randomId()}`,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: reply.stopReason ?? (reply.toolUses?.length ? "tool_use" : "end_turn"),
    stop_sequence: null,
    usage: {
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      ...usage,
    },
  };
}

/** The streaming events of https://docs.claude.com/en/docs/build-with-claude/streaming, one message. */
function streamMessage(response: ServerResponse, message: Message): void {
  if (response.destroyed) return;
  response.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "request-id": requestId(),
  });
  const send = (event: string, data: unknown) =>
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send("message_start", {
    type: "message_start",
    message: {
      ...message,
      content: [],
      stop_reason: null,
      usage: { ...message.usage, output_tokens: 1 },
    },
  });
  send("ping", { type: "ping" });
  message.content.forEach((block, index) => {
    if (block.type === "text") {
      send("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "text", text: "" },
      });
      for (const piece of splitInTwo(block.text)) {
        send("content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "text_delta", text: piece },
        });
      }
    } else {
      send("content_block_start", {
        type: "content_block_start",
        index,
        content_block: { type: "tool_use", id: block.id, name: block.name, input: {} },
      });
      for (const piece of splitInTwo(JSON.stringify(block.input))) {
        send("content_block_delta", {
          type: "content_block_delta",
          index,
          delta: { type: "input_json_delta", partial_json: piece },
        });
      }
    }
    send("content_block_stop", { type: "content_block_stop", index });
  });
  send("message_delta", {
    type: "message_delta",
    delta: { stop_reason: message.stop_reason, stop_sequence: null },
    usage: { output_tokens: message.usage.output_tokens },
  });
  send("message_stop", { type: "message_stop" });
  response.end();
}

/** Two deltas per block, so a client that joins deltas wrongly shows it. */
function splitInTwo(text: string): string[] {
  if (text.length < 2) return [text];
  const middle = Math.floor(text.length / 2);
  return [text.slice(0, middle), text.slice(middle)];
}

function randomId(): string {
  return randomUUID().replaceAll("-", "").slice(0, 24);
}

function requestId(): string {
  return `req_${randomId()}`;
}
