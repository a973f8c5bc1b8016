import type { z } from "zod";
import { DEFAULT_LABEL, DroverConfig } from "./schema.ts";

export type ConfigProblem = { key: string; value: unknown; message: string };
/**
 * On failure `label` is the label the file seems to mean (its `label` if that is a string, else the
 * default), so a person who added that label hears what is wrong instead of silence.
 */
export type ConfigResult =
  { ok: true; config: DroverConfig } | { ok: false; problems: ConfigProblem[]; label: string };

/** Validates a parsed drover.yml (null when the repository has none). Pure. */
export function parseConfig(raw: unknown): ConfigResult {
  const input = raw ?? {};
  if (typeof input !== "object" || Array.isArray(input)) {
    return {
      ok: false,
      problems: [{ key: "(file)", value: input, message: "must be a mapping of keys to values" }],
      label: DEFAULT_LABEL,
    };
  }
  const result = DroverConfig.safeParse(input);
  if (result.success) return { ok: true, config: result.data };
  const label = (input as { label?: unknown }).label;
  return {
    ok: false,
    problems: result.error.issues.flatMap((issue) => toProblems(issue, input)),
    label: typeof label === "string" && label.trim() ? label.trim() : DEFAULT_LABEL,
  };
}

function toProblems(issue: z.core.$ZodIssue, input: object): ConfigProblem[] {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      key: [...issue.path, key].join("."),
      value: valueAt(input, [...issue.path, key]),
      message: "is not a drover.yml key (see the README for the keys Drover reads)",
    }));
  }
  const key = issue.path.join(".") || "(file)";
  return [{ key, value: valueAt(input, issue.path), message: issue.message }];
}

function valueAt(input: object, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}
