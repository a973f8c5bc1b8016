import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { ampAdapter } from "../../src/agent/adapters/amp.ts";
import { prepareAgentHome } from "../../src/agent/home.ts";
import { runAgent, type AgentRunResult } from "../../src/agent/run-agent.ts";

// Amp (`amp --execute --stream-json`) through Drover's adapter. Amp talks to its own server (AMP_URL,
// https://ampcode.com by default) over a private protocol, and that server runs the model, so there is no
// published API to stand in for: a scripted session, no credit, 429 and 529 cannot be exercised here.
// What can: no key (its login prompt), a key the server refuses, and no server at all. AMP_URL always
// points at loopback, so nothing leaves this machine.

const clis = inject("agentClis");
const KEY = "sgamp_user_01TEST0000000000000000000000";

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "drover-amp-"));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(
  name: string,
  options: { ampUrl: string; env?: Record<string, string>; credentials?: Record<string, string> },
): Promise<AgentRunResult> {
  const dir = join(root, name);
  const cwd = join(dir, "worktree");
  const home = join(dir, "home");
  const workerHome = join(dir, "worker-home");
  await mkdir(cwd, { recursive: true });
  const credentials: string[] = [];
  for (const [path, content] of Object.entries(options.credentials ?? {})) {
    const file = join(workerHome, path);
    await mkdir(join(file, ".."), { recursive: true });
    await writeFile(file, content);
    credentials.push(file);
  }
  const agentHome = await prepareAgentHome({
    home,
    cacheDirs: ampAdapter.cacheDirs ?? [],
    cacheRoot: join(root, "agent-cache", "amp"),
    credentials,
    workerHome,
  });
  try {
    return await runAgent({
      agent: "amp",
      agentCommand: [clis.installed ? clis.bins.amp : "amp"],
      prompt: "Write hello.txt saying hello, then give your verdict.\nA second line.",
      cwd,
      workDir: join(dir, "work"),
      timeoutMs: 60_000,
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        HOME: home,
        AMP_URL: options.ampUrl,
        ...options.env,
      },
    });
  } finally {
    await agentHome.cleanup();
  }
}

interface AmpServer {
  url: string;
  requests: { method: string; path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/**
 * A loopback server at AMP_URL that refuses every request with 401, as Amp's server refuses a key it does
 * not know. Its body is a guess (Amp's API is not published); Amp 0.0.1790142911 goes by the status.
 */
async function refusingServer(): Promise<AmpServer> {
  const requests: AmpServer["requests"] = [];
  const server = createHttpServer((request, response) => {
    requests.push({ method: request.method ?? "", path: request.url ?? "", headers: request.headers });
    request.resume();
    request.on("end", () => {
      response.writeHead(401, { "content-type": "application/json" });
      response.end(JSON.stringify({ error: "Unauthorized" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
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

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!clis.installed)("Amp, the real CLI, through the amp adapter", () => {
  // Amp's server runs the agent loop and the model; its protocol is private, so no stand-in can script one.
  it.skip("edits a file and ends with a verdict: needs Amp's own server (ampcode.com)", () => {});
  it.skip("no credit, 429, 529: told by Amp's server, whose messages are not published", () => {});

  describe.concurrent("failure paths, each classified and ended in time", () => {
    it("no key: its login prompt ends the run at once, unavailable, saying which key and file serve", async () => {
      const server = await refusingServer();
      try {
        const result = await run("no-key", { ampUrl: server.url });
        expect(result.outcome).toBe("unavailable");
        expect(result.error).toMatch(/^agent amp is unavailable \(.*No API key found/);
        expect(result.error).toContain("AMP_API_KEY");
        expect(result.error).toContain("DROVER_AGENT_CREDENTIALS=~/.local/share/amp/secrets.json");
        expect(result.durationMs).toBeLessThan(15_000);
        // It asked its server how to log in, with no key to present.
        expect(server.requests.every((request) => request.headers.authorization === undefined)).toBe(true);
      } finally {
        await server.close();
      }
    });

    it("a key the server refuses (AMP_API_KEY): unavailable", async () => {
      const server = await refusingServer();
      try {
        const result = await run("bad-key", { ampUrl: server.url, env: { AMP_API_KEY: KEY } });
        expect(result.outcome).toBe("unavailable");
        expect(result.error).toContain(
          "(Error: Invalid or missing API key. Run 'amp login' to authenticate.)",
        );
        expect(result.durationMs).toBeLessThan(15_000);
        expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
      } finally {
        await server.close();
      }
    });

    it("the key from the secrets.json `amp login` writes, named in DROVER_AGENT_CREDENTIALS, is sent", async () => {
      const server = await refusingServer();
      try {
        // `amp login` keeps one key per server, as "apiKey@<AMP_URL>" (https://ampcode.com by default).
        const result = await run("secrets-json", {
          ampUrl: server.url,
          credentials: { ".local/share/amp/secrets.json": JSON.stringify({ [`apiKey@${server.url}`]: KEY }) },
        });
        expect(server.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
        expect(result.outcome).toBe("unavailable");
      } finally {
        await server.close();
      }
    });

    it("no network (AMP_URL a closed port): unavailable at once", async () => {
      const port = await closedPort();
      const result = await run("no-network", {
        ampUrl: `http://127.0.0.1:${port}`,
        env: { AMP_API_KEY: KEY },
      });
      expect(result.outcome).toBe("unavailable");
      expect(result.error).toContain(
        `(Error: Couldn't connect to the Amp server at http://127.0.0.1:${port}.)`,
      );
      expect(result.durationMs).toBeLessThan(15_000);
    });
  });
});
