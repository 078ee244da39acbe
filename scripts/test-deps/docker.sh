#!/usr/bin/env bash
# Docker Engine for the job tests (issue 4): Debian's docker.io (dockerd, containerd, runc), busybox-static
# (the test image is imported from it offline) and docker-registry (a local registry for the pull path).
# Idempotent: installs only what is missing. Never starts a system daemon: the tests start a private
# dockerd of their own (test/docker/dockerd.ts) and stop it afterwards.
set -euo pipefail

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
missing=()
for pkg in docker.io busybox-static docker-registry; do installed "$pkg" || missing+=("$pkg"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  if ! command -v sudo >/dev/null 2>&1; then
    # the job tests say what is missing when they run (or skip with SOSNA_SKIP_DOCKER_TESTS=1)
    echo "docker.sh: not installing ${missing[*]}: needs root or sudo" >&2
    exit 0
  fi
else
  sudo=
fi
echo "installing ${missing[*]}"
# Keep the packages' init scripts from starting system-wide daemons while they are installed.
policy=/usr/sbin/policy-rc.d
restore=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  restore=1
fi
trap '[ -n "$restore" ] && $sudo rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
# Another installer may hold the dpkg lock (CI images install several test dependencies): wait for it.
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" install -y --no-install-recommends "${missing[@]}"; then
  $sudo "${apt[@]}" update
  $sudo "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
fi
