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
import { shownMergeable, workOutMergeable } from "./pull-state.ts";
import { nodeId, type Json } from "./shapes.ts";
import { SandboxError, type Account, type PullRecord, type RepoRecord } from "./world.ts";

/**
 * The sandbox's GraphQL endpoint (`POST /api/graphql`, where Octokit sends GraphQL for a GHES-style
 * `/api/v3` base URL, and `POST /api/v3/graphql`, github.com's `/graphql` under the REST root). It answers
 * what Drover asks GitHub's GraphQL: the mutations `enablePullRequestAutoMerge` and
 * `disablePullRequestAutoMerge` (GitHub enables auto-merge only through GraphQL), selecting fields of their
 * payload, the pull request and its auto-merge request; and the query `repository { pullRequests }`, a
 * repository's pull requests filtered by state and branch, paginated with `first`/`after` (at most 100),
 * each with its `mergeable` (MERGEABLE, CONFLICTING, or UNKNOWN while GitHub works it out: asking starts
 * that work, as reading the pull request by number does). Anything else is answered with an error that
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

const IMPLEMENTED =
  "the mutations enablePullRequestAutoMerge and disablePullRequestAutoMerge, and the query repository { pullRequests }";
const MERGE_METHODS = { MERGE: "merge", SQUASH: "squash" } as const;

type Payload = { clientMutationId: string | null; actor: Account; pull: PullRecord };

/** What resolving a request knows: who asks, its variables, and the field errors met so far. */
type Resolving = {
  ctx: SandboxContext;
  who: Account;
  variables: Map<string, unknown>;
  errors: GraphqlError[];
};
type Args = Map<string, unknown>;
type Resolver = {
  type: string;
  /** A list of `type`. */
  list?: true;
  /** The arguments it takes, by name, with their GraphQL type (`!`: required); none if absent. */
  args?: Record<string, string>;
  resolve: (source: never, args: Args, r: Resolving) => unknown;
};

/** A page of a connection, as its fields read it. */
type Connection<T> = { nodes: T[]; totalCount: number; pageInfo: PageInfo };
type PageInfo = {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
};

/** Field name → its GraphQL type and value, per object type the mutations reach. */
const OBJECTS: Record<string, Record<string, Resolver>> = {
  Query: {
    repository: {
      type: "Repository",
      args: { owner: "String!", name: "String!", followRenames: "Boolean" },
      resolve: (_root: null, args: Args, r: Resolving) => repositoryOf(r, args),
    },
  },
  Repository: {
    id: { type: "ID", resolve: (repo: RepoRecord) => nodeId("Repository", repo.id) },
    name: { type: "String", resolve: (repo: RepoRecord) => repo.name },
    nameWithOwner: { type: "String", resolve: (repo: RepoRecord) => repo.fullName },
    pullRequests: {
      type: "PullRequestConnection",
      args: {
        states: "[PullRequestState!]",
        baseRefName: "String",
        headRefName: "String",
        first: "Int",
        after: "String",
        last: "Int",
        before: "String",
      },
      resolve: (repo: RepoRecord, args: Args) => pullRequestsOf(repo, args),
    },
  },
  PullRequestConnection: {
    nodes: { type: "PullRequest", list: true, resolve: (page: Connection<PullRecord>) => page.nodes },
    totalCount: { type: "Int", resolve: (page: Connection<PullRecord>) => page.totalCount },
    pageInfo: { type: "PageInfo", resolve: (page: Connection<PullRecord>) => page.pageInfo },
  },
  PageInfo: {
    hasNextPage: { type: "Boolean", resolve: (info: PageInfo) => info.hasNextPage },
    hasPreviousPage: { type: "Boolean", resolve: (info: PageInfo) => info.hasPreviousPage },
    startCursor: { type: "String", resolve: (info: PageInfo) => info.startCursor },
    endCursor: { type: "String", resolve: (info: PageInfo) => info.endCursor },
  },
  Payload: {
    clientMutationId: { type: "String", resolve: (p: Payload) => p.clientMutationId },
    actor: { type: "Actor", resolve: (p: Payload) => p.actor },
    pullRequest: { type: "PullRequest", resolve: (p: Payload) => p.pull },
  },
  PullRequest: {
    id: { type: "ID", resolve: (pull: PullRecord) => nodeId("PullRequest", pull.issue.id) },
    number: { type: "Int", resolve: (pull: PullRecord) => pull.issue.number },
    title: { type: "String", resolve: (pull: PullRecord) => pull.issue.title },
    state: { type: "PullRequestState", resolve: (pull: PullRecord) => pullState(pull) },
    closed: { type: "Boolean", resolve: (pull: PullRecord) => pull.issue.state === "closed" },
    isDraft: { type: "Boolean", resolve: (pull: PullRecord) => pull.draft },
    merged: { type: "Boolean", resolve: (pull: PullRecord) => pull.merged },
    mergedAt: { type: "DateTime", resolve: (pull: PullRecord) => pull.mergedAt },
    headRefName: { type: "String", resolve: (pull: PullRecord) => pull.head },
    headRefOid: { type: "GitObjectID", resolve: (pull: PullRecord) => pull.headSha },
    baseRefName: { type: "String", resolve: (pull: PullRecord) => pull.base },
    mergeable: {
      type: "MergeableState",
      resolve: async (pull: PullRecord, _args: Args, r: Resolving) => {
        const mergeable = shownMergeable(await workOutMergeable(r.ctx, pull));
        return mergeable === null ? "UNKNOWN" : mergeable ? "MERGEABLE" : "CONFLICTING";
      },
    },
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
  if (operation.kind === "subscription") {
    return failed([
      {
        type: "NOT_IMPLEMENTED",
        message: `The sandbox's GraphQL answers no subscription: it implements only ${IMPLEMENTED}`,
      },
    ]);
  }
  const problems =
    operation.kind === "mutation"
      ? operation.selections.flatMap((field) => checkRoot(field))
      : checkSelections(operation.selections, "Query", ["query"]);
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

  const r: Resolving = { ctx, who, variables: values, errors: [] };
  const data =
    operation.kind === "query"
      ? await select(operation.selections, "Query", null, r, [])
      : await mutations(operation.selections, r);
  return { status: 200, body: r.errors.length > 0 ? { data, errors: r.errors } : { data } };
}

/** A mutation's fields, run one after another, in order (GraphQL's rule for mutations). */
async function mutations(fields: Field[], r: Resolving): Promise<Json> {
  const data: Json = {};
  for (const field of fields) {
    try {
      const payload = await mutate(r.ctx, r.who, field, r.variables);
      data[field.alias] = await select(field.selections ?? [], "Payload", payload, r, [field.alias], {
        typename: `${inputName(field.name).slice(0, -"Input".length)}Payload`,
      });
    } catch (error) {
      const refusal = refusalOf(error);
      data[field.alias] = null;
      r.errors.push({
        type: refusal.type,
        path: [field.alias],
        locations: [field.location],
        message: refusal.message,
      });
    }
  }
  return data;
}

/** A field's failure as GitHub reports it; anything else is the sandbox's own bug, thrown. */
function refusalOf(error: unknown): FieldError {
  if (error instanceof FieldError) return error;
  if (error instanceof SandboxError) return new FieldError(typeOfStatus(error.status), error.message);
  throw error;
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
    if (!spec && type === "Query")
      return [
        {
          type: "NOT_IMPLEMENTED",
          message: `Field '${field.name}' doesn't exist on type 'Query' in the sandbox, which implements only ${IMPLEMENTED}`,
          ...at,
        },
      ];
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
    const argProblem = checkArgs(field, spec);
    if (argProblem) return [{ type: "INVALID", message: argProblem, ...at }];
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

/** Why the arguments given to `field` are not what it takes, if they are not. */
function checkArgs(field: Field, spec: Resolver): string | undefined {
  const takes = spec.args ?? {};
  const extra = [...field.args.keys()].find((name) => !(name in takes));
  if (extra) return `Field '${field.name}' doesn't accept argument '${extra}'`;
  const missing = Object.keys(takes).filter((name) => takes[name]!.endsWith("!") && !field.args.has(name));
  if (missing.length > 0) return `Field '${field.name}' is missing required arguments: ${missing.join(", ")}`;
  return undefined;
}

/**
 * The selected fields of `source`, an object of `type` at `path` (`typename`: what `__typename` answers).
 * A field that fails is null, its error recorded, as GitHub answers it.
 */
async function select(
  fields: Field[],
  type: string,
  source: unknown,
  r: Resolving,
  path: (string | number)[],
  opts: { typename?: string } = {},
): Promise<Json> {
  const out: Json = {};
  for (const field of fields) {
    if (field.name === "__typename") {
      out[field.alias] =
        type === "Actor" ? ((source as Account).type === "Bot" ? "Bot" : "User") : (opts.typename ?? type);
      continue;
    }
    const spec = OBJECTS[type]![field.name]!;
    const at = [...path, field.alias];
    try {
      const args = new Map([...field.args].map(([name, value]) => [name, literal(value, r.variables)]));
      const value = (await spec.resolve(source as never, args, r)) ?? null;
      out[field.alias] = await shape(value, spec, field, r, at);
    } catch (error) {
      const refusal = refusalOf(error);
      out[field.alias] = null;
      r.errors.push({ type: refusal.type, path: at, locations: [field.location], message: refusal.message });
    }
  }
  return out;
}

/** A resolved value as answered: a scalar as is, an object (or each of a list's) by its selections. */
async function shape(
  value: unknown,
  spec: Resolver,
  field: Field,
  r: Resolving,
  path: (string | number)[],
): Promise<unknown> {
  if (value === null || !(spec.type in OBJECTS)) return value;
  if (!spec.list) return select(field.selections ?? [], spec.type, value, r, path);
  const items: unknown[] = [];
  for (const [index, item] of (value as unknown[]).entries())
    items.push(await select(field.selections ?? [], spec.type, item, r, [...path, index]));
  return items;
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

/** The repository `owner`/`name`, if `who` may see it (GitHub does not say a hidden one exists). */
function repositoryOf(r: Resolving, args: Args): RepoRecord {
  const owner = args.get("owner");
  const name = args.get("name");
  if (typeof owner !== "string" || typeof name !== "string")
    throw new FieldError("INVALID", "Arguments 'owner' and 'name' on Field 'repository' must be strings");
  const repo = r.ctx.world.repo(owner, name);
  if (!repo || r.ctx.world.permission(repo, r.who) === "none")
    throw new FieldError("NOT_FOUND", `Could not resolve to a Repository with the name '${owner}/${name}'.`);
  return repo;
}

const PULL_STATES = new Set(["OPEN", "CLOSED", "MERGED"]);
/** GitHub's most records a connection answers in one page. */
const MAX_PAGE = 100;

/**
 * A page of the repository's pull requests, oldest first, filtered by `states`, `baseRefName` and
 * `headRefName`, `first` of them after the cursor `after`. GitHub's connections also page backwards
 * (`last`, `before`); the sandbox does not.
 */
function pullRequestsOf(repo: RepoRecord, args: Args): Connection<PullRecord> {
  if (args.get("last") != null || args.get("before") != null)
    throw new FieldError(
      "NOT_IMPLEMENTED",
      "The sandbox pages pullRequests forwards only (`first`, `after`)",
    );
  const first = args.get("first");
  if (first == null)
    throw new FieldError(
      "MISSING_PAGINATION_BOUNDARIES",
      "You must provide a `first` or `last` value to properly paginate the `pullRequests` connection.",
    );
  if (typeof first !== "number" || !Number.isInteger(first) || first < 0)
    throw new FieldError("INVALID", "Argument 'first' on Field 'pullRequests' has an invalid value");
  if (first > MAX_PAGE)
    throw new FieldError(
      "EXCESSIVE_PAGINATION",
      `Requesting ${first} records on the \`pullRequests\` connection exceeds the \`first\` limit of ${MAX_PAGE} records.`,
    );
  const given = args.get("states");
  const states = given == null ? null : Array.isArray(given) ? given : [given];
  if (states?.some((state) => typeof state !== "string" || !PULL_STATES.has(state)))
    throw new FieldError("INVALID", "Argument 'states' on Field 'pullRequests' has an invalid value");
  const base = args.get("baseRefName");
  const head = args.get("headRefName");
  const after = args.get("after");
  const from = after == null ? 0 : cursorNumber(after);

  const matching = [...repo.issues.values()]
    .flatMap((issue) => (issue.pull ? [issue.pull] : []))
    .filter((pull) => states === null || states.includes(pullState(pull)))
    .filter((pull) => base == null || pull.base === base)
    .filter((pull) => head == null || pull.head === head)
    .sort((a, b) => a.issue.number - b.issue.number);
  const rest = matching.filter((pull) => pull.issue.number > from);
  const nodes = rest.slice(0, first);
  return {
    nodes,
    totalCount: matching.length,
    pageInfo: {
      hasNextPage: rest.length > nodes.length,
      hasPreviousPage: rest.length < matching.length,
      startCursor: nodes[0] ? cursorOf(nodes[0]) : null,
      endCursor: nodes.at(-1) ? cursorOf(nodes.at(-1)!) : null,
    },
  };
}

function pullState(pull: PullRecord): string {
  return pull.merged ? "MERGED" : pull.issue.state.toUpperCase();
}

/** An opaque cursor, as GitHub's are: the pull request's number, encoded. */
function cursorOf(pull: PullRecord): string {
  return Buffer.from(`cursor:v2:${pull.issue.number}`).toString("base64");
}

function cursorNumber(cursor: unknown): number {
  const decoded =
    typeof cursor === "string"
      ? /^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, "base64").toString("utf8"))
      : null;
  if (!decoded)
    throw new FieldError("INVALID_CURSOR_ARGUMENTS", "`after` does not appear to be a valid cursor.");
  return Number(decoded[1]);
}
