#!/usr/bin/env bash
# Third-party MQTT clients for the security tests (issue 12): the hub is tried with Mosquitto's own
# mosquitto_pub/mosquitto_sub (Debian's mosquitto-clients) beside raw sockets, never only with our client.
# Idempotent: installs only when mosquitto_pub is missing.
set -euo pipefail

command -v mosquitto_pub >/dev/null 2>&1 && { echo "mqtt clients: $(mosquitto_pub --help 2>&1 | head -n 1) present"; exit 0; }

if [ "$(id -u)" -ne 0 ]; then
  sudo=sudo
  command -v sudo >/dev/null 2>&1 || { echo "mqtt-clients.sh: need root (or sudo): apt-get install -y --no-install-recommends mosquitto-clients" >&2; exit 1; }
else
  sudo=
fi
echo "mqtt clients: installing mosquitto-clients from Debian"
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=600)
if ! $sudo "${apt[@]}" install -y -qq --no-install-recommends mosquitto-clients >/dev/null; then
  $sudo "${apt[@]}" update -qq
  $sudo "${apt[@]}" install -y -qq --no-install-recommends mosquitto-clients >/dev/null
fi
echo "mqtt clients: $(mosquitto_pub --help 2>&1 | head -n 1)"
