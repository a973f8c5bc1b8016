import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import {
  anthropicErrors,
  startAnthropicStandIn,
  type AnthropicStandInOptions,
  type AnthropicStandIn,
} from "../../agents/stand-ins/anthropic.ts";

// The stand-in the agent tests run Claude Code against, held to the published shapes by Anthropic's own
// SDK: its streaming client accumulates the scripted message from the events, and its error classes read
// the error bodies.

let standIn: AnthropicStandIn | undefined;
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

async function clientFor(reply: AnthropicStandInOptions["reply"], apiKey = "sk-ant-test") {
  standIn = await startAnthropicStandIn({ reply, apiKey: "sk-ant-test" });
  return new Anthropic({ apiKey, baseURL: standIn.url, maxRetries: 0 });
}

const request = {
  model: "claude-sonnet-4-5",
  max_tokens: 1024,
  messages: [{ role: "user" as const, content: "Edit the file" }],
  tools: [
    {
      name: "Edit",
      description: "Edit a file",
      input_schema: { type: "object" as const, properties: { file_path: { type: "string" } } },
    },
  ],
};

describe("the Anthropic Messages stand-in", () => {
  it("streams a scripted message the SDK accumulates: text, a tool call, usage, stop reason", async () => {
    const client = await clientFor(() => ({
      text: "I will edit it.",
      toolUses: [{ name: "Edit", input: { file_path: "/tmp/x", old_string: "a", new_string: "b" } }],
      usage: { input_tokens: 120, output_tokens: 40, cache_read_input_tokens: 7 },
    }));
    const stream = client.messages.stream(request);
    const texts: string[] = [];
    stream.on("text", (text) => texts.push(text));
    const message = await stream.finalMessage();
    expect(texts.join("")).toBe("I will edit it.");
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      stop_reason: "tool_use",
      content: [
        { type: "text", text: "I will edit it." },
        { type: "tool_use", name: "Edit", input: { file_path: "/tmp/x", old_string: "a", new_string: "b" } },
      ],
      usage: { input_tokens: 120, output_tokens: 40, cache_read_input_tokens: 7 },
    });
    expect(message.content[1]).toMatchObject({ id: expect.stringMatching(/^toolu_/) });
    const recorded = standIn?.requests[0];
    expect(recorded).toMatchObject({ method: "POST", path: "/v1/messages", body: { stream: true } });
    // This SDK release sends its key as a bearer token; Claude Code sends x-api-key. Both are accepted.
    expect(recorded?.headers.authorization ?? recorded?.headers["x-api-key"]).toMatch(/sk-ant-test$/);
    expect(recorded?.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("answers without streaming with one message object, ending the turn", async () => {
    const client = await clientFor(() => ({ text: "Done." }));
    const message = await client.messages.create(request);
    expect(message).toMatchObject({
      type: "message",
      content: [{ type: "text", text: "Done." }],
      stop_reason: "end_turn",
      usage: { input_tokens: 10, output_tokens: 5 },
    });
  });

  it("passes each /v1/messages request to the script with its index, and counts tokens unscripted", async () => {
    const seen: number[] = [];
    const client = await clientFor(({ body, index }) => {
      seen.push(index);
      return { text: `answer ${index} to ${body.messages?.length} message(s)` };
    });
    const counted = await client.messages.countTokens({ model: request.model, messages: request.messages });
    expect(counted.input_tokens).toBeGreaterThan(0);
    const first = await client.messages.create(request);
    const second = await client.messages.create(request);
    expect(first.content).toEqual([{ type: "text", text: "answer 0 to 1 message(s)" }]);
    expect(second.content).toEqual([{ type: "text", text: "answer 1 to 1 message(s)" }]);
    expect(seen).toEqual([0, 1]);
    expect(standIn?.requests.map((one) => one.path.split("?")[0])).toEqual([
      "/v1/messages/count_tokens",
      "/v1/messages",
      "/v1/messages",
    ]);
  });

  it("refuses another key with 401 authentication_error before the script runs", async () => {
    let called = false;
    const client = await clientFor(() => {
      called = true;
      return { text: "no" };
    }, "sk-ant-wrong");
    const error = await client.messages.create(request).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(error).toMatchObject({
      status: 401,
      error: { type: "error", error: { type: "authentication_error", message: "invalid x-api-key" } },
    });
    expect(called).toBe(false);
  });

  it.each([
    ["no credit", anthropicErrors.noCredit, Anthropic.BadRequestError, /credit balance is too low/],
    ["a rate limit", anthropicErrors.rateLimited, Anthropic.RateLimitError, /rate limit/],
    ["overload", anthropicErrors.overloaded, Anthropic.InternalServerError, /Overloaded/],
  ])("answers %s with Anthropic's error body and status", async (_name, reply, errorClass, message) => {
    const client = await clientFor(() => reply);
    for (const stream of [false, true]) {
      const error = await client.messages.create({ ...request, stream }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(errorClass);
      expect(error).toMatchObject({
        status: reply.status,
        error: { type: "error", error: { type: reply.errorType, message: expect.stringMatching(message) } },
      });
      expect((error as InstanceType<typeof Anthropic.APIError>).requestID).toMatch(/^req_/);
    }
  });

  it("answers 404 not_found_error off the routes it knows", async () => {
    const client = await clientFor(() => ({ text: "" }));
    const error = await client.beta.files.list().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.NotFoundError);
  });
});
