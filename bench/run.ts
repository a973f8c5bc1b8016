/**
 * `npm run bench -- [name]`: runs one benchmark, or all without a name. Each prints its figures, the last
 * line of each being one JSON object. These print numbers; they are not timed tests.
 */
const BENCHMARKS: Record<string, () => Promise<{ run: () => Promise<void> | void }>> = {
  schedule: () => import("./schedule.ts"),
  graph: () => import("./graph.ts"),
  intake: () => import("./intake.ts"),
  api: () => import("./api.ts"),
  "warm-start": () => import("./warm-start.ts"),
};

const names = process.argv.slice(2);
const unknown = names.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(BENCHMARKS).join(", ")}`);
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
  const { run } = await BENCHMARKS[name]!();
  await run();
}
