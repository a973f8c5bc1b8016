import { getPrivateKey } from "@probot/get-private-key";
import type { ProbotOctokit } from "probot";
import type { DroverEnv } from "../config/env.ts";
import { droverOctokit } from "../github/octokit.ts";
import { exit } from "./env.ts";

/**
 * The GitHub App's credentials from the environment: what the entry points (through boot.ts) and the
 * commands that act as the App's installation (installation.ts) run with. Apart from boot.ts's wiring,
 * so a command acting on GitHub does not load the web server, the queue and the jobs.
 */

export type AppCredentials = {
  appId: string;
  privateKey: string;
  secret: string;
  baseUrl: string;
  /** Probot's Octokit pacing writes per installation across processes, or not at all (GITHUB_THROTTLE=off). */
  Octokit: typeof ProbotOctokit;
};

/** The app's credentials, or null when none are configured (Probot's setup page is shown instead). */
export function appCredentials(env: DroverEnv): AppCredentials | null {
  let privateKey: string | null;
  try {
    privateKey = getPrivateKey({
      env: { PRIVATE_KEY: env.PRIVATE_KEY, PRIVATE_KEY_PATH: env.PRIVATE_KEY_PATH },
    });
  } catch (error) {
    exit(`PRIVATE_KEY or PRIVATE_KEY_PATH does not hold a private key: ${(error as Error).message}`);
  }
  if (!env.APP_ID && !privateKey) return null;
  if (!env.APP_ID) exit("PRIVATE_KEY is set but APP_ID is not: set APP_ID to your GitHub App's id.");
  if (!privateKey) exit("APP_ID is set but no private key: set PRIVATE_KEY or PRIVATE_KEY_PATH.");
  if (!env.WEBHOOK_SECRET) exit("WEBHOOK_SECRET is not set: use the webhook secret of your GitHub App.");
  return {
    appId: env.APP_ID,
    privateKey,
    secret: env.WEBHOOK_SECRET,
    baseUrl: env.GITHUB_API_URL ?? "https://api.github.com",
    Octokit: droverOctokit({
      pace: env.GITHUB_THROTTLE !== "off",
      redisUrl: env.REDIS_URL,
      queuePrefix: env.DROVER_QUEUE_PREFIX,
    }),
  };
}
