// eslint with the Pulumi plugin, as the Pulumi anchors do: its rules need type information, so the
// TypeScript project is loaded. Formatting is Prettier's job (`npm run format:check`).
const tseslint = require("typescript-eslint");
const pulumi = require("@pulumi/eslint-plugin");

module.exports = tseslint.config(
    { ignores: ["node_modules/**", ".e2e/**", "policy/node_modules/**", "**/*.js"] },
    {
        files: ["**/*.ts"],
        languageOptions: {
            parser: tseslint.parser,
            parserOptions: { projectService: true, tsconfigRootDir: __dirname },
        },
        plugins: { "@pulumi": pulumi, "@typescript-eslint": tseslint.plugin },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        },
    },
);
