import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commitFiles } from "../../../../src/sandbox/git/commit-files.ts";
import { initBareRepository, listRefs, readBlob } from "../../../../src/sandbox/git/refs.ts";
import { serveGit, type ServeGitOptions } from "../../../../src/sandbox/git/http-backend.ts";
import { GitError, runGit } from "../../../../src/git/run-git.ts";
import { git } from "../../../helpers/git-sandbox.ts";

const AUTH = `Basic ${Buffer.from("ann:s3cret").toString("base64")}`;
const LOCAL_PERSON = {
  GIT_AUTHOR_NAME: "Ann",
  GIT_AUTHOR_EMAIL: "ann@example.com",
  GIT_COMMITTER_NAME: "Ann",
  GIT_COMMITTER_EMAIL: "ann@example.com",
};
const WITH_AUTH = ["-c", `http.extraheader=Authorization: ${AUTH}`];

interface Served {
  headers: http.IncomingHttpHeaders;
  url: string;
  outcome: Promise<unknown>;
}

let root: string;
let projectRoot: string;
let bare: string;
let server: http.Server;
let baseUrl: string;
let served: Served[];
let serveOptions: Partial<ServeGitOptions>;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "drover-http-"));
  projectRoot = path.join(root, "repos");
  bare = path.join(projectRoot, "acme", "widgets.git");
  await initBareRepository(bare, { defaultBranch: "main" });
  await commitFiles(bare, {
    branch: "main",
    files: { "README.md": "hello\n" },
    message: "seed",
    author: { name: "Sandbox", email: "sandbox@example.com" },
  });
  served = [];
  serveOptions = {};
  server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://sandbox");
    const remoteUser = request.headers.authorization === AUTH ? "ann" : undefined;
    const outcome = serveGit(request, response, {
      projectRoot,
      pathInfo: decodeURIComponent(url.pathname),
      ...(remoteUser ? { remoteUser } : {}),
      ...serveOptions,
    }).then(
      () => "ok",
      (error: unknown) => error,
    );
    served.push({ headers: request.headers, url: request.url ?? "", outcome });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

const repoUrl = (name = "acme/widgets.git") => `${baseUrl}/${name}`;

async function clone(dir: string, ...flags: string[]): Promise<string> {
  const dest = path.join(root, dir);
  await git(root, ...flags, "clone", "--quiet", repoUrl(), dest);
  return dest;
}

async function commitIn(worktree: string, file: string, content: string | Buffer): Promise<string> {
  await mkdir(path.dirname(path.join(worktree, file)), { recursive: true });
  await writeFile(path.join(worktree, file), content);
  await git(worktree, "add", "--all");
  await git(worktree, "commit", "--quiet", "-m", `change ${file}`);
  return git(worktree, "rev-parse", "HEAD");
}

/** Pids whose working directory is inside `dir`: git processes serving `bare` run there. */
async function processesIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => "");
    if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(entry));
  }
  return pids;
}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A POST whose body never ends, as a stalled client would send. */
function stalledPush(): { request: http.ClientRequest; response: Promise<http.IncomingMessage | Error> } {
  const request = http.request(`${repoUrl()}/git-receive-pack`, {
    method: "POST",
    headers: { "content-type": "application/x-git-receive-pack-request", authorization: AUTH },
  });
  const response = new Promise<http.IncomingMessage | Error>((resolve) => {
    request.once("response", (res) => {
      res.resume();
      res.once("error", resolve);
      res.once("aborted", () => resolve(new Error("aborted")));
      res.once("end", () => resolve(res));
    });
    request.once("error", resolve);
  });
  request.flushHeaders();
  request.write("00");
  return { request, response };
}

describe("serveGit", () => {
  it("serves clone, push and fetch over smart HTTP", async () => {
    const ann = await clone("ann", ...WITH_AUTH);
    expect(await git(ann, "log", "-1", "--format=%s")).toBe("seed");

    const before = await listRefs(bare);
    const pushed = await commitIn(ann, "src/index.ts", "export {};\n");
    await git(ann, ...WITH_AUTH, "push", "--quiet", "origin", "main", "HEAD:refs/heads/feature");
    const after = await listRefs(bare);
    expect(after.get("refs/heads/main")).toBe(pushed);
    expect(after.get("refs/heads/feature")).toBe(pushed);
    expect(before.get("refs/heads/main")).not.toBe(pushed);
    expect((await readBlob(bare, "main", "src/index.ts"))?.toString()).toBe("export {};\n");

    // Another clone, without credentials: reading needs none.
    const bob = await clone("bob");
    await commitFiles(bare, {
      branch: "main",
      files: { "NEW.md": "from the API\n" },
      message: "api",
      author: { name: "Sandbox", email: "sandbox@example.com" },
    });
    await git(bob, "fetch", "--quiet", "origin");
    expect(await git(bob, "rev-parse", "origin/feature")).toBe(pushed);
    expect(await git(bob, "show", "origin/main:NEW.md")).toBe("from the API");
    expect(await Promise.all(served.map((s) => s.outcome))).toEqual(served.map(() => "ok"));
    expect(await processesIn(bare)).toEqual([]);
  });

  it("refuses a push without an authenticated user", async () => {
    const anon = await clone("anon");
    await commitIn(anon, "a.txt", "a\n");
    const before = await listRefs(bare);
    const error = await git(anon, "push", "--quiet", "origin", "main").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).stderrTail).toMatch(/403/);
    expect(await listRefs(bare)).toEqual(before);

    const advert = await fetch(`${repoUrl()}/info/refs?service=git-receive-pack`);
    expect(advert.status).toBe(403);
  });

  it("answers 404 for a repository that does not exist", async () => {
    const response = await fetch(`${repoUrl("acme/nope.git")}/info/refs?service=git-upload-pack`);
    expect(response.status).toBe(404);
    const error = await git(
      root,
      "clone",
      "--quiet",
      repoUrl("acme/nope.git"),
      path.join(root, "nope"),
    ).catch((e: unknown) => e);
    expect((error as GitError).stderrTail).toMatch(/not found|404/i);
    expect(await served[0]?.outcome).toBe("ok");
  });

  it("passes the CGI headers through: status, content type, no caching", async () => {
    const response = await fetch(`${repoUrl()}/info/refs?service=git-upload-pack`, {
      headers: { "git-protocol": "version=2" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-git-upload-pack-advertisement");
    expect(response.headers.get("cache-control")).toMatch(/no-cache/);
    // Protocol v2 reached upload-pack through HTTP_GIT_PROTOCOL.
    expect(await response.text()).toContain("version 2");
  });

  it("inflates gzipped request bodies", async () => {
    const main = (await listRefs(bare)).get("refs/heads/main") ?? "";
    const pkt = (line: string) => `${(line.length + 4).toString(16).padStart(4, "0")}${line}`;
    const body = gzipSync(`${pkt(`want ${main}\n`)}0000${pkt("done\n")}`);
    const response = await fetch(`${repoUrl()}/git-upload-pack`, {
      method: "POST",
      headers: {
        "content-type": "application/x-git-upload-pack-request",
        "content-encoding": "gzip",
      },
      body,
    });
    expect(response.status).toBe(200);
    const pack = Buffer.from(await response.arrayBuffer());
    expect(pack.subarray(0, 8).toString()).toBe("0008NAK\n");
    expect(pack.includes("PACK")).toBe(true);
  });

  it("fetches with a long negotiation, which git sends gzipped", async () => {
    const ann = await clone("ann");
    // Newer than anything the server has, so negotiation walks them all before it meets a common commit.
    const future = Math.floor(Date.now() / 1000) + 3600;
    for (let i = 0; i < 60; i++) {
      await runGit(["commit", "--quiet", "--allow-empty", "-m", `local ${i}`], {
        cwd: ann,
        env: { ...LOCAL_PERSON, GIT_COMMITTER_DATE: `${future + i} +0000` },
      });
    }
    await commitFiles(bare, {
      branch: "main",
      files: { "remote.txt": "r\n" },
      message: "remote",
      author: { name: "Sandbox", email: "sandbox@example.com" },
    });
    await git(ann, "fetch", "--quiet", "origin");
    expect(await git(ann, "show", "origin/main:remote.txt")).toBe("r");
    expect(served.some((s) => s.headers["content-encoding"] === "gzip")).toBe(true);
  });

  it("streams a push of several megabytes", async () => {
    const ann = await clone("ann", ...WITH_AUTH);
    const data = randomBytes(6 * 1024 * 1024);
    const sha = await commitIn(ann, "blob.bin", data);
    await git(ann, ...WITH_AUTH, "push", "--quiet", "origin", "main");
    expect((await listRefs(bare)).get("refs/heads/main")).toBe(sha);
    const stored = await readBlob(bare, "main", "blob.bin");
    expect(stored?.length).toBe(data.length);
    expect(stored?.equals(data)).toBe(true);
    // Larger than http.postBuffer: git sent the pack chunked, without a Content-Length.
    const pack = served.find(
      (s) => s.url.endsWith("/git-receive-pack") && s.headers["content-length"] === undefined,
    );
    expect(pack?.headers["transfer-encoding"]).toBe("chunked");

    const bob = await clone("bob");
    expect(await git(bob, "rev-parse", "HEAD")).toBe(sha);
  });

  it("answers 500 with one line when git cannot be started", async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(root, "no-git-here");
    try {
      const response = await fetch(`${repoUrl()}/info/refs?service=git-upload-pack`);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe("git http-backend failed\n");
    } finally {
      process.env.PATH = saved;
    }
    const error = await served[0]?.outcome;
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).message).toMatch(/ENOENT/);
  });

  it("kills git and cuts the response when a request runs over its time", async () => {
    serveOptions = { timeoutMs: 500 };
    const { request, response } = stalledPush();
    await until(async () => (await processesIn(bare)).length > 0);
    // http-backend sends its headers before reading the body, so the answer can only be cut.
    expect(await response).toBeInstanceOf(Error);
    const error = await served[0]?.outcome;
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).timedOut).toBe(true);
    await until(async () => (await processesIn(bare)).length === 0);
    request.destroy();
  });

  it("kills git when the client goes away", async () => {
    const { request } = stalledPush();
    await until(async () => (await processesIn(bare)).length > 0);
    request.destroy();
    expect(await served[0]?.outcome).toBe("ok");
    await until(async () => (await processesIn(bare)).length === 0);
  });

  it("stops when the caller's signal aborts", async () => {
    const controller = new AbortController();
    serveOptions = { signal: controller.signal };
    const { request, response } = stalledPush();
    await until(async () => (await processesIn(bare)).length > 0);
    controller.abort();
    expect(await response).toBeInstanceOf(Error);
    const error = await served[0]?.outcome;
    expect((error as GitError).isCanceled).toBe(true);
    await until(async () => (await processesIn(bare)).length === 0);
    request.destroy();
  });
});
