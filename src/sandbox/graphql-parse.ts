/**
 * Enough of GraphQL's grammar for the sandbox's mutations: one operation (query or mutation, named or
 * not, with variable definitions), fields with aliases, arguments and selection sets, and values
 * (variables, strings, numbers, booleans, null, enums, lists, objects). Fragments and directives are
 * refused by name. Pure.
 */

export type Location = { line: number; column: number };

export type Value =
  | { kind: "variable"; name: string }
  | { kind: "string"; value: string }
  | { kind: "number"; value: number }
  | { kind: "boolean"; value: boolean }
  | { kind: "null" }
  | { kind: "enum"; value: string }
  | { kind: "list"; values: Value[] }
  | { kind: "object"; fields: Map<string, Value> };

export interface Field {
  alias: string;
  name: string;
  args: Map<string, Value>;
  selections: Field[] | null;
  location: Location;
}

export interface Operation {
  kind: "query" | "mutation" | "subscription";
  name: string | null;
  variables: { name: string; type: string; defaultValue: Value | null }[];
  selections: Field[];
}

export class GraphqlSyntaxError extends Error {
  override name = "GraphqlSyntaxError";
  constructor(
    message: string,
    readonly location: Location,
  ) {
    super(message);
  }
}

type Token = { kind: "punct" | "name" | "string" | "number" | "end"; text: string; location: Location };

const PUNCT = new Set(["!", "$", "(", ")", ":", "=", "@", "[", "]", "{", "}", "|", "&"]);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  let line = 1;
  let lineStart = 0;
  const at = (): Location => ({ line, column: index - lineStart + 1 });
  while (index < source.length) {
    const char = source[index]!;
    if (char === "\n") {
      index++;
      line++;
      lineStart = index;
    } else if (char === " " || char === "\t" || char === "\r" || char === "," || char === "\ufeff") index++;
    else if (char === "#") while (index < source.length && source[index] !== "\n") index++;
    else if (source.startsWith("...", index)) {
      throw new GraphqlSyntaxError("The sandbox's GraphQL does not take fragments (`...`)", at());
    } else if (PUNCT.has(char)) {
      tokens.push({ kind: "punct", text: char, location: at() });
      index++;
    } else if (/[A-Za-z_]/.test(char)) {
      const start = index;
      while (index < source.length && /\w/.test(source[index]!)) index++;
      tokens.push({
        kind: "name",
        text: source.slice(start, index),
        location: { line, column: start - lineStart + 1 },
      });
    } else if (/[-\d]/.test(char)) {
      const match = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(source.slice(index));
      if (!match) throw new GraphqlSyntaxError(`Parse error on "${char}"`, at());
      tokens.push({ kind: "number", text: match[0], location: at() });
      index += match[0].length;
    } else if (char === '"') {
      const location = at();
      if (source.startsWith('"""', index)) {
        const end = source.indexOf('"""', index + 3);
        if (end === -1) throw new GraphqlSyntaxError("Unterminated block string", location);
        const text = source.slice(index + 3, end);
        for (const c of text) if (c === "\n") line++;
        tokens.push({ kind: "string", text: text.trim(), location });
        index = end + 3;
        continue;
      }
      let value = "";
      index++;
      for (;;) {
        const c = source[index];
        if (c === undefined || c === "\n") throw new GraphqlSyntaxError("Unterminated string", location);
        index++;
        if (c === '"') break;
        if (c !== "\\") {
          value += c;
          continue;
        }
        const escaped = source[index++];
        if (escaped === "u") {
          value += String.fromCharCode(parseInt(source.slice(index, index + 4), 16));
          index += 4;
        } else value += { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f" }[escaped ?? ""] ?? escaped ?? "";
      }
      tokens.push({ kind: "string", text: value, location });
    } else throw new GraphqlSyntaxError(`Parse error on "${char}"`, at());
  }
  tokens.push({ kind: "end", text: "", location: at() });
  return tokens;
}

/** Parses a document holding exactly one operation. */
export function parseOperation(source: string): Operation {
  const tokens = tokenize(source);
  let position = 0;
  const peek = () => tokens[position]!;
  const next = () => tokens[position++]!;
  const fail = (token: Token): never => {
    throw new GraphqlSyntaxError(
      token.kind === "end" ? "Parse error on end of document" : `Parse error on "${token.text}"`,
      token.location,
    );
  };
  const isPunct = (text: string) => peek().kind === "punct" && peek().text === text;
  const expectPunct = (text: string) => {
    const token = next();
    if (token.kind !== "punct" || token.text !== text) fail(token);
  };
  const name = (): string => {
    const token = next();
    if (token.kind !== "name") fail(token);
    return token.text;
  };
  const type = (): string => {
    let text: string;
    if (isPunct("[")) {
      next();
      text = `[${type()}]`;
      expectPunct("]");
    } else text = name();
    if (isPunct("!")) {
      next();
      text += "!";
    }
    return text;
  };
  const value = (): Value => {
    const token = next();
    if (token.kind === "punct" && token.text === "$") return { kind: "variable", name: name() };
    if (token.kind === "string") return { kind: "string", value: token.text };
    if (token.kind === "number") return { kind: "number", value: Number(token.text) };
    if (token.kind === "name") {
      if (token.text === "true" || token.text === "false")
        return { kind: "boolean", value: token.text === "true" };
      if (token.text === "null") return { kind: "null" };
      return { kind: "enum", value: token.text };
    }
    if (token.kind === "punct" && token.text === "[") {
      const values: Value[] = [];
      while (!isPunct("]")) values.push(value());
      next();
      return { kind: "list", values };
    }
    if (token.kind === "punct" && token.text === "{") {
      const fields = new Map<string, Value>();
      while (!isPunct("}")) {
        const key = name();
        expectPunct(":");
        fields.set(key, value());
      }
      next();
      return { kind: "object", fields };
    }
    return fail(token);
  };
  const selectionSet = (): Field[] => {
    expectPunct("{");
    const fields: Field[] = [];
    while (!isPunct("}")) {
      if (isPunct("@"))
        throw new GraphqlSyntaxError("The sandbox's GraphQL does not take directives", peek().location);
      const location = peek().location;
      const alias = name();
      let fieldName = alias;
      if (isPunct(":")) {
        next();
        fieldName = name();
      }
      const args = new Map<string, Value>();
      if (isPunct("(")) {
        next();
        while (!isPunct(")")) {
          const key = name();
          expectPunct(":");
          args.set(key, value());
        }
        next();
      }
      if (isPunct("@"))
        throw new GraphqlSyntaxError("The sandbox's GraphQL does not take directives", peek().location);
      const selections = isPunct("{") ? selectionSet() : null;
      fields.push({ alias, name: fieldName, args, selections, location });
    }
    next();
    if (fields.length === 0) fail(peek());
    return fields;
  };

  let kind: Operation["kind"] = "query";
  let operationName: string | null = null;
  const variables: Operation["variables"] = [];
  if (peek().kind === "name") {
    const word = name();
    if (word === "fragment")
      throw new GraphqlSyntaxError("The sandbox's GraphQL does not take fragments", tokens[0]!.location);
    if (word !== "query" && word !== "mutation" && word !== "subscription") fail(tokens[0]!);
    kind = word as Operation["kind"];
    if (peek().kind === "name") operationName = name();
    if (isPunct("(")) {
      next();
      while (!isPunct(")")) {
        expectPunct("$");
        const variable = name();
        expectPunct(":");
        const variableType = type();
        let defaultValue: Value | null = null;
        if (isPunct("=")) {
          next();
          defaultValue = value();
        }
        variables.push({ name: variable, type: variableType, defaultValue });
      }
      next();
    }
  }
  const selections = selectionSet();
  if (peek().kind !== "end") {
    throw new GraphqlSyntaxError("The sandbox's GraphQL takes one operation per request", peek().location);
  }
  return { kind, name: operationName, variables, selections };
}
