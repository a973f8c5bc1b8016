import { actingAccount, type Actor } from "./auth.ts";
import { disableAutoMerge, enableAutoMerge } from "./auto-merge.ts";
import type { SandboxContext } from "./context.ts";
import {
  GraphqlSyntaxError,
  parseOperation,
  type Field,
  type Location,
  type Value,
} from "./graphql-parse.ts";
import { nodeId, type Json } from "./shapes.ts";
import { SandboxError, type Account, type PullRecord } from "./world.ts";

/**
 * The sandbox's GraphQL endpoint (`POST /api/graphql`, where Octokit sends GraphQL for a GHES-style
 * `/api/v3` base URL, and `POST /api/v3/graphql`, github.com's `/graphql` under the REST root). GitHub enables auto-merge only through GraphQL, so this answers exactly the
 * mutations `enablePullRequestAutoMerge` and `disablePullRequestAutoMerge`, selecting fields of their
 * payload, the pull request and its auto-merge request; anything else is answered with an error that
 * says the sandbox does not implement it. Errors come as GitHub sends them: HTTP 200 with `errors`
 * (`message`, `type`, `path`, `locations`) and `data` holding null for the field that failed.
 */

type GraphqlError = {
  message: string;
  type: string;
  locations?: Location[];
  path?: (string | number)[];
  extensions?: Json;
};

type Answer = { status: number; body: Json };

const IMPLEMENTED = "enablePullRequestAutoMerge and disablePullRequestAutoMerge";
const MERGE_METHODS = { MERGE: "merge", SQUASH: "squash" } as const;

type Payload = { clientMutationId: string | null; actor: Account; pull: PullRecord };
type Resolver = { type: string; resolve: (source: never) => unknown };

/** Field name → its GraphQL type and value, per object type the mutations reach. */
const OBJECTS: Record<string, Record<string, Resolver>> = {
  Payload: {
    clientMutationId: { type: "String", resolve: (p: Payload) => p.clientMutationId },
    actor: { type: "Actor", resolve: (p: Payload) => p.actor },
    pullRequest: { type: "PullRequest", resolve: (p: Payload) => p.pull },
  },
  PullRequest: {
    id: { type: "ID", resolve: (pull: PullRecord) => nodeId("PullRequest", pull.issue.id) },
    number: { type: "Int", resolve: (pull: PullRecord) => pull.issue.number },
    title: { type: "String", resolve: (pull: PullRecord) => pull.issue.title },
    state: {
      type: "PullRequestState",
      resolve: (pull: PullRecord) => (pull.merged ? "MERGED" : pull.issue.state.toUpperCase()),
    },
    closed: { type: "Boolean", resolve: (pull: PullRecord) => pull.issue.state === "closed" },
    isDraft: { type: "Boolean", resolve: (pull: PullRecord) => pull.draft },
    merged: { type: "Boolean", resolve: (pull: PullRecord) => pull.merged },
    mergedAt: { type: "DateTime", resolve: (pull: PullRecord) => pull.mergedAt },
    headRefName: { type: "String", resolve: (pull: PullRecord) => pull.head },
    headRefOid: { type: "GitObjectID", resolve: (pull: PullRecord) => pull.headSha },
    baseRefName: { type: "String", resolve: (pull: PullRecord) => pull.base },
    autoMergeRequest: {
      type: "AutoMergeRequest",
      resolve: (pull: PullRecord) => (pull.autoMerge ? pull : null),
    },
  },
  AutoMergeRequest: {
    enabledAt: { type: "DateTime", resolve: (pull: PullRecord) => pull.autoMerge?.enabledAt },
    mergeMethod: {
      type: "PullRequestMergeMethod",
      resolve: (pull: PullRecord) => pull.autoMerge?.mergeMethod.toUpperCase(),
    },
    enabledBy: { type: "Actor", resolve: (pull: PullRecord) => pull.autoMerge?.enabledBy },
    commitHeadline: { type: "String", resolve: (pull: PullRecord) => pull.autoMerge?.commitTitle },
    commitBody: { type: "String", resolve: (pull: PullRecord) => pull.autoMerge?.commitMessage },
    authorEmail: { type: "String", resolve: () => null },
    pullRequest: { type: "PullRequest", resolve: (pull: PullRecord) => pull },
  },
  Actor: {
    login: { type: "String", resolve: (who: Account) => who.login },
  },
};

const INPUTS: Record<string, Set<string>> = {
  enablePullRequestAutoMerge: new Set([
    "pullRequestId",
    "mergeMethod",
    "commitHeadline",
    "commitBody",
    "expectedHeadOid",
    "authorEmail",
    "clientMutationId",
  ]),
  disablePullRequestAutoMerge: new Set(["pullRequestId", "clientMutationId"]),
};

class FieldError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** Answers one POST to the GraphQL endpoint from `actor` with the parsed JSON `body`. */
export async function answerGraphql(ctx: SandboxContext, actor: Actor, body: unknown): Promise<Answer> {
  if (actor.kind === "anonymous") {
    return {
      status: 401,
      body: {
        message: "This endpoint requires you to be authenticated.",
        documentation_url:
          "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql",
      },
    };
  }
  const who = actingAccount(actor);
  const request = typeof body === "object" && body !== null ? (body as Json) : {};
  if (typeof request.query !== "string")
    return failed([
      { type: "INVALID", message: "A query attribute must be specified and must be a string." },
    ]);
  const variables =
    typeof request.variables === "object" && request.variables !== null ? (request.variables as Json) : {};
  let operation;
  try {
    operation = parseOperation(request.query);
  } catch (error) {
    if (!(error instanceof GraphqlSyntaxError)) throw error;
    return failed([{ type: "PARSE_ERROR", message: error.message, locations: [error.location] }]);
  }
  if (operation.kind !== "mutation") {
    return failed([
      {
        type: "NOT_IMPLEMENTED",
        message: `The sandbox's GraphQL answers no ${operation.kind}: it implements only the mutations ${IMPLEMENTED}`,
      },
    ]);
  }
  const problems = operation.selections.flatMap((field) => checkRoot(field));
  if (problems.length > 0) return failed(problems);

  const values = new Map<string, unknown>();
  for (const variable of operation.variables) {
    const given = variables[variable.name];
    const value = given ?? (variable.defaultValue ? literal(variable.defaultValue, new Map()) : null);
    if (value === null && variable.type.endsWith("!"))
      return failed([
        {
          type: "INVALID",
          message: `Variable $${variable.name} of type ${variable.type} was provided invalid value`,
        },
      ]);
    values.set(variable.name, value);
  }

  const data: Json = {};
  const errors: GraphqlError[] = [];
  // A mutation's fields run one after another, in order (GraphQL's rule for mutations).
  for (const field of operation.selections) {
    try {
      const payload = await mutate(ctx, who, field, values);
      data[field.alias] = select(
        field.selections ?? [],
        "Payload",
        payload,
        `${inputName(field.name).slice(0, -"Input".length)}Payload`,
      );
    } catch (error) {
      const refusal =
        error instanceof FieldError
          ? error
          : error instanceof SandboxError
            ? new FieldError(typeOfStatus(error.status), error.message)
            : undefined;
      if (!refusal) throw error;
      data[field.alias] = null;
      errors.push({
        type: refusal.type,
        path: [field.alias],
        locations: [field.location],
        message: refusal.message,
      });
    }
  }
  return { status: 200, body: errors.length > 0 ? { data, errors } : { data } };
}

function failed(errors: GraphqlError[]): Answer {
  return { status: 200, body: { errors } };
}

function typeOfStatus(status: number): string {
  return status === 403 ? "FORBIDDEN" : status === 404 ? "NOT_FOUND" : "UNPROCESSABLE";
}

/** Checks a mutation field and its selections before anything runs: a request that names a field the
 * sandbox lacks changes nothing. */
function checkRoot(field: Field): GraphqlError[] {
  const at = { locations: [field.location], path: ["mutation", field.alias] };
  if (!(field.name in INPUTS)) {
    return [
      {
        type: "NOT_IMPLEMENTED",
        message: `Field '${field.name}' doesn't exist on type 'Mutation' in the sandbox, which implements only ${IMPLEMENTED}`,
        ...at,
      },
    ];
  }
  if (!field.args.has("input"))
    return [
      { type: "INVALID", message: `Field '${field.name}' is missing required arguments: input`, ...at },
    ];
  const extra = [...field.args.keys()].filter((name) => name !== "input");
  if (extra.length > 0)
    return [
      { type: "INVALID", message: `Field '${field.name}' doesn't accept argument '${extra[0]}'`, ...at },
    ];
  if (!field.selections)
    return [
      {
        type: "INVALID",
        message: `Field must have selections (field '${field.name}' returns a payload)`,
        ...at,
      },
    ];
  return checkSelections(field.selections, "Payload", at.path);
}

function checkSelections(fields: Field[], type: string, path: string[]): GraphqlError[] {
  const known = OBJECTS[type] ?? {};
  return fields.flatMap((field): GraphqlError[] => {
    const at = { locations: [field.location], path: [...path, field.alias] };
    if (field.name === "__typename") return [];
    const spec = known[field.name];
    if (!spec) {
      const shown = type === "Payload" ? "payload" : type;
      return [
        {
          type: "UNDEFINED_FIELD",
          message: `Field '${field.name}' doesn't exist on type '${shown}' in the sandbox (it has ${Object.keys(known).join(", ")})`,
          extensions: { code: "undefinedField", typeName: shown, fieldName: field.name },
          ...at,
        },
      ];
    }
    const isObject = spec.type in OBJECTS;
    if (isObject && !field.selections)
      return [
        {
          type: "INVALID",
          message: `Field must have selections (field '${field.name}' returns ${spec.type})`,
          ...at,
        },
      ];
    if (!isObject && field.selections)
      return [
        {
          type: "INVALID",
          message: `Selections can't be made on scalars (field '${field.name}' returns ${spec.type})`,
          ...at,
        },
      ];
    return isObject ? checkSelections(field.selections ?? [], spec.type, at.path) : [];
  });
}

/** The selected fields of `source`, an object of `type` (`typename` is what `__typename` answers). */
function select(fields: Field[], type: string, source: unknown, typename = type): Json {
  const out: Json = {};
  for (const field of fields) {
    if (field.name === "__typename") {
      out[field.alias] = type === "Actor" ? ((source as Account).type === "Bot" ? "Bot" : "User") : typename;
      continue;
    }
    const spec = OBJECTS[type]![field.name]!;
    const value = spec.resolve(source as never) ?? null;
    out[field.alias] =
      value !== null && spec.type in OBJECTS ? select(field.selections ?? [], spec.type, value) : value;
  }
  return out;
}

function literal(value: Value, variables: Map<string, unknown>): unknown {
  switch (value.kind) {
    case "variable":
      return variables.get(value.name) ?? null;
    case "null":
      return null;
    case "list":
      return value.values.map((item) => literal(item, variables));
    case "object":
      return Object.fromEntries([...value.fields].map(([key, item]) => [key, literal(item, variables)]));
    default:
      return value.value;
  }
}

async function mutate(
  ctx: SandboxContext,
  who: Account,
  field: Field,
  variables: Map<string, unknown>,
): Promise<Payload> {
  const input = literal(field.args.get("input")!, variables);
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new FieldError(
      "INVALID",
      `Argument 'input' on Field '${field.name}' has an invalid value: expected an object`,
    );
  const fields = input as Json;
  const allowed = INPUTS[field.name]!;
  const unknown = Object.keys(fields).filter((key) => !allowed.has(key));
  if (unknown.length > 0)
    throw new FieldError(
      "INVALID",
      `InputObject '${inputName(field.name)}' doesn't accept argument '${unknown[0]}'`,
    );
  const id = fields.pullRequestId;
  if (typeof id !== "string")
    throw new FieldError(
      "INVALID",
      `Argument 'pullRequestId' on InputObject '${inputName(field.name)}' is required`,
    );
  const pull = pullByNodeId(ctx, who, id);
  const clientMutationId = typeof fields.clientMutationId === "string" ? fields.clientMutationId : null;
  if (field.name === "disablePullRequestAutoMerge") {
    disableAutoMerge(ctx, pull, who);
    return { clientMutationId, actor: who, pull };
  }
  const method = fields.mergeMethod ?? "MERGE";
  if (method !== "MERGE" && method !== "SQUASH") {
    throw new FieldError(
      "UNPROCESSABLE",
      `mergeMethod ${JSON.stringify(method)}: the sandbox merges with MERGE or SQUASH`,
    );
  }
  if (typeof fields.expectedHeadOid === "string" && fields.expectedHeadOid !== pull.headSha)
    throw new FieldError("UNPROCESSABLE", "Pull request head was modified: expectedHeadOid is not its head");
  enableAutoMerge(ctx, pull, who, {
    method: MERGE_METHODS[method],
    ...(typeof fields.commitHeadline === "string" ? { commitTitle: fields.commitHeadline } : {}),
    ...(typeof fields.commitBody === "string" ? { commitMessage: fields.commitBody } : {}),
  });
  return { clientMutationId, actor: who, pull };
}

function inputName(mutation: string): string {
  return `${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input`;
}

/** The pull request a node id names, if `who` may see it (GitHub does not say a hidden one exists). */
function pullByNodeId(ctx: SandboxContext, who: Account, id: string): PullRecord {
  const decoded = /^0:PullRequest(\d+)$/.exec(Buffer.from(id, "base64").toString("utf8"));
  const pull = decoded ? ctx.world.issuesById.get(Number(decoded[1]))?.pull : undefined;
  if (
    !pull ||
    nodeId("PullRequest", pull.issue.id) !== id ||
    ctx.world.permission(pull.issue.repo, who) === "none"
  )
    throw new FieldError("NOT_FOUND", `Could not resolve to a node with the global id of '${id}'.`);
  return pull;
}
