import type { JobDeps } from "../../../jobs/deps.ts";
import * as shapes from "../../../src/sandbox/shapes.ts";
import type { useGitHubMock } from "../../helpers/github.ts";
import { commentReply, TEST_BOT } from "../../helpers/github-replies.ts";
import { BOT, REPO_PATH, mockIssueState, recorder, type Sent } from "../../helpers/github-flows.ts";

/** GitHub as the command job talks to it: reactions, replies, the status comment and the labels. */

const URLS = { web: "https://github.com", api: "https://api.github.com" };
const BOT_ACCOUNT = {
  id: BOT.id,
  login: BOT.login,
  type: "Bot" as const,
  name: null,
  token: null,
  permission: "none" as const,
};

export type Conversation = {
  /** Reactions made, in order: on which comment, and what. */
  reactions: { on: string; content: string }[];
  /** Replies posted (not the status comment, which is edited). */
  replies: { issue: number; body: string }[];
  /** Status comment edits and labels added and removed. */
  status: Sent;
  /** The issue's labels as they end up. */
  labels: Set<string>;
};

/**
 * Any number of reactions on any comment, replies on `replyOn` (the issue, or the pull request), and the
 * status comment `statusCommentId` and labels of `issue`, all recorded; each call may happen or not (the
 * tests assert on what was recorded).
 */
export function mockConversation(
  github: ReturnType<typeof useGitHubMock>,
  input: { issue: number; statusCommentId: number; labels?: string[]; replyOn?: number },
): Conversation {
  const scope = github.optional();
  const talk: Conversation = {
    reactions: [],
    replies: [],
    status: recorder(),
    labels: new Set(),
  };
  let nextId = 1;
  const reaction = (on: string) => (_uri: string, body: unknown) => {
    const content = (body as { content: string }).content;
    talk.reactions.push({ on, content });
    return shapes.reaction(URLS, {
      id: nextId++,
      user: BOT_ACCOUNT,
      content,
      createdAt: "2026-12-01T00:00:00Z",
    });
  };
  scope
    .post((uri) => /\/issues\/comments\/\d+\/reactions$/.test(uri))
    .reply(201, (uri, body) => reaction(`comment:${/comments\/(\d+)/.exec(uri)?.[1]}`)(uri, body));
  scope
    .post((uri) => /\/pulls\/comments\/\d+\/reactions$/.test(uri))
    .reply(201, (uri, body) => reaction(`review-comment:${/comments\/(\d+)/.exec(uri)?.[1]}`)(uri, body));
  const replyOn = input.replyOn ?? input.issue;
  scope.post(`${REPO_PATH}/issues/${replyOn}/comments`).reply(201, (_uri, body) => {
    const text = (body as { body: string }).body;
    talk.replies.push({ issue: replyOn, body: text });
    return commentReply({ id: 80_000 + talk.replies.length, issue: replyOn, by: TEST_BOT, body: text });
  });
  talk.labels = mockIssueState(scope, talk.status, {
    issue: input.issue,
    commentId: input.statusCommentId,
    labels: input.labels ?? ["drover"],
  });
  return talk;
}

/** The reactions' contents, in order. */
export function reactionsOf(talk: Conversation): string[] {
  return talk.reactions.map((r) => r.content);
}

/** `deps` with the queue replaced by a list: what a job run directly asked for, and nothing run. */
export function recordingQueue(deps: JobDeps): { deps: JobDeps; enqueued: string[] } {
  const enqueued: string[] = [];
  return {
    deps: {
      ...deps,
      enqueue: async (name) => {
        enqueued.push(name);
        return undefined as never;
      },
    },
    enqueued,
  };
}
