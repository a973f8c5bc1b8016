import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };

/**
 * Webhook payloads for tests, built from GitHub's real examples (@octokit/webhooks-examples) with the
 * fields a test cares about replaced.
 */

type Json = Record<string, unknown>;

export type TestRepo = {
  id: number;
  fullName: string;
  cloneUrl: string;
  defaultBranch: string;
  installationId: number;
};
export type TestUser = { login: string; id: number; type?: "User" | "Bot" };

export const OCTO_REPO: TestRepo = {
  id: 4242,
  fullName: "octo-org/widgets",
  cloneUrl: "https://github.com/octo-org/widgets.git",
  defaultBranch: "main",
  installationId: 77,
};
export const MAINTAINER: TestUser = { login: "mona", id: 101 };
export const AUTHOR: TestUser = { login: "hubber", id: 202 };

function example(event: string, action: string): Json {
  const group = (examples as { name: string; examples: Json[] }[]).find((e) => e.name === event);
  const found = group?.examples.find((e) => e.action === action);
  if (!found) throw new Error(`no ${event}.${action} example in @octokit/webhooks-examples`);
  return structuredClone(found);
}

function repository(base: Json, repo: TestRepo): Json {
  const [owner, name] = repo.fullName.split("/");
  return {
    ...base,
    id: repo.id,
    name,
    full_name: repo.fullName,
    clone_url: repo.cloneUrl,
    default_branch: repo.defaultBranch,
    owner: { ...(base.owner as Json), login: owner },
  };
}

function user(base: unknown, who: TestUser): Json {
  return { ...(base as Json), login: who.login, id: who.id, type: who.type ?? "User" };
}

export function issueLabeled(input: {
  repo?: TestRepo;
  number: number;
  title: string;
  body?: string;
  label?: string;
  sender?: TestUser;
  author?: TestUser;
}): Json {
  const p = example("issues", "labeled");
  const repo = input.repo ?? OCTO_REPO;
  const issue = p.issue as Json;
  return {
    ...p,
    issue: {
      ...issue,
      number: input.number,
      title: input.title,
      body: input.body ?? "",
      state: "open",
      user: user(issue.user, input.author ?? AUTHOR),
    },
    label: { ...(p.label as Json), name: input.label ?? "drover" },
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, input.sender ?? MAINTAINER),
    installation: { id: repo.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=" },
  };
}

export function issueClosed(input: {
  repo?: TestRepo;
  number: number;
  stateReason: "completed" | "not_planned";
  sender?: TestUser;
}): Json {
  const p = issueLabeled({
    number: input.number,
    title: "closed",
    ...(input.repo ? { repo: input.repo } : {}),
  });
  delete p.label;
  return {
    ...p,
    action: "closed",
    issue: { ...(p.issue as Json), state: "closed", state_reason: input.stateReason },
    sender: user(p.sender, input.sender ?? MAINTAINER),
  };
}

export function pullRequestClosed(input: {
  repo?: TestRepo;
  number: number;
  headRef: string;
  merged: boolean;
  mergedBy?: TestUser;
}): Json {
  const p = example("pull_request", "closed");
  const repo = input.repo ?? OCTO_REPO;
  const pr = p.pull_request as Json;
  const merger = input.mergedBy ?? MAINTAINER;
  return {
    ...p,
    number: input.number,
    pull_request: {
      ...pr,
      number: input.number,
      merged: input.merged,
      merged_by: input.merged ? user(pr.user, merger) : null,
      head: { ...(pr.head as Json), ref: input.headRef },
    },
    repository: repository(p.repository as Json, repo),
    sender: user(p.sender, merger),
    installation: { id: repo.installationId, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=" },
  };
}
