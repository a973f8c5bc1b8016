import { describe, expect, it } from "vitest";
import { useDrover } from "../../helpers/drover.ts";
import { agentConfig, mockLabelledRun, recorder } from "../../helpers/github-flows.ts";
import { issueLabeled } from "../../helpers/payloads.ts";

/**
 * A started task is shown as queued only when no worker took it within 10 s (as in production): a worker
 * free at once says "Running" first, and the late announcement finds nothing to change, so the status
 * comment is not made "Queued" only to be edited a moment later (a content write of the installation's
 * 500 an hour saved on most tasks).
 */
describe("a started task shown as queued only when it waits", () => {
  const { harness, repo, github } = useDrover({ queuedShownAfterMs: 10_000 });

  it("posts the status comment as Running when a worker takes the task at once, and never says Queued", async () => {
    const sent = recorder();
    mockLabelledRun(github, sent, {
      issue: { number: 31, title: "Exit three", labels: ["drover"] },
      commentId: 9031,
      config: agentConfig("exit-code.mjs", { args: ["3"] }),
      installationId: repo().installationId,
    });
    await harness().receive("issues", issueLabeled({ repo: repo(), number: 31, title: "Exit three" }));
    // drain() waits out the delayed announcement too: it ran, and wrote nothing.
    await harness().drain();

    const posted = sent.comments.filter((c) => c.how === "post");
    expect(posted).toHaveLength(1);
    expect(posted[0]?.body).toContain("🔵 Running");
    expect(sent.comments.some((c) => c.body.includes("Queued"))).toBe(false);
    // Running, then failed: one edit after the comment was made.
    expect(sent.comments.at(-1)?.body).toContain("❌ Failed");
    expect(sent.comments).toHaveLength(2);
  });
});
