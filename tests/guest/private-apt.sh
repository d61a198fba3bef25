# Sourced by the scripts that fetch Debian packages without touching the machine's apt setup.
# private_apt SOURCES_TYPE SUITE: apt lists of our own for one sources line (deb or deb-src, the
# main component of SUITE) on the mirror the machine already uses, in a fresh $work (removed on
# exit); sets the array apt=(...) of apt-get options to use them, and updates the lists.
private_apt() {
  local mirror
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  mirror=${mirror:-http://deb.debian.org/debian}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/lists/partial" "$work/debs/partial"
  echo "$1 [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $2 main" > "$work/sources.list"
  apt=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
       -o Dir::State::Lists="$work/lists" -o Dir::Cache::Archives="$work/debs" -o APT::Sandbox::User=root)
  apt-get "${apt[@]}" -qq update
}
