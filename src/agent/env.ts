/** Variables every agent gets when the source environment has them. */
export const BASE_AGENT_ENV = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "LC_ALL",
  "LC_CTYPE",
  "TERM",
  "TZ",
  "TMPDIR",
] as const;

const DROVER_SECRETS = new Set([
  "PRIVATE_KEY",
  "PRIVATE_KEY_PATH",
  "WEBHOOK_SECRET",
  "DATABASE_URL",
  "REDIS_URL",
  "APP_ID",
  "GITHUB_TOKEN",
  "GH_TOKEN",
]);

/**
 * The environment an agent process gets: the base allowlist plus `passEnv` (the names an operator
 * chose to pass, e.g. ANTHROPIC_API_KEY), and nothing else. Drover's own secrets are refused even
 * when asked for, so a config slip cannot hand the agent the app's key or a GitHub token.
 */
export function agentEnvironment(
  source: NodeJS.ProcessEnv,
  passEnv: readonly string[] = [],
): Record<string, string> {
  for (const name of passEnv) assertPassable(name);
  const env: Record<string, string> = {};
  for (const name of [...BASE_AGENT_ENV, ...passEnv]) {
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function assertPassable(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new Error(`agent environment: ${JSON.stringify(name)} is not a valid environment variable name`);
  }
  const upper = name.toUpperCase();
  if (DROVER_SECRETS.has(upper) || upper.startsWith("DROVER_") || upper.startsWith("GITHUB_")) {
    throw new Error(
      `agent environment: refusing to pass ${name} to the agent; it is (or looks like) one of Drover's own secrets`,
    );
  }
}
