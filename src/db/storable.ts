/**
 * PostgreSQL refuses some text that JavaScript strings (and GitHub's payloads) can hold: NUL in `text`,
 * and in `json`/`jsonb` the escapes `\u0000` and a lone surrogate (`\ud800` with no partner). A title, a
 * label, an agent's output or an error message carrying one would fail its write, and the job behind it
 * would fail on every try. Every parameter bound for such a column passes through these (the client
 * installs them as the driver's serializers), and each refused character becomes U+FFFD, as a lone
 * surrogate in plain text already does on its way to UTF-8. Raw webhook bodies are JSON text with these
 * written as escapes, so they are stored as sent.
 */

/** Plain text: NUL becomes U+FFFD. */
export function storableText(value: unknown): string {
  const text = typeof value === "string" ? value : String(value);
  return text.includes("\u0000") ? text.replaceAll("\u0000", "\uFFFD") : text;
}

/** A valid surrogate pair, a lone `\uXXXX` escape, or any other escape (so `\\u0000` stays text). */
const ESCAPES = /\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})|\\[^u]/gi;

/** JSON text: the escapes PostgreSQL's json types refuse become `\ufffd`. */
export function storableJson(value: unknown): string {
  const json = typeof value === "string" ? value : JSON.stringify(value);
  if (!json.includes("\\u")) return json;
  return json.replace(ESCAPES, (escape: string, _high?: string, _low?: string, single?: string) => {
    if (single === undefined) return escape;
    const code = parseInt(single, 16);
    return code === 0 || (code >= 0xd800 && code <= 0xdfff) ? "\\ufffd" : escape;
  });
}
