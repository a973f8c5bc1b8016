import { parse, YAMLParseError } from "yaml";
import { parseConfig, type ConfigResult } from "../config/parse.ts";
import { renderConfigProblems } from "./render.ts";

/** What `drover config check` says of a drover.yml, and whether the app would take it. */
export type ConfigCheck = { ok: boolean; output: string };

/**
 * Checks a drover.yml's text as the app does when a task starts, with the same messages it posts on the
 * issue. `_extends` (an organisation's defaults) is resolved by the app on GitHub, not here: it is set
 * aside and said so. Pure.
 */
export function checkConfigText(text: string, shownPath: string): ConfigCheck {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    const detail = error instanceof YAMLParseError ? `: ${error.message.split("\n")[0]}` : "";
    return {
      ok: false,
      output: renderConfigProblems(
        [{ key: "(file)", value: undefined, message: `is not valid YAML${detail}` }],
        shownPath,
      ),
    };
  }
  const notes: string[] = [];
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw) && "_extends" in raw) {
    const { _extends: extendsFrom, ...own } = raw as Record<string, unknown>;
    raw = own;
    notes.push(
      `\`_extends: ${String(extendsFrom)}\` is followed by the app on GitHub, not here: only this file's own keys were checked.`,
    );
  }
  return describeConfig(parseConfig(raw), shownPath, notes);
}

/** What a checked drover.yml comes to: the app's own messages when it is not valid, a summary when it is. */
export function describeConfig(result: ConfigResult, shownPath: string, notes: string[] = []): ConfigCheck {
  if (!result.ok)
    return { ok: false, output: [renderConfigProblems(result.problems, shownPath), ...notes].join("\n") };
  const { config } = result;
  const agents = config.agent.join(", ");
  return {
    ok: true,
    output: [
      `\`${shownPath}\` is valid: tasks are issues labelled \`${config.label}\`, run by ${agents}` +
        `, ${config.max_workers} at a time, ${config.checks.length} check${config.checks.length === 1 ? "" : "s"} after each.`,
      ...notes,
      "",
    ].join("\n"),
  };
}

/** The `Drover config` check run on a pushed commit: success or failure, with `describeConfig`'s words. */
export function configCheckRun(
  result: ConfigResult | null,
  shownPath: string,
): { conclusion: "success" | "failure"; title: string; summary: string } {
  if (result === null)
    return {
      conclusion: "success",
      title: `No ${shownPath}: Drover uses its defaults`,
      summary: `This commit has no \`${shownPath}\`: Drover uses its defaults for this repository.`,
    };
  const checked = describeConfig(result, shownPath);
  const problems = result.ok ? 0 : result.problems.length;
  return {
    conclusion: checked.ok ? "success" : "failure",
    title: checked.ok
      ? `${shownPath} is valid`
      : `${shownPath} is not valid: ${problems} problem${problems === 1 ? "" : "s"}`,
    summary: checked.output,
  };
}
