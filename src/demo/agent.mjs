#!/usr/bin/env node
// The demo's scripted agent: reads Drover's prompt on stdin, writes every ```lang file=PATH block the
// issue carries into the worktree (its working directory), and reports a verdict the way a real agent
// is asked to. No network, no model: the demo shows Drover's loop, not an agent's skill.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";

const say = (line) => process.stdout.write(`${line}\n`);

const DELAY_MS = 800; // long enough to watch a task run

let prompt = "";
for await (const chunk of process.stdin) prompt += chunk;

const issue = /<issue>([\s\S]*?)<\/issue>/.exec(prompt)?.[1] ?? "";
const title = /^Title: (.*)$/m.exec(issue)?.[1] ?? "the task";
// The demo shows a retry: an issue that says so fails its first try (runs are counted in argv[2]).
const [stateDir] = process.argv.slice(2);
const number = /^## Your task: issue #(\d+)/m.exec(prompt)?.[1];
if (stateDir && number && /fails on its first try/.test(issue)) {
  const marker = path.join(stateDir, `tried-${number}`);
  if (!existsSync(marker)) {
    writeFileSync(marker, "1\n");
    say(`First try at issue #${number}: failing on purpose, to show Drover retrying.`);
    process.exit(1);
  }
}
const blocks = [...issue.matchAll(/```[\w-]* file=(\S+)\n([\s\S]*?)\n```/g)];
const written = [];
for (const [, file, content] of blocks) {
  const target = path.resolve(file);
  if (!target.startsWith(process.cwd() + path.sep)) {
    say(`refusing to write outside the worktree: ${file}`);
    continue;
  }
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, `${content}\n`);
  written.push(file);
}
await sleep(DELAY_MS);

const verdict =
  written.length > 0
    ? { status: "pass", summary: `Wrote ${written.join(", ")} for "${title}".` }
    : {
        status: "blocked",
        summary: `The issue "${title}" has no file=PATH code block to write.`,
        blocker: "Add the code to the issue in a ```js file=path block, then /drover retry.",
      };
say(`Working on ${title}.`);
for (const file of written) say(`wrote ${file}`);
say("\n```drover-verdict\n" + JSON.stringify(verdict) + "\n```");
