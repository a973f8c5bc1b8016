import { describe, expect, it } from "vitest";
import { checkReply, type Reply } from "../../helpers/github.ts";
import { commentReply, issueReply, labelsReply } from "../../helpers/github-replies.ts";
import { AUTHOR } from "../../helpers/payloads.ts";

const COMMENTS = "/repos/octo-org/widgets/issues/7/comments";

function reply(fields: Partial<Reply>): Reply {
  return {
    method: "GET",
    path: "/repos/octo-org/widgets/issues/7",
    status: 200,
    body: undefined,
    headers: undefined,
    conditional: false,
    requestBody: undefined,
    ...fields,
  };
}

/** What useGitHubMock holds each nock reply to: GitHub's REST description, as for the sandbox. */
describe("checkReply", () => {
  it("accepts the whole objects the reply builders make", () => {
    expect(() => checkReply(reply({ body: issueReply({ number: 7, author: AUTHOR }) }))).not.toThrow();
    const comment = commentReply({ id: 1, body: "hi", issue: 7, by: AUTHOR });
    expect(() =>
      checkReply(
        reply({ method: "POST", path: COMMENTS, status: 201, body: comment, requestBody: { body: "hi" } }),
      ),
    ).not.toThrow();
    const labels = reply({ path: "/repos/octo-org/widgets/issues/7/labels", body: labelsReply(["drover"]) });
    expect(() => checkReply(labels)).not.toThrow();
  });

  it("fails a partial body, naming the request, the operation and each problem", () => {
    const partial = reply({
      method: "POST",
      path: COMMENTS,
      status: 201,
      body: { id: 1 },
      requestBody: { body: "hi" },
    });
    expect(() => checkReply(partial)).toThrow(
      /issues\/create-comment[\s\S]*required property 'node_id'[\s\S]*POST \/repos\/octo-org\/widgets\/issues\/7\/comments/,
    );
  });

  it("fails a request body GitHub would refuse", () => {
    const comment = commentReply({ id: 1, body: "hi", issue: 7, by: AUTHOR });
    const sent = reply({
      method: "POST",
      path: COMMENTS,
      status: 201,
      body: comment,
      requestBody: { body: 5 },
    });
    expect(() => checkReply(sent)).toThrow(/request body does not match GitHub's schema[\s\S]*\/body/);
  });

  it("takes errors any operation may answer when they carry a message, and 304 for a conditional GET", () => {
    expect(() => checkReply(reply({ status: 502, body: { message: "Server Error" } }))).not.toThrow();
    expect(() => checkReply(reply({ status: 502, body: "Bad gateway" }))).toThrow(/"message"/);
    expect(() => checkReply(reply({ status: 304, conditional: true }))).not.toThrow();
    const labels = "/repos/octo-org/widgets/issues/7/labels";
    expect(() => checkReply(reply({ path: labels, status: 304 }))).toThrow(/no 304 response/);
  });

  it("checks only the status of a reply that is not JSON", () => {
    const raw = { "content-type": "application/vnd.github.raw; charset=utf-8" };
    const path = "/repos/octo-org/widgets/contents/.github%2Fdrover.yml";
    expect(() => checkReply(reply({ path, body: "agent: command", headers: raw }))).not.toThrow();
  });
});
