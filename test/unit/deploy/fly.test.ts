import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { ROOT, whyNotRunnable } from "../../helpers/image.ts";

/** fly.toml: what Fly runs from the image, checked against what the image has (no flyctl needed). */

type FlyConfig = {
  env: Record<string, string>;
  deploy?: { release_command?: string };
  processes: Record<string, string>;
  http_service: {
    internal_port: number;
    processes: string[];
    checks: { path: string }[];
  };
  mounts: { source: string; destination: string; processes: string[] }[];
};

const fly = parse(readFileSync(path.join(ROOT, "fly.toml"), "utf8")) as unknown as FlyConfig;

describe("fly.toml", () => {
  it("runs migrations as the release command, before any machine runs new code", () => {
    expect(fly.deploy?.release_command).toBe("drover migrate");
    expect(whyNotRunnable(fly.deploy!.release_command!)).toBeNull();
  });

  it("runs a web and a worker process group with commands the image has", () => {
    expect(fly.processes).toEqual({
      web: "node --import tsx src/main/web.ts",
      worker: "node --import tsx src/main/worker.ts",
    });
    for (const command of Object.values(fly.processes)) expect(whyNotRunnable(command)).toBeNull();
  });

  it("sends HTTP to the web group on the port it listens on, and checks /healthz", () => {
    expect(fly.http_service.processes).toEqual(["web"]);
    expect(String(fly.http_service.internal_port)).toBe(fly.env.PORT);
    expect(fly.http_service.checks.map((check) => check.path)).toEqual(["/healthz"]);
  });

  it("gives the workers a volume at DROVER_HOME for their repositories", () => {
    expect(fly.mounts).toEqual([
      { source: "drover_data", destination: fly.env.DROVER_HOME, processes: ["worker"] },
    ]);
  });
});
