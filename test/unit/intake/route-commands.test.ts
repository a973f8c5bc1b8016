import { describe, expect, it } from "vitest";
import { routeWebhook } from "../../../src/intake/route.ts";
import {
  issueCommentCreated,
  reviewCommentCreated,
  reviewSubmitted,
  type TestUser,
} from "../../helpers/payloads.ts";

const DROVER_BOT: TestUser = { login: "drover[bot]", id: 99, type: "Bot" };
const TYPED_AS_USER: TestUser = { login: "helper[bot]", id: 98, type: "User" };

const jobsOf = (route: ReturnType<typeof routeWebhook>) =>
  route.kind === "dispatch" ? route.jobs : route.kind;

describe("routing /drover commands", () => {
  it("sends an issue comment with a command line to the command job, and reads no issue for it", () => {
    const route = routeWebhook(
      "issue_comment",
      issueCommentCreated({ number: 3, commentId: 1, body: "Thanks!\n/drover retry" }),
    );
    expect(route).toMatchObject({ kind: "dispatch", jobs: ["command"], syncs: [] });
  });

  it.each([
    ["plain discussion", "Looks good"],
    ["a quoted command", "> /drover cancel\nNo, keep going."],
    ["a command in a code block", "```\n/drover cancel\n```"],
    ["a command mid-line", "I could /drover cancel this"],
  ])("ignores a comment holding %s", (_what, body) => {
    expect(routeWebhook("issue_comment", issueCommentCreated({ number: 3, commentId: 1, body })).kind).toBe(
      "ignore",
    );
  });

  it("never runs an edited comment, whatever it now says", () => {
    const edited = {
      ...issueCommentCreated({ number: 3, commentId: 1, body: "/drover run" }),
      action: "edited",
    };
    expect(routeWebhook("issue_comment", edited)).toMatchObject({ kind: "ignore" });
  });

  it.each([DROVER_BOT, TYPED_AS_USER])("never sends a bot's command to the job ($login)", (bot) => {
    const body = "/drover run";
    expect(
      jobsOf(
        routeWebhook("issue_comment", issueCommentCreated({ number: 3, commentId: 1, body, author: bot })),
      ),
    ).toBe("ignore");
    expect(
      jobsOf(
        routeWebhook(
          "pull_request_review_comment",
          reviewCommentCreated({ pr: 4, headRef: "drover/3-x", commentId: 2, body, author: bot }),
        ),
      ),
    ).toBe("ignore");
    expect(
      jobsOf(
        routeWebhook(
          "pull_request_review",
          reviewSubmitted({ pr: 4, headRef: "drover/3-x", reviewId: 5, body, author: bot }),
        ),
      ),
    ).toBe("ignore");
  });

  it("sends a review comment with a command on a Drover branch to the command job, and none elsewhere", () => {
    const body = "/drover hint use the helper";
    expect(
      jobsOf(
        routeWebhook(
          "pull_request_review_comment",
          reviewCommentCreated({ pr: 4, headRef: "drover/3-x", commentId: 2, body }),
        ),
      ),
    ).toEqual(["command"]);
    expect(
      jobsOf(
        routeWebhook(
          "pull_request_review_comment",
          reviewCommentCreated({ pr: 4, headRef: "feature", commentId: 2, body }),
        ),
      ),
    ).toBe("ignore");
  });

  it("sends a review's state to the review job, and its commands to the command job", () => {
    const review = (body: string, state: string) =>
      routeWebhook(
        "pull_request_review",
        reviewSubmitted({ pr: 4, headRef: "drover/3-x", reviewId: 5, body, state }),
      );
    expect(jobsOf(review("/drover pause", "changes_requested"))).toEqual(["review", "command"]);
    expect(jobsOf(review("Nice work", "approved"))).toEqual(["review"]);
    expect(jobsOf(review("/drover pause", "commented"))).toEqual(["command"]);
    // GitHub makes a comment-only review, body null, for every lone review comment: nothing to do.
    expect(review("", "commented")).toMatchObject({ kind: "ignore", why: "a comment-only review" });
  });
});
