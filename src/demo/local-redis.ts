import { mkdir } from "node:fs/promises";
import path from "node:path";
import { assertRedisUsable } from "../queue/redis.ts";
import { answers, freePort, onPath, startServer, waitUntil, type ServerProcess } from "./server-process.ts";

/** `redis-server` from the PATH, for the demo and the tests on a machine with no Redis running. */
export interface LocalRedis {
  url: string;
  port: number;
  /** The redis-server that runs. */
  program: string;
  server: ServerProcess;
  stop(): Promise<void>;
  stopNow(): void;
}

class LocalRedisError extends Error {
  override name = "LocalRedisError";
}

/** How to get Redis, in the one line said when there is none to start. */
const HOW_TO_GET_REDIS =
  "install it (apt install redis-server, or brew install redis) or run one (docker compose up -d redis)";

const START_TIMEOUT_MS = 20_000;

/**
 * Starts redis-server on a free loopback port, keeping nothing on disk (no snapshots, no append-only
 * file: the queue is rebuilt from PostgreSQL), its log under `root`.
 */
export async function startLocalRedis(root: string, pathVariable = process.env.PATH): Promise<LocalRedis> {
  const program = onPath("redis-server", pathVariable);
  if (program === undefined)
    throw new LocalRedisError(`there is no redis-server on the PATH to start: ${HOW_TO_GET_REDIS}`);
  root = path.resolve(root);
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const server = startServer({
    command: program,
    args: [
      ...["--port", String(port), "--bind", "127.0.0.1", "--protected-mode", "yes"],
      ...["--save", "", "--appendonly", "no", "--dir", root, "--daemonize", "no"],
      // Drover refuses a Redis that evicts keys (queued work would vanish).
      ...["--maxmemory-policy", "noeviction"],
    ],
    cwd: root,
    logFile: path.join(root, "redis.log"),
    parentDeathSignal: "SIGTERM",
  });
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitUntil(server, () => answers("127.0.0.1", port, 200), START_TIMEOUT_MS, "redis-server");
    await assertRedisUsable(url);
  } catch (error) {
    await server.stop("SIGTERM", 5_000);
    throw new LocalRedisError(
      `${(error as Error).message} (its log: ${path.join(root, "redis.log")}); ${HOW_TO_GET_REDIS}`,
    );
  }
  return {
    url,
    port,
    program,
    server,
    stop: () => server.stop("SIGTERM", 5_000),
    stopNow: () => server.stopNow("SIGTERM", 5_000),
  };
}
