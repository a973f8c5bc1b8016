import { describe, expect, it } from "vitest";
import { renderTokenCreated, renderTokens, type TokenRow } from "../../../src/report/api-tokens.ts";

const row = (fields: Partial<TokenRow>): TokenRow => ({
  id: 1,
  name: "ci",
  repos: null,
  canWrite: false,
  createdAt: new Date("2026-12-01T10:00:00Z"),
  lastUsedAt: null,
  revokedAt: null,
  ...fields,
});

describe("drover token", () => {
  it("shows a new token once, saying it will not be shown again and how to revoke it", () => {
    const text = renderTokenCreated({
      id: 4,
      token: "drv_abc",
      name: "grafana",
      repos: ["acme/app"],
      canWrite: true,
    });
    expect(text).toContain("  drv_abc\n");
    expect(text).toContain('Token 4 "grafana" (acme/app; read and controls)');
    expect(text).toContain("will not be shown again");
    expect(text).toContain("drover token revoke 4");
  });

  it("lists live tokens first, with what they reach and when they were last used", () => {
    const text = renderTokens([
      row({ id: 1, name: "old", revokedAt: new Date("2026-12-03T00:00:00Z") }),
      row({
        id: 2,
        name: "ci",
        repos: ["acme/app", "acme/lib"],
        lastUsedAt: new Date("2026-12-05T09:30:00Z"),
      }),
    ]);
    expect(text.split("\n")).toEqual([
      "   2  ci  (acme/app, acme/lib; read only)  created 2026-12-01 10:00, last used 2026-12-05 09:30",
      "   1  old  (every repository; read only)  created 2026-12-01 10:00, revoked 2026-12-03 00:00",
      "",
    ]);
  });

  it("says how to issue one when there is none", () => {
    expect(renderTokens([])).toContain("drover token create --name NAME");
  });
});
