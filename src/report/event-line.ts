import type { DroverEvent } from "../db/events.ts";

/**
 * `drover stream`: one event as one line for a person at a terminal, or as NDJSON for a program. Pure.
 *
 *   2026-12-06 07:01:02Z  task.failed     acme/app#12  story acme/app#3  attempt 2  @mae  checks failed
 */

/** The fields of `data` worth a glance, in the order shown; the rest is in `--json`. */
const SAID = ["reason", "note", "hint", "command"] as const;

/** Text from an event (an agent's reason, a person's hint) as safe to print: no escape codes, one line. */
function printable(value: unknown, max = 160): string {
  const text = (typeof value === "string" ? value : JSON.stringify(value))
    .replace(/\s+/g, " ")
    .replace(/\p{Cc}/gu, "")
    .trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The useful part of an event's data: what a person said or why it happened, and its pull request. */
export function eventDetail(data: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const key of SAID) {
    const value = data[key];
    if (value === undefined || value === null || value === "") continue;
    parts.push(key === "reason" ? printable(value) : `${key}: ${printable(value)}`);
  }
  if (typeof data.pr === "number") parts.push(`PR #${data.pr}`);
  if (typeof data.base === "string") parts.push(`base ${printable(data.base, 60)}`);
  if (typeof data.nextAttemptAt === "string") parts.push(`next try ${printable(data.nextAttemptAt, 40)}`);
  return parts.join("  ");
}

/** One event as a line for a terminal (time in UTC, type, task, story, attempt, who, detail). */
export function eventLine(event: DroverEvent): string {
  const time = `${event.at.slice(0, 19).replace("T", " ")}Z`;
  const task = event.repo ? (event.issue === null ? event.repo : `${event.repo}#${event.issue}`) : "-";
  const fields = [
    time,
    event.type.padEnd(15),
    printable(task, 120),
    ...(event.story ? [`story ${printable(event.story, 120)}`] : []),
    ...(event.attempt === null ? [] : [`attempt ${event.attempt}`]),
    ...(event.actor ? [`@${printable(event.actor, 60)}`] : []),
  ];
  const detail = eventDetail(event.data);
  return `${[...fields, ...(detail ? [detail] : [])].join("  ")}\n`;
}

/** One event as a line of NDJSON, as the events API sends it. */
export function eventJson(event: DroverEvent): string {
  return `${JSON.stringify(event)}\n`;
}
