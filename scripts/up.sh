#!/usr/bin/env bash
# npm start: install when needed, build, then run a hub and an agent for this machine (sosna up).
# Each step says what it does first: a first run is minutes of work that would otherwise print nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing dependencies (npm ci, first run only, ~1-2 min; it compiles the native sqlite module where no prebuilt one fits)"
  npm ci --no-audit --no-fund
fi
echo "== building (npm run build)"
node scripts/build.mjs
echo "== starting a hub and an agent for this machine (sosna up $*)"
exec node cli/bin/sosna.js up "$@"
