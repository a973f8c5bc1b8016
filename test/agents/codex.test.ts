import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { codexAdapter } from "../../src/agent/adapters/codex.ts";
import { prepareAgentHome } from "../../src/agent/home.ts";
import { runAgent, type AgentRunResult } from "../../src/agent/run-agent.ts";
import { git } from "../helpers/git-sandbox.ts";
import {
  OPENAI_ERRORS,
  startOpenAIResponses,
  type OpenAIResponsesStandIn,
  type ReceivedRequest,
  type Script,
} from "./stand-ins/openai-responses.ts";

// Codex CLI, unmodified, run through Drover's adapter against a loopback stand-in for the OpenAI
// Responses API. The built-in `openai` provider is pointed at it with `-c openai_base_url=...` (Codex
// 0.171 ignores OPENAI_BASE_URL) and given its key in CODEX_API_KEY, as an operator would; it tries the
// Responses WebSocket first, which the stand-in does not serve, so each run spends about 7 s on Codex's
// five WebSocket attempts before it falls back to HTTPS.

const clis = inject("agentClis");
const KEY = "sk-drover-test-0123456789";
const VERDICT = { status: "pass", summary: "Wrote NOTES.md" };

let root: string;
let standIn: OpenAIResponsesStandIn | undefined;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "drover-codex-"));
});
afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
  await rm(root, { recursive: true, force: true });
});

interface CodexRun {
  /** Codex's `openai_base_url`; default the stand-in, null to set none. */
  baseUrl?: string | null;
  /** The run's variables beyond PATH and HOME; default CODEX_API_KEY. */
  env?: Record<string, string>;
  /** agent_args beyond the base URL. */
  agentArgs?: string[];
  /** ~/.codex/auth.json on the worker, named in DROVER_AGENT_CREDENTIALS and so copied into the run's HOME. */
  authJson?: string;
}

async function serve(script: Script): Promise<string> {
  standIn = await startOpenAIResponses(script, { apiKey: KEY });
  return standIn.baseUrl;
}

/** Codex in a fresh git worktree with a fresh HOME, as jobs/run-task/agent.ts starts it. */
async function runCodex(run: CodexRun): Promise<AgentRunResult & { worktree: string; secrets: string[] }> {
  if (!clis.installed) throw new Error("the agent CLIs are not installed");
  const worktree = path.join(root, "worktree");
  const home = path.join(root, "home");
  await mkdir(worktree, { recursive: true });
  await mkdir(home, { recursive: true });
  await git(worktree, "init", "--quiet", "--initial-branch=main");
  await writeFile(path.join(worktree, "README.md"), "hello\n");
  await git(worktree, "add", "--all");
  await git(worktree, "commit", "--quiet", "-m", "start");

  const workerHome = path.join(root, "worker");
  const authFile = path.join(workerHome, ".codex", "auth.json");
  if (run.authJson !== undefined) {
    await mkdir(path.dirname(authFile), { recursive: true });
    await writeFile(authFile, run.authJson, { mode: 0o600 });
  }
  const agentHome = await prepareAgentHome({
    home,
    cacheDirs: codexAdapter.cacheDirs ?? [],
    cacheRoot: path.join(root, "agent-cache", "codex"),
    credentials: run.authJson === undefined ? [] : [authFile],
    workerHome,
  });

  const baseUrl = run.baseUrl === undefined ? standIn?.baseUrl : run.baseUrl;
  const result = await runAgent({
    agent: "codex",
    agentCommand: [clis.bins.codex],
    agentArgs: [...(baseUrl ? ["-c", `openai_base_url="${baseUrl}"`] : []), ...(run.agentArgs ?? [])],
    prompt: "Write NOTES.md, then end with a drover-verdict block.",
    cwd: worktree,
    workDir: path.join(root, "run"),
    timeoutMs: 90_000,
    killGraceMs: 2000,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: home, ...(run.env ?? { CODEX_API_KEY: KEY }) },
  });
  await agentHome.cleanup();
  return { ...result, worktree, secrets: agentHome.secrets };
}

interface OfferedTool {
  type: string;
  name?: string;
  description?: string;
  tools?: OfferedTool[];
}

/**
 * The tools a request offers, namespaces opened: in `tools`, or (Codex's code mode, the default model's)
 * in an `additional_tools` input item.
 */
function offered(request: ReceivedRequest | undefined): OfferedTool[] {
  const body = request?.body;
  const inInput = (body?.input ?? []).flatMap((item) =>
    (item as { type?: string }).type === "additional_tools"
      ? ((item as { tools?: OfferedTool[] }).tools ?? [])
      : [],
  );
  const open = (tools: readonly OfferedTool[]): OfferedTool[] =>
    tools.flatMap((tool) => (tool.type === "namespace" ? open(tool.tools ?? []) : [tool]));
  return open([...((body?.tools ?? []) as OfferedTool[]), ...inInput]);
}

const NOTES = "edited by codex\n";

/**
 * A session that edits a file with a tool Codex offers, then answers with a verdict: the default model
 * gets Codex's code mode, a freeform `exec` tool running JavaScript that reaches `tools.apply_patch`; a
 * model Codex has no metadata for gets the `exec_command` shell tool.
 */
const editSession: Script = (request, turn) => {
  if (turn > 0) {
    return {
      text: `I wrote NOTES.md.\n\n\`\`\`drover-verdict\n${JSON.stringify(VERDICT)}\n\`\`\``,
      usage: { input_tokens: 1500, output_tokens: 50, cached_tokens: 1000 },
    };
  }
  const tools = offered(request);
  const usage = { input_tokens: 1000, output_tokens: 30 };
  const exec = tools.find((tool) => tool.type === "custom" && tool.name === "exec");
  if (exec?.description?.includes("apply_patch(input: string)")) {
    const patch = `*** Begin Patch\n*** Add File: NOTES.md\n+${NOTES}*** End Patch\n`;
    return {
      calls: [{ name: "exec", input: `text(await tools.apply_patch(${JSON.stringify(patch)}));\n` }],
      usage,
    };
  }
  if (tools.some((tool) => tool.type === "function" && tool.name === "exec_command")) {
    return { calls: [{ name: "exec_command", arguments: { cmd: `printf '${NOTES}' > NOTES.md` } }], usage };
  }
  return { text: `no tool to edit with among ${tools.map((tool) => tool.name).join(", ")}` };
};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!clis.installed)("Codex CLI through Drover's adapter, against the Responses stand-in", () => {
  it("edits a file with apply_patch (the default model's code mode) and ends with a verdict, its tokens counted", async () => {
    await serve(editSession);
    const result = await runCodex({});

    expect(result).toMatchObject({
      outcome: "exited",
      exitCode: 0,
      verdict: VERDICT,
      inputTokens: 2500,
      outputTokens: 80,
      isError: false,
    });
    expect(result.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.error).toBeUndefined();
    expect(await readFile(path.join(result.worktree, "NOTES.md"), "utf8")).toBe(NOTES);

    const [first, second] = standIn?.responses().filter((request) => request.method === "POST") ?? [];
    expect(first?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(first?.body).toMatchObject({ stream: true, store: false, tool_choice: "auto" });
    expect(first?.body?.input).toEqual(expect.arrayContaining([expect.objectContaining({ role: "user" })]));
    // The adapter's `-c analytics.enabled=false` reached Codex.
    expect(JSON.parse(String(first?.headers["x-codex-turn-metadata"]))).toMatchObject({
      analytics_enabled: false,
      sandbox_mode: "workspace-write",
    });
    // The model saw apply_patch's result.
    expect(second?.body?.input).toContainEqual(
      expect.objectContaining({
        type: "custom_tool_call_output",
        output: expect.arrayContaining([
          expect.objectContaining({ text: expect.stringContaining("Script completed") }),
        ]),
      }),
    );
  });

  it("works with a custom provider (a gateway) whose env_key names the key, editing with exec_command", async () => {
    await serve(editSession);
    const result = await runCodex({
      baseUrl: null,
      env: { GATEWAY_KEY: KEY },
      agentArgs: customProvider(standIn?.baseUrl ?? ""),
    });
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: VERDICT, inputTokens: 2500 });
    expect(await readFile(path.join(result.worktree, "NOTES.md"), "utf8")).toBe(NOTES);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it("logs in with the ~/.codex/auth.json `codex login --with-api-key` wrote, copied in by DROVER_AGENT_CREDENTIALS", async () => {
    await serve(editSession);
    // As `printenv OPENAI_API_KEY | codex login --with-api-key` writes it (Codex CLI 0.171).
    const result = await runCodex({
      env: {},
      authJson: JSON.stringify({ auth_mode: "apikey", OPENAI_API_KEY: KEY }, null, 2),
    });
    expect(result).toMatchObject({ outcome: "exited", exitCode: 0, verdict: VERDICT });
    expect(standIn?.responses().find((request) => request.method === "POST")?.headers.authorization).toBe(
      `Bearer ${KEY}`,
    );
    expect(result.secrets).toContain(KEY);
  });

  it("does not read OPENAI_API_KEY: codex exec takes CODEX_API_KEY, so the run is unavailable", async () => {
    await serve(editSession);
    const result = await runCodex({ env: { OPENAI_API_KEY: KEY } });
    expectUnavailable(result, /refused its credentials \(401\).*You didn't provide an API key/);
    expect(result.durationMs).toBeLessThan(5000);
  });

  it("without a key: ended at the first 401, not after Codex's ten tries, and says which key to pass", async () => {
    await serve(editSession);
    const result = await runCodex({ env: {} });
    expectUnavailable(result, /refused its credentials \(401\).*You didn't provide an API key/);
    expect(result.durationMs).toBeLessThan(5000);
  });

  it("without the key a custom provider names: unavailable at once", async () => {
    await serve(editSession);
    const result = await runCodex({
      baseUrl: null,
      env: {},
      agentArgs: customProvider(standIn?.baseUrl ?? ""),
    });
    expectUnavailable(result, /Missing environment variable: `GATEWAY_KEY`/);
    expect(result.exitCode).toBe(1);
    expect(result.durationMs).toBeLessThan(5000);
  });

  it("with a refused key (401 invalid_api_key): ended at the first refusal", async () => {
    await serve(editSession);
    const result = await runCodex({ env: { CODEX_API_KEY: "sk-wrong-0000000000" } });
    expectUnavailable(result, /refused its credentials \(401\).*Incorrect API key provided/);
    expect(standIn?.requests.length).toBeLessThanOrEqual(3);
    expect(result.durationMs).toBeLessThan(5000);
  });

  it("with no credit (429 insufficient_quota): unavailable, not rate-limited", async () => {
    await serve(() => OPENAI_ERRORS.insufficientQuota);
    const result = await runCodex({});
    expectUnavailable(result, /Quota exceeded\. Check your plan and billing details\./);
    expect(result.exitCode).toBe(1);
    // The WebSocket attempts, then one HTTPS request that Codex does not retry.
    expect(result.durationMs).toBeLessThan(20_000);
  });

  it("with a rate limit (429 rate_limit_exceeded): rate-limited once Codex's retries run out", async () => {
    await serve(() => ({ ...OPENAI_ERRORS.rateLimited, headers: { "retry-after": "1" } }));
    const result = await runCodex({});
    expect(result).toMatchObject({ outcome: "rate-limited", exitCode: 1 });
    expect(result.error).toMatch(
      /^agent codex is rate-limited \(exceeded retry limit, last status: 429 Too Many Requests\)/,
    );
    // Five retries, each after the 1 s the stand-in's retry-after asks for, after the WebSocket attempts.
    expect(result.durationMs).toBeLessThan(30_000);
  });

  it("with no network (a closed port): ended when Codex starts waiting for the network", async () => {
    const result = await runCodex({ baseUrl: `http://127.0.0.1:${await closedPort()}/v1` });
    expectUnavailable(result, /waits for the network: Reconnecting\.\.\. waiting for network/);
    expect(result.durationMs).toBeLessThan(20_000);
  });
});

function customProvider(baseUrl: string): string[] {
  return [
    "-c",
    "model_provider=gateway",
    "-c",
    "model_providers.gateway.name=gateway",
    "-c",
    `model_providers.gateway.base_url="${baseUrl}"`,
    "-c",
    "model_providers.gateway.env_key=GATEWAY_KEY",
    "-c",
    "model=gpt-5",
  ];
}

function expectUnavailable(result: AgentRunResult, detail: RegExp): void {
  expect(result.outcome).toBe("unavailable");
  expect(result.error).toMatch(/^agent codex is unavailable \(/);
  expect(result.error).toMatch(detail);
  expect(result.error).toContain(codexAdapter.authHint);
}
