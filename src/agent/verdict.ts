import { AgentVerdict } from "../db/run-results.ts";
import { lastFencedBlock } from "../lib/markdown.ts";

export { AgentVerdict } from "../db/run-results.ts";

export type ParsedVerdict = { verdict: AgentVerdict } | { verdict: null; problem: string };

/**
 * Finds the last fenced block opened with ```drover-verdict in the agent's final message and validates
 * the JSON inside. The last one wins because agents often quote the instructions (and so an example
 * block) before answering.
 */
export function parseVerdict(text: string): ParsedVerdict {
  const block = lastFencedBlock(text, "drover-verdict");
  if (block === null) return { verdict: null, problem: "no drover-verdict block found" };
  const body = block.trim();
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
