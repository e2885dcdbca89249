import { defineConfig } from "vitest/config";

// Each test file runs in its own fork: Pulumi keeps global state on globalThis, and
// onnxruntime/sharp hold native resources, so files must not share a process.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Compiles the service (dist/) once per run: the process tests start what the image runs.
    globalSetup: ["test/support/build-service.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ["default", "json"],
    outputFile: { json: "out/test-results.json" },
  },
});
