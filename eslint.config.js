import js from "@eslint/js";
import tseslint from "typescript-eslint";

// A value import of node:http reads every export, and from Node 22 http.WebSocket loads undici:
// 65 ms of CPU on Node 24, more than `sso-docker run` may add to `docker run` (README Benchmarks).
const NODE_HTTP = {
  name: "node:http",
  allowTypeImports: true,
  message: "use nodeHttp from src/runtime/node-http.ts (require keeps http.WebSocket lazy)",
};

export default tseslint.config(
  {
    ignores: [
      "dist",
      "node_modules",
      "coverage",
      "bench/results",
      "**/*.mjs",
      "**/*.cjs",
      "eslint.config.js",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          paths: [NODE_HTTP],
          patterns: [{ group: ["**/cli/**"], message: "lower layers never import cli/" }],
        },
      ],
    },
  },
  {
    // The fake IAM Identity Center is a server of its own (and runs standalone), not on a command's path.
    files: ["src/fake-idc/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/cli/**"], message: "lower layers never import cli/" }] },
      ],
    },
  },
  {
    files: ["src/cli/**"],
    rules: { "@typescript-eslint/no-restricted-imports": ["error", { paths: [NODE_HTTP] }] },
  },
  {
    files: ["**/*.test.ts", "test/**"],
    rules: {
      "@typescript-eslint/no-restricted-imports": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);
