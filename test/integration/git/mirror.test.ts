import { access, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assertMirrorUntouched, ensureMirror, mirrorPath } from "../../../src/git/mirror.ts";
import { GitError } from "../../../src/git/run-git.ts";
import { git, makeGitSandbox, type GitSandbox } from "../../helpers/git-sandbox.ts";

const TOKEN = "ghs_SECRET123";
const REPO = "octo/widgets";

let box: GitSandbox;
beforeEach(async () => {
  box = await makeGitSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

describe("ensureMirror", () => {
  it("creates a bare mirror with origin's branches, then fetches what is new", async () => {
    const mirror = await ensureMirror({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: box.origin,
      base: "main",
      token: TOKEN,
    });
    expect(mirror).toBe(path.join(box.home, "mirrors", "octo", "widgets.git"));
    expect(await git(mirror, "rev-parse", "--is-bare-repository")).toBe("true");
    expect(await git(mirror, "rev-parse", "refs/heads/main")).toBe(
      await git(box.origin, "rev-parse", "main"),
    );
    expect(await git(mirror, "config", "--get", "remote.origin.url")).toBe(box.origin);

    const newer = await box.commitToOrigin("two.txt", "2\n");
    await ensureMirror({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: box.origin,
      base: "main",
      token: TOKEN,
    });
    expect(await git(mirror, "rev-parse", "refs/heads/main")).toBe(newer);
  });

  it("keeps the token out of the mirror's files", async () => {
    const mirror = await ensureMirror({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: box.origin,
      base: "main",
      token: TOKEN,
    });
    const config = await readFile(path.join(mirror, "config"), "utf8");
    expect(config).not.toContain(TOKEN);
    expect(config).not.toMatch(/extraheader|authorization|x-access-token/i);
    await expect(assertMirrorUntouched(mirror)).resolves.toBeUndefined();
  });

  it("serves concurrent callers for the same repository", async () => {
    const opts = { home: box.home, repoFullName: REPO, cloneUrl: box.origin, base: "main" };
    const mirrors = await Promise.all([ensureMirror(opts), ensureMirror(opts), ensureMirror(opts)]);
    expect(new Set(mirrors).size).toBe(1);
    const mirror = mirrors[0] ?? "";
    await git(mirror, "fsck", "--no-progress");
    await assertMirrorUntouched(mirror);
    expect(await git(mirror, "config", "--get-all", "remote.origin.fetch")).toBe(
      "+refs/heads/*:refs/heads/*\n^refs/heads/drover/*",
    );
  });

  it("takes over a lock left by a dead process", async () => {
    const mirror = mirrorPath(box.home, REPO);
    await ensureMirror({ home: box.home, repoFullName: REPO, cloneUrl: box.origin, base: "main" });
    await writeFile(`${mirror}.lock`, "2147483646\n"); // above any real pid
    await expect(
      ensureMirror({ home: box.home, repoFullName: REPO, cloneUrl: box.origin, base: "main" }),
    ).resolves.toBe(mirror);
    await expect(access(`${mirror}.lock`)).rejects.toThrow("ENOENT");
  });

  it("refuses to fetch with the token once the config was changed", async () => {
    const mirror = await ensureMirror({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: box.origin,
      base: "main",
    });
    await git(mirror, "config", "url.https://evil.example/.insteadOf", box.origin);
    await expect(
      ensureMirror({ home: box.home, repoFullName: REPO, cloneUrl: box.origin, base: "main", token: TOKEN }),
    ).rejects.toThrow("mirror config changed since Drover wrote it; refusing to use credentials");
  });

  it("never shows the token in an error", async () => {
    // Port 9 on loopback: nothing listens, so git's HTTP transport fails fast with the header loaded.
    const error: unknown = await ensureMirror({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: "http://127.0.0.1:9/octo/widgets.git",
      base: "main",
      token: TOKEN,
      timeoutMs: 20_000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    const gitError = error as GitError;
    expect(gitError.subcommand).toBe("fetch");
    const text = [
      gitError.message,
      gitError.stderrTail,
      String(gitError.cause),
      JSON.stringify(gitError),
    ].join("\n");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString("base64"));
  });

  it.each(["../etc", "octo/..", "octo", "octo/widgets/x", "octo/wid gets"])(
    "refuses repository name %j",
    async (name) => {
      await expect(
        ensureMirror({ home: box.home, repoFullName: name, cloneUrl: box.origin, base: "main" }),
      ).rejects.toThrow(GitError);
    },
  );

  it("refuses a clone URL with credentials in it, without repeating them", async () => {
    const error: unknown = await ensureMirror({
      home: box.home,
      repoFullName: REPO,
      cloneUrl: "https://x-access-token:ghs_INURL@github.com/octo/widgets.git",
      base: "main",
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as Error).message).toBe("refusing clone URL: it carries credentials");
  });
});
