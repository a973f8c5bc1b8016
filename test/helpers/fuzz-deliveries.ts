import examples from "@octokit/webhooks-examples/api.github.com/index.json" with { type: "json" };
import fc from "fast-check";
import { routeWebhook } from "../../src/intake/route.ts";

/**
 * Generated webhook deliveries for the fuzz tests: GitHub's own examples of the events Drover reads (and a
 * few it ignores), mutated with odd text, numbers out of range, missing fields and deep nesting.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** GitHub's example deliveries of the events Drover reads, and a few it ignores. */
const EVENTS = ["issues", "pull_request", "installation", "issue_comment", "push"];
const BASES = (examples as { name: string; examples: Json[] }[])
  .filter((group) => EVENTS.includes(group.name))
  .flatMap((group) => group.examples.map((payload) => ({ event: group.name, payload })));
/** Link events (not in the examples package): the fields Drover reads, as GitHub sends them. */
const link = (number: number) => ({
  id: number * 1000,
  number,
  title: `Issue ${number}`,
  repository_url: "https://api.github.com/repos/octo-org/widgets",
});
BASES.push(
  {
    event: "issue_dependencies",
    payload: {
      action: "blocked_by_added",
      blocked_issue: link(1),
      blocking_issue: link(2),
      installation: { id: 77 },
    },
  },
  {
    event: "sub_issues",
    payload: {
      action: "sub_issue_added",
      parent_issue: link(3),
      sub_issue: link(4),
      installation: { id: 77 },
    },
  },
);

/** Text GitHub's users can type, and worse: NUL, lone surrogates, bidirectional overrides, emoji. */
const oddText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom(
    "\u0000",
    "\ud800",
    "\udfff",
    "a\ud83d",
    "\u202e\u2066rtl\u2069",
    "\ufeff",
    "\u{1f600}",
    "",
  ),
  fc
    .array(fc.constantFrom("\u0000", "\ud800", "\u202e", "x", "\u{1f600}", "\n", '"', "\\"), {
      maxLength: 30,
    })
    .map((parts) => parts.join("")),
);
const hugeText = fc.integer({ min: 100_000, max: 2_000_000 }).map((n) => "\u0000\ud800x".repeat(n / 3));
const oddNumber = fc.oneof(
  fc.constantFrom(0, -1, 1.5, 2 ** 31 - 1, 2 ** 31, 2 ** 53, Number.MAX_SAFE_INTEGER + 2, -(2 ** 63), 1e308),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer(),
);
const nesting = fc.integer({ min: 1, max: 500 }).map((depth) => {
  let value: Json = "deep";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { d: value };
  return value;
});
const replacement: fc.Arbitrary<Json | undefined> = fc.oneof(
  { weight: 4, arbitrary: oddText },
  { weight: 3, arbitrary: oddNumber },
  { weight: 2, arbitrary: fc.constant(undefined) }, // the field is missing
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, true, [], {}) },
  { weight: 1, arbitrary: nesting },
  { weight: 1, arbitrary: hugeText },
);

/** Every path to a value in `value`, parents first. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== "object") return [prefix];
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((item, i) => [i, item])
    : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, child]) => paths(child, [...prefix, key]))];
}

/** `payload` with the value at `path` replaced (undefined: removed); the root is never replaced. */
function mutate(payload: Json, path: (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return payload;
  const copy = structuredClone(payload) as Record<string | number, Json>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path.at(-1) as string | number;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else parent[last] = value;
  return copy;
}

/** Examples Drover acts on as they are (given an installation): mutated, they reach every kind of answer. */
const ACTED = BASES.filter(
  ({ event, payload }) =>
    routeWebhook(event, { installation: { id: 77 }, ...(payload as object) }).kind === "dispatch",
);

/** A GitHub delivery of an event Drover reads (or ignores), as GitHub sent it or mutated. */
export const fuzzDelivery = fc
  .record({
    base: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ACTED) }, fc.constantFrom(...BASES)),
    mutations: fc.array(fc.tuple(fc.nat(), replacement), { minLength: 0, maxLength: 4 }),
    // Drover's own fields most of the time, so routes that act are reached and not only ignored ones.
    installation: fc.boolean(),
  })
  .map(({ base, mutations, installation }) => {
    let payload = structuredClone(base.payload);
    if (installation && payload && typeof payload === "object" && !Array.isArray(payload)) {
      payload.installation ??= { id: 77 };
    }
    for (const [pick, value] of mutations) {
      const all = paths(payload);
      payload = mutate(payload, all[pick % all.length] ?? [], value);
    }
    return { event: base.event, payload };
  });

/** A fixed seed keeps the suite repeatable; FUZZ_SEED=<n> (or FUZZ_SEED=random) explores further. */
export function fuzzSeed(): number {
  const asked = process.env.FUZZ_SEED;
  if (asked === "random") return Date.now() % 2 ** 31;
  return asked === undefined || asked === "" ? 20_261_205 : Number(asked);
}
