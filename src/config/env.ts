import { z } from "zod";
import { parseDiskSize, parseDuration } from "./units.ts";

/** A connection URL with one of `schemes` and, when `needsPath`, a path (PostgreSQL's database name). */
const serviceUrl = (schemes: readonly string[], example: string, needsPath = false) =>
  z.string().refine(
    (value) => {
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      return schemes.includes(url.protocol) && (!needsPath || url.pathname.length > 1);
    },
    { message: `must be a URL such as ${example}` },
  );

/** A comma-separated list, blanks dropped. */
const commaList = () =>
  z
    .string()
    .default("")
    .transform((value) =>
      value
        .split(",")
        .map((name) => name.trim())
        .filter(Boolean),
    );

/** Milliseconds, written as a whole number (`600000`), at least `min`. */
const milliseconds = (min: number, example: string) =>
  z
    .string()
    .regex(/^\d+$/, { message: `must be a whole number of milliseconds, such as ${example}` })
    .transform(Number)
    .refine((value) => Number.isSafeInteger(value), { message: `is too large; such as ${example}` })
    .refine((value) => value >= min, {
      message: `must be at least ${min} (milliseconds), such as ${example}`,
    });

/** The process environment Drover reads, validated once at start. */
export const DroverEnv = z.object({
  DATABASE_URL: serviceUrl(
    ["postgres:", "postgresql:"],
    "postgres://user:password@127.0.0.1:5432/drover",
    true,
  ),
  REDIS_URL: serviceUrl(["redis:", "rediss:"], "redis://127.0.0.1:6379").default("redis://127.0.0.1:6379"),
  /** Where mirrors, worktrees and agent logs live. */
  DROVER_HOME: z.string().min(1).default(".drover"),
  /** Agent runs one worker process takes at once (quick jobs run beside them in a lane of their own). */
  DROVER_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  /** Comma-separated names of variables passed through to agents (e.g. ANTHROPIC_API_KEY). */
  DROVER_AGENT_ENV: commaList(),
  /**
   * Comma-separated credential files of the worker's user (e.g. ~/.codex/auth.json, made by logging in
   * once), copied read-only into each agent run's HOME at the same place and removed after the run.
   */
  DROVER_AGENT_CREDENTIALS: commaList(),
  /**
   * Run agents (and checks) as this operating-system user (a name or uid[:gid]): they then cannot read the
   * worker's environment or key file. Needs a worker running as root. Unset: agents run as the worker's user.
   */
  DROVER_AGENT_USER: z.string().min(1).optional(),
  /**
   * How often (in ms) each worker's reconcile reads GitHub again for what webhooks missed. Unset: every
   * 10 minutes (RECONCILE_EVERY_MS in src/scheduler/watchdog.ts). At least a minute: each pass lists the
   * repositories' changed issues, requests the installation's hourly limit pays for.
   */
  DROVER_RECONCILE_EVERY_MS: milliseconds(60_000, "600000 (10 minutes)").optional(),
  /**
   * How long (in ms) a worker's hold on a running task lasts unrenewed (it renews every third of it). A
   * worker that dies (kill -9, a lost machine) has its task taken over within about twice this: the hold
   * must lapse, and the queue must find the job's lock (a third longer) lapsed too. Unset: 15 s (LEASE_MS in
   * src/db/attempts.ts). Shorter recovers sooner, at one more PostgreSQL write per running task each time.
   */
  DROVER_LEASE_MS: milliseconds(2_000, "15000 (15 seconds)").optional(),
  /**
   * Most DROVER_HOME may hold (`20GB`): past it, idle pooled worktrees, mirrors of repositories Drover is
   * no longer installed on and old run directories are removed, least recently used first. Unset: no
   * limit (DROVER_KEEP_RUNS still applies).
   */
  DROVER_DISK_BUDGET: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === "") return undefined;
      const bytes = parseDiskSize(value);
      if (bytes === null) {
        ctx.addIssue({ code: "custom", message: "must be a size such as 20GB or 500MB" });
        return z.NEVER;
      }
      return bytes;
    }),
  /** How long an attempt's run directory (prompt, agent log) is kept after it ends (`7d`, `36h`). [7d] */
  DROVER_KEEP_RUNS: z
    .string()
    .default("7d")
    .transform((value, ctx) => {
      const days = /^\s*(\d+(?:\.\d+)?)\s*d\s*$/i.exec(value);
      const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(value);
      if (ms === null || !(ms > 0)) {
        ctx.addIssue({ code: "custom", message: "must be a duration such as 7d, 36h or 90m" });
        return z.NEVER;
      }
      return ms;
    }),
  /**
   * Comma-separated registry settings of the worker's user (e.g. ~/.npmrc, ~/.config/pip/pip.conf), copied
   * read-only into the HOME the repository's `setup` runs with, at the same place. (Agents get files through
   * DROVER_AGENT_CREDENTIALS.)
   */
  DROVER_REGISTRY_FILES: commaList(),
  /** Namespace of Drover's queues in Redis; processes that work together share it. */
  DROVER_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, { message: "must be letters, digits, '.', '_' or '-'" })
    .default("drover"),
  APP_ID: z.string().optional(),
  PRIVATE_KEY: z.string().optional(),
  PRIVATE_KEY_PATH: z.string().optional(),
  WEBHOOK_SECRET: z.string().optional(),
  /** GitHub's REST base URL: https://api.github.com, or https://HOST/api/v3 for Enterprise (and the sandbox). */
  GITHUB_API_URL: z.url().optional(),
  /** "off" stops pacing writes to GitHub; only for the sandbox, which has no secondary rate limits. */
  GITHUB_THROTTLE: z.enum(["on", "off"]).default("on"),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /**
   * Where people reach this Drover (https://drover.example.com): the dashboard's sign-in comes back here
   * (`/drover/auth/callback`), and outgoing webhooks link to it. Unset: the address the request came to.
   */
  DROVER_PUBLIC_URL: z.url().optional(),
  /** The GitHub App's OAuth client (its settings page): people sign in to the dashboard with it. */
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  /** GitHub's web address, for sign-in: https://github.com, https://HOST for Enterprise (and the sandbox). */
  GITHUB_WEB_URL: z.url().default("https://github.com"),
  /**
   * Outgoing webhooks for every repository, beside each drover.yml's `notify`: the same list, as JSON or
   * YAML (`[{url: https://hooks.slack.com/..., events: [task.failed], format: slack}]`).
   */
  DROVER_NOTIFY: z.string().optional(),
  /** Signs outgoing webhooks (X-Drover-Signature-256: HMAC-SHA256 of the body, as GitHub signs its own). */
  DROVER_NOTIFY_SECRET: z.string().min(1).optional(),
  /**
   * "allow": outgoing webhooks may go to private and loopback addresses (a receiver on the same network).
   * Unset: refused, so a repository's drover.yml cannot make Drover call into its network.
   */
  DROVER_NOTIFY_PRIVATE: z.enum(["allow", "refuse"]).default("refuse"),
  /** Bearer token `/metrics` asks for. Unset: `/metrics` answers only requests from this machine (loopback). */
  DROVER_METRICS_TOKEN: z.string().min(1).optional(),
});
export type DroverEnv = z.infer<typeof DroverEnv>;

/**
 * DATABASE_URL when none is set: postgres://postgres@127.0.0.1:5432/drover, on libpq's PGHOST and PGPORT
 * when they are set (a host name or address; a socket directory is refused: Drover connects over TCP).
 */
export function defaultDatabaseUrl(source: NodeJS.ProcessEnv): { url: string } | { error: string } {
  const host = source.PGHOST?.trim() || "127.0.0.1";
  const port = source.PGPORT?.trim() || "5432";
  if (host.startsWith("/") || host.includes(","))
    return { error: `PGHOST=${host}: Drover connects over TCP to one host; set DATABASE_URL instead` };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)
    return { error: `PGPORT=${port} is not a port number (1-65535)` };
  // Written out and read back (setting `hostname` ignores a value it cannot take): a host that would not
  // parse, or would spill into the port or path ("db/x"), is refused.
  const text = `postgres://postgres@${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}/drover`;
  const url = URL.canParse(text) ? new URL(text) : null;
  return url && url.hostname !== "" && url.port === port && url.pathname === "/drover"
    ? { url: url.toString() }
    : { error: `PGHOST=${host} is not a host name or address` };
}

export function readEnv(source: NodeJS.ProcessEnv = process.env): DroverEnv {
  const fallback = source.DATABASE_URL === undefined ? defaultDatabaseUrl(source) : undefined;
  if (fallback && "error" in fallback)
    throw new Error(`Invalid environment:\n  DATABASE_URL is unset, and ${fallback.error}`);
  const result = DroverEnv.safeParse(fallback ? { ...source, DATABASE_URL: fallback.url } : source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  throw new Error(`Invalid environment:\n  ${lines.join("\n  ")}\nSee .env.example for every variable.`);
}
