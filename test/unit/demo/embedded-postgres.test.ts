import { describe, expect, it } from "vitest";
import { searchable } from "../../../src/demo/embedded-postgres.ts";

describe("searchable: whether the embedded PostgreSQL's user (nobody under root) may enter a directory", () => {
  const nobody = { uid: 65534, gid: 65534 };
  it.each([
    ["root's 755 directory", { uid: 0, gid: 0, mode: 0o40755 }, true],
    ["root's 700 directory (/root)", { uid: 0, gid: 0, mode: 0o40700 }, false],
    ["a 750 directory of nobody's group", { uid: 0, gid: 65534, mode: 0o40750 }, true],
    [
      "a 705 directory of nobody's group (the group bit decides)",
      { uid: 0, gid: 65534, mode: 0o40705 },
      false,
    ],
    ["nobody's own 700 directory", { uid: 65534, gid: 0, mode: 0o40700 }, true],
    ["a 777 directory owned by nobody without the owner's x", { uid: 65534, gid: 0, mode: 0o40677 }, false],
  ])("%s", (_name, info, expected) => {
    expect(searchable(info, nobody)).toBe(expected);
  });
});
