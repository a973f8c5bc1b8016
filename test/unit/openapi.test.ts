import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import { describe, expect, it } from "vitest";
import {
  assertMatchesOperation,
  assertMatchesRequest,
  assertMatchesWebhook,
  operationId,
} from "../helpers/openapi.ts";
import { issueClosed, issueLabeled, pullRequestClosed } from "../helpers/payloads.ts";

type Json = Record<string, unknown>;

const GET_ISSUE = "/repos/{owner}/{repo}/issues/{issue_number}";

let restDescription: Json | undefined;

/** GitHub's own example for a response, as the REST description links it from the operation. */
function responseExample(method: string, path: string, status: number): Json {
  const file = createRequire(import.meta.url).resolve("@octokit/openapi/generated/api.github.com.json");
  const spec = (restDescription ??= JSON.parse(readFileSync(file, "utf8")) as Json);
  // Components are named without "/", so a plain split walks the "#/components/..." refs used here.
  const at = (ref: string): Json =>
    ref
      .split("/")
      .slice(1)
      .reduce<Json>((node, key) => node[key] as Json, spec);
  const follow = (node: Json): Json => (typeof node.$ref === "string" ? at(node.$ref) : node);
  const responses = (((spec.paths as Json)[path] as Json)[method] as Json).responses as Json;
  const content = (follow(responses[String(status)] as Json).content as Json)["application/json"] as Json;
  // Either the example object is a $ref, or its value is a $ref to an example object.
  const example = follow((content.examples as Json).default as Json);
  const value = example.value as Json;
  return structuredClone(typeof value.$ref === "string" ? at(value.$ref).value : value) as Json;
}

/** The `index`th example of `event`.`action` in @octokit/webhooks-examples. */
function webhookExample(event: string, action: string | undefined, index = 0): Json {
  const group = (examples as unknown as { name: string; examples: Json[] }[]).find((e) => e.name === event);
  const found = group?.examples.filter((e) => e.action === action)[index];
  if (!found) throw new Error(`no ${event}.${action} example #${index}`);
  return structuredClone(found);
}

describe("assertMatchesOperation", () => {
  const issue = () => responseExample("get", GET_ISSUE, 200);

  it("accepts GitHub's own example for GET an issue", () => {
    expect(() =>
      assertMatchesOperation({ method: "GET", path: GET_ISSUE, status: 200, body: issue() }),
    ).not.toThrow();
  });

  it("accepts null where GitHub's schema says nullable, including in an enum", () => {
    const body = { ...issue(), closed_at: null, milestone: null, state_reason: null, body: null };
    expect(() => assertMatchesOperation({ method: "GET", path: GET_ISSUE, status: 200, body })).not.toThrow();
  });

  it("names a missing required field by its JSON pointer", () => {
    const body = issue();
    delete body.title;
    delete (body.user as Json).login;
    expect(() => assertMatchesOperation({ method: "GET", path: GET_ISSUE, status: 200, body })).toThrow(
      [
        "GET /repos/{owner}/{repo}/issues/{issue_number} → 200 (issues/get): response body does not match GitHub's schema (2 problems)",
        "  (root): must have required property 'title'",
        "  /user: must have required property 'login'",
      ].join("\n"),
    );
  });

  it("names a wrong type, a value outside an enum and a malformed date-time", () => {
    const body = {
      ...issue(),
      number: "7",
      state_reason: "done",
      created_at: 1700000000,
      updated_at: "yesterday",
    };
    const check = () => assertMatchesOperation({ method: "GET", path: GET_ISSUE, status: 200, body });
    expect(check).toThrow('/number: must be integer (got string "7")');
    expect(check).toThrow(
      /\/state_reason: must be equal to one of the allowed values: \["completed",.*,null\], got "done"/,
    );
    expect(check).toThrow("/created_at: must be string (got integer 1700000000)");
    expect(check).toThrow('/updated_at: must match format "date-time", got "yesterday"');
  });

  it("lists the first 20 problems and counts the rest", () => {
    const body = Array.from({ length: 25 }, () => ({ ...issue(), id: "x" }));
    const path = "/repos/{owner}/{repo}/issues";
    expect(() => assertMatchesOperation({ method: "GET", path, status: 200, body })).toThrow(
      /\(25 problems\)\n( {2}\/\d+\/id: must be integer \(got string "x"\)\n){20} {2}\.\.\. and 5 more$/,
    );
  });

  it("rejects a status the operation does not describe", () => {
    expect(() =>
      assertMatchesOperation({ method: "GET", path: GET_ISSUE, status: 201, body: issue() }),
    ).toThrow("GitHub's description has no 201 response for this operation (it has 200, 301, 304, 404, 410)");
  });

  it("wants no body where GitHub sends none", () => {
    const path = "/repos/{owner}/{repo}/issues/{issue_number}/labels";
    expect(() =>
      assertMatchesOperation({ method: "DELETE", path, status: 204, body: undefined }),
    ).not.toThrow();
    expect(() => assertMatchesOperation({ method: "DELETE", path, status: 204, body: [] })).toThrow(
      "GitHub sends no body with this response, got array",
    );
  });

  it("checks error responses too", () => {
    const path = "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues";
    const notFound = {
      message: "Not Found",
      documentation_url: "https://docs.github.com/rest",
      status: "404",
    };
    expect(() => assertMatchesOperation({ method: "POST", path, status: 404, body: notFound })).not.toThrow();
    expect(() => assertMatchesOperation({ method: "POST", path, status: 422, body: { errors: [] } })).toThrow(
      "(root): must have required property 'message'",
    );
  });

  it("rejects an operation GitHub does not have", () => {
    expect(() => assertMatchesOperation({ method: "PUT", path: GET_ISSUE, status: 200, body: {} })).toThrow(
      "PUT /repos/{owner}/{repo}/issues/{issue_number} is not an operation in GitHub's REST description (that path has GET, PATCH)",
    );
  });
});

describe("assertMatchesRequest", () => {
  const path = "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues";

  it("accepts what GitHub accepts", () => {
    expect(() => assertMatchesRequest({ method: "POST", path, body: { sub_issue_id: 12 } })).not.toThrow();
    expect(() => assertMatchesRequest({ method: "GET", path, body: undefined })).not.toThrow();
  });

  it("rejects what GitHub rejects", () => {
    expect(() => assertMatchesRequest({ method: "POST", path, body: { sub_issue_id: "12" } })).toThrow(
      '/sub_issue_id: must be integer (got string "12")',
    );
    expect(() => assertMatchesRequest({ method: "POST", path, body: undefined })).toThrow(
      "GitHub requires a request body here",
    );
    expect(() => assertMatchesRequest({ method: "GET", path, body: { page: 2 } })).toThrow(
      "GitHub's description takes no request body here, got object",
    );
  });
});

describe("operationId", () => {
  it.each([
    [
      "GET",
      "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by",
      "issues/list-dependencies-blocked-by",
    ],
    [
      "POST",
      "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by",
      "issues/add-blocked-by-dependency",
    ],
    [
      "DELETE",
      "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocked_by/{issue_id}",
      "issues/remove-dependency-blocked-by",
    ],
    [
      "GET",
      "/repos/{owner}/{repo}/issues/{issue_number}/dependencies/blocking",
      "issues/list-dependencies-blocking",
    ],
    ["GET", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues", "issues/list-sub-issues"],
    ["POST", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues", "issues/add-sub-issue"],
    ["DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/sub_issue", "issues/remove-sub-issue"],
    [
      "PATCH",
      "/repos/{owner}/{repo}/issues/{issue_number}/sub_issues/priority",
      "issues/reprioritize-sub-issue",
    ],
    ["GET", "/repos/{owner}/{repo}/issues/{issue_number}/parent", "issues/get-parent"],
  ])("knows %s %s (issue dependencies and sub-issues)", (method, path, id) => {
    expect(operationId(method, path)).toBe(id);
  });

  it("resolves concrete paths and other parameter spellings, literal segments first", () => {
    expect(operationId("get", "/repos/octo-org/widgets/issues/7")).toBe("issues/get");
    expect(operationId("GET", "/repos/octo-org/widgets/issues/comments")).toBe(
      "issues/list-comments-for-repo",
    );
    expect(operationId("GET", "/repos/:owner/:repo/issues/:number?per_page=100")).toBe("issues/get");
    expect(operationId("GET", "/repos/octo-org/widgets/contents/src/app.ts")).toBe("repos/get-content");
    expect(operationId("GET", "/repos/octo-org/widgets/branches/feature/x/protection")).toBe(
      "repos/get-branch-protection",
    );
  });

  it("throws for an unknown operation", () => {
    expect(() => operationId("GET", "/repos/{owner}/{repo}/issuez")).toThrow(
      "GET /repos/{owner}/{repo}/issuez is not an operation in GitHub's REST description",
    );
  });
});

describe("assertMatchesWebhook", () => {
  it.each([
    ["issues", "labeled", 0],
    // The first issue_comment.created example predates `performed_via_github_app` and `reactions`.
    ["issue_comment", "created", 1],
    ["pull_request", "closed", 0],
    ["installation", "suspend", 0],
  ])("accepts GitHub's example of %s.%s", (event, action, index) => {
    expect(() => assertMatchesWebhook(event, webhookExample(event, action, index))).not.toThrow();
  });

  it("accepts the payloads the other tests build", () => {
    expect(() =>
      assertMatchesWebhook("issues", issueLabeled({ number: 3, title: "Add search" })),
    ).not.toThrow();
    expect(() =>
      assertMatchesWebhook("issues", issueClosed({ number: 3, stateReason: "completed" })),
    ).not.toThrow();
    const closed = pullRequestClosed({ number: 9, headRef: "drover/3", merged: true });
    expect(() => assertMatchesWebhook("pull_request", closed)).not.toThrow();
  });

  it("names each mismatch by its JSON pointer", () => {
    const payload = webhookExample("issues", "labeled");
    const issue = payload.issue as Json;
    delete issue.title;
    issue.number = "7";
    (payload.label as Json).color = null;
    expect(() => assertMatchesWebhook("issues", payload)).toThrow(
      [
        "webhook issues.labeled (webhook-issues-labeled): payload does not match GitHub's schema (3 problems)",
        "  /issue: must have required property 'title'",
        '  /issue/number: must be integer (got string "7")',
        "  /label/color: must be string (got null)",
      ].join("\n"),
    );
  });

  it("catches fields GitHub's older examples lack: push needs repository.has_discussions", () => {
    expect(() => assertMatchesWebhook("push", webhookExample("push", undefined, 1))).toThrow(
      "/repository: must have required property 'has_discussions'",
    );
  });

  it("rejects an action the event does not have, listing the ones it has", () => {
    expect(() => assertMatchesWebhook("issues", { action: "frobbed" })).toThrow(
      /webhook event "issues" does not describe action "frobbed" in GitHub's description \(actions: assigned, closed, .*, labeled, .*\)/,
    );
    expect(() => assertMatchesWebhook("issues", {})).toThrow(
      'webhook event "issues" does not describe a payload without an action',
    );
    expect(() => assertMatchesWebhook("issue", { action: "opened" })).toThrow(
      'webhook event "issue" is not in GitHub\'s webhook description',
    );
  });

  // The events and actions Drover subscribes to must all be in the description; each payload below is
  // empty, so a known one fails on content rather than on the lookup.
  const on = (event: string, ...actions: string[]): [string, string | undefined][] =>
    actions.length === 0 ? [[event, undefined]] : actions.map((action) => [event, action]);
  const subscribed = [
    ...on("issues", "opened", "edited", "labeled", "unlabeled", "closed", "reopened"),
    ...on("issue_comment", "created"),
    ...on(
      "issue_dependencies",
      "blocked_by_added",
      "blocked_by_removed",
      "blocking_added",
      "blocking_removed",
    ),
    ...on("sub_issues", "sub_issue_added", "sub_issue_removed", "parent_issue_added", "parent_issue_removed"),
    ...on("pull_request", "opened", "synchronize", "closed"),
    ...on("pull_request_review", "submitted"),
    ...on("push"),
    ...on("installation", "created"),
  ];
  it.each(subscribed)("describes %s.%s", (event, action) => {
    const payload = action === undefined ? {} : { action };
    expect(() => assertMatchesWebhook(event, payload)).toThrow("payload does not match GitHub's schema");
  });
});
