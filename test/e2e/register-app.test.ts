import { generateKeyPairSync, randomBytes } from "node:crypto";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { freePort } from "../../src/demo/server-process.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { ROOT } from "../helpers/image.ts";
import { assertMatchesOperation } from "../helpers/openapi.ts";
import { TEST_REDIS_URL } from "../helpers/services.ts";
import { eventually } from "../helpers/stack.ts";

/**
 * Registering the GitHub App: `npm start` with no credentials serves Probot's setup page built from app.yml;
 * GitHub, after a person confirms, sends them back to `/probot/setup?code=...`, and that code is turned into
 * the app's id, key and secret (`POST /app-manifests/{code}/conversions`), written to `.env`. Here GitHub is
 * a small local stand-in answering that one request (as GitHub Enterprise Server would, at GHE_HOST), with
 * the response GitHub's REST description gives as its example, and a real key of its own.
 */

const START = fileURLToPath(new URL("../../src/main/start.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

/** The example GitHub's REST description gives for `apps/create-from-manifest`'s 201. */
const CONVERSION_EXAMPLE = await (async () => {
  const doc = JSON.parse(
    await readFile(
      fileURLToPath(import.meta.resolve("@octokit/openapi/generated/api.github.com.json")),
      "utf8",
    ),
  ) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content: Record<string, unknown> }> }>
    >;
    components: { examples: Record<string, { value: Record<string, unknown> }> };
  };
  const content = doc.paths["/app-manifests/{code}/conversions"]!.post!.responses["201"]!.content[
    "application/json"
  ] as { examples: Record<string, { $ref: string }> };
  const ref = Object.values(content.examples)[0]!.$ref.split("/").pop()!;
  return doc.components.examples[ref]!.value;
})();

type Conversion = { code: string; at: string };

/** GitHub's side of the manifest flow: the conversion, and `GET /app` for the started app (404: unknown). */
async function startGitHubStandIn() {
  const conversions: Conversion[] = [];
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const webhookSecret = randomBytes(20).toString("hex");
  let base = "";
  const server: Server = createServer((request, response) => {
    const match = /^\/api\/v3\/app-manifests\/([^/]+)\/conversions$/.exec(request.url ?? "");
    if (request.method === "POST" && match) {
      conversions.push({ code: decodeURIComponent(match[1]!), at: request.url! });
      const body = {
        ...CONVERSION_EXAMPLE,
        id: 424242,
        slug: "drover",
        name: "Drover",
        html_url: `${base}/apps/drover`,
        webhook_secret: webhookSecret,
        pem,
      };
      assertMatchesOperation({
        method: "POST",
        path: "/app-manifests/{code}/conversions",
        status: 201,
        body,
      });
      response.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    response.writeHead(404, { "content-type": "application/json" }).end('{"message":"Not Found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host: new URL(base).host,
    base,
    conversions,
    pem,
    webhookSecret,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `npm start` in `cwd`, as a person would run it there (only PATH, HOME and what is given inherited). */
function start(cwd: string, env: Record<string, string>) {
  return execa(process.execPath, ["--import", TSX, START], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? cwd, LOG_LEVEL: "info", ...env },
    extendEnv: false,
    all: true,
    reject: false,
    stdin: "ignore",
    cleanup: true,
  });
}

async function stop(child: ReturnType<typeof start>) {
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await child;
  clearTimeout(timer);
}

/** The manifest as a browser would post it: the `manifest` button's value in the single-quoted attribute. */
function postedManifest(html: string): Record<string, unknown> {
  const value = /name="manifest"[^>]*value='([^']*)'/.exec(html)?.[1];
  if (value === undefined) throw new Error(`no manifest field on the setup page:\n${html}`);
  return JSON.parse(value) as Record<string, unknown>;
}

describe("registering the GitHub App", () => {
  const database = useTestDatabase();
  let github: Awaited<ReturnType<typeof startGitHubStandIn>>;
  let dir: string;

  beforeAll(async () => {
    github = await startGitHubStandIn();
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-register-"));
    // What a person has after cloning: app.yml and package.json, no .env.
    for (const file of ["app.yml", "package.json"])
      await copyFile(path.join(ROOT, file), path.join(dir, file));
  });
  afterAll(async () => {
    await github?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("serves the setup page from app.yml, writes the app's credentials to .env, and starts with them", async () => {
    const port = await freePort();
    const setupEnv = {
      PORT: String(port),
      HOST: "127.0.0.1",
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      // Probot would fetch smee-client from npm to make a webhook proxy channel: not wanted here.
      NO_SMEE_SETUP: "true",
    };
    const setup = start(dir, setupEnv);
    try {
      const page = await eventually("the setup page", async () => {
        const response = await fetch(`http://127.0.0.1:${port}/probot`).catch(() => undefined);
        return response?.ok && (await response.text());
      });
      // The form posts app.yml's manifest to GitHub's "new app" page.
      expect(page).toContain(`action="http://${github.host}/settings/apps/new"`);
      const manifest = postedManifest(page);
      const appYml = parse(await readFile(path.join(ROOT, "app.yml"), "utf8")) as Record<string, unknown>;
      expect(manifest).toMatchObject(appYml);
      expect(manifest.redirect_url).toBe(`http://127.0.0.1:${port}/probot/setup`);
      expect(manifest.public).toBe(false);

      // GitHub sends the person back with a code; the setup page turns it into the app.
      const back = await fetch(`http://127.0.0.1:${port}/probot/setup?code=one-time-code`, {
        redirect: "manual",
      });
      expect(back.status).toBe(302);
      expect(back.headers.get("location")).toBe(`${github.base}/apps/drover/installations/new`);
      expect(github.conversions.map((c) => c.code)).toEqual(["one-time-code"]);
    } finally {
      await stop(setup);
    }

    const dotEnv = await readFile(path.join(dir, ".env"), "utf8");
    expect(dotEnv).toMatch(/^APP_ID=424242$/m);
    expect(dotEnv).toMatch(new RegExp(`^WEBHOOK_SECRET=${github.webhookSecret}$`, "m"));
    expect(dotEnv).toMatch(
      /^PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\\n.+\\n-----END RSA PRIVATE KEY-----\\n"$/m,
    );

    // Started again in the same place, Drover reads .env and runs: no setup page, its own health instead.
    const again = await freePort();
    const drover = start(dir, {
      ...setupEnv,
      PORT: String(again),
      GITHUB_API_URL: `${github.base}/api/v3`,
      DATABASE_URL: database.url(),
      REDIS_URL: TEST_REDIS_URL,
      DROVER_QUEUE_PREFIX: `drover-register-${randomBytes(4).toString("hex")}`,
      DROVER_HOME: path.join(dir, "home"),
    });
    try {
      await eventually(
        "Drover's /healthz with the registered app",
        async () => (await fetch(`http://127.0.0.1:${again}/healthz`).catch(() => undefined))?.ok,
        60_000,
      ).catch(async (error: Error) => {
        await stop(drover);
        throw new Error(`${error.message}\n${(await drover).all}`);
      });
      expect((await fetch(`http://127.0.0.1:${again}/probot`)).status).toBe(404);
    } finally {
      await stop(drover);
    }
    expect(github.conversions).toHaveLength(1);
  }, 120_000);

  it("refuses to show the setup page in production, saying how to register", async () => {
    const empty = await mkdtemp(path.join(os.tmpdir(), "drover-register-prod-"));
    const result = await start(empty, { NODE_ENV: "production", PORT: String(await freePort()) });
    await rm(empty, { recursive: true, force: true });
    expect(result.exitCode).toBe(1);
    expect(result.all?.trim()).toMatch(/^drover: APP_ID and PRIVATE_KEY are not set, .*`npm start`/);
  }, 30_000);
});
