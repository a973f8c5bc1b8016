import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { COMMANDS } from "../../src/main/commands/index.ts";

/**
 * What the Dockerfile builds, read without a Docker engine: the files the image holds and the commands it
 * can run. The deployment files' tests (Dockerfile, compose.yaml, fly.toml) check against these.
 */

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/** The programs the image starts: src/main/start|web|worker.ts and the `drover` command. */
const ENTRY_POINTS = ["src/main/start.ts", "src/main/web.ts", "src/main/worker.ts", "bin/drover.js"];

/** Read at run time by path rather than imported, so no import leads to them. */
export const READ_AT_RUN_TIME = [
  // `"type": "module"` makes bin/drover.js an ES module; Probot's setup page reads the name and description.
  "package.json",
  // src/db/migrate.ts finds them next to itself, at ../../migrations.
  "migrations",
  // Probot's setup page posts it to GitHub as the app's manifest.
  "app.yml",
];

/** Every file the entry points import, following relative imports (static and dynamic) from one to the next. */
export function importedFiles(entries: string[] = ENTRY_POINTS): string[] {
  const seen = new Set<string>();
  const queue = entries.map((entry) => path.join(ROOT, entry));
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const specifier of relativeImports(readFileSync(file, "utf8"))) {
      const target = path.resolve(path.dirname(file), specifier);
      if (!existsSync(target))
        throw new Error(`${path.relative(ROOT, file)} imports ${specifier}, not found`);
      queue.push(target);
    }
  }
  return [...seen].map((file) => path.relative(ROOT, file)).sort();
}

/** Relative module specifiers of `import ... from "./x"`, `export ... from "./x"`, `import "./x"`, `import("./x")`. */
export function relativeImports(source: string): string[] {
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+["'](\.{1,2}\/[^"']+)["']/gm,
    /^\s*import\s+["'](\.{1,2}\/[^"']+)["']/gm,
    /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g,
    // Files started as programs: `new URL("../main/web.ts", import.meta.url)`.
    /new URL\(\s*["'](\.{1,2}\/[^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
}

/**
 * The npm packages the entry points' files import at run time (type-only imports are erased), by package
 * name: the image installs only `dependencies`, so each must be one.
 */
export function importedPackages(files: string[] = importedFiles()): string[] {
  const patterns = [
    /^\s*import\s+(?!type\s)[^;]*?\sfrom\s+["']([^."'][^"']*)["']/gm,
    /^\s*export\s+(?!type\s)[^;]*?\sfrom\s+["']([^."'][^"']*)["']/gm,
    /^\s*import\s+["']([^."'][^"']*)["']/gm,
    /\bimport\(\s*["']([^."'][^"']*)["']\s*\)/g,
  ];
  const names = files.flatMap((file) => {
    const source = readFileSync(path.join(ROOT, file), "utf8");
    return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1]!));
  });
  return [
    ...new Set(
      names
        .filter((name) => !name.startsWith("node:"))
        .map((name) =>
          name
            .split("/")
            .slice(0, name.startsWith("@") ? 2 : 1)
            .join("/"),
        ),
    ),
  ].sort();
}

/** The top-level files and directories the image must hold for its processes to run. */
export function runtimeRoots(): string[] {
  const imported = importedFiles().map((file) => file.split("/")[0]!);
  return [...new Set([...imported, ...READ_AT_RUN_TIME])].sort();
}

export type Instruction = { keyword: string; args: string; line: number };

/** A Dockerfile's instructions, continuation lines joined and comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith("#") || (line === "" && !pending)) return;
    const continues = line.endsWith("\\");
    const body = continues ? line.slice(0, -1).trim() : line;
    if (pending) pending.args = `${pending.args} ${body}`.trim();
    else {
      const [keyword = "", ...rest] = body.split(/\s+/);
      pending = { keyword: keyword.toUpperCase(), args: rest.join(" "), line: index + 1 };
    }
    if (!continues) {
      instructions.push(pending);
      pending = undefined;
    }
  });
  if (pending) instructions.push(pending);
  return instructions;
}

/** The sources of the Dockerfile's COPY instructions from the build context, without trailing slashes. */
export function copiedPaths(instructions: Instruction[]): Set<string> {
  const sources = instructions
    .filter((instruction) => instruction.keyword === "COPY" && !instruction.args.includes("--from"))
    .flatMap((instruction) => {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith("--"));
      return words.slice(0, -1);
    });
  return new Set(sources.map((source) => source.replace(/^\.\//, "").replace(/\/+$/, "")));
}

/** Whether `.dockerignore`'s patterns keep `file` (a path relative to the context) out of the build. */
export function dockerignored(patterns: string[], file: string): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+/, "").replace(/\/+$/, "");
    const regex = new RegExp(
      `^${pattern
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join("[^/]*")}(/.*)?$`,
    );
    if (regex.test(file)) ignored = !negated;
  }
  return ignored;
}

export function dockerignorePatterns(text: string = read(".dockerignore")): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

export const dockerfile = () => parseDockerfile(read("Dockerfile"));

/** The `drover` subcommands: those cli.ts dispatches itself and those in command modules of their own. */
function droverCommands(): Set<string> {
  const cases = [...read("src/main/cli.ts").matchAll(/case "([a-z-]+)":/g)].map((match) => match[1]!);
  return new Set([...cases, ...COMMANDS.map((command) => command.name)]);
}

/**
 * Why `command` (a shell-style line, as fly.toml gives it, or an argv list) would not run Drover properly in
 * the image, or null when it would: `node --import tsx <entry>` with an entry the image copies, or a
 * `drover` subcommand (with the `drover` link on the PATH). Not `npm start` or `npm run ...`: npm exits on
 * SIGTERM without passing it on, so Drover would never hear `docker stop` or a deploy, and be killed
 * mid-job when the grace period ends (seen with npm 11: npm exits, Drover runs on as an orphan).
 */
export function whyNotRunnable(command: string | string[], instructions = dockerfile()): string | null {
  const words = typeof command === "string" ? command.trim().split(/\s+/) : command;
  const copied = copiedPaths(instructions);
  const [program, first, second, third] = words;
  if (program === "npm")
    return `\`${words.join(" ")}\`: npm does not pass SIGTERM on to Drover; start it with node --import tsx`;
  if (program === "node") {
    if (first !== "--import" || second !== "tsx" || !third || words.length !== 4)
      return `\`${words.join(" ")}\`: expected node --import tsx <entry point>`;
    if (!existsSync(path.join(ROOT, third))) return `${third} does not exist`;
    return copied.has(third.split("/")[0]!) ? null : `the image does not copy ${third}`;
  }
  if (program === "drover") {
    const linked = instructions.some(
      (i) => i.keyword === "RUN" && /ln -s \/app\/bin\/drover\.js \/usr\/local\/bin\/drover\b/.test(i.args),
    );
    if (!linked || !copied.has("bin")) return "the image puts no `drover` command on the PATH";
    return first && droverCommands().has(first) ? null : `\`drover ${first ?? ""}\` is not a command`;
  }
  return `\`${words.join(" ")}\` is neither node --import tsx <entry point> nor drover <command>`;
}
