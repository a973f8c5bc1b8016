import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ROOT, whyNotRunnable } from "../../helpers/image.ts";

/**
 * compose.yaml read as Compose would read it (YAML merge keys, `${VAR:-default}` with nothing set);
 * test/e2e/docker-image.test.ts also runs `docker compose config` on it where the plugin is installed.
 */

type Service = {
  image?: string;
  build?: string;
  command?: string[];
  env_file?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  volumes?: string[];
};
type Compose = { services: Record<string, Service>; volumes: Record<string, unknown> };

/** `${NAME:-default}` as Compose fills it with NAME unset. */
const withDefaults = (text: string) => text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");
const compose = parse(withDefaults(readFileSync(path.join(ROOT, "compose.yaml"), "utf8")), {
  merge: true,
}) as Compose;
const { postgres, redis, web, worker } = compose.services;

describe("compose.yaml", () => {
  it("runs PostgreSQL, Redis, and Drover's web and worker from one image built here", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["postgres", "redis", "web", "worker"]);
    for (const drover of [web, worker]) {
      expect(drover?.build).toBe(".");
      expect(drover?.image).toBe(web?.image);
      expect(drover?.env_file).toBe(".env");
    }
    expect(web?.command).toEqual(["node", "--import", "tsx", "src/main/web.ts"]);
    expect(worker?.command).toEqual(["node", "--import", "tsx", "src/main/worker.ts"]);
    for (const drover of [web, worker]) expect(whyNotRunnable(drover!.command!)).toBeNull();
  });

  it("starts Drover only once PostgreSQL and Redis answer their health checks", () => {
    for (const service of [postgres, redis]) expect(service?.healthcheck?.test?.[0]).toBe("CMD");
    for (const drover of [web, worker])
      expect(drover?.depends_on).toEqual({
        postgres: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
      });
    // The web's check asks /healthz; the worker serves no HTTP, so the image's check is off for it.
    expect(web?.healthcheck?.test?.join(" ")).toContain("/healthz");
    expect(worker?.healthcheck).toEqual({ disable: true });
  });

  it("points Drover at these services, whatever .env says for running outside Docker", () => {
    const pg = postgres!.environment!;
    for (const drover of [web, worker]) {
      const env = drover!.environment!;
      const database = new URL(env.DATABASE_URL!);
      expect(database.hostname).toBe("postgres");
      expect(decodeURIComponent(database.username)).toBe(pg.POSTGRES_USER);
      expect(decodeURIComponent(database.password)).toBe(pg.POSTGRES_PASSWORD);
      expect(database.pathname).toBe(`/${pg.POSTGRES_DB}`);
      expect(new URL(env.REDIS_URL!).hostname).toBe("redis");
      expect(env.DROVER_HOME).toBe("/data");
    }
  });

  it("keeps each stateful service's data in a named volume", () => {
    const mounted = (service: Service | undefined, at: string) =>
      service?.volumes?.find((volume) => volume.endsWith(`:${at}`))?.split(":")[0];
    const volumes = [
      mounted(postgres, "/var/lib/postgresql/data"),
      mounted(redis, "/data"),
      mounted(worker, web!.environment!.DROVER_HOME!),
    ];
    expect(volumes.every((name) => name !== undefined && name in compose.volumes)).toBe(true);
    expect(new Set(volumes).size).toBe(3);
  });

  it("configures Redis so queued jobs are never evicted", () => {
    expect(redis?.command?.join(" ")).toContain("--maxmemory-policy noeviction");
  });
});
