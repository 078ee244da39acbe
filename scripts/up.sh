#!/usr/bin/env bash
# npm start: install when needed, build, then run a hub and an agent for this machine (sosna up).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
node scripts/build.mjs
exec node cli/dist/sosna.js up "$@"
