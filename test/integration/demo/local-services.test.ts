import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../../../src/demo/embedded-postgres.ts";
import { localServices } from "../../../src/demo/local-services.ts";
import { answers, freePort, onPath, running } from "../../../src/demo/server-process.ts";
import { TEST_DATABASE_URL } from "../../helpers/services.ts";

const TSX = import.meta.resolve("tsx");
const EMBEDDED = new URL("../../../src/demo/embedded-postgres.ts", import.meta.url).href;

describe("servers started for the demo and the tests", { timeout: 120_000 }, () => {
  let dir: string;
  let closedPort: number;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "drover-local-services-"));
    // Under root the embedded PostgreSQL runs as nobody, who must be able to enter its directory.
    await chmod(dir, 0o755);
    closedPort = await freePort();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const options = (over: Partial<Parameters<typeof localServices>[0]>, said: string[]) => ({
    databaseUrl: TEST_DATABASE_URL,
    databaseNamed: true,
    redisUrl: `redis://127.0.0.1:${closedPort}`,
    redisNamed: false,
    home: path.join(dir, "home"),
    say: (line: string) => said.push(line),
    ...over,
  });

  it("with no Redis answering and no redis-server on the PATH, stops with one line naming how to get it", async () => {
    const said: string[] = [];
    const error = await localServices(options({ path: dir }, said)).catch((e: unknown) => e as Error);
    expect((error as Error).message).toBe(
      `no Redis answers at redis://127.0.0.1:${closedPort} and REDIS_URL is unset; there is no redis-server on the PATH to start: ` +
        "install it (apt install redis-server, or brew install redis) or run one (docker compose up -d redis)",
    );
    expect(said).toEqual([]);
  });

  it.skipIf(onPath("redis-server") === undefined)(
    "starts redis-server from the PATH on a free port, keeping nothing on disk, and stops it",
    async () => {
      const said: string[] = [];
      const services = await localServices(options({}, said));
      const port = Number(new URL(services.redisUrl).port);
      try {
        expect(port).not.toBe(closedPort);
        expect(said).toEqual([
          expect.stringMatching(
            new RegExp(
              `^no Redis answers at redis://127\\.0\\.0\\.1:${closedPort} and REDIS_URL is unset: started redis-server from the PATH \\(.*redis-server\\) on 127\\.0\\.0\\.1:${port} \\(it keeps nothing on disk\\); it stops when this command ends$`,
            ),
          ),
        ]);
        expect(services.databaseUrl).toBe(TEST_DATABASE_URL);
        const redis = new Redis(services.redisUrl, { lazyConnect: true });
        await redis.connect();
        expect(await redis.config("GET", "save")).toEqual(["save", ""]);
        expect(await redis.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
        redis.disconnect();
      } finally {
        await services.stop();
      }
      expect(await answers("127.0.0.1", port)).toBe(false);
    },
  );

  it("keeps a REDIS_URL that was set, answering or not, and starts nothing", async () => {
    const said: string[] = [];
    const services = await localServices(options({ redisNamed: true }, said));
    expect(services.redisUrl).toBe(`redis://127.0.0.1:${closedPort}`);
    expect(said).toEqual([]);
  });

  it("clears what a Drover killed outright left (its server still running, postmaster.pid) and starts again", async () => {
    const root = path.join(dir, "leftover");
    // A Drover without setpriv on its PATH (as on macOS): no parent-death signal takes the server along.
    const owner = execa(
      process.execPath,
      [
        "--import",
        TSX,
        "--input-type=module",
        "-e",
        `const { startEmbeddedPostgres } = await import(${JSON.stringify(EMBEDDED)});
         const pg = await startEmbeddedPostgres(${JSON.stringify(root)});
         console.log(pg.server.pid, pg.initialisedMs);
         setInterval(() => {}, 1000);`,
      ],
      { env: { PATH: "" }, extendEnv: false, reject: false },
    );
    const first = await new Promise<string>((resolve) =>
      owner.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString())),
    );
    const [leftover, initdbMs] = first.trim().split(" ").map(Number);
    owner.kill("SIGKILL");
    await owner;
    expect(running(leftover ?? 0)).toBe(true);

    const startedAt = Date.now();
    const postgres = await startEmbeddedPostgres(root);
    const laterStartMs = Date.now() - startedAt;
    try {
      expect(running(leftover ?? 0)).toBe(false);
      expect(postgres.initialisedMs).toBeNull();
      const { stdout } = await execa(process.execPath, [
        "-e",
        `const net = require("node:net"); const s = net.connect(${postgres.port}, "127.0.0.1", () => { console.log("up"); s.destroy(); });`,
      ]);
      expect(stdout).toBe("up");
    } finally {
      await postgres.stop();
    }
    expect(running(postgres.server.pid)).toBe(false);
    process.stderr.write(
      `[measure] embedded PostgreSQL: first start's initdb ${initdbMs} ms; a later start (a leftover server stopped first) ${laterStartMs} ms\n`,
    );
  });
});
