#!/usr/bin/env bash
# promtool (Debian's prometheus package) for the metrics tests (issue 17): the hub's and the agent's /metrics
# are checked with Prometheus' own `promtool check metrics`, never only with our parser.
# Idempotent: installs only when promtool is missing.
set -euo pipefail

command -v promtool >/dev/null 2>&1 && { echo "prometheus: $(promtool --version 2>&1 | head -n 1) present"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 || { echo "prometheus.sh: need root (or sudo): apt-get install -y --no-install-recommends prometheus" >&2; exit 1; }
else
  sudo=
fi
echo "prometheus: installing prometheus (for promtool) from Debian"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" install -y -qq --no-install-recommends prometheus >/dev/null; then
  $sudo "${apt[@]}" update -qq
  $sudo "${apt[@]}" install -y -qq --no-install-recommends prometheus >/dev/null
fi
echo "prometheus: $(promtool --version 2>&1 | head -n 1)"
