import { lstat, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { opencodeAdapter } from "../../src/agent/adapters/opencode.ts";
import { prepareAgentHome } from "../../src/agent/home.ts";
import { runAgent, type AgentRunResult } from "../../src/agent/run-agent.ts";
import {
  anthropicErrors,
  startAnthropicStandIn,
  type AnthropicReply,
  type AnthropicStandIn,
  type MessagesBody,
} from "./stand-ins/anthropic.ts";

// OpenCode (`opencode run --format json`) through Drover's adapter, against the Anthropic Messages
// stand-in: OpenCode's anthropic provider pointed at it with `provider.anthropic.options.baseURL` in
// OPENCODE_CONFIG_CONTENT (https://opencode.ai/docs/config, https://opencode.ai/docs/providers), as an
// operator would pass it with DROVER_AGENT_ENV. The failure paths run at once: the longest, 529, is
// OpenCode's own five retries (about 75 s), which it has no setting for.

const clis = inject("agentClis");
const KEY = "sk-ant-api03-opencode-test-key-0123456789";
const MODEL = "claude-sonnet-4-5";
/**
 * What "at once" allows: a start of OpenCode takes 3 s on an idle machine and up to 30 s on a busy one; its
 * retries over an unreachable API take over 60 s.
 */
const LIMIT_MS = 45_000;
const VERDICT = '```drover-verdict\n{"status": "pass", "summary": "Wrote hello.txt"}\n```';

let root: string;
/** DROVER_HOME/agent-cache/opencode, shared by every run in this file as by every run on a worker. */
let cacheRoot: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "drover-opencode-"));
  cacheRoot = join(root, "agent-cache", "opencode");
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Run {
  result: AgentRunResult;
  cwd: string;
  home: string;
}

/** One run as Drover starts it: a fresh HOME with the adapter's caches linked in and the named credentials. */
async function run(
  name: string,
  options: { baseUrl: string; env?: Record<string, string>; credentials?: Record<string, string> },
): Promise<Run> {
  const dir = join(root, name);
  const cwd = join(dir, "worktree");
  const home = join(dir, "home");
  const workerHome = join(dir, "worker-home");
  await mkdir(cwd, { recursive: true });
  await writeFile(join(cwd, "README.md"), "# A project\n");
  const credentials: string[] = [];
  for (const [path, content] of Object.entries(options.credentials ?? {})) {
    const file = join(workerHome, path);
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(file, content);
    credentials.push(file);
  }
  const agentHome = await prepareAgentHome({
    home,
    cacheDirs: opencodeAdapter.cacheDirs ?? [],
    cacheRoot,
    credentials,
    workerHome,
  });
  const config = {
    model: `anthropic/${MODEL}`,
    provider: { anthropic: { options: { baseURL: `${options.baseUrl}/v1` } } },
  };
  try {
    const result = await runAgent({
      agent: "opencode",
      agentCommand: [clis.installed ? clis.bins.opencode : "opencode"],
      prompt: "Write hello.txt saying hello, then give your verdict.",
      cwd,
      workDir: join(dir, "work"),
      timeoutMs: 150_000,
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        HOME: home,
        OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
        ...options.env,
      },
    });
    return { result, cwd, home };
  } finally {
    await agentHome.cleanup();
  }
}

/** The scripted session: write hello.txt with the write tool OpenCode offers, then a verdict. */
function session(cwd: () => string) {
  return ({ body }: { body: MessagesBody }): AnthropicReply => {
    // Side requests (the session title) offer no tools.
    if (!body.tools?.some((tool) => tool.name === "write")) return { text: "Writing hello.txt" };
    const last = body.messages?.at(-1);
    const answered =
      Array.isArray(last?.content) && last.content.some((block) => block.type === "tool_result");
    if (!answered) {
      return {
        text: "I will write the file.",
        toolUses: [{ name: "write", input: { filePath: join(cwd(), "hello.txt"), content: "hello\n" } }],
        usage: { input_tokens: 1000, output_tokens: 40, cache_read_input_tokens: 200 },
      };
    }
    return { text: `Wrote hello.txt.\n\n${VERDICT}`, usage: { input_tokens: 1300, output_tokens: 30 } };
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function failing(reply: AnthropicReply): Promise<AnthropicStandIn> {
  return startAnthropicStandIn({ apiKey: KEY, reply: () => reply });
}

describe.skipIf(!clis.installed)("OpenCode, the real CLI, through the opencode adapter", () => {
  it("edits a file with its write tool and ends with a verdict: judged, parsed, tokens and cost", async () => {
    let cwd = "";
    const standIn = await startAnthropicStandIn({ apiKey: KEY, reply: session(() => cwd) });
    try {
      const dir = join(root, "session");
      cwd = join(dir, "worktree");
      const { result, home } = await run("session", {
        baseUrl: standIn.url,
        env: { ANTHROPIC_API_KEY: KEY },
      });

      expect(result).toMatchObject({
        outcome: "exited",
        exitCode: 0,
        verdict: { status: "pass", summary: "Wrote hello.txt" },
        turns: 2,
        inputTokens: 1000 + 200 + 1300,
        outputTokens: 40 + 30,
      });
      expect(result.sessionId).toMatch(/^ses_/);
      expect(result.finalMessage).toBe(`Wrote hello.txt.\n\n${VERDICT}`);
      // Priced from the model catalogue built into the release (claude-sonnet-4-5: $3 / $15 per million,
      // cache reads $0.30).
      expect(result.costUsd).toBeCloseTo((2300 * 3 + 70 * 15 + 200 * 0.3) / 1e6, 6);
      expect(await readFile(join(cwd, "hello.txt"), "utf8")).toBe("hello\n");

      const sessionCalls = standIn.requests.filter(
        (request) => request.path.startsWith("/v1/messages") && hasTools(request.body),
      );
      expect(sessionCalls).toHaveLength(2);
      for (const call of sessionCalls) {
        expect(call.headers["x-api-key"]).toBe(KEY);
        expect(call.headers["anthropic-version"]).toBeDefined();
        expect(call.body).toMatchObject({ model: MODEL, stream: true, max_tokens: expect.any(Number) });
      }
      const write = (sessionCalls[0]?.body as MessagesBody).tools?.find((tool) => tool.name === "write");
      expect(write?.input_schema).toMatchObject({ properties: { filePath: {}, content: {} } });

      // The caches are links into the shared directory; the run's own data (sessions, logs) is not.
      for (const dir of opencodeAdapter.cacheDirs ?? []) {
        expect((await lstat(join(home, dir))).isSymbolicLink()).toBe(true);
      }
      expect((await lstat(join(home, ".local/share/opencode"))).isDirectory()).toBe(true);
    } finally {
      await standIn.close();
    }
  });

  it("logs in with the auth.json `opencode auth login` writes, named in DROVER_AGENT_CREDENTIALS", async () => {
    let cwd = "";
    const standIn = await startAnthropicStandIn({ apiKey: KEY, reply: session(() => cwd) });
    try {
      cwd = join(root, "auth-json", "worktree");
      const { result } = await run("auth-json", {
        baseUrl: standIn.url,
        credentials: {
          ".local/share/opencode/auth.json": JSON.stringify({ anthropic: { type: "api", key: KEY } }),
        },
      });
      expect(result).toMatchObject({ outcome: "exited", verdict: { status: "pass" } });
      expect(standIn.requests.some((request) => request.headers["x-api-key"] === KEY)).toBe(true);
    } finally {
      await standIn.close();
    }
  });

  describe.concurrent("failure paths, each classified and ended in time", () => {
    it("no key: unavailable at once, saying the key is missing", async () => {
      const standIn = await failing({ text: "unreachable" });
      try {
        const { result } = await run("no-key", { baseUrl: standIn.url });
        expect(result.outcome).toBe("unavailable");
        expect(result.error).toMatch(
          /^agent opencode is unavailable \(ProviderAuthError: .*API key is missing/,
        );
        expect(result.error).toContain("DROVER_AGENT_CREDENTIALS=~/.local/share/opencode/auth.json");
        expect(result.durationMs).toBeLessThan(LIMIT_MS);
        expect(standIn.requests).toHaveLength(0);
      } finally {
        await standIn.close();
      }
    });

    it("a bad key (401): unavailable, without retries", async () => {
      const standIn = await failing({ text: "unreachable" });
      try {
        const { result } = await run("bad-key", {
          baseUrl: standIn.url,
          env: { ANTHROPIC_API_KEY: "sk-ant-api03-revoked" },
        });
        expect(result.outcome).toBe("unavailable");
        expect(result.error).toContain("(APIError: invalid x-api-key (HTTP 401))");
        expect(result.error).toContain("DROVER_AGENT_ENV");
        expect(result.durationMs).toBeLessThan(LIMIT_MS);
      } finally {
        await standIn.close();
      }
    });

    it("no credit: unavailable, without retries", async () => {
      const standIn = await failing(anthropicErrors.noCredit);
      try {
        const { result } = await run("no-credit", { baseUrl: standIn.url, env: { ANTHROPIC_API_KEY: KEY } });
        expect(result.outcome).toBe("unavailable");
        expect(result.error).toContain("Your credit balance is too low");
        expect(result.durationMs).toBeLessThan(LIMIT_MS);
      } finally {
        await standIn.close();
      }
    });

    it("429: rate-limited once OpenCode's five retries (after retry-after: 1) are spent", async () => {
      const standIn = await failing(anthropicErrors.rateLimited);
      try {
        const { result } = await run("rate-limited", {
          baseUrl: standIn.url,
          env: { ANTHROPIC_API_KEY: KEY },
        });
        expect(result.outcome).toBe("rate-limited");
        expect(result.error).toMatch(
          /^agent opencode is rate-limited \(APIError: This request would exceed .*HTTP 429/,
        );
        expect(result.durationMs).toBeLessThan(LIMIT_MS + 15_000);
      } finally {
        await standIn.close();
      }
    });

    it(
      "529: rate-limited once OpenCode's five retries (2 s doubling, no retry-after) are spent",
      { timeout: 170_000 },
      async () => {
        const standIn = await failing(anthropicErrors.overloaded);
        try {
          const { result } = await run("overloaded", {
            baseUrl: standIn.url,
            env: { ANTHROPIC_API_KEY: KEY },
          });
          expect(result.outcome).toBe("rate-limited");
          expect(result.error).toBe("agent opencode is rate-limited (APIError: Overloaded (HTTP 529))");
          expect(result.durationMs).toBeLessThan(140_000);
        } finally {
          await standIn.close();
        }
      },
    );

    it("no network (a closed port): unavailable at the first failed call, not after a minute of retries", async () => {
      const port = await closedPort();
      const { result } = await run("no-network", {
        baseUrl: `http://127.0.0.1:${port}`,
        env: { ANTHROPIC_API_KEY: KEY },
      });
      expect(result.outcome).toBe("unavailable");
      expect(result.error).toMatch(
        /^agent opencode is unavailable \(OpenCode cannot reach the model provider's API \(AI_APICallError: Cannot connect to API/,
      );
      expect(result.durationMs).toBeLessThan(LIMIT_MS);
    });

    // `opencode run` never asks anyone to log in: with no credentials it fails (the no-key case above).
    it.skip("a login prompt: OpenCode's run command has none", () => {});
  });
});

function hasTools(body: unknown): boolean {
  return (
    Array.isArray((body as MessagesBody | undefined)?.tools) &&
    ((body as MessagesBody).tools ?? []).length > 0
  );
}
