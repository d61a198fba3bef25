#!/usr/bin/env bash
# Provisions what the integration tests run against, once, before any test: the system packages
# (apt-get, as root), the Debian test guest (tests/guest/build.sh, into ~/.cache/iovirt), the
# nested-KVM host and its emulator, and QEMU's vhost-user.json schema (qemu-schema.sh). Test
# fixtures only check that these are there and fail with a pointer here when they are not.
# Idempotent: with everything in place it takes about a second. tests/run.sh calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# gcc and the kernel's uapi headers: the ABI tests compile a C program against
# <linux/virtio_*.h> to cross-check every layout and constant. dpdk-dev: dpdk-testpmd, the DPDK
# virtio-net front end and back end the net tests run against (Debian's `dpdk` package lacks it).
# python3: the soak's driver (bench/soak.py) and its misbehaving front ends. libfuse3-dev, fuse3
# and pkg-config: tests/faults/badrange.c, the FUSE file system with bad sectors. iproute2: the
# network namespaces and TAPs. acpica-tools: iasl, which disassembles the VMM's ACPI tables.
# systemd: systemd-socket-activate, which starts the daemons as the unit templates' sockets do.
# iputils-ping: pings a migrating guest every 20 ms from the host side. libvirglrenderer1 with
# Mesa's EGL, GLES and llvmpipe (libegl-mesa0, libgles2, libgl1-mesa-dri): `iovirt gpu --virgl`.
# libdrm-dev: virtgpu_drm.h, for the GPU guest's 3D check (tests/guest/virgl-clear.c).
# qemu-system-gui: /usr/lib/qemu/vhost-user-gpu, QEMU's own GPU back end, the peer of ours.
# QEMU and the guest's packages come with the guest build below.
packages=(gcc libc6-dev linux-libc-dev dpdk-dev iproute2 python3 libfuse3-dev fuse3 pkg-config acpica-tools systemd iputils-ping
  libvirglrenderer1 libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libdrm-dev
  qemu-system-gui)

# The Ceph cluster the RBD tests start (tests/ceph/cluster.sh): monitor, manager, OSD and the
# ceph/rbd tools, with librbd1, which `iovirt blk --image rbd:...` loads. qemu-block-extra:
# qemu-storage-daemon's rbd driver, the peer of BACKING=rbd bench/blk-vs-qsd.sh. Without recommends: the
# manager's dashboard and its web stack are not needed.
ceph=(ceph-mon ceph-mgr ceph-osd ceph-common librbd1 qemu-block-extra)

# install [apt-get options --] PACKAGE...: installs those not installed yet.
install() {
  local options=() missing=() p
  if [[ " $* " == *" -- "* ]]; then
    while [ "$1" != "--" ]; do options+=("$1"); shift; done
    shift
  fi
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  echo "tests/setup.sh: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/setup.sh: need root to apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null
}
install "${packages[@]}"
install --no-install-recommends -- "${ceph[@]}"

bash tests/guest/build.sh
bash tests/guest/build-gpu.sh
bash tests/guest/build-l1.sh
bash tests/guest/qemu-l1.sh
bash tests/guest/qemu-schema.sh
