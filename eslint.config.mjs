// Lint: typescript-eslint's recommended set plus Pulumi's rules, which are type-aware
// (they catch an Output interpolated into a plain template string, a silent bug).
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
  // The two JavaScript config files (this one and mocha's integration settings) are outside the
  // TypeScript project the type-aware rules need.
  { ignores: ["node_modules/**", "bin/**", "eslint.config.mjs", "test/integration/.mocharc.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
