import { describe, expect, it } from "vitest";
import { isPostgresDriverGlitch, isTransientDbError, retryTransient } from "../../../src/db/transient.ts";

/** An error as postgres.js throws it: a message and a `code`. */
function withCode(code: string): Error {
  return Object.assign(new Error(`failed: ${code}`), { code });
}

/** A TypeError whose stack's top frame is in `file`. */
function typeErrorFrom(file: string): TypeError {
  const error = new TypeError("Cannot read properties of null (reading 'write')");
  error.stack = `TypeError: ${error.message}\n    at Timeout.write (${file}:1:1)`;
  return error;
}

/** A short PostgreSQL outage (restart, failover, dropped connection) is waited out; a wrong query is not. */
describe("isTransientDbError", () => {
  it.each(["ECONNREFUSED", "CONNECTION_CLOSED", "57P01", "08006"])("is true for %s on the error", (code) => {
    expect(isTransientDbError(withCode(code))).toBe(true);
  });

  it("is true for a transient code on the cause, as drizzle wraps the driver's error", () => {
    const wrapped = new Error("Failed query: select 1", { cause: withCode("ECONNRESET") });
    expect(isTransientDbError(wrapped)).toBe(true);
  });

  it("is false for a query's own failure, such as a unique violation", () => {
    expect(isTransientDbError(withCode("23505"))).toBe(false);
    expect(isTransientDbError(new Error("x", { cause: withCode("23505") }))).toBe(false);
  });

  it("is false for errors with no code, and for things that are not errors", () => {
    expect(isTransientDbError(new Error("connection refused"))).toBe(false);
    expect(isTransientDbError(undefined)).toBe(false);
    expect(isTransientDbError("ECONNREFUSED")).toBe(false);
  });
});

/** The driver's known crash when a connection drops mid-write is logged, not allowed to end the worker. */
describe("isPostgresDriverGlitch", () => {
  it("is true for a TypeError thrown from postgres.js's connection code (ESM or CommonJS build)", () => {
    expect(isPostgresDriverGlitch(typeErrorFrom("/app/node_modules/postgres/src/connection.js"))).toBe(true);
    expect(isPostgresDriverGlitch(typeErrorFrom("/app/node_modules/postgres/cjs/src/connection.js"))).toBe(
      true,
    );
  });

  it("is false for a TypeError thrown anywhere else", () => {
    expect(isPostgresDriverGlitch(typeErrorFrom("/app/src/db/attempts.ts"))).toBe(false);
    expect(isPostgresDriverGlitch(typeErrorFrom("/app/node_modules/other/src/connection.js"))).toBe(false);
  });

  it("is false for an error that is not a TypeError, even from the driver", () => {
    const error = new Error("boom");
    error.stack = "Error: boom\n    at write (/app/node_modules/postgres/src/connection.js:1:1)";
    expect(isPostgresDriverGlitch(error)).toBe(false);
  });
});

/** A database call made during a short outage succeeds once PostgreSQL is back, instead of failing the job. */
describe("retryTransient", () => {
  const quick = { forMs: 100, everyMs: 20 };

  it("tries again after transient failures and returns what the work returns", async () => {
    let calls = 0;
    const result = await retryTransient(async () => {
      calls++;
      if (calls <= 2) throw withCode("ECONNREFUSED");
      return "done";
    }, quick);
    expect(result).toBe("done");
    expect(calls).toBe(3);
  });

  it("throws any other error at once, without trying again", async () => {
    let calls = 0;
    const unique = withCode("23505");
    await expect(
      retryTransient(async () => {
        calls++;
        throw unique;
      }, quick),
    ).rejects.toBe(unique);
    expect(calls).toBe(1);
  });

  it("gives up after forMs and throws the last transient error", async () => {
    const thrown: Error[] = [];
    const started = Date.now();
    const error = await retryTransient(async () => {
      thrown.push(withCode("57P03"));
      throw thrown.at(-1);
    }, quick).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(thrown.length).toBeGreaterThan(1);
    expect(error).toBe(thrown.at(-1));
    expect(elapsed).toBeGreaterThanOrEqual(quick.forMs - quick.everyMs * 2);
    expect(elapsed).toBeLessThan(1_000);
  });
});
