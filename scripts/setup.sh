#!/usr/bin/env bash
# Installs everything tracedrop needs on a fresh Debian 12 machine and fetches the
# pinned third-party sources into third_party/ (git-ignored). Safe to run again:
# each step checks what is already there.
#
#   bash scripts/setup.sh            # Debian packages, SQLite + zlib sources, npm packages
#   TRACEDROP_SKIP_APT=1 bash ...    # skip apt (when the packages are known to be present)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/versions.sh
. scripts/versions.sh

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "run as root or install sudo: apt-get needs root"
  sudo_cmd=(sudo)
fi

# --- Debian packages -------------------------------------------------------------------
# A deb-src entry mirroring the machine's own Debian sources, so `apt-get source` works.
ensure_deb_src() {
  if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    return 1
  fi
  local out=/etc/apt/sources.list.d/tracedrop-deb-src.sources
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed -e 's/^Types: .*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      "${sudo_cmd[@]}" tee "$out" >/dev/null
  elif grep -qsE '^deb ' /etc/apt/sources.list; then
    sed -n -e 's/^deb /deb-src /p' /etc/apt/sources.list |
      "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/tracedrop-deb-src.list >/dev/null
  else
    die "no Debian apt sources found to derive a deb-src entry from"
  fi
  log "added a deb-src entry for Debian sources"
  return 0
}

apt_packages=(
  build-essential cmake ninja-build pkg-config dpkg-dev xz-utils bzip2 ca-certificates
  "catch2=${CATCH2_DEB}" "nlohmann-json3-dev=${NLOHMANN_DEB}" zlib1g-dev tcl sqlite3
  "emscripten=${EMSCRIPTEN_DEB}" chromium
)
# Node.js and npm: Debian's packages unless the machine already has a node with npm.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_packages+=(nodejs npm)
fi

missing_packages() {
  local p name
  for p in "${apt_packages[@]}"; do
    name=${p%%=*}
    if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed'; then
      echo "$p"
    fi
  done
}

if [ -z "${TRACEDROP_SKIP_APT:-}" ]; then
  need_update=0
  ensure_deb_src && need_update=1
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -gt 0 ] || [ ! -d /var/lib/apt/lists ] || [ -z "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -i source || true)" ]; then
    need_update=1
  fi
  if [ "$need_update" = 1 ]; then
    log "apt-get update"
    "${sudo_cmd[@]}" apt-get update -qq
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    log "Debian packages present"
  fi
fi

# --- third-party sources, pinned and verified -------------------------------------------
tp="$root/third_party"
mkdir -p "$tp/downloads"

check_sha256() { # file expected
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "checksum mismatch for $(basename "$1"): expected $2, got $got"
}

# Downloads a Debian source package's files (without unpacking) into third_party/downloads.
fetch_deb_source() { # package version
  local pkg=$1 ver=$2
  ( cd "$tp/downloads" && apt-get source --download-only -qq "${pkg}=${ver}" >/dev/null ) ||
    die "apt-get source ${pkg}=${ver} failed (is there a deb-src entry? run without TRACEDROP_SKIP_APT)"
}

# SQLite: Debian's 3.40.1 source (upstream tarball + Debian patches), amalgamation built from it.
sqlite_dir="$tp/sqlite"
if [ ! -f "$sqlite_dir/sqlite3.c" ] || [ "$(cat "$sqlite_dir/.version" 2>/dev/null)" != "$SQLITE_DEB" ]; then
  log "fetching SQLite source ${SQLITE_DEB}"
  for f in "$SQLITE_DSC" "$SQLITE_ORIG" "$SQLITE_ORIG_WWW" "$SQLITE_DEBIAN"; do
    [ -f "$tp/downloads/$f" ] || { fetch_deb_source sqlite3 "$SQLITE_DEB"; break; }
  done
  check_sha256 "$tp/downloads/$SQLITE_DSC" "$SQLITE_DSC_SHA256"
  check_sha256 "$tp/downloads/$SQLITE_ORIG" "$SQLITE_ORIG_SHA256"
  check_sha256 "$tp/downloads/$SQLITE_ORIG_WWW" "$SQLITE_ORIG_WWW_SHA256"
  check_sha256 "$tp/downloads/$SQLITE_DEBIAN" "$SQLITE_DEBIAN_SHA256"
  rm -rf "$tp/sqlite-src" "$sqlite_dir"
  # The checksums above were verified by us; dpkg-source only unpacks and applies the patches.
  ( cd "$tp/downloads" && dpkg-source --no-check -x "$SQLITE_DSC" "$tp/sqlite-src" >/dev/null 2>&1 ) ||
    die "unpacking the SQLite source failed"
  log "building the SQLite amalgamation"
  ( cd "$tp/sqlite-src" && ./configure >/dev/null 2>&1 ) || die "SQLite configure failed"
  make -C "$tp/sqlite-src" sqlite3.c >/dev/null 2>&1 || die "building sqlite3.c failed"
  mkdir -p "$sqlite_dir"
  cp "$tp/sqlite-src/sqlite3.c" "$tp/sqlite-src/sqlite3.h" "$tp/sqlite-src/sqlite3ext.h" "$sqlite_dir/"
  echo "$SQLITE_DEB" >"$sqlite_dir/.version"
  # dpkg-source leaves copies of the upstream tarballs beside the unpacked tree.
  rm -rf "$tp/sqlite-src" "$tp"/sqlite3_*.tar.*
else
  log "SQLite amalgamation present (${SQLITE_DEB})"
fi

# zlib: compiled from Debian's source for the wasm build (native builds use zlib1g-dev).
zlib_dir="$tp/zlib"
if [ ! -f "$zlib_dir/zlib.h" ] || [ "$(cat "$zlib_dir/.version" 2>/dev/null)" != "$ZLIB_DEB" ]; then
  log "fetching zlib source ${ZLIB_DEB}"
  [ -f "$tp/downloads/$ZLIB_ORIG" ] || fetch_deb_source zlib "$ZLIB_DEB"
  check_sha256 "$tp/downloads/$ZLIB_ORIG" "$ZLIB_ORIG_SHA256"
  rm -rf "$zlib_dir" "$tp/zlib-src"
  mkdir -p "$tp/zlib-src"
  tar -xjf "$tp/downloads/$ZLIB_ORIG" -C "$tp/zlib-src" --strip-components=1
  mkdir -p "$zlib_dir"
  cp "$tp/zlib-src"/*.c "$tp/zlib-src"/*.h "$zlib_dir/"
  echo "$ZLIB_DEB" >"$zlib_dir/.version"
  rm -rf "$tp/zlib-src"
else
  log "zlib source present (${ZLIB_DEB})"
fi

# nlohmann/json gets an include directory of its own (emcc must never see -I/usr/include).
mkdir -p "$tp/include"
[ -e "$tp/include/nlohmann" ] || ln -s /usr/include/nlohmann "$tp/include/nlohmann"

# --- npm packages (exact versions from package-lock.json) --------------------------------
if [ -f package-lock.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    # playwright-core (tests/browser) drives the apt chromium; it must never fetch a browser.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  else
    log "npm packages present"
  fi
fi

log "done"
