import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ROOT,
  copiedPaths,
  dockerfile,
  dockerignorePatterns,
  dockerignored,
  importedPackages,
  whyNotRunnable,
  parseDockerfile,
  relativeImports,
  runtimeRoots,
} from "../../helpers/image.ts";

/**
 * The Dockerfile read without a Docker engine (test/e2e/docker-image.test.ts builds and runs it where
 * one answers): what it copies, whom it runs as, what it starts.
 */

const instructions = dockerfile();
const entrypointScript = () =>
  instructions.find((i) => i.keyword === "RUN" && i.args.includes("/usr/local/bin/drover-entrypoint"))
    ?.args ?? "";

describe("the Dockerfile", () => {
  it("copies every directory the entry points import and every file they read at run time", () => {
    const roots = runtimeRoots();
    // The walk reaches the code itself, not just the entry points' folder.
    expect(roots).toEqual(expect.arrayContaining(["src", "jobs", "bin", "migrations", "app.yml"]));
    const copied = copiedPaths(instructions);
    expect(roots.filter((root) => !copied.has(root))).toEqual([]);
  });

  it("installs every package those files import (the image leaves out devDependencies)", () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const imported = importedPackages();
    expect(imported).toEqual(expect.arrayContaining(["probot", "bullmq", "tsx"]));
    expect(imported.filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });

  it("notices a runtime directory the image leaves out", () => {
    const withoutJobs = parseDockerfile(
      readFileSync(path.join(ROOT, "Dockerfile"), "utf8").replace(/^COPY jobs\/.*$/m, ""),
    );
    const copied = copiedPaths(withoutJobs);
    expect(runtimeRoots().filter((root) => !copied.has(root))).toEqual(["jobs"]);
  });

  it("finds static, dynamic and program-path imports", () => {
    const source = [
      'import { a } from "./a.ts";',
      'export { b } from "../b.ts";',
      'import "./side-effect.ts";',
      'const c = await import("./c.ts");',
      'const web = new URL("../main/web.ts", import.meta.url);',
      'import pino from "pino";',
      '// "./not-code.ts" in a comment',
    ].join("\n");
    expect(relativeImports(source).sort()).toEqual(
      ["../b.ts", "../main/web.ts", "./a.ts", "./c.ts", "./side-effect.ts"].sort(),
    );
  });

  it("keeps dependencies, secrets, local state and test output out of the build context, and nothing the image needs", () => {
    const patterns = dockerignorePatterns();
    for (const file of [
      "node_modules",
      "node_modules/probot/package.json",
      ".env",
      ".env.production",
      ".drover",
      ".drover/mirrors/acme/x.git",
      "drover.private-key.pem",
      "coverage",
      "test/artifacts/trace.zip",
      ".scratch",
      ".git",
    ])
      expect({ file, ignored: dockerignored(patterns, file) }).toEqual({ file, ignored: true });
    for (const root of [...runtimeRoots(), "package-lock.json", "tsconfig.json", ".env.example"])
      expect({ root, ignored: dockerignored(patterns, root) }).toEqual({ root, ignored: false });
  });

  it("carries git, and runs Drover as the unprivileged `drover` user", () => {
    const installs = instructions.filter((i) => i.keyword === "RUN" && i.args.includes("apt-get install"));
    expect(installs.some((i) => /\bgit\b/.test(i.args))).toBe(true);

    const user = instructions.find((i) => i.keyword === "RUN" && i.args.includes("useradd"))?.args ?? "";
    const uid = /--uid (\d+)/.exec(user)?.[1];
    expect(Number(uid)).toBeGreaterThan(0);
    expect(user).toMatch(/\buseradd\b[^&]*\sdrover\s*(&&|$)/);

    // Every command goes through the entrypoint, which drops from root to `drover` before running it.
    const entrypoint = instructions.filter((i) => i.keyword === "ENTRYPOINT");
    expect(entrypoint.map((i) => JSON.parse(i.args) as string[])).toEqual([
      ["/usr/local/bin/drover-entrypoint"],
    ]);
    expect(entrypointScript()).toContain("exec setpriv --reuid=drover --regid=drover --init-groups");
    // No USER line hands the container back to root after that.
    expect(instructions.filter((i) => i.keyword === "USER" && /^(root|0)\b/.test(i.args))).toEqual([]);
  });

  it("starts Drover directly with node (so it hears SIGTERM), and puts `drover` on the PATH", () => {
    const cmd = instructions.filter((i) => i.keyword === "CMD").at(-1);
    expect(whyNotRunnable(JSON.parse(cmd?.args ?? "[]") as string[], instructions)).toBeNull();
    expect(whyNotRunnable("drover migrate", instructions)).toBeNull();
    expect(whyNotRunnable("drover no-such-command", instructions)).toMatch(/is not a command/);
    expect(whyNotRunnable("node --import tsx src/main/nothing.ts", instructions)).toMatch(/does not exist/);
    expect(whyNotRunnable("npm start", instructions)).toMatch(/npm does not pass SIGTERM on/);
  });
});
