import http from "node:http";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiToken, createSession, revokeApiToken } from "../../../src/db/access.ts";
import { recordEvent, type DroverEvent } from "../../../src/db/events.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { OCTO_REPO, type TestRepo } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { useWeb } from "../../helpers/web.ts";

const web = useWeb();
const OTHER_REPO: TestRepo = {
  ...OCTO_REPO,
  id: 4343,
  fullName: "octo-org/secret",
  cloneUrl: "https://github.com/octo-org/secret.git",
};

type Got = { status: number; type: string; body: string };

function get(path: string, headers: Record<string, string> = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    http
      .get(`${web.url()}${path}`, { headers }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (part: string) => (body += part));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, type: response.headers["content-type"] ?? "", body }),
        );
      })
      .on("error", reject);
  });
}

const lines = (body: string) =>
  body
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DroverEvent);

/** An open server-sent events stream: its events as they come, until closed. */
function openStream(path: string, headers: Record<string, string>) {
  const events: DroverEvent[] = [];
  let buffer = "";
  const request = http.get(`${web.url()}${path}`, { headers: { accept: "text/event-stream", ...headers } });
  request.on("response", (response) => {
    response.setEncoding("utf8");
    response.on("data", (part: string) => {
      buffer += part;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame.split("\n").find((line) => line.startsWith("data: "));
        const id = frame.split("\n").find((line) => line.startsWith("id: "));
        if (data) {
          const event = JSON.parse(data.slice(6)) as DroverEvent;
          expect(id).toBe(`id: ${event.seq}`);
          events.push(event);
        }
      }
    });
  });
  request.on("error", () => {});
  return { events, close: () => request.destroy() };
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("GET /drover/api/events", () => {
  let widgetsTask = 0;
  let secretTask = 0;
  let operator = "";
  let reader = "";
  let outsiderCookie = "";

  beforeAll(async () => {
    const db = web.db();
    await upsertRepository(db, OCTO_REPO);
    await upsertRepository(db, OTHER_REPO);
    const a = await triggerShownTask(db, taskTrigger(1));
    const b = await triggerShownTask(db, taskTrigger(2, { repoId: OTHER_REPO.id }));
    if (a.kind === "applied-before" || b.kind === "applied-before") throw new Error("not triggered");
    widgetsTask = a.task.id;
    secretTask = b.task.id;
    await recordEvent(db, { taskId: widgetsTask, type: "task.failed", data: { reason: "checks failed" } });
    await recordEvent(db, { taskId: secretTask, type: "task.failed", data: { reason: "secret failure" } });
    operator = (await createApiToken(db, { name: "ops", repos: null, canWrite: false })).token;
    reader = (
      await createApiToken(db, { name: "widgets-reader", repos: [OCTO_REPO.fullName], canWrite: false })
    ).token;
    outsiderCookie = await createSession(db, { login: "outsider", userId: 9, repos: [] }, 60_000);
  });

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("answers nobody without a token or a session, saying how to get one", async () => {
    const got = await get("/drover/api/events?follow=0");
    expect(got.status).toBe(401);
    expect(JSON.parse(got.body).error).toContain("/drover/auth/login");
    expect(JSON.parse(got.body).error).toContain("drover token create");
    expect((await get("/drover/api/events?follow=0", bearer("drv_not-a-token"))).status).toBe(401);
  });

  it("shows each viewer only the repositories they can read", async () => {
    const all = lines((await get("/drover/api/events?follow=0", bearer(operator))).body);
    expect(new Set(all.map((event) => event.repo))).toEqual(new Set(["octo-org/widgets", "octo-org/secret"]));

    const mine = await get("/drover/api/events?follow=0", bearer(reader));
    expect(mine.type).toBe("application/x-ndjson");
    expect(lines(mine.body).map((event) => event.repo)).toEqual(["octo-org/widgets", "octo-org/widgets"]);
    expect(mine.body).not.toContain("secret failure");

    const asked = await get("/drover/api/events?follow=0&repo=octo-org/secret", bearer(reader));
    expect(asked.status).toBe(404);
    expect(JSON.parse(asked.body).error).toBe("no repository octo-org/secret that you can read");

    const outsider = await get("/drover/api/events?follow=0", { cookie: `drover_session=${outsiderCookie}` });
    expect(outsider.status).toBe(200);
    expect(outsider.body).toBe("");
  });

  it("stops answering a token once it is revoked", async () => {
    const issued = await createApiToken(web.db(), { name: "temp", repos: null, canWrite: false });
    expect((await get("/drover/api/events?follow=0", bearer(issued.token))).status).toBe(200);
    await revokeApiToken(web.db(), issued.id);
    expect((await get("/drover/api/events?follow=0", bearer(issued.token))).status).toBe(401);
  });

  it("filters by type, repository, story and time", async () => {
    const failed = lines((await get("/drover/api/events?follow=0&type=failed", bearer(operator))).body);
    expect(failed.map((event) => [event.type, event.repo])).toEqual([
      ["task.failed", "octo-org/widgets"],
      ["task.failed", "octo-org/secret"],
    ]);
    const widgets = lines(
      (await get("/drover/api/events?follow=0&repo=octo-org/widgets&type=task.ready", bearer(operator))).body,
    );
    expect(widgets.map((event) => event.issue)).toEqual([1]);
    const story = lines(
      (await get("/drover/api/events?follow=0&story=octo-org/secret%232", bearer(operator))).body,
    );
    expect(story.every((event) => event.repo === "octo-org/secret" && event.issue === 2)).toBe(true);
    expect(story.length).toBeGreaterThan(0);
    const future = await get("/drover/api/events?follow=0&since=2999-01-01T00:00:00Z", bearer(operator));
    expect(future.body).toBe("");
    const bad = await get("/drover/api/events?type=exploded", bearer(operator));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/^type: unknown event type "exploded"/);
  });

  it("streams live to a browser, and resumes by Last-Event-ID without losing or repeating one", async () => {
    const first = openStream("/drover/api/events?repo=octo-org/widgets", bearer(reader));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await recordEvent(web.db(), { taskId: widgetsTask, type: "pr.approved", data: { n: 1 } });
    await recordEvent(web.db(), { taskId: secretTask, type: "pr.approved", data: { n: 99 } });
    await until(() => first.events.some((event) => event.data.n === 1));
    first.close();
    const lastSeen = first.events.at(-1)?.seq ?? 0;
    expect(first.events.map((event) => event.data.n)).toEqual([1]);

    // While disconnected.
    await recordEvent(web.db(), { taskId: widgetsTask, type: "pr.approved", data: { n: 2 } });
    await recordEvent(web.db(), { taskId: widgetsTask, type: "pr.approved", data: { n: 3 } });

    const second = openStream("/drover/api/events?repo=octo-org/widgets", {
      ...bearer(reader),
      "last-event-id": String(lastSeen),
    });
    await until(() => second.events.length >= 2);
    await recordEvent(web.db(), { taskId: widgetsTask, type: "pr.approved", data: { n: 4 } });
    await until(() => second.events.some((event) => event.data.n === 4));
    second.close();
    expect(second.events.map((event) => event.data.n)).toEqual([2, 3, 4]);
  });
});
