#!/usr/bin/env bash
# A real headless browser for the dashboard tests (issue 7): Debian's chromium, driven by playwright-core
# (an npm devDependency that never downloads a browser). Fonts come with it (fonts-liberation), so
# screenshots show text. Idempotent: installs only when /usr/bin/chromium is missing.
set -euo pipefail

[ -x /usr/bin/chromium ] && { echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) present"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 || { echo "browser.sh: need root (or sudo): apt-get install -y --no-install-recommends chromium fonts-liberation" >&2; exit 1; }
else
  sudo=
fi
echo "browser: installing chromium from Debian"
export DEBIAN_FRONTEND=noninteractive
# Another installer may hold the dpkg lock (test dependencies install side by side): wait for it.
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null; then
  $sudo "${apt[@]}" update -qq
  $sudo "${apt[@]}" install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi
echo "browser: $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
