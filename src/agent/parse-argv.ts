const OPERATOR_HELP =
  'write agent_command as an argv list (e.g. [node, scripts/agent.mjs, "{prompt_file}"]) or put the pipeline in a script; nothing runs through a shell';

/**
 * Turns a configured command into argv. A list is taken as is; a string is split with shell-like
 * quoting ('single', "double", backslash escapes) but no expansion of any kind, and shell operators
 * outside quotes are refused rather than silently passed as arguments.
 */
export function parseArgv(value: string | readonly string[]): string[] {
  if (typeof value !== "string") return [...value];

  const args: string[] = [];
  let current = "";
  let inWord = false;
  let i = 0;
  const refuse = (what: string): never => {
    throw new Error(`command ${JSON.stringify(value)}: ${what} is not supported; ${OPERATOR_HELP}`);
  };

  while (i < value.length) {
    const char = value[i] as string;
    const next = value[i + 1];
    if (/\s/.test(char)) {
      if (inWord) args.push(current);
      current = "";
      inWord = false;
      i += 1;
      continue;
    }
    inWord = true;
    if (char === "'") {
      const end = value.indexOf("'", i + 1);
      if (end === -1) throw new Error(`command ${JSON.stringify(value)}: unterminated single quote`);
      current += value.slice(i + 1, end);
      i = end + 1;
    } else if (char === '"') {
      i += 1;
      for (;;) {
        if (i >= value.length) throw new Error(`command ${JSON.stringify(value)}: unterminated double quote`);
        const inner = value[i] as string;
        if (inner === '"') break;
        const escaped = value[i + 1];
        if (inner === "\\" && escaped !== undefined && '"\\$`'.includes(escaped)) {
          current += escaped;
          i += 2;
        } else {
          current += inner;
          i += 1;
        }
      }
      i += 1;
    } else if (char === "\\") {
      if (next === undefined) throw new Error(`command ${JSON.stringify(value)}: trailing backslash`);
      current += next;
      i += 2;
    } else if ("|;&<>`".includes(char)) {
      refuse(`the shell operator '${char === "&" && next === "&" ? "&&" : char}'`);
    } else if (char === "$" && next !== undefined && /[A-Za-z_{(]/.test(next)) {
      refuse(`'$${next}' (variable or command substitution)`);
    } else {
      current += char;
      i += 1;
    }
  }
  if (inWord) args.push(current);
  return args;
}
