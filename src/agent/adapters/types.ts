export interface AdapterBuildInput {
  prompt: string;
  /** Absolute path of the prompt file (outside the worktree). */
  promptFile: string;
  /** `agent_command` from drover.yml, as argv. */
  agentCommand?: readonly string[] | undefined;
  /** `agent_args` from drover.yml, appended to the adapter's own arguments. */
  agentArgs: readonly string[];
}

export interface AdapterInvocation {
  file: string;
  args: string[];
  /** Written to the agent's stdin, then stdin is closed. */
  stdin: string;
}

export interface AgentReport {
  /** The agent's last message, where the drover-verdict block is looked for. */
  finalMessage: string;
  costUsd?: number;
  turns?: number;
  sessionId?: string;
  /** The agent reported an error of its own (e.g. Claude Code's `is_error`). */
  isError?: boolean;
}

/** One coding-agent CLI: how to start it and how to read what it printed. */
export interface AgentAdapter {
  name: string;
  /** Said when the program is not found, e.g. how to install it. */
  installHint?: string;
  build(input: AdapterBuildInput): AdapterInvocation;
  /** Reads the tail of stdout the runner kept. Never throws. */
  parse(stdout: string): AgentReport;
}
