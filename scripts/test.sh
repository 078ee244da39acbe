#!/usr/bin/env bash
# The whole test suite from a fresh clone: install dependencies, build, run every test, print a summary.
# Tests start what they need themselves (an MQTT hub, agents, ...) and stop it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

# Host tools that tests need (Docker Engine, qemu, ...): each script installs from Debian's packages when
# missing and is a no-op otherwise. Services themselves are started by the tests that use them.
for deps in scripts/test-deps/*.sh; do
  [ -e "$deps" ] || continue
  echo "== test dependencies: $deps"
  bash "$deps"
done

echo "== building"
node scripts/build.mjs

echo "== type-checking the tests (tsconfig.test.json: test/ and the benches, against the built packages)"
node node_modules/typescript/bin/tsc -p tsconfig.test.json

echo "== testing"
mkdir -p test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile=test-results/vitest.json "$@" || status=$?
node scripts/summary.mjs test-results/vitest.json || true
exit $status
