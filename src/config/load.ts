import type { ProbotOctokit } from "probot";
import { CONFIG_PATH, DEFAULT_LABEL } from "./schema.ts";
import { parseConfig, type ConfigResult } from "./parse.ts";

/**
 * Reads `.github/drover.yml` from the repository's default branch, or `ref` (a branch or commit), with
 * `_extends` from the org's `.github` repository, through Probot's config plugin, and validates it. A
 * missing file means defaults.
 */
export async function loadRepoConfig(
  octokit: ProbotOctokit,
  repo: { owner: string; repo: string },
  ref?: string,
): Promise<ConfigResult> {
  let raw: unknown;
  try {
    const { config } = await octokit.config.get({
      ...repo,
      path: CONFIG_PATH,
      ...(ref === undefined ? {} : { branch: ref }),
    });
    raw = config;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!message.includes("could not be parsed")) throw error;
    const detail = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return {
      ok: false,
      problems: [{ key: "(file)", value: undefined, message: `is not valid YAML${detail}` }],
      label: DEFAULT_LABEL,
    };
  }
  return parseConfig(raw);
}
