import { ampAdapter } from "./amp.ts";
import { claudeAdapter } from "./claude.ts";
import { codexAdapter } from "./codex.ts";
import { commandAdapter } from "./command.ts";
import { opencodeAdapter } from "./opencode.ts";
import type { AgentAdapter } from "./types.ts";

export type {
  AdapterBuildInput,
  AdapterInvocation,
  AgentAdapter,
  AgentExit,
  AgentReport,
  ClassifyInput,
  ExitClassification,
  LiveInput,
} from "./types.ts";
export { parseArgv } from "../parse-argv.ts";

const adapters: ReadonlyMap<string, AgentAdapter> = new Map(
  [claudeAdapter, codexAdapter, ampAdapter, opencodeAdapter, commandAdapter].map((adapter) => [
    adapter.name,
    adapter,
  ]),
);

/** Names accepted by `agent:` in drover.yml. */
export const agentNames: readonly string[] = [...adapters.keys()];

export function getAdapter(name: string): AgentAdapter | undefined {
  return adapters.get(name);
}

/**
 * Whether `agent`, started with `agentArgs`, reads messages while it runs (so a hint reaches it at once):
 * asked of the adapter itself, the one place that decides how it is started.
 */
export function readsInputWhileRunning(agent: string, agentArgs: readonly string[]): boolean {
  try {
    return (
      getAdapter(agent)?.build({ prompt: "", promptFile: "", agentArgs, agentCommand: ["x"] }).live !==
      undefined
    );
  } catch {
    return false;
  }
}
