#!/usr/bin/env bash
# Ignition's own validator for the Fedora CoreOS recipe (issue 18): Debian's `ignition` package ships
# /usr/bin/ignition-validate, which checks a config against the spec version it declares (Debian 12's
# ignition 2.14: specs 3.0.0-3.3.0). The CoreOS test compiles os-image/coreos/sosna.bu with our Butane
# subset and must get past it. Idempotent: installs only when ignition-validate is missing.
set -euo pipefail

command -v ignition-validate >/dev/null 2>&1 && { echo "ignition-validate: present"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 || { echo "ignition.sh: need root (or sudo): apt-get install -y --no-install-recommends ignition" >&2; exit 1; }
else
  sudo=
fi
echo "ignition-validate: installing Debian's ignition"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" install -y -qq --no-install-recommends ignition >/dev/null; then
  $sudo "${apt[@]}" update -qq
  $sudo "${apt[@]}" install -y -qq --no-install-recommends ignition >/dev/null
fi
echo "ignition-validate: $(command -v ignition-validate)"
