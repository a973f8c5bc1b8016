import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules", "migrations", "coverage", "dist"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Side effects live in one folder each (STYLE.md principle 3).
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "nock", message: "Only test/helpers may import nock." }],
        },
      ],
    },
  },
  {
    files: ["test/helpers/**"],
    rules: { "no-restricted-imports": "off" },
  },
);
