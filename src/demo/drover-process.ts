import { createWriteStream, type WriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

/**
 * Drover as separate processes, as it runs in production (`web` and `worker`, or `start` for both): the
 * demo and the end-to-end tests start them here. (The local PostgreSQL and Redis the demo may need are
 * started by server-process.ts.)
 */

export type DroverRole = "web" | "worker" | "start";

const ENTRY: Record<DroverRole, string> = {
  web: fileURLToPath(new URL("../main/web.ts", import.meta.url)),
  worker: fileURLToPath(new URL("../main/worker.ts", import.meta.url)),
  start: fileURLToPath(new URL("../main/start.ts", import.meta.url)),
};
const TSX = import.meta.resolve("tsx");
const READY_TIMEOUT_MS = 60_000;
const TAIL_CHARS = 20_000;

export interface DroverProcess {
  role: DroverRole;
  pid: number | undefined;
  /** Resolves when the web answers `/healthz` or the worker says it started; rejects if it exits first. */
  ready: Promise<void>;
  /** Resolves when the process has exited. */
  exited: Promise<{ exitCode: number | undefined; signal: string | undefined }>;
  /** True once it has exited without being asked to (a crash, or a start-up error). */
  readonly exitedEarly: boolean;
  /** The end of what it printed (pino JSON lines). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once, as a crash would. */
  kill(): Promise<void>;
}

export interface StartDroverOptions {
  role: DroverRole;
  /** Drover's environment (DATABASE_URL, APP_ID, ...). Only PATH, HOME, locale and TMPDIR are inherited. */
  env: Record<string, string>;
  /** Working directory; a `.env` there would be read, so use one without. */
  cwd: string;
  /** Appends everything the process prints to this file. */
  logFile?: string;
}

export function startDroverProcess(options: StartDroverOptions): DroverProcess {
  const inherited = Object.fromEntries(
    ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"].flatMap((name) =>
      process.env[name] === undefined ? [] : [[name, process.env[name] as string]],
    ),
  );
  const child = execa(process.execPath, ["--import", TSX, ENTRY[options.role]], {
    cwd: options.cwd,
    env: { ...inherited, ...options.env },
    extendEnv: false,
    all: true,
    buffer: false,
    reject: false,
    stdin: "ignore",
    cleanup: true,
  });
  let tail = "";
  let log: WriteStream | undefined;
  if (options.logFile) log = createWriteStream(options.logFile, { flags: "a" });
  const listeners = new Set<(text: string) => void>();
  child.all?.on("data", (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    tail = (tail + text).slice(-TAIL_CHARS);
    log?.write(text);
    for (const listener of listeners) listener(tail);
  });

  let stopping = false;
  let exitedEarly = false;
  const exited = child.then((result) => {
    if (!stopping) exitedEarly = true;
    log?.end();
    return { exitCode: result.exitCode, signal: result.signal };
  });

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`drover ${options.role} did not start within ${READY_TIMEOUT_MS / 1000} s:\n${tail}`),
        ),
      READY_TIMEOUT_MS,
    );
    const done = (error?: Error) => {
      clearTimeout(timer);
      listeners.clear();
      if (error) reject(error);
      else resolve();
    };
    void exited.then(({ exitCode, signal }) =>
      done(new Error(`drover ${options.role} exited (${signal ?? exitCode}) before it was ready:\n${tail}`)),
    );
    if (options.role === "worker") {
      listeners.add((text) => {
        if (text.includes('"msg":"worker started"')) done();
      });
    } else {
      const port = options.env.PORT ?? "3000";
      const poll = async () => {
        for (;;) {
          try {
            const response = await fetch(`http://127.0.0.1:${port}/healthz`);
            if (response.ok) return done();
          } catch {
            // not listening yet
          }
          if (child.exitCode !== undefined && child.exitCode !== null) return;
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      void poll();
    }
  });
  ready.catch(() => {});

  return {
    role: options.role,
    pid: child.pid,
    ready,
    exited,
    get exitedEarly() {
      return exitedEarly;
    },
    output: () => tail,
    stop: async (graceMs = 10_000) => {
      stopping = true;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      stopping = true;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
