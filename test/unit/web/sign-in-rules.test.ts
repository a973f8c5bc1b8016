import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import {
  localNext,
  publicOrigin,
  readStateCookie,
  setCookie,
  stateCookieValue,
} from "../../../src/web/sign-in-rules.ts";

describe("where a person goes after signing in", () => {
  it("keeps a path on this Drover, with its query", () => {
    expect(localNext("/drover/tasks/acme/app/3?tab=log")).toBe("/drover/tasks/acme/app/3?tab=log");
  });

  it.each([
    "https://evil.example/",
    "//evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "/drover/\r\nSet-Cookie: x=1",
    "",
    null,
  ])("sends %j to the dashboard instead of off-site", (next) => {
    expect(localNext(next)).toBe("/drover/");
  });
});

describe("this Drover's public address", () => {
  const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

  it("is DROVER_PUBLIC_URL when set, whatever the request says", () => {
    expect(publicOrigin("https://drover.example.com/x", request({ host: "evil.example" }))).toBe(
      "https://drover.example.com",
    );
  });

  it("is the request's own address otherwise, https behind a proxy that says so", () => {
    expect(publicOrigin(undefined, request({ host: "127.0.0.1:3000" }))).toBe("http://127.0.0.1:3000");
    expect(publicOrigin(undefined, request({ host: "d.example", "x-forwarded-proto": "https" }))).toBe(
      "https://d.example",
    );
  });
});

describe("the sign-in's cookies", () => {
  it("are HttpOnly and SameSite=Lax, Secure only on https", () => {
    expect(setCookie("drover_session", "a b", { path: "/drover", maxAge: 60, secure: false })).toBe(
      "drover_session=a%20b; Path=/drover; Max-Age=60; HttpOnly; SameSite=Lax",
    );
    expect(setCookie("x", "", { path: "/", maxAge: 0, secure: true })).toMatch(/; Secure$/);
  });

  it("carry the state and a local next through GitHub, and nothing else", () => {
    expect(readStateCookie(stateCookieValue("abc", "/drover/x?y=1"))).toEqual({
      state: "abc",
      next: "/drover/x?y=1",
    });
    expect(readStateCookie(stateCookieValue("abc", "//evil.example"))?.next).toBe("/drover/");
    expect(readStateCookie(undefined)).toBeNull();
    expect(readStateCookie(".bm8")).toBeNull();
  });
});
