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
  [qemu-system-aarch64]=qemu-system-arm
  [npm]=npm
  [grub-mkimage]=grub-common
  [mkfs.ext4]=e2fsprogs
  # the arm64 full image: debootstrap's second stage runs arm64 binaries under qemu user emulation
  # (the build registers qemu-aarch64-static in binfmt_misc itself, only for the build)
  [qemu-aarch64-static]=qemu-user-static
)
missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}")
done
# packages that are files, not commands
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
[ -e /usr/share/OVMF/OVMF_CODE_4M.fd ] || [ -e /usr/share/OVMF/OVMF_CODE.fd ] || missing+=(ovmf)
# legacy BIOS boot: GRUB's i386-pc boot.img/core image in the image, SeaBIOS for qemu's BIOS boot test
[ -e /usr/lib/grub/i386-pc/boot.img ] || missing+=(grub-pc-bin)
[ -e /usr/share/seabios/bios-256k.bin ] || missing+=(seabios)
[ -d /usr/lib/grub/x86_64-efi ] || missing+=(grub-efi-amd64-bin)
# the arm64 image: GRUB's arm64-efi platform (BOOTAA64.EFI) and the AAVMF UEFI firmware for qemu-system-aarch64
[ -e /usr/lib/grub/arm64-efi/kernel.img ] || missing+=(grub-efi-arm64-bin)
[ -e /usr/share/AAVMF/AAVMF_CODE.fd ] || missing+=(qemu-efi-aarch64)

# the arm64 image downloads linux-image-arm64, busybox-static:arm64 and libc6/libstdc++6/libgcc-s1:arm64
# with apt-get download (never installed here): apt must know the arm64 architecture
arm64_update=0
if ! grep -qx arm64 <<<"$(dpkg --print-foreign-architectures)"; then
  echo "image test tools: dpkg --add-architecture arm64 (the arm64 image downloads Debian's arm64 kernel, busybox and libc with apt-get download; nothing arm64 is installed)"
  if [ "$(id -u)" -eq 0 ]; then
    dpkg --add-architecture arm64
    arm64_update=1
  else
    echo "not root: run  sudo dpkg --add-architecture arm64 && sudo apt-get update" >&2
  fi
fi
arm64_policy=$(apt-cache policy linux-image-arm64:arm64 2>/dev/null || true)
if [ $arm64_update -eq 1 ] || ! grep -q 'Candidate: [0-9]' <<<"$arm64_policy"; then
  echo "image test tools: apt-get update (for the arm64 package lists)"
  [ "$(id -u)" -eq 0 ] && apt-get update -qq
fi

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
