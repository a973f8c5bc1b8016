/**
 * Progress on long command-line work (an import, an export, a bulk retry, a prune): a bar redrawn in place
 * on a terminal, plain lines otherwise (a log, a pipe, CI), one each tenth of the way, so a file of the
 * run reads well. Writes to the stream it is given (the CLI gives stderr, keeping stdout for results).
 */

export type ProgressOut = { write(text: string): unknown; isTTY?: boolean; columns?: number };

export type Progress = {
  /** `done` more steps finished (default 1); `note` says what the last one was (`#12 created`). */
  tick(done?: number, note?: string): void;
  /** The work ended: the bar's line is finished; `summary` (when given) is written on its own line. */
  end(summary?: string): void;
};

export function progress(out: ProgressOut, label: string, total: number): Progress {
  let count = 0;
  let shownTenth = -1;
  let ended = false;
  const tty = out.isTTY === true;
  const draw = (note: string | undefined) => {
    if (tty) {
      out.write(`\r${barLine(label, count, total, note, out.columns ?? 80)}\u001b[K`);
      return;
    }
    const tenth = total === 0 ? 10 : Math.floor((count / total) * 10);
    if (tenth === shownTenth && count !== total) return;
    shownTenth = tenth;
    out.write(`${label}: ${count}/${total}${note ? ` (${note})` : ""}\n`);
  };
  return {
    tick(done = 1, note) {
      if (ended) return;
      count = Math.min(total, count + done);
      draw(note);
    },
    end(summary) {
      if (ended) return;
      ended = true;
      if (tty) out.write("\n");
      if (summary) out.write(`${summary}\n`);
    },
  };
}

/** `label [#######-------] 12/40 note`, cut to the terminal's width. Pure. */
export function barLine(
  label: string,
  count: number,
  total: number,
  note: string | undefined,
  columns: number,
): string {
  const width = 20;
  const filled = total === 0 ? width : Math.round((count / total) * width);
  const line = `${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${count}/${total}${note ? ` ${note}` : ""}`;
  return line.length > columns - 1 ? line.slice(0, Math.max(0, columns - 1)) : line;
}
