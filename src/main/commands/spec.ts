import { createHash } from "node:crypto";
import { mkdtemp, readFile, writeFile, copyFile, mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { agentEnvironment } from "../../agent/env.ts";
import { parseArgv } from "../../agent/parse-argv.ts";
import { buildPlanPrompt, specFileLinks } from "../../agent/plan-prompt.ts";
import { secretValues, serverPaths } from "../../agent/scrub.ts";
import { loadRepoConfig } from "../../config/load.ts";
import { parseConfig } from "../../config/parse.ts";
import { CONFIG_PATH, type DroverConfig } from "../../config/schema.ts";
import { renderConfigProblems } from "../../github/render.ts";
import { renderPlanTree } from "../../github/render-plan.ts";
import type { BacklogItem } from "../../graph/backlog.ts";
import { planJsonl, withIdPrefix } from "../../graph/plan.ts";
import { environment, exit } from "../env.ts";
import type { CliCommand } from "../command.ts";
import { isRepoName } from "../command.ts";
import type { ActingInstallation } from "../installation.ts";

const SYNOPSIS =
  "spec <path> --repo owner/name [--dry-run] [--no-label] [--out FILE] [--agent NAME] [--agent-command CMD]";

/** The most characters of the spec and of the files it links that go into the prompt. */
const SPEC_LIMIT = 250 * 1024;

export const spec: CliCommand = {
  name: "spec",
  usage: `  ${SYNOPSIS}
                                      plan a spec file with the repository's agent (read-only), print
                                      the proposed epics, stories and tasks, and create them as
                                      issues with their links (--dry-run: print only)
`,
  help: `Usage: drover ${SYNOPSIS}

Runs the coding agent on a spec (a design document) to plan its work, as \`/drover plan\` does on an
issue: the agent reads the spec, and the files of the repository it links (found beside the spec),
in a read-only copy, and proposes epics, stories and tasks with priorities and "blocked by" links.
The proposal is checked (no cycles, no dangling references) and printed as a tree; then, unless
--dry-run, created in the repository as the App's installation: epics and stories as parent issues,
tasks labelled for Drover, with sub-issue and "blocked by" links. The tasks are then started by
an operator's \`/drover run\` each, queued where Drover runs (REDIS_URL); when the queue does not
answer, it says so.

Each run asks the agent again, and an agent seldom proposes the same plan twice: running the command
again plans anew and creates a second tree. To keep a proposal, give --out FILE: the proposal is
written there (the JSON Lines format of \`drover import-jsonl\`) before anything is created. Then
\`drover import-jsonl FILE --repo owner/name\` creates it, or finishes what an interrupted run left:
it finds what was made (each issue carries its id), creates nothing twice and starts each task once.

Options:
  --repo owner/name     the repository the plan is for (its .github/drover.yml names the agent and
                        the label; with --dry-run, .github/drover.yml here is read if there is one)
  --dry-run             print the proposal and create nothing (no GitHub credentials needed)
  --no-label            create the tasks without Drover's label (nothing starts until labelled)
  --out FILE            write the proposal to FILE as import-jsonl reads it (also with --dry-run)
  --agent NAME          the agent to run instead of the configured one (claude, codex, amp,
                        opencode, command)
  --agent-command CMD   the program for --agent command (or the named agent's executable), split
                        like a shell would; "{prompt_file}" names the prompt file

Needs APP_ID and PRIVATE_KEY (or PRIVATE_KEY_PATH) as the app runs with, unless --dry-run.

Exit codes: 0 planned (and created), 1 the agent gave no usable plan, the spec could not be read,
or something failed (what was made is kept: see --out), 2 the spec file does not exist.

Example:
  drover spec docs/design.md --repo acme/shop --dry-run
`,
  async run(args) {
    const options = readSpecArgs(args);
    if ("problem" in options) exit(`${options.problem}\nusage: drover ${SYNOPSIS}`);
    const text = await readSpec(options.path);
    const env = environment();
    // Loaded here, not for every `drover` command: it brings Probot.
    const { actAsInstallation } = await import("../installation.ts");
    const acting = options.dryRun ? null : await actAsInstallation(env, options.repo);
    const config = withAgent(await configFor(acting), options);

    const planned = await planSpec({
      config,
      specPath: options.path,
      text,
      repo: options.repo,
      passEnv: env.DROVER_AGENT_ENV,
    });
    if (!planned.ok) {
      process.stderr.write(planned.report);
      exit("no plan: nothing was created");
    }
    const { items } = planned;
    process.stdout.write(`${renderPlanTree(items, "")}\n`);
    const backlog = withIdPrefix(items, specPrefix(items));
    if (options.out !== undefined) {
      await writeFile(options.out, planJsonl(backlog)).catch((error: Error) =>
        exit(`cannot write the proposal to ${options.out}: ${error.message}; nothing was created`),
      );
      process.stderr.write(
        `drover: the proposal is in ${options.out}: \`drover import-jsonl ${options.out} --repo ${options.repo}\` creates it or finishes this run\n`,
      );
    }
    if (!acting) {
      process.stderr.write(`drover: --dry-run: ${items.length} items proposed, nothing created\n`);
      return;
    }
    const label = options.label ? config.label : null;
    const { createOrExit, startTasks, taskNumbers } = await import("../start-tasks.ts");
    const result = await createOrExit(acting, backlog, {
      label,
      dryRun: false,
      doing: "creating",
      finish:
        "run it again to finish " +
        (options.out === undefined
          ? "(with --out FILE, so that `drover import-jsonl FILE` can finish a proposal; a new run plans anew)"
          : `with \`drover import-jsonl ${options.out} --repo ${options.repo}\``),
    });
    process.stderr.write(`${result.created} created, ${result.reused} found, ${result.linked} links\n`);
    for (const outcome of result.items)
      process.stdout.write(
        `${outcome.created ? "created" : "found  "} #${outcome.number ?? "?"} ${outcome.url ?? ""}\n`,
      );
    if (label !== null) await startTasks(env, options.repo, acting.botLogin, taskNumbers(backlog, result));
  },
};

/** The spec's text; exit 2 when there is no such file, 1 with the reason when it cannot be read. */
async function readSpec(file: string): Promise<string> {
  return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") {
      process.stderr.write(`drover: cannot read the spec ${file}: ENOENT\n`);
      process.exit(2);
    }
    exit(`cannot read the spec ${file}: ${error.message}`);
  });
}

export type SpecArgs = {
  path: string;
  repo: string;
  dryRun: boolean;
  label: boolean;
  out: string | undefined;
  agent: string | undefined;
  agentCommand: string[] | undefined;
};

/** The command's arguments, or what is wrong with them (one line). Pure. */
export function readSpecArgs(args: readonly string[]): SpecArgs | { problem: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        repo: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        "no-label": { type: "boolean", default: false },
        out: { type: "string" },
        agent: { type: "string" },
        "agent-command": { type: "string" },
      },
    });
  } catch (error) {
    return { problem: (error as Error).message };
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1)
    return {
      problem: positionals.length === 0 ? "name the spec file" : `one spec file, not ${positionals.length}`,
    };
  if (!values.repo) return { problem: "--repo owner/name is required" };
  if (!isRepoName(values.repo)) return { problem: `--repo ${values.repo} is not owner/name` };
  let agentCommand: string[] | undefined;
  if (values["agent-command"] !== undefined) {
    try {
      agentCommand = parseArgv(values["agent-command"]);
    } catch (error) {
      return { problem: `--agent-command: ${(error as Error).message}` };
    }
  }
  return {
    path: positionals[0]!,
    repo: values.repo,
    dryRun: values["dry-run"],
    label: !values["no-label"],
    out: values.out,
    agent: values.agent,
    agentCommand,
  };
}

/** The repository's drover.yml when acting on it; else the one here, if any; else the defaults. */
async function configFor(acting: ActingInstallation | null): Promise<DroverConfig> {
  if (acting) {
    const loaded = await loadRepoConfig(acting.octokit, acting.repo);
    if (!loaded.ok) exit(renderConfigProblems(loaded.problems, CONFIG_PATH));
    return loaded.config;
  }
  const local = await readFile(CONFIG_PATH, "utf8").catch(() => null);
  const loaded = parseConfig(local === null ? {} : parse(local));
  if (!loaded.ok) exit(renderConfigProblems(loaded.problems, CONFIG_PATH));
  return loaded.config;
}

/** `--agent` and `--agent-command` over the configured agent, checked as drover.yml would be. */
function withAgent(config: DroverConfig, options: SpecArgs): DroverConfig {
  if (options.agent === undefined && options.agentCommand === undefined) return config;
  const read = parseConfig({
    agent: options.agent ?? config.agent,
    ...((options.agentCommand ?? config.agent_command)
      ? { agent_command: options.agentCommand ?? config.agent_command }
      : {}),
  });
  if (!read.ok) exit(`--agent: ${read.problems.map((p) => `${p.key} ${p.message}`).join("; ")}`);
  return {
    ...config,
    agent: read.config.agent,
    agent_command: read.config.agent_command,
    // The configured agent's own arguments are not the one named here.
    agent_args: options.agent === undefined ? config.agent_args : [],
  };
}

/**
 * The agent on the spec, in a temporary directory holding a read-only copy of it and the files it links
 * (found beside it); the proposal, or the report of why there is none. The directory is removed either
 * way (the caller exits only after).
 */
async function planSpec(input: {
  config: DroverConfig;
  specPath: string;
  text: string;
  repo: string;
  passEnv: readonly string[];
}): Promise<{ ok: true; items: BacklogItem[] } | { ok: false; report: string }> {
  // Loaded here, not for every `drover` command: the planner and the read-only checkout bring the agent
  // runner and git (execa).
  const { readSpecFiles, runPlanner } = await import("../../../jobs/plan/planner.ts");
  const { closeReadOnlyCheckout, lockDirectory } = await import("../../git/read-only.ts");
  const dir = await mkdtemp(path.join(os.tmpdir(), "drover-spec-"));
  const copy = path.join(dir, "spec");
  const workDir = path.join(dir, "run");
  try {
    await mkdir(copy);
    await writeFile(path.join(copy, path.basename(input.specPath)), input.text);
    const links = specFileLinks(input.text, input.repo);
    const files = await readSpecFiles(path.dirname(path.resolve(input.specPath)), links, {
      perFile: SPEC_LIMIT,
      total: SPEC_LIMIT,
    });
    for (const file of files) {
      await mkdir(path.dirname(path.join(copy, file.path)), { recursive: true });
      await copyFile(
        path.join(path.dirname(path.resolve(input.specPath)), file.path),
        path.join(copy, file.path),
      );
    }
    const title = /^#\s+(.+)$/m.exec(input.text)?.[1]?.trim() ?? path.basename(input.specPath);
    const prompt = buildPlanPrompt({
      repository: input.repo,
      title,
      body: input.text.slice(0, SPEC_LIMIT),
      files,
    });
    const env = agentEnvironment(process.env, input.passEnv);
    const checkout = await lockDirectory(copy);
    const outcome = await runPlanner({
      config: input.config,
      prompt,
      checkout,
      workDir,
      env,
      secrets: [...secretValues(process.env)],
      paths: serverPaths({ worktree: copy, runDir: workDir, workerHome: os.homedir() }),
    });
    if (outcome.discarded.length > 0)
      process.stderr.write(
        `drover: the agent changed ${outcome.discarded.join(", ")} in its read-only copy; discarded\n`,
      );
    if (!outcome.ok)
      return {
        ok: false,
        report:
          [
            outcome.what,
            ...outcome.problems.map((p) => `  - ${p}`),
            "The end of its output:",
            outcome.tail,
          ].join("\n") + "\n",
      };
    return { ok: true, items: outcome.items };
  } finally {
    await closeReadOnlyCheckout(null, copy).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** Ids unique to this proposal: the same items get the same ids (and so are found again), another plan's not. */
function specPrefix(items: readonly BacklogItem[]): string {
  return `spec-${createHash("sha256").update(JSON.stringify(items)).digest("hex").slice(0, 8)}-`;
}
