import { AgentVerdict } from "../db/run-results.ts";

export { AgentVerdict } from "../db/run-results.ts";

export type ParsedVerdict = { verdict: AgentVerdict } | { verdict: null; problem: string };

const OPENING = "```drover-verdict";

/**
 * Finds the last fenced block opened with ```drover-verdict in the agent's final message and validates
 * the JSON inside. The last one wins because agents often quote the instructions (and so an example
 * block) before answering.
 */
export function parseVerdict(text: string): ParsedVerdict {
  const start = lastOpening(text);
  if (start === -1) return { verdict: null, problem: "no drover-verdict block found" };

  const lineEnd = text.indexOf("\n", start);
  const afterOpening = lineEnd === -1 ? "" : text.slice(lineEnd + 1);
  // An agent cut off mid-block (or one that forgot the closing fence) still gets its JSON read.
  const closing = /^[ \t]*```/m.exec(afterOpening);
  const body = (closing ? afterOpening.slice(0, closing.index) : afterOpening).trim();
  if (body === "") return { verdict: null, problem: "drover-verdict block is empty" };

  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    return { verdict: null, problem: `drover-verdict block is not valid JSON: ${(error as Error).message}` };
  }

  const parsed = AgentVerdict.safeParse(json);
  if (parsed.success) return { verdict: parsed.data };
  return { verdict: null, problem: describeProblem(json) };
}

function lastOpening(text: string): number {
  // Only an opening fence at the start of a line counts; a mention inside prose does not.
  for (let index = text.lastIndexOf(OPENING); index !== -1; index = text.lastIndexOf(OPENING, index - 1)) {
    const lineStart = text.lastIndexOf("\n", index - 1) + 1;
    if (/^[ \t]*$/.test(text.slice(lineStart, index))) return index;
    if (index === 0) break;
  }
  return -1;
}

function describeProblem(json: unknown): string {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return 'drover-verdict block must hold a JSON object like {"status": "pass", "summary": "..."}';
  }
  const record = json as Record<string, unknown>;
  if (!["pass", "fail", "blocked"].includes(record["status"] as string)) {
    return `drover-verdict status must be pass, fail or blocked (got ${JSON.stringify(record["status"]) ?? "nothing"})`;
  }
  if (typeof record["summary"] !== "string") return "drover-verdict summary must be a string";
  return "drover-verdict blocker must be a string";
}
