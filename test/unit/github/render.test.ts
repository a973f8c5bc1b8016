import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fence } from "../../../src/lib/markdown.ts";
import {
  renderCheckSummary,
  renderPullRequestBody,
  renderRefusal,
  renderReviewAnswer,
  renderReworkLimit,
  renderStatus,
  renderTimings,
  runFactsOf,
  statusViewOf,
  type StatusView,
} from "../../../src/github/render.ts";

/**
 * Reads back the first fenced code block of `markdown` the way CommonMark does for backtick fences: the
 * opening run's length N, then content up to the first line that is only N or more backticks (up to 3
 * spaces of indent, trailing spaces allowed). Null when the block is never closed.
 */
function readFence(markdown: string): { info: string; content: string } | null {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => /^ {0,3}`{3,}[^`]*$/.test(line));
  if (start < 0) return null;
  const open = /^ {0,3}(`{3,})([^`]*)$/.exec(lines[start]!)!;
  const closing = new RegExp(`^ {0,3}\`{${open[1]!.length},}[ \\t]*$`);
  const end = lines.findIndex((line, i) => i > start && closing.test(line));
  if (end < 0) return null;
  return { info: open[2]!.trim(), content: lines.slice(start + 1, end).join("\n") };
}

const awkward = fc
  .array(
    fc.constantFrom(
      "`",
      "``",
      "```",
      "````",
      "`````````",
      "\n",
      "\n```\n",
      "~~~",
      "   ",
      "a",
      "é",
      "|",
      "<details>",
    ),
    {
      maxLength: 40,
    },
  )
  .map((parts) => parts.join(""));

describe("fence", () => {
  it("cannot be closed early by the content, however many backticks it holds", () => {
    fc.assert(
      fc.property(fc.oneof(awkward, fc.string({ unit: "grapheme" })), (text) => {
        const text1 = text.replaceAll("\r", "");
        const read = readFence(fence(text1));
        expect(read).toEqual({ info: "text", content: text1.replace(/\n+$/, "") });
      }),
      { numRuns: 500 },
    );
  });

  it("uses a longer fence than the longest backtick run", () => {
    expect(fence("a ``````` b", "diff")).toBe("````````diff\na ``````` b\n````````");
    expect(fence("plain")).toBe("```text\nplain\n```");
  });
});

const BASE: StatusView = {
  state: "review",
  branch: "drover/12-add-a-changelog",
  startedBy: "mona",
  attempt: 2,
};

describe("renderStatus", () => {
  it("shows the state, pull request, duration and who started it", () => {
    const text = renderStatus({
      ...BASE,
      agent: "claude",
      pullRequest: { number: 31, url: "https://github.com/octo-org/widgets/pull/31" },
      durationMs: 65_000,
      summary: "Added CHANGELOG.md",
    });
    expect(text.split("\n")[0]).toBe("### Drover: ✅ Pull request ready for review");
    expect(text).toContain("| State | `review` |");
    expect(text).toContain("| Attempt | 2 |");
    expect(text).toContain("| Pull request | #31 |");
    expect(text).toContain("| Duration | 1m 05s |");
    expect(text).toContain("| Started by | @mona |");
    expect(text).toContain("| Branch | `drover/12-add-a-changelog` |");
    expect(text).toContain("**Summary:** Added CHANGELOG.md");
  });

  it("leaves out rows it has nothing for", () => {
    const text = renderStatus({ ...BASE, state: "queued", attempt: 0, startedBy: null });
    expect(text).toContain("| State | `queued` |");
    expect(text).not.toMatch(/Attempt|Pull request|Duration|Started by|Log tail|null|undefined/);
  });

  it("puts the reason on one line so it cannot break the comment's layout", () => {
    const text = renderStatus({ ...BASE, state: "failed", reason: "checks failed:\n  npm test\n" });
    expect(text).toContain("**Why:** checks failed: npm test");
  });

  it("shows only the last 60 lines of the log, in a fence the log cannot close", () => {
    const log = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join("\n") + "\n````\n\n";
    const text = renderStatus({ ...BASE, state: "failed", logTail: log });
    const tail = readFence(text.slice(text.indexOf("<summary>Log tail</summary>")));
    expect(tail?.content.split("\n")).toEqual([
      ...Array.from({ length: 59 }, (_, i) => `line ${i + 42}`),
      "````",
    ]);
    expect(text).not.toContain("line 41\n");
  });
});

describe("renderRefusal", () => {
  it("tells a bot that bots cannot start Drover", () => {
    const text = renderRefusal({
      login: "dependabot[bot]",
      reason: "bot",
      permission: "write",
      label: "drover",
    });
    expect(text).toContain("@dependabot[bot] is a bot, and bots cannot start Drover.");
    expect(text).toContain("adding the `drover` label");
  });

  it("tells a person which access they have and which they need", () => {
    const text = renderRefusal({ login: "visitor", reason: "permission", permission: "read", label: "ai" });
    expect(text).toContain("@visitor has `read` access to this repository.");
    expect(text).toContain("write, maintain or admin");
    expect(text).toContain("adding the `ai` label");
    expect(text).not.toContain("bot");
  });
});

describe("renderPullRequestBody", () => {
  it("starts with Closes #N so merging closes the issue", () => {
    const body = renderPullRequestBody({
      issueNumber: 12,
      summary: "",
      reason: "pass",
      diffStat: null,
      attempt: 1,
    });
    expect(body.split("\n")[0]).toBe("Closes #12");
    expect(body).toContain("_The agent gave no summary._");
    expect(body).toContain("attempt 1");
  });

  it("fences the diff stat", () => {
    const body = renderPullRequestBody({
      issueNumber: 7,
      summary: "Did it",
      reason: "agent passed\nchecks passed",
      diffStat: " CHANGELOG.md | 3 +++\n",
      attempt: 2,
    });
    expect(body).toContain("**Verdict:** agent passed checks passed");
    expect(readFence(body)?.content).toBe(" CHANGELOG.md | 3 +++");
  });
});

describe("people in the status comment", () => {
  const task = {
    state: "review" as const,
    branch: "drover/12-add-a-changelog",
    modifiedBy: "reviewer",
    attemptCount: 2,
    stateReason: null,
    prNumber: 31,
    completedBy: null,
    createdBy: "hubber",
  };

  it("shows who created the task, who started the attempt and who steered it last", () => {
    const text = renderStatus(statusViewOf(task, { triggeredBy: "mona", ...NO_RUN }));
    expect(text).toContain("| Created by | @hubber |");
    expect(text).toContain("| Started by | @mona |");
    expect(text).toContain("| Last steered by | @reviewer |");
    expect(text).not.toContain("Completed by");
  });

  it("says who completed it", () => {
    const text = renderStatus(
      statusViewOf({ ...task, state: "done", completedBy: "merger" }, { triggeredBy: "reviewer", ...NO_RUN }),
    );
    expect(text).toContain("| Started by | @reviewer |");
    expect(text).toContain("| Last steered by | @reviewer |");
    expect(text).toContain("| Completed by | @merger |");
  });

  it("lists the latest hints (author, kind, first line) and counts the rest", () => {
    const text = renderStatus({
      ...BASE,
      hints: [
        { author: "mona", kind: "hint", body: "\nUse the <b>old</b> API.\nSecond line" },
        { author: "reviewer", kind: "review", body: "Not yet." },
        { author: "reviewer", kind: "review-comment", body: "x".repeat(300) },
      ],
      hintCount: 5,
    });
    expect(text).toContain("**Guidance from people** (5):");
    expect(text).toContain("- @mona (hint): Use the &lt;b>old&lt;/b> API.\n");
    expect(text).toContain("- @reviewer (review): Not yet.");
    expect(text).toContain(`- @reviewer (review comment): ${"x".repeat(119)}…`);
    expect(text).toContain("- and 2 earlier");
    expect(text).not.toContain("Second line");
  });

  it("says which hints reached the running agent as it worked", () => {
    const text = renderStatus({
      ...BASE,
      hints: [
        { author: "mona", kind: "hint", body: "Use tabs.", givenLive: true },
        { author: "hubot", kind: "hint", body: "Keep it short.", givenLive: false },
      ],
    });
    expect(text).toContain("- @mona (hint, given to the running agent): Use tabs.");
    expect(text).toContain("- @hubot (hint): Keep it short.");
  });

  it("shows no guidance section without hints", () => {
    expect(renderStatus({ ...BASE, hints: [], hintCount: 0 })).not.toContain("Guidance");
  });
});

const NO_RUN = {
  summary: null,
  reason: null,
  durationMs: null,
  diffStat: null,
  logTail: null,
};

describe("people in the pull request body", () => {
  it("shows who created it, who steered it and the co-authors", () => {
    const body = renderPullRequestBody({
      issueNumber: 12,
      summary: "Did it",
      reason: "pass",
      diffStat: null,
      attempt: 2,
      people: { createdBy: "hubber", steeredBy: "reviewer", coAuthors: ["hubber", "reviewer"] },
    });
    expect(body).toContain("| Created by | @hubber |");
    expect(body).toContain("| Last steered by | @reviewer |");
    expect(body).toContain("| Co-authors | @hubber, @reviewer |");
    expect(body).not.toContain("Completed by");
    expect(body.split("\n")[0]).toBe("Closes #12");
  });
});

describe("answers to reviews", () => {
  const url = "https://github.com/octo-org/widgets/pull/31#pullrequestreview-5";

  it("says what changed: the summary and the new commits", () => {
    const text = renderReviewAnswer({
      reviewer: "reviewer",
      reviewUrl: url,
      attempt: 3,
      outcome: {
        kind: "pushed",
        summary: "Renamed the file.",
        baseSha: "a".repeat(40),
        headSha: "b".repeat(40),
        diffStat: " CHANGED.md | 1 +\n",
      },
    });
    expect(text).toContain(
      `@reviewer: Drover reworked this pull request for your [review](${url}) (attempt 3)`,
    );
    expect(text).toContain("new commits aaaaaaa..bbbbbbb.");
    expect(text).toContain("Renamed the file.");
    expect(readFence(text)?.content).toBe(" CHANGED.md | 1 +");
  });

  it("says when the rework failed, why, and what the reviewer can do", () => {
    const text = renderReviewAnswer({
      reviewer: "reviewer",
      reviewUrl: url,
      attempt: 3,
      outcome: { kind: "failed", state: "failed", reason: "checks failed:\n npm test" },
    });
    expect(text).toContain("Drover could not rework this pull request");
    expect(text).toContain("**Why:** checks failed: npm test");
    expect(text).toContain("`/drover retry`");
    expect(
      renderReviewAnswer({
        reviewer: "reviewer",
        reviewUrl: url,
        attempt: 3,
        outcome: { kind: "failed", state: "retrying", reason: "timed out" },
      }),
    ).toContain("Drover tries again.");
  });

  it("says Drover stops at max_reworks, and what the reviewer can do", () => {
    const text = renderReworkLimit({ reviewer: "reviewer", reviewUrl: url, maxReworks: 3 });
    expect(text).toContain("reworked this pull request 3 times (`max_reworks` in `.github/drover.yml`)");
    expect(text).toContain("Push the changes to the branch yourself, or comment `/drover retry`");
  });
});

describe("pull requests following their base branch", () => {
  const task = {
    state: "ready" as const,
    branch: "drover/12-add-a-changelog",
    modifiedBy: "mona",
    attemptCount: 1,
    stateReason: "#31 conflicts with `main`",
    prNumber: 31,
    completedBy: null,
  };
  const conflictStart = { from: "branch", cause: "conflict", by: "mona", merge: { branch: "main" } };

  it("says in the headline that an attempt ahead or running resolves conflicts with the base", () => {
    const ready = renderStatus(statusViewOf({ ...task, nextStart: conflictStart }, null));
    expect(ready.split("\n")[0]).toBe(
      "### Drover: 🔀 Conflicts with `main`: waiting for a worker to resolve them",
    );
    const running = renderStatus(
      statusViewOf({ ...task, state: "running", attemptCount: 2 }, { ...NO_RUN, start: conflictStart }),
    );
    expect(running.split("\n")[0]).toBe("### Drover: 🔀 Resolving conflicts with `main`");
    const update = { ...conflictStart, cause: "update" };
    expect(renderStatus(statusViewOf({ ...task, nextStart: update }, null)).split("\n")[0]).toBe(
      "### Drover: 🔄 Behind `main`: waiting for a worker to merge it in",
    );
  });

  it("keeps the state's headline for an attempt that merges nothing, and for the finished attempt's start", () => {
    const rework = { from: "branch", cause: "rework", by: "mona" };
    expect(renderStatus(statusViewOf({ ...task, nextStart: rework }, null)).split("\n")[0]).toBe(
      "### Drover: 🟡 Ready: waiting for a worker",
    );
    // In review, the last attempt's start (a conflict attempt that succeeded) is history, not news.
    const review = renderStatus(
      statusViewOf({ ...task, state: "review" }, { ...NO_RUN, start: conflictStart }),
    );
    expect(review.split("\n")[0]).toBe("### Drover: ✅ Pull request ready for review");
  });

  it("tells a person what to do about a task waiting in conflict", () => {
    const text = renderStatus(statusViewOf({ ...task, state: "conflict" }, NO_RUN));
    expect(text.split("\n")[0]).toBe("### Drover: ⚠️ Conflicts with the base branch: waiting for a person");
    expect(text).toContain("**Why:** #31 conflicts with `main`");
    expect(text).toContain("comment `/drover retry`");
    expect(text).toContain("merge the base branch into `drover/12-add-a-changelog` yourself and push");
  });
});

describe("where an attempt's time went", () => {
  const task = {
    state: "failed" as const,
    branch: "drover/12-add-a-changelog",
    modifiedBy: "mona",
    attemptCount: 1,
    stateReason: null,
    prNumber: null,
    completedBy: null,
  };
  const run = {
    summary: "Tried.",
    reason: "check `npm test` failed (exit 1)",
    durationMs: 252_000,
    diffStat: null,
    logTail: null,
    agent: "claude",
    timings: {
      waitingMs: 2_000,
      worktreeMs: 400,
      setupMs: 31_000,
      agentMs: 252_000,
      checksMs: 48_000,
      pushMs: 1_000,
    },
  };

  it("shows every phase on one line, in the order they happen", () => {
    expect(renderTimings(run.timings)).toBe(
      "waiting 2s · worktree 400ms · setup 31s · agent 4m 12s · checks 48s · push 1s",
    );
  });

  it("shows only the phases the attempt reached, and nothing when none was measured", () => {
    expect(renderTimings({ agentMs: 3_000, waitingMs: 0 })).toBe("waiting 0ms · agent 3s");
    expect(renderTimings({})).toBeNull();
  });

  it("is on the status comment of a finished attempt", () => {
    const text = renderStatus(statusViewOf(task, run));
    expect(text).toContain(
      "**Time:** waiting 2s · worktree 400ms · setup 31s · agent 4m 12s · checks 48s · push 1s",
    );
  });

  it("is on the check run's summary", () => {
    const summary = renderCheckSummary({
      reason: run.reason,
      summary: run.summary,
      durationMs: run.durationMs,
      diffStat: null,
      logTail: null,
      ...runFactsOf({ agent: "claude", timings: { waitingMs: 1_000, agentMs: 60_000, pushMs: 900 } }),
    });
    expect(summary).toContain("**Time:** waiting 1s · agent 1m · push 900ms");
  });

  it("is left out for an attempt recorded before timings were, and while a task runs", () => {
    expect(renderStatus(statusViewOf(task, { ...run, timings: null }))).not.toContain("**Time:**");
    expect(renderStatus(statusViewOf({ ...task, state: "running" }, run))).not.toContain("**Time:**");
  });
});
