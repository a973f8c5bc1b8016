import { accessSync, constants, openSync, closeSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { spawn, type ChildProcess } from "node:child_process";

/**
 * A local server Drover starts for the demo and the tests when none is running (PostgreSQL, Redis): its
 * own process group, so a Ctrl-C meant for the demo does not stop it before the demo is done with it, and
 * on Linux a parent-death signal (setpriv --pdeathsig), so a Drover killed outright takes it along.
 */
export interface ServerProcess {
  pid: number;
  /** Resolves when the server has exited, whoever ended it. */
  exited: Promise<void>;
  /** True once it has exited. */
  readonly ended: boolean;
  /** `signal`, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(signal: NodeJS.Signals, graceMs: number): Promise<void>;
  /** For `process.on("exit")`, where nothing can be awaited: `signal`, then waits up to `graceMs` (Linux). */
  stopNow(signal: NodeJS.Signals, graceMs: number): void;
}

/** An operating-system user to run a server as (PostgreSQL refuses root). */
export type RunAs = { uid: number; gid: number; name: string };

export interface ServerOptions {
  command: string;
  args: string[];
  cwd: string;
  /** Everything the server prints goes here (appended). */
  logFile: string;
  /** The signal the server gets when Drover dies without stopping it. */
  parentDeathSignal: NodeJS.Signals;
  runAs?: RunAs | undefined;
  env?: Record<string, string>;
}

export function startServer(options: ServerOptions): ServerProcess {
  const setpriv = onPath("setpriv");
  const [command, args]: [string, string[]] = setpriv
    ? [
        setpriv,
        [
          "--pdeathsig",
          options.parentDeathSignal.replace(/^SIG/, ""),
          "--",
          options.command,
          ...options.args,
        ],
      ]
    : [options.command, options.args];
  const log = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    // node:child_process rather than execa: the server writes straight into its log file, not through
    // pipes this process would have to keep draining, and lives as long as its owner says.
    child = spawn(command, args, {
      cwd: options.cwd,
      stdio: ["ignore", log, log],
      detached: true,
      env: options.env ?? process.env,
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
  } finally {
    closeSync(log);
  }
  let ended = false;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  }).then(() => {
    ended = true;
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${options.command}`);
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  };
  return {
    pid,
    exited,
    get ended() {
      return ended;
    },
    async stop(first, graceMs) {
      if (ended) return;
      signal(first);
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    stopNow(first, graceMs) {
      if (ended) return;
      signal(first);
      const until = Date.now() + graceMs;
      while (running(pid) && Date.now() < until) sleepSync(20);
      if (running(pid)) signal("SIGKILL");
    },
  };
}

/**
 * Whether `pid` still runs. An exited child that Node has not reaped yet (it cannot, inside an exit
 * handler) is a zombie: done, though signals still reach it. Without /proc, only the signal is asked.
 */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The program's path on the PATH, or undefined. */
export function onPath(name: string, pathVariable = process.env.PATH ?? ""): string | undefined {
  for (const dir of pathVariable.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** Whether something accepts a TCP connection at host:port within `timeoutMs`. */
export function answers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: host.replace(/^\[(.*)\]$/, "$1"), port });
    socket.setTimeout(timeoutMs);
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
    socket.once("error", () => resolve(false));
  });
}

/** Waits until `ready()` holds, the server exits (rejects), or `timeoutMs` passes (rejects). */
export async function waitUntil(
  server: ServerProcess,
  ready: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ready())) {
    if (server.ended) throw new Error(`${what} stopped while starting`);
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A port nobody listens on now (the OS picks it; a short race remains, fine for local runs). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
