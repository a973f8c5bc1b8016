import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import { runGit } from "../git/run-git.ts";
import { seeded } from "../lib/random.ts";

/**
 * A bare repository of the given shape, made with `git fast-import` (seconds, where committing file by
 * file would take minutes): `files` files of `bytes / files` bytes each on average in the first commit,
 * then `commits - 1` commits that each rewrite `churn` of them, so there is history to fetch. Contents are
 * pseudo-random text (seeded: the same repository every run), which packs about as badly as source does
 * not: the sizes are an upper bound of what a real repository of that size costs to move.
 */
export type RepoShape = { files: number; bytes: number; commits: number; churn: number; seed: number };

export async function generateRepository(dir: string, shape: RepoShape, extra: Record<string, string> = {}) {
  await mkdir(dir, { recursive: true });
  await runGit(["init", "--quiet", "--bare", "--initial-branch=main", "."], { cwd: dir });
  const random = seeded(shape.seed);
  const importer = spawn("git", ["fast-import", "--quiet", "--date-format=raw"], {
    cwd: dir,
    stdio: ["pipe", "ignore", "inherit"],
  });
  const write = async (chunk: string | Buffer) => {
    if (!importer.stdin.write(chunk)) await once(importer.stdin, "drain");
  };
  const average = Math.max(16, Math.floor(shape.bytes / shape.files));
  const fileText = (size: number) => {
    const words: string[] = [];
    let length = 0;
    while (length < size) {
      const word = Math.floor(random() * 0xffffffff).toString(36);
      words.push(word);
      length += word.length + 1;
    }
    return `${words.join(" ")}\n`;
  };
  const pathOf = (i: number) => `src/m${String(i % 50).padStart(2, "0")}/file${i}.txt`;
  const inline = async (file: string, content: string) => {
    const data = Buffer.from(content);
    await write(`M 100644 inline ${file}\ndata ${data.length}\n`);
    await write(data);
    await write("\n");
  };
  const start = 1_700_000_000;
  for (let commit = 0; commit < shape.commits; commit++) {
    const message = commit === 0 ? "Initial import" : `Change ${commit}`;
    await write(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${start + commit * 60} +0000\n`);
    await write(`data ${Buffer.byteLength(message)}\n${message}\n`);
    if (commit === 0) {
      for (let i = 0; i < shape.files; i++) {
        await inline(pathOf(i), fileText(Math.floor(average * (0.5 + random()))));
      }
      for (const [file, content] of Object.entries(extra)) await inline(file, content);
    } else {
      for (let n = 0; n < shape.churn; n++) {
        const i = Math.floor(random() * shape.files);
        await inline(pathOf(i), fileText(Math.floor(average * (0.5 + random()))));
      }
    }
    await write("\n");
  }
  importer.stdin.end();
  const [code] = (await once(importer, "exit")) as [number | null];
  if (code !== 0) throw new Error(`git fast-import exited with ${code}`);
  await runGit(["gc", "--quiet", "--prune=now"], { cwd: dir, timeoutMs: 10 * 60_000 });
}
