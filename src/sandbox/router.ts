import type { Actor } from "./auth.ts";
import { SandboxError } from "./world.ts";

/** One REST call, parsed: the route's parameters, query, JSON body and who is calling. */
export interface ApiRequest {
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  actor: Actor;
  headers: Record<string, string | string[] | undefined>;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  /** Sent as is instead of JSON (e.g. a file's raw content). */
  raw?: { contentType: string; data: Buffer | string };
  headers?: Record<string, string>;
}

export type Handler = (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;

export interface Route {
  method: string;
  /** GitHub's path template, e.g. `/repos/{owner}/{repo}/issues/{issue_number}`. */
  path: string;
  handler: Handler;
  pattern: RegExp;
  names: string[];
}

/**
 * Matches REST paths against GitHub's path templates. The parameters GitHub's description calls
 * multi-segment may span slashes: `{path}` (contents API) and a `{ref}` that ends the template (git refs).
 */
export class Router {
  readonly routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{(\w+)\}/g, (all, name: string) => {
      names.push(name);
      const spans = name === "path" || (name === "ref" && path.endsWith(all));
      return spans ? "(.+)" : "([^/]+)";
    });
    this.routes.push({ method, path, handler, pattern: new RegExp(`^${source}$`), names });
    return this;
  }

  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    let pathMatched = false;
    for (const route of this.routes) {
      const found = route.pattern.exec(path);
      if (!found) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(found[index + 1] ?? "");
      });
      return { route, params };
    }
    if (pathMatched) throw new SandboxError(404, "Not Found");
    throw new SandboxError(404, `Not Found: the sandbox does not implement ${method} ${path}`);
  }
}

/** Reads a required string field of a JSON body, or answers 422 naming it. */
export function field(body: unknown, name: string): unknown {
  return body !== null && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
}

export function requireString(body: unknown, name: string, resource: string): string {
  const value = field(body, name);
  if (typeof value !== "string" || value === "") {
    throw new SandboxError(422, `Invalid request: "${name}" is required and must be a non-empty string`, [
      { resource, field: name, code: "missing_field" },
    ]);
  }
  return value;
}

export function requireNumber(body: unknown, name: string, resource: string): number {
  const value = field(body, name);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new SandboxError(422, `Invalid request: "${name}" is required and must be an integer`, [
      { resource, field: name, code: "missing_field" },
    ]);
  }
  return value;
}

/** A PATCH body's `state`: undefined, "open" or "closed"; anything else answers 422 naming the field. */
export function stateField(body: unknown, resource: string): "open" | "closed" | undefined {
  const state = field(body, "state");
  if (state === undefined || state === "open" || state === "closed") return state;
  throw new SandboxError(
    422,
    `Invalid request: state must be "open" or "closed", not ${JSON.stringify(state)}`,
    [{ resource, field: "state", code: "invalid" }],
  );
}

export function positiveInt(value: string | undefined, what: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new SandboxError(404, `Not Found: ${what} '${value}'`);
  return number;
}

/**
 * A listing's `since` (ISO 8601): the moment from which updated items are listed, or null when not asked.
 * GitHub's timestamps are whole seconds, so the moment is taken to its second: an item updated in the
 * same second as `since` is listed ("updated at or after"). Anything not a timestamp is refused (422).
 */
export function sinceOf(query: URLSearchParams): number | null {
  const since = query.get("since");
  if (since === null) return null;
  const at = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(since) ? Date.parse(since) : NaN;
  if (Number.isNaN(at))
    throw new SandboxError(
      422,
      `Invalid request: since ${JSON.stringify(since)} is not an ISO 8601 timestamp`,
      [{ resource: "Issue", field: "since", code: "invalid" }],
    );
  return Math.floor(at / 1000) * 1000;
}

/** Whether a record updated at `updatedAt` (GitHub's timestamp) is listed for `since`. */
export function updatedSince(updatedAt: string, since: number | null): boolean {
  return since === null || Date.parse(updatedAt) >= since;
}

/** GitHub's pagination: `per_page` (max 100) and `page`, with a `Link` header when more follow. */
export function paginate<T>(
  items: T[],
  query: URLSearchParams,
  selfUrl: string,
): { page: T[]; headers: Record<string, string> } {
  const perPage = Math.min(Math.max(Number(query.get("per_page") ?? 30) || 30, 1), 100);
  const pageNumber = Math.max(Number(query.get("page") ?? 1) || 1, 1);
  const last = Math.max(Math.ceil(items.length / perPage), 1);
  const page = items.slice((pageNumber - 1) * perPage, pageNumber * perPage);
  const links: string[] = [];
  const at = (n: number) => {
    const next = new URLSearchParams(query);
    next.set("per_page", String(perPage));
    next.set("page", String(n));
    return `<${selfUrl}?${next.toString()}>`;
  };
  if (pageNumber < last) links.push(`${at(pageNumber + 1)}; rel="next"`, `${at(last)}; rel="last"`);
  if (pageNumber > 1) links.push(`${at(1)}; rel="first"`, `${at(pageNumber - 1)}; rel="prev"`);
  return { page, headers: links.length > 0 ? { link: links.join(", ") } : {} };
}
