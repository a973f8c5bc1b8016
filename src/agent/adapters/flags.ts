/** Whether `args` already sets one of `flags`, as `--flag`, `--flag=value` or a short `-f`. */
export function hasFlag(args: readonly string[], ...flags: string[]): boolean {
  return args.some((arg) =>
    flags.some((flag) => arg === flag || (flag.startsWith("--") && arg.startsWith(`${flag}=`))),
  );
}

/** `agent_command` as the program and its leading arguments, or the CLI's own name. */
export function programOf(agentCommand: readonly string[] | undefined, fallback: string): [string, string[]] {
  const [file = fallback, ...prefix] = agentCommand?.length ? agentCommand : [fallback];
  return [file, prefix];
}
