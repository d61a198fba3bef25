# Sourced by build.sh and build-gpu.sh: the parts both guests are made of.

# unpack_kernel META CACHE: downloads (once) the kernel package META depends on, unpacks it into
# CACHE/kernel, copies its vmlinuz to CACHE/vmlinuz; sets kernel_pkg and moddir.
unpack_kernel() {
  local meta=$1 cache=$2
  resolve() { apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'; }
  mkdir -p "$cache/debs"
  kernel_pkg=$(resolve)
  if [ -z "$kernel_pkg" ]; then
    apt-get update -qq   # package lists missing or stale
    kernel_pkg=$(resolve)
  fi
  [ -n "$kernel_pkg" ] || { echo "guest: cannot resolve the kernel package of $meta" >&2; exit 1; }
  if ! ls "$cache/debs/${kernel_pkg}_"*.deb >/dev/null 2>&1; then
    (cd "$cache/debs" && apt-get download -q "$kernel_pkg" 2>/dev/null)
  fi
  rm -rf "$cache/kernel"
  mkdir -p "$cache/kernel"
  dpkg-deb -x "$cache/debs/${kernel_pkg}_"*.deb "$cache/kernel"
  cp "$cache/kernel"/boot/vmlinuz-* "$cache/vmlinuz"
  moddir=$(echo "$cache"/kernel/lib/modules/*)
}

# busybox_root ROOT: a fresh root with busybox-static and a link for each of its applets.
busybox_root() {
  local root=$1
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,mnt,lib/modules,etc}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
}

# add_modules ROOT MODULE...: copies the modules from $moddir into ROOT in the order given
# (dependencies first), which init loads them in.
add_modules() {
  local root=$1 m f
  shift
  for m in "$@"; do
    f=$(find "$moddir" -name "$m.ko*" | head -n 1)
    [ -n "$f" ] || { echo "guest: module $m missing from $kernel_pkg" >&2; exit 1; }
    cp "$f" "$root/lib/modules/"
    echo "${f##*/}" >> "$root/lib/modules/order"
  done
}
