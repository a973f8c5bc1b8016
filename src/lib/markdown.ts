/** A code fence that the content cannot close early, however many backticks it holds. */
export function fence(text: string, info = "text"): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = "`".repeat(longest + 1);
  return `${ticks}${info}\n${text.replace(/\n+$/, "")}\n${ticks}`;
}

/**
 * Text someone else wrote, posted by the App, that pings no one: a zero-width space after each `@` that
 * would start a mention (`@user`, `@org/team`), which reads the same.
 */
export function noMentions(text: string): string {
  return text.replace(/@(?=[A-Za-z0-9])/g, "@\u200b");
}
