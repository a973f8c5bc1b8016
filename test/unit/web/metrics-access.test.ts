import { describe, expect, it } from "vitest";
import { isLoopback, refusalOf } from "../../../src/web/metrics.ts";

const from = (remoteAddress: string, headers: Record<string, string> = {}) => ({
  headers,
  socket: { remoteAddress } as never,
});

describe("who may scrape /metrics", () => {
  it("knows loopback addresses, IPv4-mapped ones included", () => {
    for (const address of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
      expect(isLoopback(address)).toBe(true);
    for (const address of ["10.0.0.1", "192.0.2.2", "::ffff:10.0.0.1", "fd00::2", "1127.0.0.1", ""])
      expect(isLoopback(address)).toBe(false);
    expect(isLoopback(undefined)).toBe(false);
  });

  it("goes by the connection's address, not a header anyone can write", () => {
    expect(refusalOf(from("192.0.2.2", { "x-forwarded-for": "127.0.0.1" }), undefined)?.status).toBe(403);
    expect(refusalOf(from("127.0.0.1"), undefined)).toBeNull();
  });

  it("with a token, answers only that token, whatever the address", () => {
    expect(refusalOf(from("192.0.2.2", { authorization: "Bearer s3cret" }), "s3cret")).toBeNull();
    expect(refusalOf(from("192.0.2.2", { authorization: "bearer s3cret" }), "s3cret")).toBeNull();
    for (const authorization of ["Bearer s3cre", "Bearer s3cret2", "s3cret", "Basic s3cret"])
      expect(refusalOf(from("127.0.0.1", { authorization }), "s3cret")?.status).toBe(401);
  });
});
