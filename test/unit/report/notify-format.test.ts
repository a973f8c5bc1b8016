import { describe, expect, it } from "vitest";
import type { DroverEvent } from "../../../src/db/events.ts";
import {
  notificationLinks,
  renderNotification,
  withoutPaths,
  type Notification,
} from "../../../src/report/notify-format.ts";

const EVENT: DroverEvent = {
  seq: 42,
  type: "task.failed",
  at: "2026-12-06T06:00:00.000Z",
  repo: "octo/widgets",
  issue: 7,
  story: null,
  attempt: 3,
  actor: null,
  data: { from: "running", to: "failed", reason: "checks failed", pr: 12, installationToken: "ghs_secret" },
};

function notification(fields: Partial<Notification> = {}): Notification {
  return {
    event: EVENT,
    task: { title: "Add a widget", state: "failed" },
    links: notificationLinks(EVENT, null, {
      webUrl: "https://github.com",
      publicUrl: "https://drover.example.com/",
    }),
    ...fields,
  };
}

describe("notificationLinks", () => {
  it("links the issue, the pull request and the dashboard's task page", () => {
    expect(notification().links).toEqual({
      issue: "https://github.com/octo/widgets/issues/7",
      pullRequest: "https://github.com/octo/widgets/pull/12",
      dashboard: "https://drover.example.com/drover/tasks/octo/widgets/7",
    });
  });

  it("uses the Enterprise server's web address, and no dashboard link without DROVER_PUBLIC_URL", () => {
    expect(notificationLinks({ ...EVENT, data: {} }, null, { webUrl: "https://ghe.example.com/" })).toEqual({
      issue: "https://ghe.example.com/octo/widgets/issues/7",
    });
  });
});

describe("renderNotification", () => {
  it("json: the event, the task and its links, with only the data fields chosen to go out", () => {
    const body = JSON.parse(renderNotification("json", notification()));
    expect(body).toEqual({
      type: "task.failed",
      seq: 42,
      at: "2026-12-06T06:00:00.000Z",
      repo: "octo/widgets",
      issue: 7,
      story: null,
      attempt: 3,
      actor: null,
      data: { from: "running", to: "failed", reason: "checks failed", pr: 12 },
      task: { title: "Add a widget", state: "failed" },
      links: {
        issue: "https://github.com/octo/widgets/issues/7",
        pull_request: "https://github.com/octo/widgets/pull/12",
        dashboard: "https://drover.example.com/drover/tasks/octo/widgets/7",
      },
    });
  });

  it("slack: text and one mrkdwn section, a title unable to open a link or mention", () => {
    const body = JSON.parse(
      renderNotification(
        "slack",
        notification({ task: { title: "Fix <!channel> & <x|y>", state: "failed" } }),
      ),
    );
    expect(Object.keys(body).sort()).toEqual(["blocks", "text"]);
    expect(body.text).toBe("Fix <!channel> & <x|y> (octo/widgets#7) failed.");
    expect(body.blocks).toHaveLength(1);
    expect(body.blocks[0]).toMatchObject({ type: "section", text: { type: "mrkdwn" } });
    const text: string = body.blocks[0].text.text;
    expect(text).toContain(
      "<https://github.com/octo/widgets/issues/7|Fix &lt;!channel&gt; &amp; &lt;x|y&gt;>",
    );
    expect(text).toContain("> checks failed");
    expect(text).toContain("<https://github.com/octo/widgets/pull/12|Pull request>");
  });

  it("discord: content and an embed within Discord's limits, mentioning nobody", () => {
    const long = "x".repeat(5_000);
    const body = JSON.parse(
      renderNotification(
        "discord",
        notification({
          event: { ...EVENT, data: { reason: long } },
          task: { title: `@everyone ${"t".repeat(3_000)}`, state: "failed" },
        }),
      ),
    );
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.content.length).toBeLessThanOrEqual(2_000);
    expect(body.embeds).toHaveLength(1);
    const [embed] = body.embeds;
    expect(embed.title.length).toBeLessThanOrEqual(256);
    expect(embed.title.endsWith("…")).toBe(true);
    expect(embed.description.length).toBeLessThanOrEqual(4_096);
    expect(embed.title.length + embed.description.length + embed.footer.text.length).toBeLessThanOrEqual(
      6_000,
    );
    expect(embed).toMatchObject({
      url: "https://github.com/octo/widgets/issues/7",
      color: 0xcf222e,
      timestamp: EVENT.at,
      footer: { text: "task.failed" },
    });
  });

  it("an event of no task (base.moved) reads as its repository", () => {
    const event: DroverEvent = { ...EVENT, type: "base.moved", issue: null, data: {} };
    const body = JSON.parse(
      renderNotification("slack", {
        event,
        task: null,
        links: notificationLinks(event, null, { webUrl: "https://github.com" }),
      }),
    );
    expect(body.text).toBe("octo/widgets saw its base branch move.");
  });
});

describe("withoutPaths", () => {
  it("drops server paths and keeps urls and commands", () => {
    expect(withoutPaths("setup failed in /var/lib/drover/runs/7: exit 1")).toBe("setup failed in …: exit 1");
    expect(withoutPaths("see https://github.com/octo/widgets/pull/1")).toBe(
      "see https://github.com/octo/widgets/pull/1",
    );
    expect(withoutPaths("comment /drover retry to try again")).toBe("comment /drover retry to try again");
  });
});
