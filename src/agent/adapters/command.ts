import type {
  AdapterBuildInput,
  AdapterInvocation,
  AgentAdapter,
  AgentReport,
  ClassifyInput,
  ExitClassification,
} from "./types.ts";

const PROMPT_FILE = "{prompt_file}";

/**
 * Runs any program: `agent_command` as argv, with `{prompt_file}` replaced by the prompt file's path in
 * every argument, and the prompt on stdin as well. This is also how tests run fake agents.
 *
 * Its output means nothing in particular, so only its exit status counts: it is never taken for
 * rate-limited, and is unavailable only when its program is missing.
 */
export const commandAdapter: AgentAdapter = {
  name: "command",
  installHint: "check agent_command in .github/drover.yml",
  build(input: AdapterBuildInput): AdapterInvocation {
    const [file, ...rest] = input.agentCommand ?? [];
    if (file === undefined || file === "") {
      throw new Error(
        'agent: command needs agent_command in .github/drover.yml, e.g. agent_command: [node, scripts/agent.mjs, "{prompt_file}"]',
      );
    }
    const args = [...rest, ...input.agentArgs].map((arg) => arg.replaceAll(PROMPT_FILE, input.promptFile));
    return { file, args, stdin: input.prompt };
  },
  parse(stdout: string): AgentReport {
    return { finalMessage: stdout };
  },
  classify(run: ClassifyInput): ExitClassification {
    return { exit: run.exitCode === 0 ? "ok" : "failed" };
  },
};
