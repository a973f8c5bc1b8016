import { MAX_COMMAND_TEXT, parseCommands } from "../../graph/commands.ts";

/** The dashboard's controls: each is the `/drover` command of the same name. */
export const CONTROL_NAMES = ["retry", "hint", "pause", "resume", "cancel", "resolve"] as const;
export type ControlName = (typeof CONTROL_NAMES)[number];

/**
 * The `/drover` command a control stands for, written as a person would write it, so the job applies it
 * through the same parser and code as a comment's. The text (a hint, a reason, a note) must read back as
 * that command's own text: a line of it starting with `/drover` would be another command.
 */
export function controlCommand(
  name: ControlName,
  text: string,
): { ok: true; text: string } | { ok: false; problem: string } {
  const body = text.replace(/\r\n?/g, "\n").trim();
  if (name === "hint" && body === "")
    return { ok: false, problem: "A hint needs text: what should the agent know?" };
  if (body.length > MAX_COMMAND_TEXT)
    return {
      ok: false,
      problem: `The text is ${body.length} characters; Drover takes at most ${MAX_COMMAND_TEXT}.`,
    };
  const takesText = name === "hint" || name === "cancel" || name === "resolve";
  const command = takesText && body !== "" ? `/drover ${name} ${body}` : `/drover ${name}`;
  const parsed = parseCommands(command);
  if (parsed.length !== 1)
    return { ok: false, problem: "The text has a line starting with /drover; write it another way." };
  const [only] = parsed;
  if (!only!.ok) return { ok: false, problem: only!.problem };
  return { ok: true, text: command };
}
