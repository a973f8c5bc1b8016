/**
 * `drover status --watch` on a terminal: the report redrawn in place. Each frame goes home and overwrites
 * the previous one line by line, clearing what is left of each line and below the last, in one write: the
 * screen is never blank between two frames, so it does not flicker. Pure.
 */

const HOME = "\u001b[H";
const CLEAR_LINE_END = "\u001b[K";
const CLEAR_BELOW = "\u001b[J";
export const CLEAR_SCREEN = "\u001b[H\u001b[2J";
export const HIDE_CURSOR = "\u001b[?25l";
export const SHOW_CURSOR = "\u001b[?25h";

/** The whole screen for one read: the report, then `footer` (when it was read, or why it could not be). */
export function watchFrame(report: string, footer: string): string {
  const lines = `${report.replace(/\n$/, "")}\n\n${footer}`.split("\n");
  return `${HOME}${lines.map((line) => `${line}${CLEAR_LINE_END}`).join("\n")}\n${CLEAR_BELOW}`;
}

/** "Read 09:12:04 UTC; again every 2 s; Ctrl-C stops". */
export function readAtLine(at: Date, intervalSeconds: number): string {
  return `Read ${clock(at)} UTC; read again every ${intervalSeconds} s; Ctrl-C stops`;
}

/** The footer while PostgreSQL does not answer: the last report stays above it. */
export function unreadableLine(
  at: Date,
  message: string,
  intervalSeconds: number,
  lastRead: Date | null,
): string {
  const last = lastRead ? `the report above is from ${clock(lastRead)} UTC` : "nothing read yet";
  return `${clock(at)} UTC: could not read PostgreSQL at DATABASE_URL (${message}); ${last}; trying again every ${intervalSeconds} s`;
}

function clock(at: Date): string {
  return at.toISOString().slice(11, 19);
}
