import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DroverEvent } from "../../../src/db/events.ts";
import { upsertRepository } from "../../../src/db/repositories.ts";
import { startSandbox, type Sandbox } from "../../../src/sandbox/server.ts";
import { OCTO_REPO, type TestRepo } from "../../helpers/payloads.ts";
import { taskTrigger, triggerShownTask } from "../../helpers/tasks.ts";
import { useWeb } from "../../helpers/web.ts";

/**
 * Signing in with GitHub end to end: Drover's web sends the browser to the sandbox (GitHub's stand-in),
 * which approves at once and sends it back; Drover reads who it is and what it can read through the
 * app, and the events API then shows that person those repositories' events and no others.
 */

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ organization: "octo-org", webhookUrl: null });
});
afterAll(async () => {
  await sandbox?.close();
});

const web = useWeb({ env: () => sandbox.droverEnv() });
const SECRET_REPO: TestRepo = {
  ...OCTO_REPO,
  id: 4343,
  fullName: "octo-org/secret",
  cloneUrl: "https://github.com/octo-org/secret.git",
};

/** A request as a browser sends it, redirects not followed. */
async function browse(path: string, cookie = "", method = "GET") {
  const response = await fetch(path.startsWith("http") ? path : `${web.url()}${path}`, {
    method,
    redirect: "manual",
    headers: cookie ? { cookie } : {},
  });
  return {
    status: response.status,
    location: response.headers.get("location") ?? "",
    cookies: response.headers.getSetCookie(),
    body: await response.text(),
  };
}

/** `name=value` of the Set-Cookie naming `name`, as a browser would send it back. */
function cookieNamed(cookies: string[], name: string): string {
  const found = cookies.find((cookie) => cookie.startsWith(`${name}=`));
  if (!found) throw new Error(`no ${name} cookie in ${JSON.stringify(cookies)}`);
  return found.split(";")[0] ?? "";
}

/** The whole round trip through GitHub: the session cookie and where Drover sent the browser after. */
async function signIn(login: string, next = "") {
  const start = await browse(
    `/drover/auth/login?login=${login}${next ? `&next=${encodeURIComponent(next)}` : ""}`,
  );
  expect(start.status).toBe(302);
  const stateCookie = cookieNamed(start.cookies, "drover_sign_in");
  const atGitHub = await browse(start.location);
  expect(atGitHub.status).toBe(302);
  const back = await browse(atGitHub.location, stateCookie);
  return { ...back, session: back.status === 302 ? cookieNamed(back.cookies, "drover_session") : "" };
}

async function eventsSeen(cookie: string): Promise<{ status: number; events: DroverEvent[]; body: string }> {
  const got = await browse("/drover/api/events?follow=0", cookie);
  const events =
    got.status === 200
      ? got.body
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as DroverEvent)
      : [];
  return { status: got.status, events, body: got.body };
}

describe("signing in with GitHub", () => {
  beforeAll(async () => {
    const org = sandbox.world.account("octo-org");
    if (!org) throw new Error("no organisation");
    const widgets = sandbox.world.addRepo(org, "widgets", {});
    sandbox.world.addRepo(org, "secret", {});
    // Ada is in no team; she was given read access to widgets alone.
    const ada = sandbox.world.addAccount({ login: "ada", type: "User", name: "Ada", permission: "none" });
    sandbox.world.addCollaborator(widgets, ada, "read");

    const db = web.db();
    await upsertRepository(db, OCTO_REPO);
    await upsertRepository(db, SECRET_REPO);
    await triggerShownTask(db, taskTrigger(1));
    await triggerShownTask(db, taskTrigger(2, { repoId: SECRET_REPO.id }));
  });

  it("sends the browser to GitHub's sign-in page with the app's client, a state and the login hint", async () => {
    const start = await browse("/drover/auth/login?login=ada");
    const to = new URL(start.location);
    expect(`${to.origin}${to.pathname}`).toBe(`${sandbox.urls.web}/login/oauth/authorize`);
    expect(to.searchParams.get("client_id")).toBe(sandbox.droverEnv().GITHUB_CLIENT_ID);
    expect(to.searchParams.get("redirect_uri")).toBe(`${web.url()}/drover/auth/callback`);
    expect(to.searchParams.get("login")).toBe("ada");
    const state = to.searchParams.get("state") ?? "";
    expect(state.length).toBeGreaterThanOrEqual(32);
    const cookie = start.cookies.find((c) => c.startsWith("drover_sign_in="));
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).toContain(encodeURIComponent(state));
  });

  it("shows a reader of one repository its events and not another's", async () => {
    const ada = await signIn("ada", "/drover/tasks?repo=octo-org/widgets");
    expect(ada.status).toBe(302);
    expect(ada.location).toBe("/drover/tasks?repo=octo-org/widgets");
    const sessionCookie = ada.cookies.find((c) => c.startsWith("drover_session=")) ?? "";
    expect(sessionCookie).toMatch(/HttpOnly/);
    expect(sessionCookie).toMatch(/Path=\/drover;/);
    expect(sessionCookie).not.toMatch(/Secure/);

    const seen = await eventsSeen(ada.session);
    expect(seen.status).toBe(200);
    expect(seen.events.length).toBeGreaterThan(0);
    expect(new Set(seen.events.map((event) => event.repo))).toEqual(new Set(["octo-org/widgets"]));
    expect((await browse("/drover/api/events?follow=0&repo=octo-org/secret", ada.session)).status).toBe(404);

    // The maintainer reads both.
    const mae = await signIn("maintainer");
    expect(mae.location).toBe("/drover/");
    const all = await eventsSeen(mae.session);
    expect(new Set(all.events.map((event) => event.repo))).toEqual(
      new Set(["octo-org/widgets", "octo-org/secret"]),
    );
  });

  it("signs in a person who can read no repository, who then sees nothing", async () => {
    const outsider = await signIn("outsider");
    expect(outsider.status).toBe(302);
    const seen = await eventsSeen(outsider.session);
    expect(seen.status).toBe(200);
    expect(seen.events).toEqual([]);
  });

  it("answers a request with no session, or an ended one, with how to sign in", async () => {
    const none = await eventsSeen("");
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error).toContain("/drover/auth/login");
    const ada = await signIn("ada");
    expect((await eventsSeen(ada.session)).status).toBe(200);
    const out = await browse("/drover/auth/logout", ada.session, "POST");
    expect(out.status).toBe(303);
    expect(out.cookies.find((c) => c.startsWith("drover_session="))).toContain("Max-Age=0");
    expect((await eventsSeen(ada.session)).status).toBe(401);
    expect((await eventsSeen("drover_session=made-up")).status).toBe(401);
  });

  it("refuses a callback this browser did not start (a forged or replayed state)", async () => {
    const start = await browse("/drover/auth/login?login=ada");
    const atGitHub = await browse(start.location);
    // No state cookie: a link someone else made, to sign this browser in as them.
    const forged = await browse(atGitHub.location);
    expect(forged.status).toBe(400);
    expect(JSON.parse(forged.body).error).toContain("start again at /drover/auth/login");
    expect(forged.cookies.some((c) => c.startsWith("drover_session="))).toBe(false);
    // Another sign-in's state cookie does not fit this callback either.
    const other = await browse("/drover/auth/login?login=ada");
    const wrong = await browse(atGitHub.location, cookieNamed(other.cookies, "drover_sign_in"));
    expect(wrong.status).toBe(400);
    // The right cookie with a code GitHub already exchanged: GitHub refuses, and so does Drover.
    const right = cookieNamed(start.cookies, "drover_sign_in");
    const codeUsedUrl = new URL(atGitHub.location);
    const first = await browse(codeUsedUrl.toString(), right);
    expect(first.status).toBe(302);
    const again = await browse(codeUsedUrl.toString(), right);
    expect(again.status).toBe(502);
    expect(JSON.parse(again.body).error).toContain("bad_verification_code");
  });

  it("never sends the browser off-site after signing in", async () => {
    for (const next of ["https://evil.example/", "//evil.example/x", "/\\evil.example"]) {
      const back = await signIn("ada", next);
      expect(back.status).toBe(302);
      expect(back.location).toBe("/drover/");
    }
  });

  it("never logs the person's GitHub token or session", async () => {
    await signIn("ada");
    const logs = web.logs().join("\n");
    expect(logs).toContain('"msg":"signed in"');
    expect(logs).not.toMatch(/ghu_/);
    expect(logs).not.toMatch(/drover_session=/);
  });
});
