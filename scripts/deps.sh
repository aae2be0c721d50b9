#!/bin/bash
# Installs every build and test dependency of mvm on Debian 12 with apt-get.
# Idempotent: when every package is already installed it does nothing.
set -eu
PKGS=(
	build-essential pkg-config               # compiler, make, library probes
	libfdt-dev                               # device tree builder (libfdt)
	libseccomp-dev                           # per-thread syscall filters
	libaio-dev                               # virtio-blk I/O engine
	libcmocka-dev                            # unit tests
	libunicorn-dev                           # differential oracle for the interpreter
	clang libclang-rt-14-dev llvm            # libFuzzer and sanitizer runtimes
	qemu-system-x86                          # nested-KVM harness and benchmark peer
	busybox-static cpio kmod xz-utils zstd   # guest initramfs, kernel modules
	e2fsprogs iproute2                       # disk images, tap devices
	device-tree-compiler acpica-tools        # dtc and iasl check the generated tables
	socat                                    # QEMU monitor access for the watchdog
	man-db groff-base                        # man -l man/mvm.1 in the tests
	gcc-multilib                             # 32-bit firmware test guests
	python3                                  # builds synthetic bzImage headers in the bad-input table
	ca-certificates
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
