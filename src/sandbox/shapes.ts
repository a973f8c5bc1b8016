import { oauthClientId } from "./oauth.ts";
import type {
  Account,
  AppRecord,
  CheckRunRecord,
  CommentRecord,
  InstallationRecord,
  IssueEventRecord,
  IssueRecord,
  LabelRecord,
  PullRecord,
  ReactionRecord,
  RepoRecord,
  ReviewCommentRecord,
  ReviewRecord,
} from "./world.ts";

import { shownMergeable } from "./pull-state.ts";
import { requirementsMet } from "./requirements.ts";

/**
 * GitHub's JSON for the sandbox's records, field for field as GitHub's OpenAPI description requires
 * (test/integration/sandbox/conformance.test.ts holds every response and webhook to it).
 */

export type Json = Record<string, unknown>;

/** Where the sandbox answers: `web` for pages and git, `api` for REST (`<web>/api/v3`, the GHES layout). */
export type Urls = { web: string; api: string };

export function nodeId(kind: string, id: number): string {
  return Buffer.from(`0:${kind}${id}`).toString("base64");
}

export function user(urls: Urls, account: Account): Json {
  const api = `${urls.api}/users/${account.login}`;
  return {
    login: account.login,
    id: account.id,
    node_id: nodeId(account.type, account.id),
    avatar_url: `${urls.web}/avatars/u/${account.id}`,
    gravatar_id: "",
    url: api,
    html_url: `${urls.web}/${account.type === "Bot" ? `apps/${account.login.replace(/\[bot\]$/, "")}` : account.login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: account.type,
    user_view_type: "public",
    site_admin: false,
  };
}

/** GET /users/{username}: the public profile. */
export function publicUser(urls: Urls, account: Account): Json {
  return {
    ...user(urls, account),
    name: account.name,
    company: null,
    blog: "",
    location: null,
    email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 0,
    public_gists: 0,
    followers: 0,
    following: 0,
    created_at: "2020-01-01T00:00:00Z",
    updated_at: "2020-01-01T00:00:00Z",
  };
}

export function repository(urls: Urls, repo: RepoRecord, openIssues: number): Json {
  const api = `${urls.api}/repos/${repo.fullName}`;
  const html = `${urls.web}/${repo.fullName}`;
  return {
    id: repo.id,
    node_id: nodeId("Repository", repo.id),
    name: repo.name,
    full_name: repo.fullName,
    private: repo.private,
    owner: user(urls, repo.owner),
    html_url: html,
    description: repo.description,
    fork: false,
    url: api,
    archive_url: `${api}/{archive_format}{/ref}`,
    assignees_url: `${api}/assignees{/user}`,
    blobs_url: `${api}/git/blobs{/sha}`,
    branches_url: `${api}/branches{/branch}`,
    collaborators_url: `${api}/collaborators{/collaborator}`,
    comments_url: `${api}/comments{/number}`,
    commits_url: `${api}/commits{/sha}`,
    compare_url: `${api}/compare/{base}...{head}`,
    contents_url: `${api}/contents/{+path}`,
    contributors_url: `${api}/contributors`,
    deployments_url: `${api}/deployments`,
    downloads_url: `${api}/downloads`,
    events_url: `${api}/events`,
    forks_url: `${api}/forks`,
    git_commits_url: `${api}/git/commits{/sha}`,
    git_refs_url: `${api}/git/refs{/sha}`,
    git_tags_url: `${api}/git/tags{/sha}`,
    git_url: `${html.replace(/^http/, "git")}.git`,
    issue_comment_url: `${api}/issues/comments{/number}`,
    issue_events_url: `${api}/issues/events{/number}`,
    issues_url: `${api}/issues{/number}`,
    keys_url: `${api}/keys{/key_id}`,
    labels_url: `${api}/labels{/name}`,
    languages_url: `${api}/languages`,
    merges_url: `${api}/merges`,
    milestones_url: `${api}/milestones{/number}`,
    notifications_url: `${api}/notifications{?since,all,participating}`,
    pulls_url: `${api}/pulls{/number}`,
    releases_url: `${api}/releases{/id}`,
    ssh_url: `git@${new URL(urls.web).host}:${repo.fullName}.git`,
    stargazers_url: `${api}/stargazers`,
    statuses_url: `${api}/statuses/{sha}`,
    subscribers_url: `${api}/subscribers`,
    subscription_url: `${api}/subscription`,
    tags_url: `${api}/tags`,
    teams_url: `${api}/teams`,
    trees_url: `${api}/git/trees{/sha}`,
    clone_url: `${html}.git`,
    mirror_url: null,
    hooks_url: `${api}/hooks`,
    svn_url: html,
    homepage: null,
    language: null,
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: repo.defaultBranch,
    open_issues_count: openIssues,
    open_issues: openIssues,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: repo.private ? "private" : "public",
    pushed_at: repo.pushedAt ?? repo.createdAt,
    created_at: repo.createdAt,
    updated_at: repo.updatedAt,
    allow_forking: false,
    allow_auto_merge: repo.allowAutoMerge,
    web_commit_signoff_required: false,
    license: null,
  };
}

export function label(urls: Urls, repo: RepoRecord, record: LabelRecord): Json {
  return {
    id: record.id,
    node_id: nodeId("Label", record.id),
    url: `${urls.api}/repos/${repo.fullName}/labels/${encodeURIComponent(record.name)}`,
    name: record.name,
    description: record.description,
    color: record.color,
    default: false,
  };
}

function reactionRollup(url: string, reactions: ReactionRecord[]): Json {
  const count = (content: string) => reactions.filter((r) => r.content === content).length;
  return {
    url,
    total_count: reactions.length,
    "+1": count("+1"),
    "-1": count("-1"),
    laugh: count("laugh"),
    confused: count("confused"),
    heart: count("heart"),
    hooray: count("hooray"),
    eyes: count("eyes"),
    rocket: count("rocket"),
  };
}

function authorAssociation(issueRepo: RepoRecord, account: Account): string {
  if (account.id === issueRepo.owner.id) return "OWNER";
  if (account.type === "Bot") return "NONE";
  return ["admin", "maintain", "write", "triage"].includes(account.permission) ? "MEMBER" : "NONE";
}

export function issue(urls: Urls, record: IssueRecord): Json {
  const repo = record.repo;
  const api = `${urls.api}/repos/${repo.fullName}/issues/${record.number}`;
  const kind = record.pull ? "pull" : "issues";
  const doneChildren = record.subIssues.filter((child) => child.state === "closed").length;
  const blocking = [...repo.issues.values()].filter((other) => other.blockedBy.includes(record));
  return {
    id: record.id,
    node_id: nodeId("Issue", record.id),
    url: api,
    repository_url: `${urls.api}/repos/${repo.fullName}`,
    labels_url: `${api}/labels{/name}`,
    comments_url: `${api}/comments`,
    events_url: `${api}/events`,
    html_url: `${urls.web}/${repo.fullName}/${kind}/${record.number}`,
    number: record.number,
    state: record.state,
    state_reason: record.stateReason,
    title: record.title,
    body: record.body,
    user: user(urls, record.user),
    labels: record.labels.map((l) => label(urls, repo, l)),
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: record.comments.length,
    ...(record.pull
      ? {
          pull_request: {
            url: `${urls.api}/repos/${repo.fullName}/pulls/${record.number}`,
            html_url: `${urls.web}/${repo.fullName}/pull/${record.number}`,
            diff_url: `${urls.web}/${repo.fullName}/pull/${record.number}.diff`,
            patch_url: `${urls.web}/${repo.fullName}/pull/${record.number}.patch`,
            merged_at: record.pull.mergedAt,
          },
          draft: record.pull.draft,
        }
      : {}),
    closed_at: record.closedAt,
    closed_by: record.closedBy ? user(urls, record.closedBy) : null,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    author_association: authorAssociation(repo, record.user),
    reactions: reactionRollup(`${api}/reactions`, record.reactions),
    timeline_url: `${api}/timeline`,
    performed_via_github_app: null,
    sub_issues_summary: {
      total: record.subIssues.length,
      completed: doneChildren,
      percent_completed:
        record.subIssues.length === 0 ? 0 : Math.floor((100 * doneChildren) / record.subIssues.length),
    },
    issue_dependencies_summary: {
      blocked_by: record.blockedBy.filter((b) => b.state === "open").length,
      total_blocked_by: record.blockedBy.length,
      blocking: blocking.filter((b) => b.state === "open").length,
      total_blocking: blocking.length,
    },
    ...(record.parent
      ? {
          parent_issue_url: `${urls.api}/repos/${record.parent.repo.fullName}/issues/${record.parent.number}`,
        }
      : {}),
  };
}

export function comment(urls: Urls, record: CommentRecord): Json {
  const repo = record.issue.repo;
  const api = `${urls.api}/repos/${repo.fullName}/issues/comments/${record.id}`;
  return {
    id: record.id,
    node_id: nodeId("IssueComment", record.id),
    url: api,
    html_url: `${urls.web}/${repo.fullName}/issues/${record.issue.number}#issuecomment-${record.id}`,
    body: record.body,
    user: user(urls, record.user),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    issue_url: `${urls.api}/repos/${repo.fullName}/issues/${record.issue.number}`,
    author_association: authorAssociation(repo, record.user),
    performed_via_github_app: null,
    reactions: reactionRollup(`${api}/reactions`, record.reactions),
  };
}

export function reaction(urls: Urls, record: ReactionRecord): Json {
  return {
    id: record.id,
    node_id: nodeId("Reaction", record.id),
    user: user(urls, record.user),
    content: record.content,
    created_at: record.createdAt,
  };
}

export function issueEvent(urls: Urls, issueRecord: IssueRecord, record: IssueEventRecord): Json {
  return {
    id: record.id,
    node_id: nodeId("LabeledEvent", record.id),
    url: `${urls.api}/repos/${issueRecord.repo.fullName}/issues/events/${record.id}`,
    actor: user(urls, record.actor),
    event: record.event,
    commit_id: null,
    commit_url: null,
    created_at: record.createdAt,
    performed_via_github_app: null,
    ...(record.label ? { label: record.label } : {}),
  };
}

function branchRef(urls: Urls, repo: RepoRecord, ref: string, sha: string, openIssues: number): Json {
  return {
    label: `${repo.owner.login}:${ref}`,
    ref,
    sha,
    user: user(urls, repo.owner),
    repo: repository(urls, repo, openIssues),
  };
}

/**
 * A pull request as GitHub lists it (`pull-request-simple`): without what GitHub works out only for one
 * pull request asked for by number (mergeability, the diff's numbers, merged and merged_by).
 */
export function pullRequestSimple(urls: Urls, pull: PullRecord, openIssues: number): Json {
  const record = pull.issue;
  const repo = record.repo;
  const api = `${urls.api}/repos/${repo.fullName}/pulls/${record.number}`;
  const html = `${urls.web}/${repo.fullName}/pull/${record.number}`;
  const issueApi = `${urls.api}/repos/${repo.fullName}/issues/${record.number}`;
  const href = (url: string) => ({ href: url });
  return {
    url: api,
    id: record.id,
    node_id: nodeId("PullRequest", record.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issueApi,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    review_comment_url: `${urls.api}/repos/${repo.fullName}/pulls/comments{/number}`,
    comments_url: `${issueApi}/comments`,
    statuses_url: `${urls.api}/repos/${repo.fullName}/statuses/${pull.headSha}`,
    number: record.number,
    state: record.state,
    locked: false,
    title: record.title,
    user: user(urls, record.user),
    body: record.body,
    labels: record.labels.map((l) => label(urls, repo, l)),
    milestone: null,
    active_lock_reason: null,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    closed_at: record.closedAt,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branchRef(urls, repo, pull.head, pull.headSha, openIssues),
    base: branchRef(urls, repo, pull.base, pull.baseSha, openIssues),
    _links: {
      self: href(api),
      html: href(html),
      issue: href(issueApi),
      comments: href(`${issueApi}/comments`),
      review_comments: href(`${api}/comments`),
      review_comment: href(`${urls.api}/repos/${repo.fullName}/pulls/comments{/number}`),
      commits: href(`${api}/commits`),
      statuses: href(`${urls.api}/repos/${repo.fullName}/statuses/${pull.headSha}`),
    },
    author_association: authorAssociation(repo, record.user),
    auto_merge: pull.autoMerge
      ? {
          enabled_by: user(urls, pull.autoMerge.enabledBy),
          merge_method: pull.autoMerge.mergeMethod,
          commit_title: pull.autoMerge.commitTitle,
          commit_message: pull.autoMerge.commitMessage,
        }
      : null,
    draft: pull.draft,
  };
}

/** A pull request asked for by number, made, edited or merged, and in webhooks: the full `pull-request`. */
export function pullRequest(urls: Urls, pull: PullRecord, openIssues: number): Json {
  const mergeable = shownMergeable(pull);
  return {
    ...pullRequestSimple(urls, pull, openIssues),
    merged: pull.merged,
    mergeable,
    rebaseable: mergeable,
    mergeable_state: mergeable === null ? "unknown" : mergeableState(pull),
    merged_by: pull.mergedBy ? user(urls, pull.mergedBy) : null,
    comments: pull.issue.comments.length,
    review_comments: pull.comments.length,
    maintainer_can_modify: false,
    commits: pull.stats.commits,
    additions: pull.stats.additions,
    deletions: pull.stats.deletions,
    changed_files: pull.stats.changedFiles,
  };
}

/**
 * GitHub's `mergeable_state` once mergeability is known ("unknown" until then, after either branch moved,
 * and for a closed pull request): "draft", "dirty" on conflicts, then "blocked" while the sandbox's stand-in
 * for branch protection (requirements.ts: passing check runs, no changes requested) is not met and
 * "clean" once it is. Never "behind": GitHub reports that only when protection requires branches to be up
 * to date before merging, which the sandbox's requirements do not; nor "unstable" (every check run is
 * required here, so a failing one blocks) or "has_hooks" (GitHub Enterprise's pre-receive hooks).
 */
function mergeableState(pull: PullRecord): string {
  if (pull.draft) return "draft";
  if (!pull.mergeable) return "dirty";
  return requirementsMet(pull) ? "clean" : "blocked";
}

/**
 * A review as REST answers it (state upper case: `CHANGES_REQUESTED`), or, with `webhook`, as the
 * `pull_request_review` webhook carries it: state in lower case and an empty body as null.
 */
export function review(urls: Urls, pull: PullRecord, record: ReviewRecord, opts = { webhook: false }): Json {
  const repo = pull.issue.repo;
  const html = `${urls.web}/${repo.fullName}/pull/${pull.issue.number}`;
  return {
    id: record.id,
    node_id: nodeId("PullRequestReview", record.id),
    user: user(urls, record.user),
    body: opts.webhook && record.body === "" ? null : record.body,
    state: opts.webhook ? record.state.toLowerCase() : record.state,
    html_url: `${html}#pullrequestreview-${record.id}`,
    pull_request_url: `${urls.api}/repos/${repo.fullName}/pulls/${pull.issue.number}`,
    _links: {
      html: { href: `${html}#pullrequestreview-${record.id}` },
      pull_request: { href: `${urls.api}/repos/${repo.fullName}/pulls/${pull.issue.number}` },
    },
    submitted_at: record.submittedAt,
    commit_id: record.commitId,
    author_association: authorAssociation(repo, record.user),
  };
}

/** A review comment (GitHub's `pull-request-review-comment`), in REST answers and webhooks alike. */
export function reviewComment(urls: Urls, record: ReviewCommentRecord): Json {
  const pull = record.pull;
  const repo = pull.issue.repo;
  const api = `${urls.api}/repos/${repo.fullName}/pulls/comments/${record.id}`;
  const html = `${urls.web}/${repo.fullName}/pull/${pull.issue.number}#discussion_r${record.id}`;
  const pullApi = `${urls.api}/repos/${repo.fullName}/pulls/${pull.issue.number}`;
  return {
    url: api,
    pull_request_review_id: record.review.id,
    id: record.id,
    node_id: nodeId("PullRequestReviewComment", record.id),
    diff_hunk: record.diffHunk,
    path: record.path,
    position: record.position,
    original_position: record.position,
    commit_id: record.commitId,
    original_commit_id: record.commitId,
    ...(record.inReplyTo ? { in_reply_to_id: record.inReplyTo.id } : {}),
    user: user(urls, record.user),
    body: record.body,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    html_url: html,
    pull_request_url: pullApi,
    author_association: authorAssociation(repo, record.user),
    _links: { self: { href: api }, html: { href: html }, pull_request: { href: pullApi } },
    start_line: record.startLine,
    original_start_line: record.startLine,
    start_side: record.startSide,
    line: record.line,
    original_line: record.line,
    side: record.side,
    subject_type: "line",
    reactions: reactionRollup(`${api}/reactions`, record.reactions),
  };
}

export function app(urls: Urls, record: AppRecord): Json {
  return {
    id: record.id,
    slug: record.slug,
    client_id: oauthClientId(record),
    node_id: nodeId("App", record.id),
    owner: user(urls, record.owner),
    name: record.name,
    description: "Drover, running against the local sandbox",
    external_url: urls.web,
    html_url: `${urls.web}/apps/${record.slug}`,
    created_at: record.createdAt,
    updated_at: record.createdAt,
    permissions: APP_PERMISSIONS,
    events: APP_EVENTS,
  };
}

export const APP_PERMISSIONS = {
  checks: "write",
  contents: "write",
  issues: "write",
  metadata: "read",
  pull_requests: "write",
};
export const APP_EVENTS = [
  "issues",
  "issue_comment",
  "issue_dependencies",
  "sub_issues",
  "pull_request",
  "pull_request_review",
  "pull_request_review_comment",
  "push",
];

export function installation(urls: Urls, appRecord: AppRecord, record: InstallationRecord): Json {
  return {
    id: record.id,
    // GET /app/installations describes the account as a user *and* an enterprise (allOf), so it
    // carries the enterprise's required fields too.
    account: {
      ...user(urls, record.account),
      name: record.account.name,
      slug: record.account.login,
      created_at: record.createdAt,
      updated_at: record.createdAt,
    },
    repository_selection: "all",
    access_tokens_url: `${urls.api}/app/installations/${record.id}/access_tokens`,
    repositories_url: `${urls.api}/installation/repositories`,
    html_url: `${urls.web}/organizations/${record.account.login}/settings/installations/${record.id}`,
    app_id: appRecord.id,
    app_slug: appRecord.slug,
    target_id: record.account.id,
    target_type: record.account.type,
    permissions: APP_PERMISSIONS,
    events: APP_EVENTS,
    created_at: record.createdAt,
    updated_at: record.createdAt,
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}

export function checkRun(urls: Urls, appRecord: AppRecord, record: CheckRunRecord): Json {
  const api = `${urls.api}/repos/${record.repo.fullName}/check-runs/${record.id}`;
  return {
    id: record.id,
    node_id: nodeId("CheckRun", record.id),
    head_sha: record.headSha,
    external_id: record.externalId ?? "",
    url: api,
    html_url: `${urls.web}/${record.repo.fullName}/runs/${record.id}`,
    details_url: record.detailsUrl ?? `${urls.web}/${record.repo.fullName}/runs/${record.id}`,
    status: record.status,
    conclusion: record.conclusion,
    started_at: record.startedAt,
    completed_at: record.completedAt,
    output: {
      title: record.output.title,
      summary: record.output.summary,
      text: record.output.text,
      annotations_count: 0,
      annotations_url: `${api}/annotations`,
    },
    name: record.name,
    check_suite: { id: record.id },
    app: app(urls, appRecord),
    pull_requests: [],
  };
}
