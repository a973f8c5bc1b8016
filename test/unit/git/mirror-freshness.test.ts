import { describe, expect, it } from "vitest";
import { mirrorNeedsFetch, type MirrorState } from "../../../src/git/mirror.ts";

const A = "a".repeat(40);
const B = "b".repeat(40);
const created = new Date("2026-12-06T10:00:00Z");
const fetched = (at: string, sha = A): MirrorState => ({ fetchedAt: at, branches: { main: sha } });

describe("mirrorNeedsFetch (whether a claim fetches before it starts)", () => {
  it("fetches a mirror with no state, or that never fetched the base branch", () => {
    expect(mirrorNeedsFetch({ state: null, base: "main", baseSha: A, since: created })).toBe(true);
    const other: MirrorState = { fetchedAt: "2026-12-06T11:00:00Z", branches: { develop: A } };
    expect(mirrorNeedsFetch({ state: other, base: "main", baseSha: null, since: created })).toBe(true);
  });

  it("with the pushed base head known: fetches only when the mirror's base is elsewhere", () => {
    const old = fetched("2026-12-01T00:00:00Z", A);
    expect(mirrorNeedsFetch({ state: old, base: "main", baseSha: A, since: created })).toBe(false);
    expect(mirrorNeedsFetch({ state: old, base: "main", baseSha: B, since: created })).toBe(true);
    const recent = fetched("2026-12-06T11:00:00Z", A);
    expect(mirrorNeedsFetch({ state: recent, base: "main", baseSha: B, since: created })).toBe(true);
  });

  it("without it: fetches when the mirror was fetched before the attempt was made", () => {
    const before = fetched("2026-12-06T09:59:59Z");
    const after = fetched("2026-12-06T10:00:01Z");
    expect(mirrorNeedsFetch({ state: before, base: "main", baseSha: null, since: created })).toBe(true);
    expect(mirrorNeedsFetch({ state: after, base: "main", baseSha: null, since: created })).toBe(false);
  });

  it("fetches when the state's time cannot be read", () => {
    const broken = fetched("yesterday");
    expect(mirrorNeedsFetch({ state: broken, base: "main", baseSha: null, since: created })).toBe(true);
  });
});
