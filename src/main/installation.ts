import { Probot } from "probot";
import type { DroverEnv } from "../config/env.ts";
import { GitHubApp } from "../github/app.ts";
import { repoRef, type Octokit, type RepoRef } from "../github/types.ts";
import { appCredentials } from "./credentials.ts";
import { exit } from "./env.ts";

/**
 * For commands that act on GitHub (`import-jsonl`, `spec`): the App's installation on one repository,
 * with the same credentials the app runs with (APP_ID, PRIVATE_KEY, GITHUB_API_URL from the environment
 * or `.env`). The command says, on stderr, that it acts as the App's installation, and as which bot.
 */
export type ActingInstallation = {
  octokit: Octokit;
  installationId: number;
  repo: RepoRef;
  /** `<app-slug>[bot]`: who the issues it creates are by. */
  botLogin: string;
};

export async function actAsInstallation(
  env: DroverEnv,
  repoFullName: string,
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<ActingInstallation> {
  const credentials =
    appCredentials(env) ??
    exit(
      "this command acts on GitHub as the App's installation: set APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) " +
        "as the app runs with, in the environment or .env",
    );
  const repo = repoRef(repoFullName);
  const probot = new Probot(credentials);
  const github = new GitHubApp(probot);
  let installationId: number;
  let botLogin: string;
  try {
    const app = await probot.auth();
    const { data } = await app.rest.apps.getRepoInstallation(repo);
    installationId = data.id;
    botLogin = await github.botLogin();
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 404)
      exit(
        `the App is not installed on ${repoFullName}: install it there first (the App's page on GitHub, "Install")`,
      );
    exit(`could not reach GitHub as the App (${credentials.baseUrl}): ${(error as Error).message}`);
  }
  say(`drover: acting on ${repoFullName} as the App's installation ${installationId} (${botLogin})`);
  return { octokit: await github.installation(installationId), installationId, repo, botLogin };
}
