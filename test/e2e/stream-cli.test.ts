import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { recordEvent } from "../../src/db/events.ts";
import { upsertRepository } from "../../src/db/repositories.ts";
import { OCTO_REPO, type TestRepo } from "../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../helpers/tasks.ts";
import { useWeb } from "../helpers/web.ts";

const CLI = new URL("../../src/main/cli.ts", import.meta.url).pathname;

/** `drover stream` and `drover token` as an operator runs them, against the database a web serves. */
const web = useWeb();
const SECRET_REPO: TestRepo = {
  ...OCTO_REPO,
  id: 4343,
  fullName: "octo-org/secret",
  cloneUrl: "https://github.com/octo-org/secret.git",
};

function drover(...args: string[]) {
  return execa(process.execPath, ["--import", "tsx", CLI, ...args], {
    reject: false,
    env: { DATABASE_URL: web.databaseUrl() },
  });
}

/** A running `drover stream`: what it printed so far, and a wait for a line. */
function stream(...args: string[]) {
  const child = drover("stream", ...args);
  let out = "";
  let err = "";
  child.stdout?.on("data", (part: Buffer) => (out += part.toString("utf8")));
  child.stderr?.on("data", (part: Buffer) => (err += part.toString("utf8")));
  const until = async (check: () => boolean, what: string, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; printed:\n${out}\n${err}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  return {
    child,
    out: () => out,
    /** Waits until it says it follows live events: anything committed after is shown. */
    following: () => until(() => err.includes("following events"), "the stream to start"),
    line: (text: string) => until(() => out.includes(text), `a line with "${text}"`),
  };
}

let widgetsTask = 0;
let secretTask = 0;
let started = "";

beforeAll(async () => {
  const db = web.db();
  started = new Date(Date.now() - 1000).toISOString();
  await upsertRepository(db, OCTO_REPO);
  await upsertRepository(db, SECRET_REPO);
  const a = await triggerShownTask(db, taskTrigger(1));
  const b = await triggerShownTask(db, taskTrigger(2, { repoId: SECRET_REPO.id }));
  if (a.kind === "applied-before" || b.kind === "applied-before") throw new Error("not triggered");
  widgetsTask = a.task.id;
  secretTask = b.task.id;
  await recordEvent(db, { taskId: widgetsTask, type: "task.failed", data: { reason: "checks failed" } });
  await recordEvent(db, { taskId: secretTask, type: "task.failed", data: { reason: "secret failure" } });
});

describe("drover stream", () => {
  it("shows the history since --since, filtered, then live events, and exits 0 on SIGTERM", async () => {
    const s = stream("--since", started, "--repo", "octo-org/widgets", "--type", "failed,completed");
    await s.following();
    await s.line("checks failed");
    expect(s.out()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}task\.failed +octo-org\/widgets#1 {2}/m);

    // Live: another repository's failure (filtered out), then this one's completion, which proves the
    // other was read and passed over.
    await recordEvent(web.db(), {
      taskId: secretTask,
      type: "task.failed",
      data: { reason: "secret again" },
    });
    await recordEvent(web.db(), { taskId: widgetsTask, type: "task.completed", actor: "mae" });
    await s.line("task.completed");
    expect(s.out()).toMatch(/task\.completed +octo-org\/widgets#1 {2}@mae\n/);
    expect(s.out()).not.toContain("secret");
    expect(s.out()).not.toContain("task.ready");

    const askedAt = Date.now();
    s.child.kill("SIGTERM");
    const result = await s.child;
    expect(result.exitCode).toBe(0);
    expect(Date.now() - askedAt).toBeLessThan(5_000);
  });

  it("without --since shows only what happens from now, as NDJSON with --json, and stops on Ctrl-C", async () => {
    const s = stream("--json", "--type", "task");
    await s.following();
    await recordEvent(web.db(), { taskId: widgetsTask, type: "pr.merged", data: { pr: 5 } });
    await recordEvent(web.db(), { taskId: widgetsTask, type: "task.hinted", data: { hint: "try again" } });
    await s.line("try again");
    const events = s
      .out()
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; repo: string; data: unknown });
    expect(events).toEqual([
      expect.objectContaining({ type: "task.hinted", repo: "octo-org/widgets", data: { hint: "try again" } }),
    ]);
    s.child.kill("SIGINT");
    expect((await s.child).exitCode).toBe(0);
  });

  it("refuses an unknown type naming the known ones, and a story number without --repo", async () => {
    // Each is refused before PostgreSQL is read; run at once, as they are independent.
    const [unknown, story, since] = await Promise.all([
      drover("stream", "--type", "exploded"),
      drover("stream", "--story", "3"),
      drover("stream", "--since", "yesterday"),
    ]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toContain('unknown event type "exploded"');
    expect(unknown.stderr).toContain("task.completed");
    expect(story.exitCode).toBe(1);
    expect(story.stderr).toContain("--story");
    expect(since.exitCode).toBe(1);
    expect(since.stderr).toContain("ISO 8601");
  });
});

describe("drover token", () => {
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const events = (token: string) =>
    fetch(`${web.url()}/drover/api/events?follow=0`, { headers: bearer(token) });

  it("issues a token shown once, which the API honours for its repositories until it is revoked", async () => {
    const created = await drover("token", "create", "--name", "grafana", "--repo", "octo-org/widgets");
    expect(created.exitCode).toBe(0);
    const token = /drv_\S+/.exec(created.stdout)?.[0] ?? "";
    expect(token).not.toBe("");
    expect(created.stdout).toContain("will not be shown again");
    const id = /Token (\d+)/.exec(created.stdout)?.[1] ?? "";

    const seen = await events(token);
    expect(seen.status).toBe(200);
    const body = await seen.text();
    expect(body).toContain("octo-org/widgets");
    expect(body).not.toContain("octo-org/secret");

    const listed = await drover("token", "list");
    expect(listed.stdout).toContain(`grafana  (octo-org/widgets; read only)`);
    expect(listed.stdout).toContain("last used");
    expect(listed.stdout).not.toContain(token);

    const revoked = await drover("token", "revoke", id);
    expect(revoked.exitCode).toBe(0);
    expect((await events(token)).status).toBe(401);
    expect((await drover("token", "list")).stdout).toContain("revoked");
    const again = await drover("token", "revoke", id);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain(`no live token ${id}`);
  });

  it("says what is wrong with a bad command", async () => {
    const [nameless, badRepo, badId, burn] = await Promise.all([
      drover("token", "create"),
      drover("token", "create", "--name", "x", "--repo", "widgets"),
      drover("token", "revoke", "abc"),
      drover("token", "burn"),
    ]);
    expect(nameless.exitCode).toBe(1);
    expect(nameless.stderr).toContain("needs --name");
    expect(badRepo.stderr).toContain("use owner/name");
    expect(badId.stderr).toContain("token's id");
    expect(burn.stderr).toContain('unknown token subcommand "burn"');
  });
});
