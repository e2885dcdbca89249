#!/usr/bin/env bash
# The whole test suite: test-time tools, static checks, then every vitest suite. Ends with one line
# `N passed, N failed` (each static check counts as one test) and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

# A tool that cannot be installed says which and why (the line above its FAILED); the run stops, as
# every suite below needs the tools.
if ! bash scripts/install-test-tools.sh; then
  echo "FAILED: install-test-tools (its message above names the tool and how to look it up)"
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0
failed=0
check() {
  local name=$1; shift
  echo "== $name: $*"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

check typecheck npx tsc --noEmit -p tsconfig.json
check lint npx eslint .
check format npx prettier --check --log-level warn .

mkdir -p out
rm -f out/test-results.json out/test-results-soak.json
echo "== vitest"
if [[ $# -gt 0 ]]; then
  # Only what the filters name (test/soak included when named).
  npx vitest run "$@"
else
  npx vitest run --exclude "test/soak/**"
  # test/soak measures the load generator and the machine: its files run alone, one at a time,
  # after everything else.
  echo "== vitest (alone, one file at a time): test/soak"
  npx vitest run test/soak --no-file-parallelism --outputFile.json=out/test-results-soak.json
fi
results=$(node -e '
  const fs = require("node:fs");
  let passed = 0;
  let failed = 0;
  for (const file of ["out/test-results.json", "out/test-results-soak.json"]) {
    if (file.endsWith("soak.json") && process.argv[1] !== "all") continue;
    try {
      const r = JSON.parse(fs.readFileSync(file, "utf8"));
      // Suites that fail to load count as failures even though they hold no test results.
      const brokenFiles = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
      passed += r.numPassedTests;
      failed += r.numFailedTests + brokenFiles;
    } catch (e) { failed += 1; }
  }
  console.log(passed, failed);
' "$([[ $# -eq 0 ]] && echo all || echo some)")
read -r vp vf <<<"$results"
passed=$((passed + vp))
failed=$((failed + vf))
echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 && $vp -gt 0 ]]
