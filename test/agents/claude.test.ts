import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { claudeAdapter } from "../../src/agent/adapters/claude.ts";
import { prepareAgentHome } from "../../src/agent/home.ts";
import { runAgent, type AgentRunInput } from "../../src/agent/run-agent.ts";
import { git } from "../helpers/git-sandbox.ts";
import {
  anthropicErrors,
  startAnthropicStandIn,
  type AnthropicReply,
  type AnthropicStandIn,
  type AnthropicStandInOptions,
  type ContentBlockParam,
  type MessagesBody,
} from "./stand-ins/anthropic.ts";

// Claude Code itself (the pinned release, unmodified), run through Drover's adapter and runner against a
// loopback stand-in for the Anthropic Messages API.

const clis = inject("agentClis");
const KEY = "sk-ant-api03-drover-stand-in-key";

let root: string;
let cwd: string;
let standIn: AnthropicStandIn | undefined;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "drover-claude-"));
  cwd = join(root, "worktree");
  await mkdir(cwd);
  await git(cwd, "init", "--quiet", "--initial-branch=main");
  await writeFile(join(cwd, "greeting.txt"), "Hello, world.\n");
});

afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
  await rm(root, { recursive: true, force: true });
});

async function serve(reply: AnthropicStandInOptions["reply"]): Promise<string> {
  standIn = await startAnthropicStandIn({ reply, apiKey: KEY });
  return standIn.url;
}

/**
 * Runs the pinned Claude Code as Drover would: a fresh HOME (unless `env` names one), the allowlisted
 * variables, the adapter.
 */
async function runClaude(
  env: Record<string, string>,
  overrides: Partial<AgentRunInput> = {},
): Promise<Awaited<ReturnType<typeof runAgent>>> {
  if (!clis.installed) throw new Error("unreachable: the suite is skipped");
  const home = join(root, `home-${Math.random().toString(36).slice(2)}`);
  await mkdir(home, { recursive: true });
  return runAgent({
    agent: "claude",
    agentCommand: [clis.bins.claude],
    prompt: "Change the greeting to greet Drover, then give your verdict.",
    cwd,
    workDir: join(root, "work"),
    timeoutMs: 90_000,
    idleTimeoutMs: 60_000,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...env },
    ...overrides,
  });
}

const VERDICT = '```drover-verdict\n{"status": "pass", "summary": "The greeting now greets Drover."}\n```';

/** A hint for `onLive` to deliver once, `ms` after the run starts; `given` settles once it was written. */
function hintOnce(text: string) {
  let written: () => void = () => {};
  const given = new Promise<void>((resolve) => (written = resolve));
  const deliverAfter =
    (ms: number): AgentRunInput["onLive"] =>
    (deliver) => {
      setTimeout(() => {
        if (deliver(text)) written();
      }, ms);
    };
  return { given, deliverAfter };
}

/** The tool results Claude Code has sent back so far in this conversation. */
function toolResults(body: MessagesBody): ContentBlockParam[] {
  return (body.messages ?? []).flatMap((message) =>
    message.role === "user" && Array.isArray(message.content)
      ? message.content.filter((block) => block.type === "tool_result")
      : [],
  );
}

/** All the text the user side of the conversation holds (the prompt, hints, reminders). */
function userText(body: MessagesBody): string {
  return (body.messages ?? [])
    .filter((message) => message.role === "user")
    .flatMap((message) =>
      typeof message.content === "string"
        ? [message.content]
        : message.content.map((block) => block.text ?? ""),
    )
    .join("\n");
}

/**
 * The session a model would have: read the file, edit it with the Edit tool Claude Code offered, then end
 * with a verdict; the step is told by the tool results sent back so far. Side requests (without tools)
 * get a plain answer.
 */
function editSession(file: string): AnthropicStandInOptions["reply"] {
  return ({ body }): AnthropicReply => {
    const offered = (body.tools ?? []).map((tool) => tool.name);
    if (!offered.includes("Edit")) return { text: "Drover greeting" };
    const done = toolResults(body).length;
    const usage = { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 50 };
    if (done === 0)
      return { text: "Reading it first.", toolUses: [{ name: "Read", input: { file_path: file } }], usage };
    if (done === 1) {
      return {
        toolUses: [
          {
            name: "Edit",
            input: { file_path: file, old_string: "Hello, world.", new_string: "Hello, Drover." },
          },
        ],
        usage,
      };
    }
    return { text: `I changed the greeting.\n\n${VERDICT}`, usage };
  };
}

describe.skipIf(!clis.installed)("Claude Code (the pinned release) through the claude adapter", () => {
  it("edits a file with the tool it offered and ends with a verdict, read with its turns, tokens and cost", async () => {
    const file = join(cwd, "greeting.txt");
    const url = await serve(editSession(file));
    const result = await runClaude({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url });

    expect(result).toMatchObject({
      agent: "claude",
      outcome: "exited",
      exitCode: 0,
      verdict: { status: "pass", summary: "The greeting now greets Drover." },
      isError: false,
      turns: 3,
      // Three requests of 100 + 50 cached tokens in and 20 out each.
      inputTokens: 450,
      outputTokens: 60,
    });
    expect(result.costUsd).toBeGreaterThan(0);
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.finalMessage).toContain("I changed the greeting.");
    expect(await readFile(file, "utf8")).toBe("Hello, Drover.\n");

    // What Claude Code sent: the key and the fields the Messages API requires.
    const messages = standIn?.requests.filter((request) => request.path.startsWith("/v1/messages")) ?? [];
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const request of messages.filter((one) => one.path.split("?")[0] === "/v1/messages")) {
      expect(request.headers["x-api-key"]).toBe(KEY);
      expect(request.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(request.body).toMatchObject({
        model: expect.any(String),
        max_tokens: expect.any(Number),
        messages: expect.any(Array),
      });
    }
    expect(userText(messages.at(-1)?.body as MessagesBody)).toContain("Change the greeting to greet Drover");
  });

  it("folds a hint given while it works into the turn under way, and exits once it is answered", async () => {
    const file = join(cwd, "greeting.txt");
    const { given, deliverAfter } = hintOnce("Use a full stop at the end.");
    const script = editSession(file);
    const url = await serve(async (request) => {
      // The first answer waits until the hint was written to Claude Code's stdin.
      if (request.index === 0) await given;
      return script(request);
    });
    const result = await runClaude(
      { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url },
      { onLive: deliverAfter(300) },
    );
    // One result answers both: Claude Code handed the hint over with the next tool result.
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" }, turns: 3 });
    const last = standIn?.requests.at(-1)?.body as MessagesBody;
    expect(userText(last)).toContain("The user sent a new message while you were working:\nUse a full stop");
    expect(await readFile(file, "utf8")).toBe("Hello, Drover.\n");
    expect(result.durationMs).toBeLessThan(20_000);
  });

  it("answers a hint that came after its last tool call in a turn of its own; the last verdict counts", async () => {
    const { given, deliverAfter } = hintOnce("Say it is blocked instead.");
    const url = await serve(async ({ body, index }) => {
      if (index === 0) {
        await given;
        return { text: `First answer.\n\n${VERDICT}` };
      }
      if (!userText(body).includes("Say it is blocked instead.")) return { text: "No hint arrived." };
      return {
        text: 'Second answer.\n\n```drover-verdict\n{"status": "blocked", "summary": "Told so", "blocker": "a hint"}\n```',
      };
    });
    const result = await runClaude(
      { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url },
      { onLive: deliverAfter(300) },
    );
    expect(result).toMatchObject({
      outcome: "exited",
      exitCode: 0,
      verdict: { status: "blocked", blocker: "a hint" },
    });
    expect(result.finalMessage).toMatch(/^First answer\.[\s\S]*Second answer\./);
    // Two answers of one request each (10 tokens in, 5 out): turns and tokens add up over the answers.
    expect(result).toMatchObject({ turns: 2, inputTokens: 20, outputTokens: 10 });
    expect(result.durationMs).toBeLessThan(20_000);
  });

  it("adds --verbose when agent_args choose stream-json output without it", async () => {
    const url = await serve(editSession(join(cwd, "greeting.txt")));
    const result = await runClaude(
      { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url },
      { agentArgs: ["--output-format", "stream-json"] },
    );
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" }, turns: 3 });
  });

  it("asks for the model agent_args or ANTHROPIC_MODEL name instead of its default (the dearest)", async () => {
    const url = await serve(() => ({ text: `Done.\n\n${VERDICT}` }));
    const env = { ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url };
    const models = () =>
      new Set(standIn?.requests.splice(0).map((request) => (request.body as MessagesBody).model));
    await runClaude(env);
    expect(models()).toEqual(new Set([expect.stringMatching(/^claude-opus-/)]));
    await runClaude(env, { agentArgs: ["--model", "haiku"] });
    expect(models()).toEqual(new Set([expect.stringMatching(/^claude-haiku-/)]));
    await runClaude({ ...env, ANTHROPIC_MODEL: "claude-sonnet-4-5" });
    expect(models()).toEqual(new Set(["claude-sonnet-4-5"]));
  });

  it("uses a login named in DROVER_AGENT_CREDENTIALS (~/.claude/.credentials.json), copied read-only", async () => {
    const url = await serve(editSession(join(cwd, "greeting.txt")));
    const workerHome = join(root, "worker-home");
    const credentials = join(workerHome, ".claude", ".credentials.json");
    await mkdir(join(workerHome, ".claude"), { recursive: true });
    await writeFile(
      credentials,
      JSON.stringify({
        claudeAiOauth: {
          accessToken: KEY,
          refreshToken: "sk-ant-ort01-drover-stand-in-refresh",
          expiresAt: Date.now() + 30 * 24 * 3600_000,
          scopes: ["user:inference", "user:profile"],
          subscriptionType: "max",
        },
      }),
    );
    const home = join(root, "run-home");
    const placed = await prepareAgentHome({
      home,
      cacheDirs: claudeAdapter.cacheDirs ?? [],
      cacheRoot: join(root, "agent-cache", "claude"),
      credentials: [credentials],
      workerHome,
    });
    try {
      const result = await runClaude({ HOME: home, ANTHROPIC_BASE_URL: url });
      expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: { status: "pass" } });
      expect(standIn?.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
    } finally {
      await placed.cleanup();
    }
    // What a run leaves in its HOME: its settings and ~/.claude (sessions, transcripts), no cache worth
    // sharing (no ~/.cache, ~/.local), so the adapter names none.
    expect((await readdir(home)).sort()).toEqual([".claude", ".claude.json"]);
    expect(await readdir(join(home, ".claude"))).not.toContain(".credentials.json");
  });
});

describe.skipIf(!clis.installed)(
  "Claude Code that cannot work, judged quickly through the claude adapter",
  () => {
    const noAnswer = (): AnthropicReply => ({ text: "unreachable" });

    it("without any credentials: not logged in, unavailable with the ways to authenticate", async () => {
      const url = await serve(noAnswer);
      const result = await runClaude({ ANTHROPIC_BASE_URL: url });
      expect(result).toMatchObject({ outcome: "unavailable", exitCode: 1 });
      expect(result.error).toContain("Not logged in · Please run /login");
      expect(result.error).toContain("CLAUDE_CODE_OAUTH_TOKEN");
      expect(result.error).toContain("DROVER_AGENT_CREDENTIALS");
      expect(result.durationMs).toBeLessThan(15_000);
    });

    it.each([
      ["an API key", { ANTHROPIC_API_KEY: "sk-ant-api03-wrong" }],
      ["a subscription token", { CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-wrong" }],
    ])(
      "with %s the API refuses (401): stopped at the first refusal, not after its retries",
      async (_name, env) => {
        const url = await serve(noAnswer);
        const result = await runClaude({ ...env, ANTHROPIC_BASE_URL: url });
        expect(result.outcome).toBe("unavailable");
        expect(result.error).toMatch(/refused the credentials \(HTTP 401 authentication_failed\)/);
        expect(result.error).toContain("ANTHROPIC_API_KEY");
        expect(result.durationMs).toBeLessThan(15_000);
        // One refused request, then the run was stopped.
        expect(
          standIn?.requests.filter((request) => request.path.startsWith("/v1/messages")).length,
        ).toBeLessThan(3);
      },
    );

    it("with no credit (400 credit balance too low): unavailable at once", async () => {
      const url = await serve(() => anthropicErrors.noCredit);
      const result = await runClaude({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url });
      expect(result).toMatchObject({ outcome: "unavailable", exitCode: 1 });
      expect(result.error).toContain("Credit balance is too low");
      expect(result.durationMs).toBeLessThan(15_000);
    });

    it.each([
      ["a rate limit (429)", anthropicErrors.rateLimited, /Request rejected \(429\)/],
      ["an overload (529)", anthropicErrors.overloaded, /529 Overloaded/],
    ])("through %s: rate-limited after a few quick retries", async (_name, error, detail) => {
      const url = await serve(() => error);
      const result = await runClaude({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url });
      expect(result).toMatchObject({ outcome: "rate-limited", exitCode: 1 });
      expect(result.error).toMatch(detail);
      expect(result.durationMs).toBeLessThan(30_000);
    });

    it("with no network (the API's port closed): unavailable after a few quick retries", async () => {
      const url = await serve(noAnswer);
      await standIn?.close();
      standIn = undefined;
      const result = await runClaude({ ANTHROPIC_API_KEY: KEY, ANTHROPIC_BASE_URL: url });
      expect(result).toMatchObject({ outcome: "unavailable", exitCode: 1 });
      expect(result.error).toMatch(/Connection refused.*ECONNREFUSED/);
      expect(result.durationMs).toBeLessThan(30_000);
    });
  },
);
