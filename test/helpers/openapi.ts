import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import { fullFormats } from "ajv-formats/dist/formats.js";

/**
 * Checks what the sandbox (src/sandbox/) says against GitHub's own descriptions: REST responses and
 * request bodies against @octokit/openapi (OpenAPI 3.0), webhook payloads against
 * @octokit/openapi-webhooks (OpenAPI 3.1). Each description is read on first use and each schema compiled
 * on first use, then cached for the rest of the test file.
 */

type Json = Record<string, unknown>;
type MediaType = { schema?: Json };
type Content = Record<string, MediaType>;
type Response = { $ref?: string; content?: Content };
type RequestBody = { $ref?: string; required?: boolean; content?: Content };
type Parameter = { $ref?: string; name?: string; in?: string; "x-multi-segment"?: boolean };
type Operation = {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: RequestBody;
  responses: Record<string, Response>;
};
type RestDescription = {
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
};
type WebhookDescription = {
  webhooks: Record<string, { post: { operationId: string; requestBody: { content: Content } } }>;
  components: { schemas: Record<string, Json> };
};

const MAX_PROBLEMS = 20;
const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const REST_ID = "github-rest";
const WEBHOOKS_ID = "github-webhooks";

const ajvOptions: Options = {
  allErrors: true,
  verbose: true,
  // Webhook schemas repeat whole repository and user objects; compiling each $ref once and neither
  // inlining nor optimising the generated code makes the first check of an event about 3x faster.
  inlineRefs: false,
  code: { optimize: false },
  // A keyword ajv does not know (a newer description's) is ignored, not rejected.
  strict: false,
  // Only date-time and date are checked: GitHub sends them consistently, and a sandbox that sends epoch
  // numbers or dates without a zone should fail. Other formats (uri, email, int64, double, repo.nwo, ...)
  // are not: GitHub's own payloads break some (a repository's `homepage` is "", page_url is a bare host,
  // noreply emails fail the email rule), and ajv would log a warning for each it does not know.
  formats: { "date-time": fullFormats["date-time"], date: fullFormats.date },
  logger: false,
};

const require = createRequire(import.meta.url);

function readJson<T>(specifier: string): T {
  return JSON.parse(readFileSync(require.resolve(specifier), "utf8")) as T;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// Schemas: converted and handed to ajv one component at a time, only those a checked schema reaches
// (converting and adding all ~1,000 REST components up front costs more than the first check itself).

type SchemaSet = {
  /** Prefix of the ids components get in ajv: `${id}:NAME`. */
  id: string;
  ajv: Pick<Ajv, "addSchema" | "compile">;
  components: Record<string, Json>;
  added: Set<string>;
  validators: Map<string, ValidateFunction>;
};

function schemaSet(id: string, ajv: SchemaSet["ajv"], components: Record<string, Json>): SchemaSet {
  return { id, ajv, components, added: new Set(), validators: new Map() };
}

function compile(set: SchemaSet, cacheKey: string, schema: unknown): ValidateFunction {
  let validate = set.validators.get(cacheKey);
  if (validate) return validate;
  const reached = new Set<string>();
  const root = toJsonSchema(schema, set.id, reached);
  const pending = [...reached];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (set.added.has(name)) continue;
    set.added.add(name);
    const component = set.components[name];
    if (!component) throw new Error(`unresolvable $ref #/components/schemas/${name} in GitHub's description`);
    const refs = new Set<string>();
    set.ajv.addSchema(toJsonSchema(component, set.id, refs) as Json, `${set.id}:${name}`);
    pending.push(...refs);
  }
  validate = set.ajv.compile(root as Json);
  set.validators.set(cacheKey, validate);
  return validate;
}

const SCHEMA_REF = "#/components/schemas/";
/** Keywords whose value is data, not a schema: copied as they are. */
const DATA = new Set(["enum", "const", "default", "examples", "required"]);
/** Keywords whose value maps names to schemas: the names are not keywords. */
const SCHEMA_MAP = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);

/**
 * An OpenAPI schema (3.0 or 3.1) as JSON Schema that ajv reads, adding the component names it refers
 * to to `reached`. `nullable: true` (3.0) becomes a null type, or a null branch where there is no
 * `type` (as on `allOf`/`anyOf` wrappers); an `enum` on a nullable field also admits null, as GitHub's
 * data does. `#/components/schemas/NAME` becomes `${id}:NAME`. `discriminator` is dropped (its `oneOf`
 * still decides), and so are `example` and vendor `x-` keywords.
 */
function toJsonSchema(node: unknown, id: string, reached: Set<string>): unknown {
  if (Array.isArray(node)) return node.map((item) => toJsonSchema(item, id, reached));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "nullable" || key === "discriminator" || key === "example" || key.startsWith("x-")) continue;
    if (key === "$ref" && typeof value === "string" && value.startsWith(SCHEMA_REF)) {
      const name = value.slice(SCHEMA_REF.length);
      reached.add(name);
      out[key] = `${id}:${name}`;
    } else if (DATA.has(key) || !(isObject(value) || Array.isArray(value))) out[key] = value;
    else if (SCHEMA_MAP.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v, id, reached)]));
    } else out[key] = toJsonSchema(value, id, reached);
  }
  if (node.nullable !== true) return out;
  if (typeof out.type !== "string") return { anyOf: [{ type: "null" }, out] };
  out.type = [out.type, "null"];
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// REST

type Template = { path: string; pattern: RegExp; literalChars: number; multiSegment: number };
type Rest = {
  doc: RestDescription;
  schemas: SchemaSet;
  templates: Template[];
  resolved: Map<string, { path: string; operation: Operation } | null>;
};

let rest: Rest | undefined;

function loadRest(): Rest {
  if (rest) return rest;
  const doc = readJson<RestDescription>("@octokit/openapi/generated/api.github.com.json");
  rest = {
    doc,
    schemas: schemaSet(REST_ID, new Ajv(ajvOptions), doc.components.schemas as Record<string, Json>),
    templates: Object.keys(doc.paths).map((path) => template(doc, path)),
    resolved: new Map(),
  };
  return rest;
}

function deref<T>(doc: RestDescription, value: T & { $ref?: string }): T {
  if (typeof value.$ref !== "string") return value;
  const [, , section, name] = value.$ref.split("/");
  const target = doc.components[section ?? ""]?.[name ?? ""];
  if (!target) throw new Error(`unresolvable $ref ${value.$ref} in GitHub's REST description`);
  return target as T;
}

function operationsOf(doc: RestDescription, path: string): [string, Operation][] {
  return Object.entries(doc.paths[path] ?? {})
    .filter(([method]) => HTTP_METHODS.includes(method))
    .map(([method, operation]) => [method, operation as Operation]);
}

/** A matcher for concrete paths ("/repos/octo/widgets/issues/7") and other spellings of the template. */
function template(doc: RestDescription, path: string): Template {
  const multi = new Set<string>();
  for (const [, operation] of operationsOf(doc, path)) {
    for (const p of operation.parameters ?? []) {
      const param = deref(doc, p);
      if (param.in === "path" && param["x-multi-segment"] && param.name) multi.add(param.name);
    }
  }
  let literalChars = 0;
  let multiSegment = 0;
  const source = path.split(/(\{[^}]+\})/).map((part) => {
    const param = /^\{(.+)\}$/.exec(part)?.[1];
    if (param === undefined) {
      literalChars += part.length;
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }
    if (!multi.has(param)) return "[^/]+";
    multiSegment += 1;
    return ".+";
  });
  return { path, pattern: new RegExp(`^${source.join("")}$`), literalChars, multiSegment };
}

function findOperation(method: string, path: string): { path: string; operation: Operation } | null {
  const { doc, templates, resolved } = loadRest();
  const m = method.toLowerCase();
  const key = `${m} ${path}`;
  const cached = resolved.get(key);
  if (cached !== undefined) return cached;
  const bare = path.replace(/[?#].*$/, "").replace(/(.)\/$/, "$1");
  const exact = doc.paths[bare]?.[m];
  let found: { path: string; operation: Operation } | null = exact
    ? { path: bare, operation: exact as Operation }
    : null;
  if (!found) {
    // A literal segment beats a parameter ("/issues/comments" is not issue "comments"), so the template
    // with the most literal text wins.
    const best = templates
      .filter((t) => doc.paths[t.path]?.[m] && t.pattern.test(bare))
      .sort((a, b) => b.literalChars - a.literalChars || a.multiSegment - b.multiSegment)[0];
    if (best) found = { path: best.path, operation: doc.paths[best.path]![m] as Operation };
  }
  resolved.set(key, found);
  return found;
}

function requireOperation(method: string, path: string): { path: string; operation: Operation } {
  const found = findOperation(method, path);
  if (found) return found;
  const other = HTTP_METHODS.filter((m) => m !== method.toLowerCase() && findOperation(m, path));
  const hint = other.length ? ` (that path has ${other.map((m) => m.toUpperCase()).join(", ")})` : "";
  throw new Error(`${method.toUpperCase()} ${path} is not an operation in GitHub's REST description${hint}`);
}

/**
 * The operationId GitHub's description gives `method` + `path`, e.g. "issues/get". `path` is the template
 * ("/repos/{owner}/{repo}/issues/{issue_number}"); a concrete path or other parameter names also resolve.
 * Throws when there is no such operation.
 */
export function operationId(method: string, path: string): string {
  return requireOperation(method, path).operation.operationId;
}

/** The schema of a response or request body: application/json's, else the first other JSON type's. */
function jsonSchemaOf(content: Content | undefined): Json | "none" | "not-json" {
  if (!content || Object.keys(content).length === 0) return "none";
  const type =
    "application/json" in content ? "application/json" : Object.keys(content).find((t) => /json/.test(t));
  const schema = type ? content[type]?.schema : undefined;
  return schema ?? "not-json";
}

function isEmptyBody(body: unknown): boolean {
  return (
    body === undefined || body === null || body === "" || (isObject(body) && Object.keys(body).length === 0)
  );
}

/**
 * Throws an Error listing every mismatch (JSON pointer and message, the first 20) unless `body` matches
 * the response schema GitHub's REST description gives this operation and status. A status the
 * operation does not describe is a mismatch; a status described without content (204) wants no body.
 * Bodies of non-JSON media (diffs, HTML) are not checked.
 */
export function assertMatchesOperation(input: {
  method: string;
  path: string;
  status: number;
  body: unknown;
}): void {
  const { doc, schemas } = loadRest();
  const { path, operation } = requireOperation(input.method, input.path);
  const label = `${input.method.toUpperCase()} ${path} → ${input.status} (${operation.operationId})`;
  const status = String(input.status);
  const response =
    operation.responses[status] ?? operation.responses[`${status[0]}XX`] ?? operation.responses.default;
  if (!response) {
    const described = Object.keys(operation.responses).join(", ");
    throw new Error(
      `${label}: GitHub's description has no ${status} response for this operation (it has ${described})`,
    );
  }
  const schema = jsonSchemaOf(deref(doc, response).content);
  if (schema === "not-json") return;
  if (schema === "none") {
    if (input.body === undefined || input.body === null || input.body === "") return;
    throw new Error(`${label}: GitHub sends no body with this response, got ${kindOf(input.body)}`);
  }
  const validate = compile(schemas, `${operation.operationId} ${status}`, schema);
  check(label, "response body", validate, input.body);
}

/**
 * Throws with mismatches unless `body` is a request body GitHub accepts for this operation, so the sandbox
 * accepts no more than GitHub does and our clients send what GitHub takes. An empty body (undefined,
 * null, "", {}) passes where the operation takes none or its body is optional.
 */
export function assertMatchesRequest(input: { method: string; path: string; body: unknown }): void {
  const { doc, schemas } = loadRest();
  const { path, operation } = requireOperation(input.method, input.path);
  const label = `${input.method.toUpperCase()} ${path} (${operation.operationId})`;
  const requestBody = operation.requestBody ? deref(doc, operation.requestBody) : undefined;
  if (!requestBody) {
    if (isEmptyBody(input.body)) return;
    throw new Error(`${label}: GitHub's description takes no request body here, got ${kindOf(input.body)}`);
  }
  if (input.body === undefined) {
    if (!requestBody.required) return;
    throw new Error(`${label}: GitHub requires a request body here`);
  }
  const schema = jsonSchemaOf(requestBody.content);
  if (schema === "none" || schema === "not-json") return;
  const validate = compile(schemas, `${operation.operationId} request`, schema);
  check(label, "request body", validate, input.body);
}

// ---------------------------------------------------------------------------------------------------------
// Webhooks

type Webhooks = {
  schemas: SchemaSet;
  /** operationId ("issue-comment/created", "push") → schema name ("webhook-issue-comment-created") */
  byOperation: Map<string, string>;
};

let webhooks: Webhooks | undefined;

function loadWebhooks(): Webhooks {
  if (webhooks) return webhooks;
  const doc = readJson<WebhookDescription>("@octokit/openapi-webhooks/generated/api.github.com.json");
  const byOperation = new Map<string, string>();
  for (const { post } of Object.values(doc.webhooks)) {
    const ref = post.requestBody.content["application/json"]?.schema?.$ref;
    if (typeof ref === "string") byOperation.set(post.operationId, ref.split("/").pop()!);
  }
  webhooks = {
    schemas: schemaSet(WEBHOOKS_ID, new Ajv2020(ajvOptions), doc.components.schemas),
    byOperation,
  };
  return webhooks;
}

/** GitHub's webhook description names events and actions with hyphens: sub_issues → sub-issues. */
const hyphenate = (name: string) => name.replaceAll("_", "-");

function knownActions(event: string): string[] {
  const { byOperation, schemas } = loadWebhooks();
  const prefix = `${hyphenate(event)}/`;
  return [...byOperation]
    .filter(([id]) => id.startsWith(prefix))
    .map(([id, name]) => {
      const action = (schemas.components[name]?.properties as Json | undefined)?.action as Json | undefined;
      const named = Array.isArray(action?.enum) ? action.enum[0] : undefined;
      return typeof named === "string" ? named : id.slice(prefix.length).replaceAll("-", "_");
    });
}

/**
 * Throws with mismatches unless `payload` matches GitHub's webhook schema for `event` (the X-GitHub-Event
 * header, e.g. "issues") and `payload.action`. An event whose description has actions needs one it
 * knows; an event without actions (push) is checked whatever `action` says.
 */
export function assertMatchesWebhook(event: string, payload: { action?: string }): void {
  const { schemas, byOperation } = loadWebhooks();
  const action = isObject(payload) && typeof payload.action === "string" ? payload.action : undefined;
  const id = byOperation.has(hyphenate(event))
    ? hyphenate(event)
    : `${hyphenate(event)}/${hyphenate(action ?? "")}`;
  const name = byOperation.get(id);
  if (!name) {
    const actions = knownActions(event);
    if (actions.length === 0)
      throw new Error(`webhook event "${event}" is not in GitHub's webhook description`);
    const got = action === undefined ? "a payload without an action" : `action "${action}"`;
    throw new Error(
      `webhook event "${event}" does not describe ${got} in GitHub's description (actions: ${actions.join(", ")})`,
    );
  }
  const validate = compile(schemas, name, { $ref: `#/components/schemas/${name}` });
  const label = `webhook ${event}${action === undefined ? "" : `.${action}`} (${name})`;
  check(label, "payload", validate, payload);
}

// ---------------------------------------------------------------------------------------------------------
// Reporting

function check(label: string, what: string, validate: ValidateFunction, data: unknown): void {
  if (validate(data)) return;
  const errors = validate.errors ?? [];
  const problems = [...new Set(errors.filter((e) => !isNullBranch(e, errors)).map(describe))];
  const shown = problems.slice(0, MAX_PROBLEMS);
  const more = problems.length > shown.length ? [`... and ${problems.length - shown.length} more`] : [];
  throw new Error(
    [
      `${label}: ${what} does not match GitHub's schema (${plural(problems.length, "problem")})`,
      ...shown,
      ...more,
    ].join("\n  "),
  );
}

/**
 * A nullable field that is wrong reports "must be null" (the null branch of its anyOf) next to the real
 * problem at the same place; that line only adds noise. Alone, it is the problem and stays.
 */
function isNullBranch(error: ErrorObject, all: ErrorObject[]): boolean {
  if (error.keyword !== "type" || error.params.type !== "null") return false;
  return all.some((other) => other !== error && other.instancePath === error.instancePath);
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === "" ? "(root)" : error.instancePath;
  const params = error.params as Json;
  let detail = "";
  if (error.keyword === "type") detail = ` (got ${kindOf(error.data)})`;
  else if (error.keyword === "additionalProperties") detail = `: ${String(params.additionalProperty)}`;
  else if (error.keyword === "enum")
    detail = `: ${JSON.stringify(params.allowedValues)}, got ${JSON.stringify(error.data)}`;
  else if (error.keyword === "format") detail = `, got ${JSON.stringify(error.data)}`;
  return `${at}: ${error.message ?? error.keyword}${detail}`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number" && Number.isInteger(value)) return `integer ${value}`;
  if (typeof value === "string")
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value;
}
