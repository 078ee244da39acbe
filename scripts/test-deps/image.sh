#!/usr/bin/env bash
# Host tools for the image tests (build, configure, flash, boot in qemu), from Debian's packages.
# Idempotent: installs only what is missing; a no-op when everything is there.
set -euo pipefail

# command -> package that provides it
declare -A need=(
  [qemu-system-x86_64]=qemu-system-x86
  [mkfs.vfat]=dosfstools
  [mcopy]=mtools
  [sfdisk]=fdisk
  [zstd]=zstd
  [xz]=xz-utils
  [cpio]=cpio
  [dpkg-deb]=dpkg
  [debootstrap]=debootstrap
  [grub-mkstandalone]=grub-common
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# packages that are files, not commands
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -e /usr/share/OVMF/OVMF_CODE.fd ] || missing+=(ovmf)
[ -d /usr/lib/grub/i386-pc ] || missing+=(grub-pc-bin)
[ -d /usr/lib/grub/x86_64-efi ] || missing+=(grub-efi-amd64-bin)

# the image build downloads Debian's kernel and busybox-static with apt-get download: apt needs its lists
policy=$(apt-cache policy linux-image-amd64 2>/dev/null || true)
if ! grep -q 'Candidate: [0-9]' <<<"$policy"; then
  echo "image test tools: apt-get update (the image build downloads linux-image-amd64 and busybox-static)"
  [ "$(id -u)" -eq 0 ] && apt-get update -qq
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "image test tools: all present"
  exit 0
fi
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "image test tools: installing ${pkgs[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "not root: run  sudo apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
echo "image test tools: installed ${pkgs[*]}"
