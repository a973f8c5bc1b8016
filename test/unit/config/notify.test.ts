import { describe, expect, it } from "vitest";
import {
  DEFAULT_NOTIFY_EVENTS,
  parseNotifyEnv,
  shownTarget,
  targetKey,
  wantsEvent,
} from "../../../src/config/notify.ts";
import { parseConfig, type ConfigResult } from "../../../src/config/parse.ts";

const problems = (result: ConfigResult) => (result.ok ? [] : result.problems);

describe("drover.yml notify", () => {
  it("reads a target with the default events and format", () => {
    const result = parseConfig({ notify: [{ url: "https://hooks.example.com/drover" }] });
    expect(result.ok && result.config.notify).toEqual([
      { url: "https://hooks.example.com/drover", events: [...DEFAULT_NOTIFY_EVENTS], format: "json" },
    ]);
    expect(DEFAULT_NOTIFY_EVENTS).not.toContain("task.ready");
  });

  it("reads named events, families and a format", () => {
    const result = parseConfig({
      notify: [
        { url: "https://hooks.slack.com/services/T/B/X", events: ["task.failed", "pr"], format: "slack" },
      ],
    });
    expect(result.ok && result.config.notify[0]).toEqual({
      url: "https://hooks.slack.com/services/T/B/X",
      events: ["task.failed", "pr"],
      format: "slack",
    });
  });

  it.each([
    [{ url: "http://hooks.example.com/x" }, "notify.0.url", /must use https .*DROVER_NOTIFY_PRIVATE=allow/],
    [
      { url: "ftp://hooks.example.com/x" },
      "notify.0.url",
      /must be an https url, not ftp; e\.g\. - url: https:/,
    ],
    [
      { url: "https://me:pw@hooks.example.com/x" },
      "notify.0.url",
      /holds credentials .*X-Drover-Signature-256/,
    ],
    [{ url: "hooks.example.com" }, "notify.0.url", /is not a url; e\.g\./],
    [
      { url: "https://hooks.example.com", events: ["task.failed", "task.exploded"] },
      "notify.0.events.1",
      /"task.exploded" is not an event Drover sends; expected one of task, attempt, pr, base, task\.ready, .*task\.failed/,
    ],
    [{ url: "https://hooks.example.com", events: [] }, "notify.0.events", /lists no event/],
    [
      { url: "https://hooks.example.com", format: "teams" },
      "notify.0.format",
      /expected json, slack, discord/,
    ],
    [{ url: "https://hooks.example.com", secret: "x" }, "notify.0", /not a drover.yml key/],
  ])("refuses %j, naming %s and why", (target, key, message) => {
    const [problem, ...rest] = problems(parseConfig({ notify: [target] }));
    expect(rest).toEqual([]);
    expect(problem?.key).toBe(key.endsWith(".0") ? `${key}.secret` : key);
    expect(problem?.message).toMatch(message);
  });

  it("refuses a notify that is not a list", () => {
    expect(problems(parseConfig({ notify: "https://hooks.example.com" }))[0]).toMatchObject({
      key: "notify",
      message: expect.stringMatching(/expected a list of targets, e\.g\./),
    });
  });
});

describe("DROVER_NOTIFY", () => {
  it("reads JSON and YAML", () => {
    expect(parseNotifyEnv('[{"url":"https://a.example/x","format":"discord"}]', false)).toEqual([
      { url: "https://a.example/x", events: [...DEFAULT_NOTIFY_EVENTS], format: "discord" },
    ]);
    expect(parseNotifyEnv("- url: https://a.example/x\n  events: [task]\n", false)).toEqual([
      { url: "https://a.example/x", events: ["task"], format: "json" },
    ]);
    expect(parseNotifyEnv(undefined, false)).toEqual([]);
  });

  it("takes plain http only when private receivers are allowed", () => {
    expect(() => parseNotifyEnv("[{url: 'http://10.0.0.5/hook'}]", false)).toThrow(
      /^DROVER_NOTIFY\.0\.url must use https/,
    );
    expect(parseNotifyEnv("[{url: 'http://10.0.0.5/hook'}]", true)[0]?.url).toBe("http://10.0.0.5/hook");
  });

  it("names what is wrong in one line", () => {
    expect(() => parseNotifyEnv("[{url: https://a.example, events: [task.nope]}]", false)).toThrow(
      /^DROVER_NOTIFY\.0\.events\.0 "task\.nope" is not an event Drover sends/,
    );
    expect(() => parseNotifyEnv("[{url: ", false)).toThrow(/^DROVER_NOTIFY is neither JSON nor YAML: /);
  });
});

describe("targets", () => {
  it("match their types and families only", () => {
    const target = { events: ["task.failed", "pr"] };
    expect(wantsEvent(target, "task.failed")).toBe(true);
    expect(wantsEvent(target, "pr.merged")).toBe(true);
    expect(wantsEvent(target, "task.ready")).toBe(false);
    expect(wantsEvent(target, "pre.release")).toBe(false);
  });

  it("are one target per url and format", () => {
    expect(targetKey({ url: "https://a.example/x", format: "json" })).toBe(
      targetKey({ url: "https://a.example/x", format: "json" }),
    );
    expect(targetKey({ url: "https://a.example/x", format: "json" })).not.toBe(
      targetKey({ url: "https://a.example/x", format: "slack" }),
    );
  });

  it("are shown without the secret part of their path or query", () => {
    expect(shownTarget("https://hooks.slack.com/services/T0/B0/secret")).toBe(
      "https://hooks.slack.com/services/…",
    );
    expect(shownTarget("https://example.com/hook?token=abc")).toBe("https://example.com/hook/…");
    expect(shownTarget("https://example.com/")).toBe("https://example.com");
  });
});
