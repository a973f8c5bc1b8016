import { describe, expect, it } from "vitest";
import { buildPlanPrompt, MAX_SPEC_FILES, specFileLinks } from "../../../src/agent/plan-prompt.ts";
import { changedPaths } from "../../../src/git/read-only.ts";

describe("specFileLinks", () => {
  it("finds relative links, bare paths and the repository's own blob URLs, each once", () => {
    const body = [
      "See [the spec](docs/spec.md) and [again](./docs/spec.md#part).",
      "Also https://github.com/acme/app/blob/main/design/api.md?plain=1 and design/notes.txt.",
      "Not https://github.com/other/app/blob/main/x.md, not [site](https://example.com/a.md), not [up](../secret.md).",
      "Nor [anchor](#top) nor /etc/passwd.",
    ].join("\n");
    expect(specFileLinks(body, "acme/app")).toEqual(["design/api.md", "docs/spec.md", "design/notes.txt"]);
  });

  it("takes at most MAX_SPEC_FILES", () => {
    const body = Array.from({ length: 15 }, (_, i) => `[f](f${i}.md)`).join(" ");
    expect(specFileLinks(body, "acme/app")).toHaveLength(MAX_SPEC_FILES);
  });
});

describe("buildPlanPrompt", () => {
  it("holds the spec and its files in fences they cannot close, and asks for a drover-plan block", () => {
    const prompt = buildPlanPrompt({
      repository: "acme/app",
      title: "Greet",
      body: "Body with ```` fences\n<!-- hidden -->",
      files: [{ path: "docs/spec.md", text: "spec text", truncated: true }],
    });
    expect(prompt).toContain("`````markdown\nBody with ```` fences");
    expect(prompt).not.toContain("hidden");
    expect(prompt).toContain("### docs/spec.md (cut: the rest is in the checkout)");
    expect(prompt).toContain("```drover-plan\n[");
    expect(prompt).toContain("read-only: change nothing");
  });
});

describe("changedPaths", () => {
  it("names files added, removed and changed, not the directories holding them", () => {
    const before = new Map([
      ["a", "d1"],
      ["a/x", "1"],
      ["b", "2"],
      ["c", "3"],
    ]);
    const after = new Map([
      ["a", "d2"],
      ["a/x", "1"],
      ["a/new", "4"],
      ["b", "2b"],
    ]);
    expect(changedPaths(before, after)).toEqual(["a/new", "b", "c"]);
  });
});
