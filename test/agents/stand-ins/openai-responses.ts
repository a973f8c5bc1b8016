import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  Response,
  ResponseCustomToolCall,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseStreamEvent,
  ResponseUsage,
} from "openai/resources/responses/responses";

/**
 * A loopback stand-in for the OpenAI Responses API as Codex CLI calls it: `POST /v1/responses` answered
 * with a server-sent event stream (`response.created`, `response.output_item.added`/`.done`,
 * `response.output_text.delta`, function calls, `response.completed` with usage), `GET /v1/models`, and
 * errors with OpenAI's body `{error: {message, type, param, code}}`. Event and object shapes are the
 * `openai` package's own types, and test/integration/stand-ins/openai-responses.test.ts reads the stream
 * with that package's client.
 */

/**
 * A call to one of the tools the request offered, by its name: a function tool's JSON arguments, or a
 * freeform (custom) tool's raw input, such as Codex's `exec` (JavaScript) or `apply_patch`.
 */
export type ScriptedCall =
  { name: string; arguments: unknown } | { name: string; input: string; namespace?: string };

export type ScriptedReply =
  | { text?: string; calls?: readonly ScriptedCall[]; usage?: Partial<TokenUsage> }
  | { status: number; error: OpenAIError; headers?: Record<string, string> };

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
}

/** OpenAI's error object, e.g. `{message: "Incorrect API key provided...", type: "invalid_request_error", code: "invalid_api_key"}`. */
export interface OpenAIError {
  message: string;
  type: string;
  code: string | null;
  param?: string | null;
}

/** One request the stand-in received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined for a GET). */
  body: ResponsesRequestBody | undefined;
}

/** The fields of a Responses request the stand-in reads; the rest is kept as sent. */
export interface ResponsesRequestBody {
  model?: string;
  stream?: boolean;
  input?: unknown[];
  tools?: { type: string; name?: string }[];
  [field: string]: unknown;
}

/** Decides each `POST /v1/responses`: `turn` counts them from 0. */
export type Script = (request: ReceivedRequest, turn: number) => ScriptedReply | Promise<ScriptedReply>;

export interface OpenAIResponsesStandIn {
  /** `http://127.0.0.1:<port>/v1`, the base URL a client appends `/responses` to. */
  baseUrl: string;
  /** Every request received, in order, /v1/models included. */
  requests: ReceivedRequest[];
  /** The `POST /v1/responses` requests alone. */
  responses(): ReceivedRequest[];
  close(): Promise<void>;
}

/** OpenAI's errors as its API sends them. */
export const OPENAI_ERRORS = {
  missingApiKey: {
    status: 401,
    error: {
      message:
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
      type: "invalid_request_error",
      param: null,
      code: null,
    },
  },
  invalidApiKey: {
    status: 401,
    error: {
      message:
        "Incorrect API key provided: sk-bad. You can find your API key at https://platform.openai.com/account/api-keys.",
      type: "invalid_request_error",
      param: null,
      code: "invalid_api_key",
    },
  },
  insufficientQuota: {
    status: 429,
    error: {
      message:
        "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
      type: "insufficient_quota",
      param: null,
      code: "insufficient_quota",
    },
  },
  rateLimited: {
    status: 429,
    error: {
      message:
        "Rate limit reached for gpt-5 in organization org-standin on tokens per min (TPM): Limit 30000, Used 30000, Requested 1200. Please try again in 20s.",
      type: "tokens",
      param: null,
      code: "rate_limit_exceeded",
    },
  },
} as const satisfies Record<string, ScriptedReply>;

const MODELS = ["gpt-5", "gpt-5-codex", "gpt-5.1-codex"];

export interface StandInOptions {
  /**
   * The key the stand-in accepts as `Authorization: Bearer <key>`: a request without one, or with another,
   * is answered 401 as OpenAI answers it, before the script is asked. Default: any request is accepted.
   */
  apiKey?: string;
}

export async function startOpenAIResponses(
  script: Script,
  options: StandInOptions = {},
): Promise<OpenAIResponsesStandIn> {
  const requests: ReceivedRequest[] = [];
  let turns = 0;
  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, { message: String(error), type: "server_error", code: null });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
    const raw = await readBody(req);
    const received: ReceivedRequest = {
      method: req.method ?? "GET",
      path,
      headers: req.headers,
      body: raw === "" ? undefined : (JSON.parse(raw) as ResponsesRequestBody),
    };
    requests.push(received);

    const refused = options.apiKey === undefined ? undefined : authError(req.headers, options.apiKey);
    if (refused) {
      sendError(res, 401, refused);
      return;
    }

    if (req.method === "GET" && path === "/v1/models") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          object: "list",
          data: MODELS.map((id) => ({ id, object: "model", created: 1_700_000_000, owned_by: "openai" })),
        }),
      );
      return;
    }
    if (req.method !== "POST" || path !== "/v1/responses") {
      sendError(res, 404, {
        message: `Invalid URL (${req.method} ${path})`,
        type: "invalid_request_error",
        code: null,
      });
      return;
    }

    const reply = await script(received, turns++);
    if ("status" in reply) {
      sendError(res, reply.status, reply.error, reply.headers);
      return;
    }
    const body = received.body ?? {};
    if (body.stream === false) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(wire(buildResponse(body.model ?? MODELS[0]!, reply).completed));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    for (const event of streamEvents(buildResponse(body.model ?? MODELS[0]!, reply))) {
      res.write(`event: ${event.type}\ndata: ${wire(event)}\n\n`);
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    responses: () => requests.filter((request) => request.path === "/v1/responses"),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * JSON as the API sends it: without `output_text`, which the SDK's Response type has but the API does not
 * send (the SDK derives it from `output`).
 */
function wire(value: unknown): string {
  return JSON.stringify(value, (key, field: unknown) => (key === "output_text" ? undefined : field));
}

function authError(headers: IncomingHttpHeaders, apiKey: string): OpenAIError | undefined {
  const given = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1];
  if (given === undefined) return OPENAI_ERRORS.missingApiKey.error;
  if (given === apiKey) return undefined;
  const shown = given.length > 8 ? `${given.slice(0, 3)}*****${given.slice(-4)}` : given;
  return {
    ...OPENAI_ERRORS.invalidApiKey.error,
    message: `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`,
  };
}

function sendError(
  res: ServerResponse,
  status: number,
  error: OpenAIError,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify({ error: { param: null, ...error } }));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

interface BuiltResponse {
  /** The response as `response.created` announces it: in progress, no output yet. */
  created: Response;
  completed: Response;
}

function buildResponse(
  model: string,
  reply: { text?: string; calls?: readonly ScriptedCall[]; usage?: Partial<TokenUsage> },
): BuiltResponse {
  const output: ResponseOutputItem[] = [];
  if (reply.text !== undefined) {
    const message: ResponseOutputMessage = {
      id: `msg_${randomUUID().replaceAll("-", "")}`,
      type: "message",
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: reply.text, annotations: [], logprobs: [] }],
    };
    output.push(message);
  }
  for (const call of reply.calls ?? []) {
    const call_id = `call_${randomUUID().replaceAll("-", "")}`;
    if ("input" in call) {
      const item: ResponseCustomToolCall = {
        id: `ctc_${randomUUID().replaceAll("-", "")}`,
        type: "custom_tool_call",
        call_id,
        name: call.name,
        input: call.input,
        ...(call.namespace === undefined ? {} : { namespace: call.namespace }),
      };
      output.push(item);
    } else {
      const item: ResponseFunctionToolCall = {
        id: `fc_${randomUUID().replaceAll("-", "")}`,
        type: "function_call",
        status: "completed",
        call_id,
        name: call.name,
        arguments: JSON.stringify(call.arguments),
      };
      output.push(item);
    }
  }
  const tokens: TokenUsage = {
    input_tokens: 1200,
    output_tokens: 80,
    cached_tokens: 0,
    reasoning_tokens: 0,
    ...reply.usage,
  };
  const usage: ResponseUsage = {
    input_tokens: tokens.input_tokens,
    input_tokens_details: { cached_tokens: tokens.cached_tokens, cache_write_tokens: 0 },
    output_tokens: tokens.output_tokens,
    output_tokens_details: { reasoning_tokens: tokens.reasoning_tokens },
    total_tokens: tokens.input_tokens + tokens.output_tokens,
  };
  const created: Response = {
    id: `resp_${randomUUID().replaceAll("-", "")}`,
    object: "response",
    created_at: Math.floor(Date.now() / 1000),
    model,
    status: "in_progress",
    output: [],
    output_text: "",
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: null,
    top_p: null,
    tool_choice: "auto",
    tools: [],
  };
  return { created, completed: { ...created, status: "completed", output, usage } };
}

/** The events OpenAI streams for a response, in its order, numbered. */
function streamEvents({ created, completed }: BuiltResponse): ResponseStreamEvent[] {
  const events: ResponseStreamEvent[] = [];
  let sequence = 0;
  const push = (event: DistributiveOmit<ResponseStreamEvent, "sequence_number">): void => {
    events.push({ ...event, sequence_number: sequence++ } as ResponseStreamEvent);
  };
  push({ type: "response.created", response: created });
  push({ type: "response.in_progress", response: created });
  completed.output.forEach((item, output_index) => {
    if (item.type === "message") {
      push({
        type: "response.output_item.added",
        output_index,
        item: { ...item, status: "in_progress", content: [] },
      });
      item.content.forEach((part, content_index) => {
        if (part.type !== "output_text") return;
        push({
          type: "response.content_part.added",
          item_id: item.id,
          output_index,
          content_index,
          part: { ...part, text: "" },
        });
        // Two deltas, so a client must join them.
        const half = Math.ceil(part.text.length / 2);
        for (const delta of [part.text.slice(0, half), part.text.slice(half)]) {
          if (delta === "") continue;
          push({
            type: "response.output_text.delta",
            item_id: item.id,
            output_index,
            content_index,
            delta,
            logprobs: [],
          });
        }
        push({
          type: "response.output_text.done",
          item_id: item.id,
          output_index,
          content_index,
          text: part.text,
          logprobs: [],
        });
        push({ type: "response.content_part.done", item_id: item.id, output_index, content_index, part });
      });
    } else if (item.type === "function_call") {
      push({
        type: "response.output_item.added",
        output_index,
        item: { ...item, status: "in_progress", arguments: "" },
      });
      push({
        type: "response.function_call_arguments.delta",
        item_id: item.id ?? "",
        output_index,
        delta: item.arguments,
      });
      push({
        type: "response.function_call_arguments.done",
        item_id: item.id ?? "",
        output_index,
        name: item.name,
        arguments: item.arguments,
      });
    } else if (item.type === "custom_tool_call") {
      push({ type: "response.output_item.added", output_index, item: { ...item, input: "" } });
      push({
        type: "response.custom_tool_call_input.delta",
        item_id: item.id ?? "",
        output_index,
        delta: item.input,
      });
      push({
        type: "response.custom_tool_call_input.done",
        item_id: item.id ?? "",
        output_index,
        input: item.input,
      });
    }
    push({ type: "response.output_item.done", output_index, item });
  });
  push({ type: "response.completed", response: completed });
  return events;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
