import type http from "node:http";
import path from "node:path";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { execa, ExecaError } from "execa";
import { GIT_KILL_GRACE_MS, GitError, reapGroup, STDERR_TAIL_CHARS } from "../../git/run-git.ts";

/** Default limit for one request, the whole pack included. */
export const DEFAULT_SERVE_TIMEOUT_MS = 120_000;
/** `git http-backend` writes a few short headers; more than this before the blank line is a broken child. */
const MAX_CGI_HEADER_BYTES = 64 * 1024;

export interface ServeGitOptions {
  /** Directory holding the bare repositories, e.g. `<root>/<owner>/<name>.git`. */
  projectRoot: string;
  /** Path below `projectRoot`, e.g. `/acme/widgets.git/info/refs` (already checked by the caller). */
  pathInfo: string;
  /** Authenticated login; git enables receive-pack (push) only when this is set. */
  remoteUser?: string;
  /** Kill git after this long, the whole transfer included. Default 120 000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Answers one request of git's smart HTTP protocol (clone, fetch, push) by running `git http-backend`
 * as a CGI program. The request body streams into git and git's output streams out, so packs are never
 * held in memory.
 *
 * Resolves once the response is complete, or when the client went away (git is then killed). When git
 * cannot be run, fails or times out, the client gets a 500 (or, once headers are out, a cut connection)
 * and the promise rejects with a GitError for the caller to log.
 */
export async function serveGit(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  opts: ServeGitOptions,
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SERVE_TIMEOUT_MS;
  const clientGone = new AbortController();
  const giveUp = new AbortController();
  const onClose = (): void => {
    if (!response.writableFinished) clientGone.abort();
  };
  response.once("close", onClose);
  request.once("error", () => clientGone.abort());
  const signals = [clientGone.signal, giveUp.signal, ...(opts.signal ? [opts.signal] : [])];

  const subprocess = execa("git", ["http-backend"], {
    cwd: opts.projectRoot,
    env: cgiEnv(request, opts),
    extendEnv: false,
    buffer: false,
    stdin: "pipe",
    timeout: timeoutMs,
    forceKillAfterDelay: GIT_KILL_GRACE_MS,
    // Own process group: http-backend starts upload-pack or receive-pack, which start pack-objects or
    // index-pack; a timeout or a vanished client must take all of them down.
    detached: true,
    cancelSignal: AbortSignal.any(signals),
  });
  reapGroup(subprocess);

  let stderr = "";
  subprocess.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL_CHARS);
  });
  // git answers some requests (404, 403) without reading the body; drain it so the socket stays usable.
  subprocess.stdin.on("error", () => {
    request.unpipe(subprocess.stdin);
    request.resume();
  });
  request.pipe(subprocess.stdin);

  try {
    const [, complete] = await Promise.all([subprocess, forwardCgiOutput(subprocess.stdout, response)]);
    if (!complete) {
      throw new GitError("git http-backend ended without a complete CGI header", {
        subcommand: "http-backend",
        stderrTail: stderr.trim(),
      });
    }
    response.end();
    await finished(response);
  } catch (error) {
    giveUp.abort();
    // Answer only once git and its helpers are gone.
    await subprocess.catch(() => undefined);
    response.off("close", onClose);
    if (clientGone.signal.aborted && !opts.signal?.aborted) {
      response.destroy();
      return;
    }
    if (response.headersSent) {
      // A cut connection, so the client cannot take a partial pack for a complete answer.
      response.destroy();
    } else if (!response.destroyed) {
      response.writeHead(500, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" });
      response.end("git http-backend failed\n");
    }
    throw toServeError(error, timeoutMs, stderr.trim());
  }
}

/**
 * The CGI environment, built from scratch: no inherited `GIT_*` variables, no system or global git
 * config, and no HOME (so no `~/.config/git/attributes` either).
 */
function cgiEnv(request: http.IncomingMessage, opts: ServeGitOptions): Record<string, string> {
  const url = request.url ?? "";
  const query = url.indexOf("?");
  const env: Record<string, string> = {
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    GIT_PROJECT_ROOT: path.resolve(opts.projectRoot),
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    PATH_INFO: opts.pathInfo,
    REQUEST_METHOD: request.method ?? "GET",
    QUERY_STRING: query === -1 ? "" : url.slice(query + 1),
    REMOTE_ADDR: request.socket.remoteAddress ?? "",
  };
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
  if (opts.remoteUser !== undefined && opts.remoteUser !== "") env.REMOTE_USER = opts.remoteUser;
  const headers: [string, string][] = [
    ["content-type", "CONTENT_TYPE"],
    // Without it (a chunked body, as git sends large pushes) http-backend reads stdin to its end.
    ["content-length", "CONTENT_LENGTH"],
    // git gzips fetch negotiation bodies; http-backend inflates them itself when told the encoding.
    ["content-encoding", "HTTP_CONTENT_ENCODING"],
    // `Git-Protocol: version=2`: http-backend turns it into GIT_PROTOCOL for upload-pack.
    ["git-protocol", "HTTP_GIT_PROTOCOL"],
  ];
  for (const [header, variable] of headers) {
    const value = request.headers[header];
    if (typeof value === "string") env[variable] = value;
  }
  return env;
}

/**
 * Reads the CGI header block from git's stdout ("Status: 404 Not Found" optional, then headers until a
 * blank line, `\r\n` or `\n`), writes it as the response head and pipes the rest into the response.
 * Resolves `true` once stdout has ended after a complete header block, `false` if it ended without one.
 */
function forwardCgiOutput(stdout: Readable, response: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    let headerDone = false;
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const bodyStart = headerEnd(head);
      if (bodyStart === -1) {
        if (head.length > MAX_CGI_HEADER_BYTES) {
          stdout.off("data", onData);
          stdout.resume();
          reject(
            new GitError("git http-backend wrote an oversized CGI header", { subcommand: "http-backend" }),
          );
        }
        return;
      }
      stdout.off("data", onData);
      stdout.pause();
      headerDone = true;
      try {
        writeCgiHead(response, head.subarray(0, bodyStart).toString("latin1"));
      } catch (error) {
        stdout.resume();
        reject(
          new GitError("git http-backend wrote an invalid CGI header", {
            subcommand: "http-backend",
            cause: error,
          }),
        );
        return;
      }
      const rest = head.subarray(bodyStart);
      if (rest.length > 0) response.write(rest);
      stdout.pipe(response, { end: false });
    };
    stdout.on("data", onData);
    stdout.once("end", () => resolve(headerDone));
    stdout.once("error", reject);
  });
}

/** Index just past the blank line ending the header block, or -1 while it is incomplete. */
function headerEnd(buffer: Buffer): number {
  if (buffer[0] === 0x0a) return 1;
  if (buffer[0] === 0x0d && buffer[1] === 0x0a) return 2;
  for (let i = buffer.indexOf(0x0a); i !== -1; i = buffer.indexOf(0x0a, i + 1)) {
    if (buffer[i + 1] === 0x0a) return i + 2;
    if (buffer[i + 1] === 0x0d && buffer[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

function writeCgiHead(response: http.ServerResponse, block: string): void {
  let status = 200;
  let reason: string | undefined;
  for (const line of block.split(/\r?\n/)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new Error(`malformed CGI header line '${line}'`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const match = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (!match) throw new Error(`malformed CGI status '${value}'`);
      status = Number(match[1]);
      reason = match[2];
      continue;
    }
    const previous = response.getHeader(name);
    if (previous === undefined) response.setHeader(name, value);
    else response.setHeader(name, [...(Array.isArray(previous) ? previous : [String(previous)]), value]);
  }
  if (reason === undefined) response.writeHead(status);
  else response.writeHead(status, reason);
}

function toServeError(error: unknown, timeoutMs: number, stderrTail: string): GitError {
  if (error instanceof GitError) return error;
  const details = { subcommand: "http-backend", stderrTail, cause: error };
  if (!(error instanceof ExecaError)) {
    const text = error instanceof Error ? error.message : String(error);
    return new GitError(`git http-backend failed: ${text}`, details);
  }
  let reason: string;
  if (error.timedOut) reason = `timed out after ${timeoutMs} ms`;
  else if (error.isCanceled) reason = "was cancelled";
  else if (error.exitCode !== undefined) reason = `failed with exit code ${error.exitCode}`;
  else reason = `failed: ${error.originalMessage || error.shortMessage}`;
  return new GitError(`git http-backend ${reason}${stderrTail ? `: ${stderrTail}` : ""}`, {
    ...details,
    exitCode: error.exitCode,
    timedOut: error.timedOut,
    isCanceled: error.isCanceled,
  });
}
