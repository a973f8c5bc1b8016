import js from "@eslint/js";
import vitest from "@vitest/eslint-plugin";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

/**
 * Side effects live in one folder each (STYLE.md principle 3, README "Layout"). Each boundary names the
 * modules that do the side effect and the folders allowed to import them; everywhere else in src/, jobs/
 * and bench/ an import of them fails `npm run check`.
 */
const boundaries = {
  processes: {
    modules: ["execa", "node:child_process", "child_process"],
    // Drover runs git (src/git) and agents and checks (src/agent); the sandbox its git server; the demo processes.
    allowed: ["src/agent/**", "src/git/**", "src/sandbox/**", "src/demo/**"],
    message: "Only src/agent/, src/git/, src/sandbox/ and src/demo/ start processes.",
  },
  sql: {
    modules: ["drizzle-orm", "postgres"],
    patterns: ["drizzle-orm/*"],
    allowed: ["src/db/**"],
    message: "Only src/db/ builds SQL: add a query there.",
  },
  bullmq: {
    modules: ["bullmq"],
    allowed: ["src/queue/**"],
    message: "Only src/queue/ touches BullMQ.",
  },
  nock: {
    modules: ["nock"],
    allowed: ["test/helpers/**"],
    message: "Only test/helpers may import nock (test/helpers/github.ts).",
  },
};

/** no-restricted-imports options forbidding every boundary except those named. */
function restrictImports(...except) {
  const kept = Object.entries(boundaries).filter(([name]) => !except.includes(name));
  return [
    "error",
    {
      paths: kept.flatMap(([, b]) => b.modules.map((name) => ({ name, message: b.message }))),
      patterns: kept.flatMap(([, b]) => (b.patterns ? [{ group: b.patterns, message: b.message }] : [])),
    },
  ];
}

const PRODUCTION = ["src/**", "jobs/**", "bench/**"];

/**
 * Flat config gives a file the options of the last config naming the rule, so each folder gets the full
 * list less what it may do.
 */
const importBoundaries = [
  { files: PRODUCTION, rules: { "no-restricted-imports": restrictImports() } },
  ...["processes", "sql", "bullmq"].map((name) => ({
    files: boundaries[name].allowed,
    rules: { "no-restricted-imports": restrictImports(name) },
  })),
  { files: ["test/**"], rules: { "no-restricted-imports": restrictImports("processes", "sql", "bullmq") } },
  { files: ["test/helpers/**"], rules: { "no-restricted-imports": "off" } },
  {
    // `npm run test:unit` runs with PostgreSQL and Redis down: a unit test that needs them, or starts
    // processes, belongs in test/integration/.
    files: ["test/unit/**"],
    rules: { "no-restricted-imports": unitOnly() },
  },
];

function unitOnly() {
  const [level, options] = restrictImports();
  const message = "Unit tests need no PostgreSQL, Redis or processes: put this test in test/integration/.";
  const services = ["ioredis", "bullmq", "execa", "node:child_process", "child_process", "postgres"];
  const helpers = ["db", "drover", "stack", "services", "sandbox", "git-sandbox", "tcp-proxy"];
  return [
    level,
    {
      paths: [
        ...options.paths.filter((p) => !services.includes(p.name)),
        ...services.map((name) => ({ name, message })),
      ],
      patterns: [...options.patterns, { group: helpers.map((h) => `**/helpers/${h}.ts`), message }],
    },
  ];
}

/**
 * The flow never imports backwards (README "Layout"): a folder imports only from the layers below its own,
 * never from a folder beside it or above it. Type-only imports count too: `src/graph/` is pure and does not
 * know the database, even by type.
 */
const layers = [
  ["src/lib"],
  ["src/config", "src/graph"],
  ["src/db"],
  ["src/agent", "src/git", "src/queue", "src/report"],
  ["src/github", "src/sandbox"],
  ["src/scheduler"],
  ["src/intake", "src/web"],
  ["jobs"],
  ["src/app.ts", "src/demo"],
  ["src/main", "bench"],
];
const flowZones = layers.flatMap((layer, i) =>
  layer.map((target) => ({
    target,
    from: [...layer.filter((other) => other !== target), ...layers.slice(i + 1).flat()],
    message: `${target} imports only from the layers below it (eslint.config.js \`layers\`); move the shared part down.`,
  })),
);

const WRITE = "^(create|update|delete|add|remove|set|lock|unlock|merge|replace|request|dismiss|submit|mark)";
const githubWrites = [
  {
    // octokit.rest.issues.createComment(...), or passing octokit.rest.issues.addLabels to paginate
    selector: `MemberExpression[object.type='MemberExpression'][object.object.property.name='rest'][property.name=/${WRITE}/]`,
    message: "Only src/github/ writes to GitHub: add a function there.",
  },
  {
    selector:
      "CallExpression[callee.property.name='request'][arguments.0.value=/^(POST|PATCH|PUT|DELETE)\\s/]",
    message: "Only src/github/ writes to GitHub: add a function there.",
  },
];

export default tseslint.config(
  { ignores: ["node_modules", "migrations", "coverage", "dist"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  ...importBoundaries,
  {
    files: PRODUCTION,
    ignores: ["src/github/**", "src/sandbox/**"],
    rules: { "no-restricted-syntax": ["error", ...githubWrites] },
  },
  {
    // The demo's maintainer is a person acting on the sandbox (opening issues, merging), not Drover.
    files: ["src/demo/maintainer.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
  {
    // The flow never imports backwards: no cycles between modules (type-only imports aside).
    files: PRODUCTION,
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver()] },
    rules: {
      "import-x/no-cycle": "error",
      "import-x/no-restricted-paths": ["error", { zones: flowZones }],
    },
  },
  {
    files: ["test/**/*.test.ts"],
    plugins: { vitest },
    rules: {
      // Every test asserts: expect(), or a helper of ours that does (named assert*/expect*).
      "vitest/expect-expect": [
        "error",
        { assertFunctionNames: ["expect", "expect*", "assert*", "*.assert*"] },
      ],
    },
  },
);
