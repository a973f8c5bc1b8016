import { isBot } from "../lib/bots.ts";
import type { Octokit, RepoRef } from "./types.ts";

export type Sender = { login: string; type: string };
export type Authorisation =
  | { allowed: true; permission: string }
  | { allowed: false; reason: "bot" | "permission"; permission: string };

const WRITERS = new Set(["admin", "maintain", "write"]);

/**
 * Only people with write access start work. Bots never do (Drover's own events included), so no
 * automation can loop through Drover. Reads the collaborator-permission endpoint every time: access
 * changes, and a cached "yes" would outlive it.
 */
export async function authorise(octokit: Octokit, repo: RepoRef, sender: Sender): Promise<Authorisation> {
  if (isBot(sender)) {
    return { allowed: false, reason: "bot", permission: "none" };
  }
  const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
    ...repo,
    username: sender.login,
  });
  // role_name distinguishes maintain from write; permission folds it into "write".
  const permission = data.role_name || data.permission;
  return WRITERS.has(permission) || WRITERS.has(data.permission)
    ? { allowed: true, permission }
    : { allowed: false, reason: "permission", permission };
}

export type BotIdentity = { name: string; email: string; login: string };

/** The app's bot login, `<slug>[bot]`, as webhooks show its writes' sender. */
export async function botLoginOf(appOctokit: Octokit): Promise<string> {
  const { data: app } = await appOctokit.rest.apps.getAuthenticated();
  return `${app?.slug ?? "drover"}[bot]`;
}

/** The app's bot user, for commit authorship: `<slug>[bot]` with GitHub's noreply address. */
export async function botIdentity(appOctokit: Octokit, userOctokit: Octokit): Promise<BotIdentity> {
  const login = await botLoginOf(appOctokit);
  const { data: user } = await userOctokit.rest.users.getByUsername({ username: login });
  return { login, name: login, email: `${user.id}+${login}@users.noreply.github.com` };
}

/** The `Co-authored-by:` address GitHub credits to a user. */
export function noreplyEmail(user: { login: string; id: number | null }): string {
  return user.id === null
    ? `${user.login}@users.noreply.github.com`
    : `${user.id}+${user.login}@users.noreply.github.com`;
}
