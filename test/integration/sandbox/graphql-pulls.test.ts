import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { personClient, type Person } from "../../../src/demo/maintainer.ts";
import { startSandbox, type Sandbox } from "../../../src/sandbox/server.ts";

/**
 * A repository's pull requests through GraphQL (`repository { pullRequests }`), as GitHub answers them:
 * filtered by state and base, paged by `first`/`after` (at most 100), each `mergeable` MERGEABLE,
 * CONFLICTING, or UNKNOWN while GitHub works it out after a branch moved; the same answer REST gives
 * for the pull request by number. Errors as GitHub sends them: HTTP 200, `errors` with a type and path,
 * null `data` where the field failed.
 */

/** Drover's query (src/github/mergeability.ts), with the head's and base's names too. */
const OPEN_ON_BASE = `query($owner: String!, $name: String!, $base: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(states: OPEN, baseRefName: $base, first: 100, after: $after) {
      nodes { number headRefName headRefOid mergeable baseRefName }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

type Node = {
  number: number;
  headRefName: string;
  headRefOid: string;
  mergeable: string;
  baseRefName: string;
};
type Page = { nodes: Node[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
type Repo = { owner: string; repo: string };

/** A repository with README.md on main, and a branch per entry of `branches` off main with its files. */
async function repoWithBranches(
  sandbox: Sandbox,
  name: string,
  branches: Record<string, Record<string, string>>,
): Promise<{ repo: Repo; maintainer: Person }> {
  const maintainer = personClient(sandbox.urls.api, sandbox.token("maintainer"));
  const repo = { owner: sandbox.organization, repo: name };
  await maintainer.rest.repos.createInOrg({ org: repo.owner, name, auto_init: true });
  for (const [branch, files] of Object.entries(branches)) {
    for (const [path, text] of Object.entries(files)) await write(maintainer, repo, branch, path, text);
  }
  return { repo, maintainer };
}

/** Writes `path` on `branch` (made off main if new) through the contents API: a push, as GitHub has it. */
async function write(client: Person, repo: Repo, branch: string, path: string, text: string) {
  let sha: string | undefined;
  try {
    const { data } = await client.rest.repos.getContent({ ...repo, path, ref: branch });
    if (!Array.isArray(data)) sha = data.sha;
  } catch {
    sha = undefined;
  }
  await client.rest.repos.createOrUpdateFileContents({
    ...repo,
    path,
    branch,
    message: `Write ${path}`,
    content: Buffer.from(text).toString("base64"),
    ...(sha ? { sha } : {}),
  });
}

async function openPull(client: Person, repo: Repo, head: string, base = "main") {
  const { data } = await client.rest.pulls.create({ ...repo, title: head, head, base });
  return data;
}

async function openOnBase(client: Person, repo: Repo, base = "main"): Promise<Page> {
  const answer = await client.graphql<{ repository: { pullRequests: Page } }>(OPEN_ON_BASE, {
    owner: repo.owner,
    name: repo.repo,
    base,
  });
  return answer.repository.pullRequests;
}

/** A GraphQL request's whole answer, errors included (Octokit's `graphql` throws on errors). */
async function raw(client: Person, query: string, variables: Record<string, unknown> = {}) {
  const { data } = await client.request("POST /graphql", { query, variables });
  return data as { data?: unknown; errors?: { type: string; message: string; path?: unknown[] }[] };
}

describe("pull requests through GraphQL", () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({});
  });
  afterAll(async () => sandbox?.close());

  it("answers Drover's query with the open pull requests on a base, mergeable as REST says", async () => {
    const { repo, maintainer } = await repoWithBranches(sandbox, "gql-open", {
      clean: { "clean.md": "clean\n" },
      touchy: { "README.md": "touchy\n" },
      stacked: { "stacked.md": "stacked\n" },
      closed: { "closed.md": "closed\n" },
    });
    const clean = await openPull(maintainer, repo, "clean");
    const touchy = await openPull(maintainer, repo, "touchy");
    await openPull(maintainer, repo, "stacked", "clean");
    const closed = await openPull(maintainer, repo, "closed");
    await maintainer.rest.pulls.update({ ...repo, pull_number: closed.number, state: "closed" });

    const page = await openOnBase(maintainer, repo);
    expect(page).toEqual({
      nodes: [
        {
          number: clean.number,
          headRefName: "clean",
          headRefOid: clean.head.sha,
          mergeable: "MERGEABLE",
          baseRefName: "main",
        },
        {
          number: touchy.number,
          headRefName: "touchy",
          headRefOid: touchy.head.sha,
          mergeable: "MERGEABLE",
          baseRefName: "main",
        },
      ],
      pageInfo: { hasNextPage: false, endCursor: expect.any(String) },
    });

    // main moves under them: the pull request changing README.md now conflicts, here as by number.
    await write(maintainer, repo, "main", "README.md", "main moved\n");
    const after = await openOnBase(maintainer, repo);
    expect(after.nodes.map((node) => [node.number, node.mergeable])).toEqual([
      [clean.number, "MERGEABLE"],
      [touchy.number, "CONFLICTING"],
    ]);
    const { data: rest } = await maintainer.rest.pulls.get({ ...repo, pull_number: touchy.number });
    expect(rest).toMatchObject({ mergeable: false, mergeable_state: "dirty" });
    const { data: fine } = await maintainer.rest.pulls.get({ ...repo, pull_number: clean.number });
    expect(fine.mergeable).toBe(true);
  });

  it("pages by first and after, and refuses what GitHub refuses", async () => {
    const { repo, maintainer } = await repoWithBranches(sandbox, "gql-pages", {
      one: { "one.md": "1\n" },
      two: { "two.md": "2\n" },
    });
    const one = await openPull(maintainer, repo, "one");
    const two = await openPull(maintainer, repo, "two");
    const PAGE = `query($owner: String!, $name: String!, $after: String) {
      repository(owner: $owner, name: $name) {
        pullRequests(states: [OPEN], first: 1, after: $after) {
          totalCount nodes { number } pageInfo { hasNextPage hasPreviousPage endCursor }
        }
      }
    }`;
    type Paged = {
      repository: {
        pullRequests: {
          totalCount: number;
          nodes: { number: number }[];
          pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string };
        };
      };
    };
    const vars = { owner: repo.owner, name: repo.repo };
    const first = await maintainer.graphql<Paged>(PAGE, vars);
    expect(first.repository.pullRequests).toMatchObject({
      totalCount: 2,
      nodes: [{ number: one.number }],
      pageInfo: { hasNextPage: true, hasPreviousPage: false },
    });
    const second = await maintainer.graphql<Paged>(PAGE, {
      ...vars,
      after: first.repository.pullRequests.pageInfo.endCursor,
    });
    expect(second.repository.pullRequests).toMatchObject({
      nodes: [{ number: two.number }],
      pageInfo: { hasNextPage: false, hasPreviousPage: true },
    });

    const pulls = (args: string) =>
      `query { repository(owner: "${repo.owner}", name: "${repo.repo}") { pullRequests(${args}) { nodes { number } } } }`;
    expect(await raw(maintainer, pulls("first: 101"))).toEqual({
      data: { repository: { pullRequests: null } },
      errors: [
        expect.objectContaining({
          type: "EXCESSIVE_PAGINATION",
          path: ["repository", "pullRequests"],
          message:
            "Requesting 101 records on the `pullRequests` connection exceeds the `first` limit of 100 records.",
        }),
      ],
    });
    expect(await raw(maintainer, pulls("states: OPEN"))).toMatchObject({
      data: { repository: { pullRequests: null } },
      errors: [{ type: "MISSING_PAGINATION_BOUNDARIES" }],
    });
    expect(await raw(maintainer, pulls('first: 1, after: "nonsense"'))).toMatchObject({
      errors: [{ type: "INVALID_CURSOR_ARGUMENTS" }],
    });
    expect(await raw(maintainer, pulls("first: 5, states: [CLOSED]"))).toEqual({
      data: { repository: { pullRequests: { nodes: [] } } },
    });
    expect(
      await raw(
        maintainer,
        `query { repository(owner: "${repo.owner}", name: "nowhere") { pullRequests(first: 1) { nodes { number } } } }`,
      ),
    ).toEqual({
      data: { repository: null },
      errors: [
        expect.objectContaining({
          type: "NOT_FOUND",
          path: ["repository"],
          message: `Could not resolve to a Repository with the name '${repo.owner}/nowhere'.`,
        }),
      ],
    });
    // A field the sandbox lacks: refused before anything is answered.
    const lacking = await raw(maintainer, pulls("first: 1").replace("number", "number mergeStateStatus"));
    expect(lacking).toMatchObject({ errors: [{ type: "UNDEFINED_FIELD" }] });
    expect(lacking.data).toBeUndefined();
  });
});

describe("mergeability through GraphQL while GitHub works it out", () => {
  it("answers UNKNOWN after the base moved, for as long as GitHub's background job takes, then CONFLICTING", async () => {
    const delay = 400;
    const sandbox = await startSandbox({ mergeabilityDelayMs: delay });
    try {
      const { repo, maintainer } = await repoWithBranches(sandbox, "gql-slow", {
        touchy: { "README.md": "touchy\n" },
      });
      const pull = await openPull(maintainer, repo, "touchy");
      // Opened: unknown until asked, then for the delay.
      expect((await openOnBase(maintainer, repo)).nodes[0]?.mergeable).toBe("UNKNOWN");
      await sleep(delay);
      expect((await openOnBase(maintainer, repo)).nodes[0]?.mergeable).toBe("MERGEABLE");

      await write(maintainer, repo, "main", "README.md", "main moved\n");
      const asked = Date.now();
      expect((await openOnBase(maintainer, repo)).nodes[0]?.mergeable).toBe("UNKNOWN");
      // REST by number shares GitHub's one answer: unknown too meanwhile.
      const { data: meanwhile } = await maintainer.rest.pulls.get({ ...repo, pull_number: pull.number });
      expect(meanwhile).toMatchObject({ mergeable: null, mergeable_state: "unknown" });
      let answer = await openOnBase(maintainer, repo);
      while (answer.nodes[0]?.mergeable === "UNKNOWN") {
        await sleep(50);
        answer = await openOnBase(maintainer, repo);
      }
      expect(Date.now() - asked).toBeGreaterThanOrEqual(delay);
      expect(answer.nodes).toEqual([
        expect.objectContaining({ number: pull.number, mergeable: "CONFLICTING" }),
      ]);
    } finally {
      await sandbox.close();
    }
  });
});
