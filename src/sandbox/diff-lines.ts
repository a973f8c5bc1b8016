/**
 * Where a review comment sits in a file's unified diff, as GitHub records it: `position` (lines down from
 * the file's first `@@`, which is 0, counting later `@@` lines too) and `diff_hunk` (the hunk from its
 * `@@` header down to the commented line). Pure: the diff text comes from git.
 */

export type Side = "LEFT" | "RIGHT";

export type Located = { position: number; diffHunk: string };

const HUNK_HEADER = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/**
 * `line` of the old file (LEFT: a removed or unchanged line) or the new one (RIGHT: an added or unchanged
 * line) in `patch`, the output of `git diff` for one file; null when the diff does not show that line.
 */
export function locateLine(patch: string, line: number, side: Side): Located | null {
  const lines = patch.split("\n");
  const first = lines.findIndex((text) => HUNK_HEADER.test(text));
  if (first === -1) return null;
  let hunkStart = first;
  let oldLine = 0;
  let newLine = 0;
  for (let index = first; index < lines.length; index++) {
    const text = lines[index] ?? "";
    const header = HUNK_HEADER.exec(text);
    if (header) {
      hunkStart = index;
      oldLine = Number(header[1]);
      newLine = Number(header[2]);
      continue;
    }
    if (text.startsWith("\\")) continue; // "\ No newline at end of file"
    // git's output reaches us trimmed: a trailing blank context line may have lost its space.
    const kind = text === "" ? " " : text[0];
    const onOld = kind === "-" || kind === " ";
    const onNew = kind === "+" || kind === " ";
    const hit = side === "LEFT" ? onOld && oldLine === line : onNew && newLine === line;
    if (hit) {
      return { position: index - first, diffHunk: lines.slice(hunkStart, index + 1).join("\n") };
    }
    if (onOld) oldLine++;
    if (onNew) newLine++;
  }
  return null;
}
