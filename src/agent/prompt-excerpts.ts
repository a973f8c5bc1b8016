/**
 * Text over its size limit: the prompt shows an excerpt and a note, and lists the text in its "Content not
 * included" table with how to fetch it whole. Pure.
 */

/** A piece of content the prompt leaves out (or cuts short) and how the agent can fetch it whole. */
export type Reference = { what: string; bytes: number; fetch: string };

/** What is left of a size limit; texts that share a limit share one budget. */
export type Budget = { left: number };

/** A text as the prompt shows it: whole (no note), or an excerpt and the note saying it was cut. */
export type Shown = { text: string; note: string | null };

/** How much of a text over its limit is still shown, so the agent can tell what it is. */
const EXCERPT_BYTES = 2000;
const EXCERPT_LINES = 40;

export function budget(bytes: number): Budget {
  return { left: bytes };
}

/**
 * The text as it is when it fits what is left of its budget; otherwise an excerpt, a note saying it was
 * cut, and a reference added to `references`. Only what is shown is taken from the budget.
 */
export function within(
  text: string,
  left: Budget,
  limitName: string,
  references: Reference[],
  ref: { what: string; fetch: string },
): Shown {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= left.left) {
    left.left -= bytes;
    return { text, note: null };
  }
  references.push({ ...ref, bytes });
  const excerpt = head(text, Math.min(EXCERPT_BYTES, left.left));
  left.left -= Buffer.byteLength(excerpt, "utf8");
  return {
    text: excerpt,
    note:
      `[Cut ${excerpt ? "after this excerpt" : "entirely"}: the whole text is ${formatBytes(bytes)} bytes, over ` +
      `\`${limitName}\`. "Content not included" below says how to fetch it.]`,
  };
}

/** The "Content not included" section, or null when everything fit. */
export function referencesSection(references: readonly Reference[]): string | null {
  if (references.length === 0) return null;
  const rows = references.map((r) => `| ${cell(r.what)} | ${formatBytes(r.bytes)} | ${cell(r.fetch)} |`);
  return [
    "## Content not included",
    "",
    "This content is over its size limit, so above it is cut to a short excerpt. Fetch it whole if you need it:",
    "",
    "| What | Size (bytes) | How to fetch it |",
    "|---|---|---|",
    ...rows,
  ].join("\n");
}

/**
 * At most `maxBytes` and `EXCERPT_LINES` lines from the start of `text`, in whole characters; a line cut
 * in the middle is left out when the excerpt has enough before it.
 */
function head(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  let lines = 1;
  for (const char of text) {
    if (char === "\n" && ++lines > EXCERPT_LINES) return text.slice(0, end).trimEnd();
    const size = Buffer.byteLength(char, "utf8");
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  const excerpt = text.slice(0, end);
  const lastBreak = excerpt.lastIndexOf("\n");
  const midLine = end < text.length && text[end] !== "\n";
  return (midLine && lastBreak > excerpt.length / 2 ? excerpt.slice(0, lastBreak) : excerpt).trimEnd();
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

function formatBytes(bytes: number): string {
  return bytes.toLocaleString("en-US");
}
