import { claudeAdapter } from "./claude.ts";
import { commandAdapter } from "./command.ts";
import type { AgentAdapter } from "./types.ts";

export type { AdapterBuildInput, AdapterInvocation, AgentAdapter, AgentReport } from "./types.ts";
export { parseArgv } from "../parse-argv.ts";

const adapters: ReadonlyMap<string, AgentAdapter> = new Map(
  [claudeAdapter, commandAdapter].map((adapter) => [adapter.name, adapter]),
);

/** Names accepted by `agent:` in drover.yml. */
export const agentNames: readonly string[] = [...adapters.keys()];

export function getAdapter(name: string): AgentAdapter | undefined {
  return adapters.get(name);
}
