import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ensureMirror } from "../../src/git/mirror.ts";
import { runGit } from "../../src/git/run-git.ts";

const PERSON = {
  GIT_AUTHOR_NAME: "Origin Person",
  GIT_AUTHOR_EMAIL: "person@example.com",
  GIT_COMMITTER_NAME: "Origin Person",
  GIT_COMMITTER_EMAIL: "person@example.com",
};

/** Runs git as a person (not Drover) would, with an identity. */
export function git(cwd: string, ...args: string[]): Promise<string> {
  return runGit(args, { cwd, env: PERSON });
}

export interface GitSandbox {
  root: string;
  /** DROVER_HOME. */
  home: string;
  /** The "GitHub" repository: a bare repo with `main`; used as a plain-path clone URL. */
  origin: string;
  /** Commits a file on origin's `main` (through a scratch clone) and returns the new sha. */
  commitToOrigin(file: string, content: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeGitSandbox(): Promise<GitSandbox> {
  const root = await mkdtemp(path.join(os.tmpdir(), "drover-git-"));
  const home = path.join(root, "home");
  const origin = path.join(root, "origin.git");
  const seed = path.join(root, "seed");
  await git(root, "init", "--quiet", "--bare", "--initial-branch=main", origin);
  await git(root, "init", "--quiet", "--initial-branch=main", seed);

  const commitToOrigin = async (file: string, content: string): Promise<string> => {
    await writeFile(path.join(seed, file), content);
    await git(seed, "add", "--all");
    await git(seed, "commit", "--quiet", "-m", `change ${file}`);
    await git(seed, "push", "--quiet", origin, "HEAD:refs/heads/main");
    return git(seed, "rev-parse", "HEAD");
  };
  await commitToOrigin("README.md", "hello\n");

  return { root, home, origin, commitToOrigin, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface MirrorSandbox {
  box: GitSandbox;
  /** Drover's mirror of `octo/widgets`, cloned from the sandbox's origin. */
  mirror: string;
  /** Where the worktree of task 12's first attempt goes (not made). */
  worktree: string;
}

/** A sandbox whose origin Drover has mirrored (as `octo/widgets`, fetched with `token`). */
export async function makeMirrorSandbox(token: string): Promise<MirrorSandbox> {
  const box = await makeGitSandbox();
  const mirror = await ensureMirror({
    home: box.home,
    repoFullName: "octo/widgets",
    cloneUrl: box.origin,
    base: "main",
    token,
  });
  return { box, mirror, worktree: path.join(box.home, "worktrees", "octo", "widgets", "12-a1") };
}
