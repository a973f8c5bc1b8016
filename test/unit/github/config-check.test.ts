import { describe, expect, it } from "vitest";
import { checkConfigText } from "../../../src/github/config-check.ts";

describe("checkConfigText (drover config check)", () => {
  it("says a valid file is valid, and what Drover would do with it", () => {
    expect(
      checkConfigText("agent: [claude, codex]\nmax_workers: 3\nchecks: [npm test, npm run lint]\n", "x.yml"),
    ).toEqual({
      ok: true,
      output:
        "`x.yml` is valid: tasks are issues labelled `drover`, run by claude, codex, 3 at a time, 2 checks after each.\n",
    });
    expect(checkConfigText("", "empty.yml").ok).toBe(true);
  });

  it("refuses a bad file with the messages the app posts on the issue", () => {
    const checked = checkConfigText("agnet: claude\nmax_workers: 0\n", ".github/drover.yml");
    expect(checked.ok).toBe(false);
    expect(checked.output).toContain("Drover did not start: `.github/drover.yml` is not valid.");
    expect(checked.output).toContain('- `agnet` (got `"claude"`): is not a drover.yml key');
    expect(checked.output).toContain("- `max_workers` (got `0`):");
  });

  it("refuses text that is not YAML, or not a mapping, naming the file", () => {
    expect(checkConfigText("a: [\n", "broken.yml")).toMatchObject({
      ok: false,
      output: expect.stringContaining("- `(file)`: is not valid YAML: "),
    });
    expect(checkConfigText("- just\n- a list\n", "list.yml").output).toContain(
      "must be a mapping of keys to values",
    );
  });

  it("checks a file's own keys beside `_extends`, saying the organisation's are not followed here", () => {
    const valid = checkConfigText("_extends: .github\nagent: codex\n", "x.yml");
    expect(valid.ok).toBe(true);
    expect(valid.output).toContain("`_extends: .github` is followed by the app on GitHub, not here");
    const invalid = checkConfigText(
      "_extends: .github\nnotify: [{url: 'http://example.com/hook'}]\n",
      "x.yml",
    );
    expect(invalid.ok).toBe(false);
    expect(invalid.output).toContain("`notify.0.url`");
  });
});
