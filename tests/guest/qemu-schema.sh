#!/usr/bin/env bash
# Provisions QEMU's vhost-user back-end schema (docs/interop/vhost-user.json), which the
# descriptor tests check our --print-capabilities output and descriptor files against. Debian
# ships it in no binary package, so it comes from the source package of the QEMU installed here:
# apt fetches the orig tarball (hash-checked against the signed Sources index) through apt lists
# of our own, and only the schema is kept.
# Idempotent; with --check it only says whether it is there.
# Output: ${IOVIRT_CACHE:-~/.cache/iovirt}/qemu-schema/vhost-user.json
set -euo pipefail

base="${IOVIRT_CACHE:-$HOME/.cache/iovirt}"
schema="$base/qemu-schema/vhost-user.json"

if [ -s "$schema" ]; then
  exit 0
fi
if [ "${1:-}" = --check ]; then
  echo "guest/qemu-schema.sh: QEMU's vhost-user.json is not in $(dirname "$schema"); run tests/setup.sh (or tests/guest/qemu-schema.sh)" >&2
  exit 1
fi

source "$(dirname "$0")/private-apt.sh"
private_apt deb-src bookworm
mkdir -p "$work/src"
(cd "$work/src" && apt-get "${apt[@]}" -qq source --download-only qemu >/dev/null)
orig=$(ls "$work"/src/qemu_*.orig.tar.*)
tar -xf "$orig" -C "$work" --wildcards '*/docs/interop/vhost-user.json'
mkdir -p "$(dirname "$schema")"
cp "$work"/*/docs/interop/vhost-user.json "$schema.new"
mv "$schema.new" "$schema"
echo "guest/qemu-schema.sh: $(basename "$orig")'s docs/interop/vhost-user.json in $(dirname "$schema")" >&2
