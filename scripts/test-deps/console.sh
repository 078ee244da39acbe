#!/usr/bin/env bash
# tmux for the console shell tests (issue 7): the test drives `sosna console` through a real pseudo-terminal
# (tmux new-session -d, send-keys, capture-pane). Idempotent: installs only when tmux is missing.
set -euo pipefail

command -v tmux >/dev/null 2>&1 && { echo "console: $(tmux -V) present"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 || { echo "console.sh: need root (or sudo): apt-get install -y --no-install-recommends tmux" >&2; exit 1; }
else
  sudo=
fi
echo "console: installing tmux from Debian"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" install -y -qq --no-install-recommends tmux >/dev/null; then
  $sudo "${apt[@]}" update -qq
  $sudo "${apt[@]}" install -y -qq --no-install-recommends tmux >/dev/null
fi
echo "console: $(tmux -V)"
