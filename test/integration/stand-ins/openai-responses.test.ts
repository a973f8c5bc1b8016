import OpenAI, { APIError } from "openai";
import { afterEach, describe, expect, it } from "vitest";
import {
  OPENAI_ERRORS,
  startOpenAIResponses,
  type OpenAIResponsesStandIn,
  type Script,
} from "../../agents/stand-ins/openai-responses.ts";

// The stand-in Codex CLI talks to in test/agents/codex.test.ts, held to OpenAI's published shapes by
// OpenAI's own client: its stream parser, its response accumulator and its error classes.

let standIn: OpenAIResponsesStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

/** A client of the stand-in, which accepts the key sk-test; `apiKey` null sends no Authorization at all. */
async function clientFor(script: Script, apiKey: string | null = "sk-test"): Promise<OpenAI> {
  standIn = await startOpenAIResponses(script, { apiKey: "sk-test" });
  return new OpenAI({
    apiKey: apiKey ?? "unused",
    baseURL: standIn.baseUrl,
    maxRetries: 0,
    ...(apiKey === null ? { defaultHeaders: { authorization: null } } : {}),
  });
}

describe("the OpenAI Responses stand-in", () => {
  it("streams the scripted text and usage, which the official client reads back", async () => {
    const client = await clientFor(() => ({ text: "Hello from the stand-in", usage: { input_tokens: 42 } }));
    const stream = client.responses.stream({ model: "gpt-5", input: "Say hello" });
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    const response = await stream.finalResponse();

    expect(response.output_text).toBe("Hello from the stand-in");
    expect(deltas.join("")).toBe("Hello from the stand-in");
    expect(response).toMatchObject({ status: "completed", model: "gpt-5" });
    expect(response.usage).toMatchObject({ input_tokens: 42, output_tokens: 80, total_tokens: 122 });
    expect(standIn?.responses()[0]?.body).toMatchObject({ model: "gpt-5", stream: true, input: "Say hello" });
  });

  it("streams function calls with their arguments", async () => {
    const client = await clientFor(() => ({
      calls: [{ name: "exec_command", arguments: { cmd: "ls" } }],
    }));
    const events: string[] = [];
    const stream = client.responses.stream({
      model: "gpt-5",
      input: "List the files",
      tools: [
        {
          type: "function",
          name: "exec_command",
          parameters: { type: "object", properties: { cmd: { type: "string" } } },
          strict: false,
        },
      ],
    });
    for await (const event of stream) events.push(event.type);
    const response = await stream.finalResponse();

    const [call] = response.output;
    expect(call).toMatchObject({ type: "function_call", name: "exec_command", status: "completed" });
    expect(call?.type === "function_call" && JSON.parse(call.arguments)).toEqual({ cmd: "ls" });
    expect(call?.type === "function_call" && call.call_id).toMatch(/^call_/);
    expect(events[0]).toBe("response.created");
    expect(events).toContain("response.function_call_arguments.done");
    expect(events.at(-1)).toBe("response.completed");
  });

  it("answers without a stream when asked to, and lists models", async () => {
    const client = await clientFor(() => ({ text: "plain" }));
    const response = await client.responses.create({ model: "gpt-5", input: "x", stream: false });
    expect(response.output_text).toBe("plain");
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toContain("gpt-5");
  });

  it.each([
    [
      "a refused key",
      "sk-wrong",
      401,
      "invalid_api_key",
      "invalid_request_error",
      /^Incorrect API key provided/,
    ],
    ["no key", null, 401, null, "invalid_request_error", /^You didn't provide an API key/],
  ])("answers %s with OpenAI's 401", async (_name, apiKey, status, code, type, message) => {
    const client = await clientFor(() => ({ text: "never" }), apiKey);
    const error = await client.responses.create({ model: "gpt-5", input: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect(error).toMatchObject({ status, code, type });
    expect((error as APIError).error).toMatchObject({ message: expect.stringMatching(message) });
  });

  it.each([
    ["no credit", OPENAI_ERRORS.insufficientQuota, "insufficient_quota", /^You exceeded your current quota/],
    ["a rate limit", OPENAI_ERRORS.rateLimited, "rate_limit_exceeded", /^Rate limit reached for gpt-5/],
  ])("answers %s with OpenAI's 429", async (_name, reply, code, message) => {
    const client = await clientFor(() => reply);
    const error = await client.responses.create({ model: "gpt-5", input: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error).toMatchObject({ status: 429, code });
    expect((error as APIError).error).toMatchObject({ message: expect.stringMatching(message) });
  });

  it("sends the headers a scripted error carries", async () => {
    const client = await clientFor(() => ({ ...OPENAI_ERRORS.rateLimited, headers: { "retry-after": "1" } }));
    const error = (await client.responses
      .create({ model: "gpt-5", input: "x" })
      .catch((e: unknown) => e)) as APIError;
    expect(error.headers?.get("retry-after")).toBe("1");
  });
});
