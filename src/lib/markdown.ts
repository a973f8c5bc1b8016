/** A code fence that the content cannot close early, however many backticks it holds. */
export function fence(text: string, info = "text"): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${info}\n${text.replace(/\n+$/, "")}\n${ticks}`;
}

/**
 * The body of the last fenced block opened with `tag` (```tag on a line of its own, indented or not),
 * or null when there is none. The last one wins: agents often quote the instructions' example before
 * answering. A mention of the fence inside prose opens nothing. A block never closed (an agent cut off
 * mid-block) runs to the end of the text, so its JSON is still read and found incomplete if it is.
 */
export function lastFencedBlock(text: string, tag: string): string | null {
  const escaped = tag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const opening = new RegExp(`^[ \\t]*\`{3,}${escaped}[ \\t\\r]*$`, "gm");
  let start = -1;
  for (let match = opening.exec(text); match !== null; match = opening.exec(text))
    start = match.index + match[0].length;
  if (start === -1) return null;
  const after = text.slice(start + 1);
  const closing = /^[ \t]*`{3,}[ \t\r]*$/m.exec(after);
  return closing ? after.slice(0, closing.index) : after;
}

/**
 * Text someone else wrote, posted by the App, that pings no one: a zero-width space after each `@` that
 * would start a mention (`@user`, `@org/team`), which reads the same.
 */
export function noMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9])/g, "@\u200b");
}
