/**
 * Four suites:
 * - `unit`: the program and its renderers under Pulumi mocks (seconds);
 * - `e2e`: self-contained tests on the local Docker engine (the e2e engine itself, the EC2 bootstrap);
 * - `cluster`: tests of the dev stack, deployed once by globalSetup with the real program, torn down after;
 * - `faults`: fault injection on a `faults` stack of its own (own ports) and the bad-input sweep.
 * Pass test paths before `--selectProjects`, which takes every value after it.
 */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { diagnostics: false }] },
};

module.exports = {
  // A program run under mocks takes a few seconds on a loaded 2-core machine: more than jest's 5 s
  // default (a global option: projects cannot set it). Longer tests set their own.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/test/e2e/*.test.ts"] },
    {
      ...common,
      displayName: "cluster",
      testMatch: ["<rootDir>/test/e2e/cluster/**/*.test.ts"],
      globalSetup: "<rootDir>/test/e2e/globalSetup.ts",
      globalTeardown: "<rootDir>/test/e2e/globalTeardown.ts",
    },
    {
      ...common,
      displayName: "faults",
      testMatch: ["<rootDir>/test/faults/**/*.test.ts"],
      globalSetup: "<rootDir>/test/faults/globalSetup.ts",
      globalTeardown: "<rootDir>/test/faults/globalTeardown.ts",
    },
  ],
};
