import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { controlCommand } from "../../../src/web/dashboard/control-command.ts";
import { graphSvg } from "../../../src/web/dashboard/graph-svg.ts";
import { h, raw, taskHref } from "../../../src/web/dashboard/html.ts";
import { crossSiteProblem, csrfTokenOf, WriteAccessCache } from "../../../src/web/dashboard/write-access.ts";
import type { Viewer } from "../../../src/web/viewer.ts";

describe("dashboard HTML", () => {
  it("escapes what it is given and keeps what it built", () => {
    const title = `<img src=x onerror="alert(1)">&'`;
    expect(h`<p title="${title}">${title}</p>`.html).toBe(
      '<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;</p>',
    );
    expect(h`<div>${[h`<b>${"a<"}</b>`, raw("<i>ok</i>")]}</div>`.html).toBe(
      "<div><b>a&lt;</b><i>ok</i></div>",
    );
  });

  it("links a task by its repository's path segments", () => {
    expect(taskHref("acme/notes", 12)).toBe("/drover/tasks/acme/notes/12");
  });

  it("draws the graph laid out, with edges from blocker to dependent and stories as groups", () => {
    const node = (number: number, story: string | null = null) => ({
      key: `acme/notes#${number}`,
      repo: "acme/notes",
      number,
      title: number === 2 ? "<script>x</script>" : `Task ${number}`,
      state: "waiting" as const,
      issueState: "open" as const,
      story,
    });
    const svg = graphSvg({
      nodes: [node(1), node(2, "acme/notes#3"), node(3)],
      edges: [{ blocker: "acme/notes#1", dependent: "acme/notes#2" }],
    }).html;
    expect(svg).toContain('<path class="edge" data-from="acme/notes#1" data-to="acme/notes#2"');
    expect(svg).toContain('data-story="acme/notes#3"');
    expect(svg).toContain('href="/drover/tasks/acme/notes/2"');
    expect(svg).not.toContain("<script>");
    // Laid out: the dependent sits below its blocker.
    const y = (n: number) =>
      Number(
        new RegExp(
          `data-key="acme/notes#${n}"[^>]*><title>[^<]*</title><rect x="[\\d.-]+" y="([\\d.-]+)"`,
        ).exec(svg)?.[1],
      );
    expect(y(2)).toBeGreaterThan(y(1));
  });
});

describe("controls", () => {
  it("are written as the /drover command they stand for", () => {
    expect(controlCommand("pause", "")).toEqual({ ok: true, text: "/drover pause" });
    expect(controlCommand("pause", "ignored")).toEqual({ ok: true, text: "/drover pause" });
    expect(controlCommand("hint", "  use the cache\nand the index ")).toEqual({
      ok: true,
      text: "/drover hint use the cache\nand the index",
    });
    expect(controlCommand("cancel", "not needed")).toEqual({ ok: true, text: "/drover cancel not needed" });
  });

  it("refuse a hint without text, or text that would be another command", () => {
    expect(controlCommand("hint", "  ")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("needs text"),
    });
    expect(controlCommand("hint", "first\n/drover cancel")).toMatchObject({
      ok: false,
      problem: expect.stringContaining("/drover"),
    });
  });
});

function request(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe("cross-site requests", () => {
  const cookie = "drover_session=secret-value";
  const token = csrfTokenOf(request({ cookie }))!;

  it("pass from the dashboard's own form with the session's token", () => {
    const same = request({
      cookie,
      host: "drover.example",
      origin: "http://drover.example",
      "sec-fetch-site": "same-origin",
    });
    expect(crossSiteProblem(same, token)).toBeNull();
  });

  it("are refused from another site, without the token, or with another session's token", () => {
    const other = request({
      cookie,
      host: "drover.example",
      origin: "https://evil.example",
      "sec-fetch-site": "cross-site",
    });
    expect(crossSiteProblem(other, token)).toMatch(/another site/);
    const noFetchSite = request({ cookie, host: "drover.example", origin: "https://evil.example" });
    expect(crossSiteProblem(noFetchSite, token)).toMatch(/another site/);
    const same = request({ cookie, host: "drover.example", origin: "http://drover.example" });
    expect(crossSiteProblem(same, undefined)).toMatch(/expired/);
    expect(crossSiteProblem(same, csrfTokenOf(request({ cookie: "drover_session=other" }))!)).toMatch(
      /expired/,
    );
  });

  it("take the public URL's host as ours behind a proxy", () => {
    const proxied = request({ cookie, host: "10.0.0.5:3000", origin: "https://drover.example" });
    expect(crossSiteProblem(proxied, token, "https://drover.example/")).toBeNull();
  });
});

describe("write access", () => {
  const person: Viewer = { login: "mona", kind: "person", repos: undefined, mayWrite: "ask-github" };
  const repo = { fullName: "acme/notes", installationId: 1 };

  function github(permission: string) {
    let asked = 0;
    const octokit = {
      rest: {
        repos: {
          getCollaboratorPermissionLevel: async () => {
            asked += 1;
            return { data: { permission, role_name: permission } };
          },
        },
      },
    };
    return { asked: () => asked, app: { installation: async () => octokit as never } };
  }

  it("asks GitHub for a person, and keeps the answer a few minutes", async () => {
    let now = 0;
    const gh = github("write");
    const cache = new WriteAccessCache(gh.app, 60_000, () => now);
    expect(await cache.check(person, repo)).toEqual({ allowed: true });
    expect(await cache.check(person, repo)).toEqual({ allowed: true });
    expect(gh.asked()).toBe(1);
    now = 61_000;
    await cache.check(person, repo);
    expect(gh.asked()).toBe(2);
  });

  it("says why a reader gets no controls; a token is as it was issued", async () => {
    const cache = new WriteAccessCache(github("read").app);
    expect(await cache.check(person, repo)).toEqual({
      allowed: false,
      why: expect.stringContaining('"read"'),
    });
    const token: Viewer = { login: "token:ci", kind: "token", repos: undefined, mayWrite: false };
    expect(await cache.check(token, repo)).toEqual({
      allowed: false,
      why: expect.stringContaining("read-only"),
    });
    expect(await cache.check({ ...token, mayWrite: true }, repo)).toEqual({ allowed: true });
  });
});
