/**
 * Characters a reader on GitHub does not see: zero-width and joiners, bidirectional controls (which can
 * make text read differently from what it is), invisible fillers, Unicode tags and variation selectors
 * (both can smuggle text in), the soft hyphen and the byte-order mark. The combining ones stand alone or
 * in a range of their own: next to other characters in a class they would read as one combined character.
 */
const INVISIBLE =
  /[\u00AD\u061C\u115F\u1160\u180E\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFEFF\uFFA0\u{E0000}-\u{E007F}]|\u034F|\u17B4|\u17B5|[\u180B-\u180D]|\u180F|[\uFE00-\uFE0F]|[\u{E0100}-\u{E01EF}]/gu;

/**
 * Removes what hides text from the people who review the issue: HTML comments (GitHub shows none of
 * them, and an unclosed one hides everything after it) and invisible characters. A comment inside a
 * fenced code block is shown on GitHub as code, so it stays. Pure.
 */
export function stripHidden(text: string): string {
  const kept: string[] = [];
  let codeFence: { char: string; length: number } | null = null;
  let inComment = false;
  for (const raw of text.replace(INVISIBLE, "").split("\n")) {
    let rest = raw;
    let removed = false;
    if (inComment) {
      const end = rest.indexOf("-->");
      if (end === -1) continue;
      inComment = false;
      removed = true;
      rest = rest.slice(end + 3);
    } else if (codeFence) {
      kept.push(rest);
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(rest)?.[1];
      if (close?.startsWith(codeFence.char) && close.length >= codeFence.length) codeFence = null;
      continue;
    } else {
      const open = /^ {0,3}(`{3,}|~{3,})/.exec(rest)?.[1];
      if (open) {
        codeFence = { char: open.charAt(0), length: open.length };
        kept.push(rest);
        continue;
      }
    }
    let shown = "";
    for (;;) {
      const start = rest.indexOf("<!--");
      if (start === -1) {
        shown += rest;
        break;
      }
      shown += rest.slice(0, start);
      removed = true;
      // GitHub ends a comment at the first "-->" after "<!", so "<!-->" is a whole (empty) one.
      const end = rest.indexOf("-->", start + 2);
      if (end === -1) {
        inComment = true;
        break;
      }
      rest = rest.slice(end + 3);
    }
    // A line that was only a comment goes; so does the space a comment leaves at a line's end.
    if (removed && !shown.trim()) continue;
    kept.push(removed ? shown.trimEnd() : shown);
  }
  return kept.join("\n");
}
