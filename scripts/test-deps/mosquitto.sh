#!/usr/bin/env bash
# Mosquitto itself (issue 13: the hub on an external broker): tests start private instances (test/mosquitto.ts:
# own config, dynsec file, data dir and port) and stop them after; the system service is never started.
# Debian 12's 2.0.11 ships the dynamic-security plugin the hub pushes logins and ACLs to.
# Idempotent: installs only when /usr/sbin/mosquitto or mosquitto_ctrl is missing.
set -euo pipefail

if [ -x /usr/sbin/mosquitto ] && command -v mosquitto_ctrl >/dev/null 2>&1; then
  echo "mosquitto: $(/usr/sbin/mosquitto -h 2>&1 | head -n 1) present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 || { echo "mosquitto.sh: need root (or sudo): apt-get install -y --no-install-recommends mosquitto mosquitto-clients" >&2; exit 1; }
else
  sudo=
fi
echo "mosquitto: installing mosquitto from Debian (the service is not started by the tests)"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
# policy-rc.d in containers keeps the service from starting; elsewhere Debian starts it on 1883, which the tests do not use
if ! $sudo "${apt[@]}" install -y -qq --no-install-recommends mosquitto mosquitto-clients >/dev/null; then
  $sudo "${apt[@]}" update -qq
  $sudo "${apt[@]}" install -y -qq --no-install-recommends mosquitto mosquitto-clients >/dev/null
fi
echo "mosquitto: $(/usr/sbin/mosquitto -h 2>&1 | head -n 1)"
