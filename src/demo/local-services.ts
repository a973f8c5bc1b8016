import path from "node:path";
import { redactUrl } from "../lib/redact-url.ts";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded-postgres.ts";
import { startLocalRedis, type LocalRedis } from "./local-redis.ts";
import { answers } from "./server-process.ts";

/**
 * Nothing to install for the demo and the tests: when no PostgreSQL answers where Drover looks by default,
 * an embedded one starts (src/demo/embedded-postgres.ts); when no Redis answers, redis-server from the
 * PATH. A server the person named (DATABASE_URL, REDIS_URL) is never replaced: if it does not answer, the
 * usual one-line error follows. Production commands (start, web, worker, migrate) never come here.
 */
export interface LocalServicesOptions {
  databaseUrl: string;
  redisUrl: string;
  /** DATABASE_URL was set (environment or .env): used as it is, whether it answers or not. */
  databaseNamed: boolean;
  /** REDIS_URL was set: used as it is. */
  redisNamed: boolean;
  /** DROVER_HOME: the embedded cluster in postgres/, Redis's log in redis/. */
  home: string;
  /** One line for each server started. */
  say: (line: string) => void;
  /** The variables that name the servers, as the lines call them. Default DATABASE_URL and REDIS_URL. */
  names?: { database: string; redis: string };
  /** Where to look for redis-server. Default: the PATH. */
  path?: string | undefined;
}

export interface LocalServices {
  databaseUrl: string;
  redisUrl: string;
  /** Stops what was started here (nothing when both were already running). */
  stop(): Promise<void>;
  /** The same from an exit handler. */
  stopNow(): void;
}

class LocalServiceError extends Error {
  override name = "LocalServiceError";
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Whether to start a server of our own for `url`: not named, on this machine, and nothing answering. */
async function wantsLocal(url: URL, named: boolean, defaultPort: number): Promise<boolean> {
  if (named || !LOOPBACK.has(url.hostname)) return false;
  return !(await answers(url.hostname, Number(url.port || defaultPort)));
}

export async function localServices(options: LocalServicesOptions): Promise<LocalServices> {
  const started: (EmbeddedPostgres | LocalRedis)[] = [];
  const stop = async () => {
    for (const server of [...started].reverse()) await server.stop();
  };
  try {
    const databaseUrl = await postgresFor(options, started);
    const redisUrl = await redisFor(options, started);
    return {
      databaseUrl,
      redisUrl,
      stop,
      stopNow: () => {
        for (const server of [...started].reverse()) server.stopNow();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The PostgreSQL URL to use: the one given, or an embedded server's (added to `started`) with its database name. */
async function postgresFor(
  options: LocalServicesOptions,
  started: (EmbeddedPostgres | LocalRedis)[],
): Promise<string> {
  const given = new URL(options.databaseUrl);
  if (!(await wantsLocal(given, options.databaseNamed, 5432))) return options.databaseUrl;
  const variable = options.names?.database ?? "DATABASE_URL";
  const where = `${given.hostname}:${given.port || 5432}`;
  const root = path.join(path.resolve(options.home), "postgres");
  const postgres = await startEmbeddedPostgres(root).catch((error: unknown) => {
    throw new LocalServiceError(
      `no PostgreSQL answers at ${where} and ${variable} is unset; starting an embedded one failed: ${(error as Error).message}`,
    );
  });
  started.push(postgres);
  const made =
    postgres.initialisedMs === null ? "" : `, made now in ${(postgres.initialisedMs / 1000).toFixed(1)} s`;
  options.say(
    `no PostgreSQL answers at ${where} and ${variable} is unset: started an embedded PostgreSQL ${postgres.version} on 127.0.0.1:${postgres.port} (data in ${shown(root)}${made}); it stops when this command ends`,
  );
  return `postgres://postgres@127.0.0.1:${postgres.port}${given.pathname}`;
}

/** The Redis URL to use: the one given, or a redis-server's from the PATH (added to `started`). */
async function redisFor(
  options: LocalServicesOptions,
  started: (EmbeddedPostgres | LocalRedis)[],
): Promise<string> {
  if (!(await wantsLocal(new URL(options.redisUrl), options.redisNamed, 6379))) return options.redisUrl;
  const variable = options.names?.redis ?? "REDIS_URL";
  const where = redactUrl(options.redisUrl);
  const root = path.join(path.resolve(options.home), "redis");
  const redis = await startLocalRedis(root, options.path ?? process.env.PATH).catch((error: unknown) => {
    throw new LocalServiceError(
      `no Redis answers at ${where} and ${variable} is unset; ${(error as Error).message}`,
    );
  });
  started.push(redis);
  options.say(
    `no Redis answers at ${where} and ${variable} is unset: started redis-server from the PATH (${redis.program}) on 127.0.0.1:${redis.port} (it keeps nothing on disk); it stops when this command ends`,
  );
  return redis.url;
}

/** A directory as the person wrote DROVER_HOME when under the working directory (".drover/postgres"), else in full. */
function shown(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative.startsWith("..") || path.isAbsolute(relative) ? dir : relative;
}

/**
 * For `drover demo` and `drover chaos`: the environment with DATABASE_URL and REDIS_URL pointing at servers
 * that answer, started here when needed (and stopped when the process exits). Rejects with one line.
 */
export async function withLocalServices<
  E extends { DATABASE_URL: string; REDIS_URL: string; DROVER_HOME: string },
>(env: E, source: NodeJS.ProcessEnv = process.env): Promise<E> {
  const services = await localServices({
    databaseUrl: env.DATABASE_URL,
    redisUrl: env.REDIS_URL,
    databaseNamed: source.DATABASE_URL !== undefined,
    redisNamed: source.REDIS_URL !== undefined,
    home: env.DROVER_HOME,
    say: (line) => process.stderr.write(`drover: ${line}\n`),
  });
  process.once("exit", () => services.stopNow());
  return { ...env, DATABASE_URL: services.databaseUrl, REDIS_URL: services.redisUrl };
}
