import { createHash } from "node:crypto";
import { access, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";

/**
 * The real agent CLIs for `npm run test:agents`: installed from npm at the versions pinned in
 * test/agents/clis.json into a cache directory outside the repository (DROVER_AGENT_CLI_CACHE, default
 * ~/.cache/drover/agent-clis), one folder per set of pins, so a second run installs nothing.
 */

export type AgentCli = "claude" | "codex" | "amp" | "opencode";

interface Pin {
  package: string;
  version: string;
  bin: string;
  postinstall?: string;
}

export type InstalledClis =
  | { installed: true; dir: string; bins: Record<AgentCli, string>; versions: Record<AgentCli, string> }
  | { installed: false; reason: string };

const PINS_FILE = path.join(import.meta.dirname, "..", "agents", "clis.json");

export async function readPins(): Promise<Record<AgentCli, Pin>> {
  const raw = JSON.parse(await readFile(PINS_FILE, "utf8")) as Record<string, unknown>;
  delete raw["//"];
  return raw as unknown as Record<AgentCli, Pin>;
}

export function cacheRoot(): string {
  return process.env.DROVER_AGENT_CLI_CACHE ?? path.join(os.homedir(), ".cache", "drover", "agent-clis");
}

/** Installs the pinned CLIs (once per set of pins) and checks each answers `--version`. */
export async function installAgentClis(log: (line: string) => void = () => {}): Promise<InstalledClis> {
  const pins = await readPins();
  const names = Object.keys(pins) as AgentCli[];
  const key = createHash("sha256").update(JSON.stringify(pins)).digest("hex").slice(0, 12);
  const dir = path.join(cacheRoot(), key);
  const bins = Object.fromEntries(
    names.map((name) => [name, path.join(dir, "node_modules", ".bin", pins[name].bin)]),
  ) as Record<AgentCli, string>;

  if (!(await exists(path.join(dir, ".complete")))) {
    const staging = `${dir}.tmp-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    await writeFile(
      path.join(staging, "package.json"),
      JSON.stringify({ name: "drover-agent-clis", private: true }),
    );
    const specs = names.map((name) => `${pins[name].package}@${pins[name].version}`);
    log(`installing ${specs.join(" ")} into ${dir}`);
    const install = await execa(
      "npm",
      ["install", "--no-audit", "--no-fund", "--no-save", "--engine-strict=false", ...specs],
      { cwd: staging, reject: false, timeout: 10 * 60_000, all: true },
    );
    if (install.exitCode !== 0) {
      await rm(staging, { recursive: true, force: true });
      return { installed: false, reason: `npm install failed: ${lastLines(String(install.all ?? ""), 5)}` };
    }
    // npm may skip install scripts; the ones that place a platform binary are run here, as npm would.
    for (const name of names) {
      const script = pins[name].postinstall;
      if (!script) continue;
      const cwd = path.join(staging, "node_modules", pins[name].package);
      await execa("node", [script], { cwd, reject: false, timeout: 120_000 });
    }
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    await writeFile(path.join(dir, ".complete"), new Date().toISOString());
  }

  const versions = {} as Record<AgentCli, string>;
  for (const name of names) {
    const answer = await execa(bins[name], ["--version"], {
      reject: false,
      timeout: 60_000,
      all: true,
      env: { HOME: path.join(dir, "version-home") },
    });
    const text = String(answer.all ?? "").trim();
    if (answer.exitCode !== 0 || !text.includes(pins[name].version.split("-")[0] as string)) {
      return {
        installed: false,
        reason: `${name} ${pins[name].version} does not run here: ${lastLines(text, 3)}`,
      };
    }
    versions[name] = text.split("\n")[0] as string;
  }
  return { installed: true, dir, bins, versions };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function lastLines(text: string, count: number): string {
  return text.trim().split("\n").slice(-count).join(" | ");
}
