import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiToken, createSession } from "../../../src/db/access.ts";
import { addEdge, upsertIssue } from "../../../src/db/graph-rows.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { events, notifyDeliveries } from "../../../src/db/schema.ts";
import { triggerTask } from "../../../src/db/tasks.ts";
import { OCTO_REPO } from "../../helpers/payloads.ts";
import { taskTrigger } from "../../helpers/tasks.ts";
import { useWeb } from "../../helpers/web.ts";

const HOSTILE = `<script>alert("owned")</script>`;
const REPO = OCTO_REPO.fullName;
const KEY = (n: number) => `${REPO}#${n}`;

/** The dashboard over HTTP (startWeb on a fresh database), as a browser or a script reaches it. */
describe("dashboard (over HTTP)", () => {
  const web = useWeb();
  const tokens: Record<"other" | "reader" | "writer", string> = { other: "", reader: "", writer: "" };
  let session = "";

  beforeAll(async () => {
    const db = web.db();
    await upsertRepository(db, OCTO_REPO);
    for (const number of [1, 2]) {
      await upsertIssue(db, {
        key: KEY(number),
        installationId: OCTO_REPO.installationId,
        repoFullName: REPO,
        number,
        title: number === 2 ? HOSTILE : "Task 1",
      });
      await triggerTask(db, taskTrigger(number, { title: number === 2 ? HOSTILE : "Task 1" }));
    }
    await addEdge(db, KEY(2), "native", KEY(1));
    tokens.other = (
      await createApiToken(db, { name: "other", repos: ["someone/else"], canWrite: true })
    ).token;
    tokens.reader = (await createApiToken(db, { name: "reader", repos: [REPO], canWrite: false })).token;
    tokens.writer = (await createApiToken(db, { name: "ops", repos: [REPO], canWrite: true })).token;
    session = await createSession(db, { login: "mona", userId: 101, repos: [REPO] }, 60_000);
    // An outgoing webhook that keeps failing for one of this repository's events.
    const [event] = await db.select().from(events).where(eq(events.repo, REPO)).limit(1);
    await db.insert(notifyDeliveries).values({
      targetKey: "k1",
      target: "hooks.example/team",
      format: "slack",
      eventSeq: event!.seq!,
      repo: REPO,
      state: "failed",
      tries: 8,
      lastStatus: 500,
    });
  });

  const get = (path: string, token?: string) =>
    fetch(`${web.url()}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const post = (path: string, form: Record<string, string>, headers: Record<string, string>) =>
    fetch(`${web.url()}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(form).toString(),
    });
  const taskPath = (n: number) => `/drover/tasks/${REPO}/${n}`;

  it("asks someone it does not know to sign in, and shows them nothing", async () => {
    for (const path of ["/drover/", `/drover/repos/${REPO}`, taskPath(2)]) {
      const answer = await get(path);
      expect(answer.status).toBe(401);
      const html = await answer.text();
      expect(html).toContain(`/drover/auth/login?next=${encodeURIComponent(path)}`);
      expect(html).not.toContain("Task 1");
    }
    expect((await post(`${taskPath(1)}/control`, { control: "pause" }, {})).status).toBe(401);
  });

  it("shows a viewer only the repositories they may read", async () => {
    const overview = await (await get("/drover/", tokens.other)).text();
    expect(overview).not.toContain(REPO);
    expect(overview).not.toContain("hooks.example/team");
    for (const path of [
      `/drover/repos/${REPO}`,
      taskPath(1),
      "/drover/repos/%E0%A4%A/x",
      "/drover/tasks/a%2Fb/c/1",
    ]) {
      const answer = await get(path, tokens.other);
      expect(answer.status).toBe(404);
      expect(await answer.text()).toContain("no such task or repository, or you cannot read it");
    }
  });

  it("shows a reader their repository's queue and its failing outgoing webhooks", async () => {
    const html = await (await get("/drover/", tokens.reader)).text();
    expect(html).toContain(`<tr data-repo="${REPO}">`);
    expect(html).toMatch(
      /<td>hooks\.example\/team<\/td><td>failed<\/td><td><code>HTTP 500<\/code><\/td><td class="num">1<\/td>/,
    );
  });

  it("draws the repository's graph with its tasks, escaped, and the blocked-by edge", async () => {
    const answer = await get(`/drover/repos/${REPO}`, tokens.reader);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await answer.text();
    expect(html).toContain(`data-key="${KEY(1)}"`);
    expect(html).toContain(`data-from="${KEY(1)}" data-to="${KEY(2)}"`);
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain("&lt;script&gt;");
    const states = await (await get(`/drover/repos/${REPO}?fragment=states`, tokens.reader)).json();
    expect(states).toEqual({ [KEY(1)]: "ready", [KEY(2)]: "ready" });
  });

  it("gives a read-only viewer the task without controls, and refuses their control", async () => {
    const html = await (await get(taskPath(2), tokens.reader)).text();
    expect(html).toContain("&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;");
    expect(html).not.toContain("data-control=");
    expect(html).toContain("was issued read-only");
    const refused = await post(
      `${taskPath(2)}/control`,
      { control: "pause" },
      { authorization: `Bearer ${tokens.reader}` },
    );
    expect(refused.status).toBe(403);
    expect(web.queued().filter((job) => job.name === "control")).toHaveLength(0);
  });

  it("refuses a control posted from another site or without the session's form token", async () => {
    const cookie = `drover_session=${session}`;
    const crossSite = await post(
      `${taskPath(1)}/control`,
      { control: "pause", csrf: "anything" },
      { cookie, "sec-fetch-site": "cross-site", origin: "https://evil.example" },
    );
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain("came from another site");
    const noToken = await post(`${taskPath(1)}/control`, { control: "pause" }, { cookie });
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain("reload the page");
    expect(web.queued().filter((job) => job.name === "control")).toHaveLength(0);
  });

  it("says what was wrong with a control it cannot send", async () => {
    const writer = { authorization: `Bearer ${tokens.writer}` };
    const unknown = await post(`${taskPath(1)}/control`, { control: "delete" }, writer);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain("is not one of retry, hint, pause, resume, cancel, resolve");
    const emptyHint = await post(`${taskPath(1)}/control`, { control: "hint", text: " " }, writer);
    expect(emptyHint.status).toBe(400);
    expect(await emptyHint.text()).toContain("A hint needs text");
  });

  it("gives a writer the controls the task's state takes, and queues theirs as the command", async () => {
    const html = await (await get(taskPath(1), tokens.writer)).text();
    expect(html).toContain('data-control="pause"');
    expect(html).not.toContain('data-control="resume"');
    const answer = await post(
      `${taskPath(1)}/control`,
      { control: "hint", text: "look at the cache" },
      { authorization: `Bearer ${tokens.writer}` },
    );
    // No worker here: the page it sends back to says the control is queued.
    expect(answer.status).toBe(303);
    const location = answer.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^${taskPath(1)}\\?control=dashboard-`));
    expect(
      web
        .queued()
        .filter((job) => job.name === "control")
        .map((job) => job.payload),
    ).toEqual([
      {
        controlId: location.split("control=")[1],
        repoFullName: REPO,
        number: 1,
        command: "/drover hint look at the cache",
        author: { login: "token:ops", id: 0 },
        via: "token",
      },
    ]);
    const after = await (await get(location, tokens.writer)).text();
    expect(after).toContain("Your control is queued");
  }, 20_000);
});
