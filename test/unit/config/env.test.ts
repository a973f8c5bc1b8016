import { describe, expect, it } from "vitest";
import { readEnv } from "../../../src/config/env.ts";

describe("readEnv", () => {
  it("defaults to local PostgreSQL and Redis", () => {
    const env = readEnv({});
    expect(env.DATABASE_URL).toBe("postgres://postgres@127.0.0.1:5432/drover");
    expect(env.REDIS_URL).toBe("redis://127.0.0.1:6379");
    expect(env.PORT).toBe(3000);
  });

  it.each([
    ["DATABASE_URL", "localhost:5432/drover"],
    ["DATABASE_URL", "postgres://postgres@127.0.0.1:5432"],
    ["DATABASE_URL", "mysql://127.0.0.1/drover"],
    ["REDIS_URL", "127.0.0.1:6379"],
    ["REDIS_URL", ""],
  ])("refuses %s=%j with the variable's name and an example", (name, value) => {
    expect(() => readEnv({ [name]: value })).toThrow(new RegExp(`${name}: must be a URL such as \\w+://`));
  });

  it("accepts postgresql:// and rediss:// URLs", () => {
    const env = readEnv({
      DATABASE_URL: "postgresql://u:p@db.example:6543/drover",
      REDIS_URL: "rediss://cache.example:6380",
    });
    expect(env.DATABASE_URL).toBe("postgresql://u:p@db.example:6543/drover");
    expect(env.REDIS_URL).toBe("rediss://cache.example:6380");
  });

  it("reads DROVER_RECONCILE_EVERY_MS as milliseconds, unset by default (the watchdog's 10 minutes)", () => {
    expect(readEnv({}).DROVER_RECONCILE_EVERY_MS).toBeUndefined();
    expect(readEnv({ DROVER_RECONCILE_EVERY_MS: "3600000" }).DROVER_RECONCILE_EVERY_MS).toBe(3_600_000);
  });

  it.each([
    ["10m", /DROVER_RECONCILE_EVERY_MS: must be a whole number of milliseconds, such as 600000/],
    ["-5", /DROVER_RECONCILE_EVERY_MS: must be a whole number of milliseconds/],
    ["", /DROVER_RECONCILE_EVERY_MS: must be a whole number of milliseconds/],
    ["5000", /DROVER_RECONCILE_EVERY_MS: must be at least 60000 \(milliseconds\)/],
    ["99999999999999999999", /DROVER_RECONCILE_EVERY_MS: is too large/],
  ])("refuses DROVER_RECONCILE_EVERY_MS=%j, saying what it takes", (value, message) => {
    expect(() => readEnv({ DROVER_RECONCILE_EVERY_MS: value })).toThrow(message);
  });

  it("reads DROVER_LEASE_MS as milliseconds, unset by default (15 s), and refuses one under 2 s", () => {
    expect(readEnv({}).DROVER_LEASE_MS).toBeUndefined();
    expect(readEnv({ DROVER_LEASE_MS: "5000" }).DROVER_LEASE_MS).toBe(5_000);
    expect(() => readEnv({ DROVER_LEASE_MS: "500" })).toThrow(
      /DROVER_LEASE_MS: must be at least 2000 \(milliseconds\), such as 15000/,
    );
    expect(() => readEnv({ DROVER_LEASE_MS: "15s" })).toThrow(/DROVER_LEASE_MS: must be a whole number/);
  });

  it("looks for PostgreSQL at libpq's PGHOST and PGPORT when DATABASE_URL is unset", () => {
    expect(readEnv({ PGPORT: "5433" }).DATABASE_URL).toBe("postgres://postgres@127.0.0.1:5433/drover");
    expect(readEnv({ PGHOST: "db.internal", PGPORT: "6000" }).DATABASE_URL).toBe(
      "postgres://postgres@db.internal:6000/drover",
    );
    expect(readEnv({ PGHOST: "::1" }).DATABASE_URL).toBe("postgres://postgres@[::1]:5432/drover");
    // A DATABASE_URL that was set wins; PGHOST and PGPORT only move the default.
    expect(
      readEnv({ DATABASE_URL: "postgres://u@127.0.0.1:5432/x", PGHOST: "/var/run/postgresql", PGPORT: "1" })
        .DATABASE_URL,
    ).toBe("postgres://u@127.0.0.1:5432/x");
  });

  it.each([
    [
      { PGHOST: "/var/run/postgresql" },
      /DATABASE_URL is unset, and PGHOST=\/var\/run\/postgresql: Drover connects over TCP/,
    ],
    [{ PGHOST: "a,b" }, /PGHOST=a,b: Drover connects over TCP to one host; set DATABASE_URL instead/],
    [{ PGPORT: "postgres" }, /DATABASE_URL is unset, and PGPORT=postgres is not a port number \(1-65535\)/],
    [{ PGPORT: "70000" }, /PGPORT=70000 is not a port number/],
    // Not quietly 127.0.0.1 instead.
    [{ PGHOST: "db host" }, /PGHOST=db host is not a host name or address/],
    [{ PGHOST: "db/x" }, /PGHOST=db\/x is not a host name or address/],
  ])("refuses %j for the default DATABASE_URL, saying why", (source, message) => {
    expect(() => readEnv(source)).toThrow(message);
  });

  it("splits DROVER_AGENT_ENV into names", () => {
    expect(readEnv({ DROVER_AGENT_ENV: " ANTHROPIC_API_KEY, ,OPENAI_API_KEY" }).DROVER_AGENT_ENV).toEqual([
      "ANTHROPIC_API_KEY",
      "OPENAI_API_KEY",
    ]);
  });
});
