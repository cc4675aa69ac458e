#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build-deps.sh: builds the Windows agent's libraries (mbedTLS 2.28, libcurl
# 7.88 over that mbedTLS, cJSON) as static MinGW-w64 libraries from Debian's
# own source packages, so the cross build uses the same versions (and
# security patches) as the Linux build.
#
#   deploy/windows/build-deps.sh [DIR]     (default: .deps-win in the repo)
#
# Leaves DIR/prefix/{include,lib} for CMAKE_PREFIX_PATH. Never committed.
# Cached twice: when DIR/prefix/.stamp matches this script, nothing is done;
# otherwise a copy kept under ${XDG_CACHE_HOME:-~/.cache}/portfleet (keyed
# by this script's hash) is restored, so a fresh clone on a machine that
# built once takes seconds. PF_DEPS_NO_CACHE=1 skips the shared copy.
# Needs (as root, once): ./deploy/install-deps.sh windows; adds a deb-src
# entry for the Debian suite the machine already uses when none exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-$root/.deps-win}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
prefix=$dir/prefix
toolchain=$root/cmake/mingw-w64-x86_64.cmake
jobs=$(nproc 2>/dev/null || echo 2)
triple=x86_64-w64-mingw32

say() { printf 'build-deps: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

key=$(cat "$0" "$toolchain" | sha256sum | cut -c1-16)
stamp=$prefix/.stamp
cache_root=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/portfleet
cache_tar=$cache_root/deps-win-$key.tar.gz

# The CMake package files of curl name the mbedTLS libraries by absolute
# path: after restoring a copy built elsewhere, point them at this prefix.
relocate() {
  local old
  old=$(sed -n 's/^prefix=//p' "$stamp")
  [ -n "$old" ] && [ "$old" != "$prefix" ] || return 0
  grep -rlF "$old" "$prefix/lib/cmake" "$prefix/lib/pkgconfig" 2>/dev/null |
    while read -r f; do sed -i "s|$old|$prefix|g" "$f"; done
  sed -i "s|^prefix=.*|prefix=$prefix|" "$stamp"
}

if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$key" ]; then
  relocate
  say "up to date in $prefix ($(sed -n 's/^source=//p' "$stamp" | tr '\n' ' '))"
  exit 0
fi
if [ "${PF_DEPS_NO_CACHE:-0}" != 1 ] && [ -f "$cache_tar" ]; then
  rm -rf "$prefix"
  if tar -C "$dir" -xzf "$cache_tar" && [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$key" ]; then
    relocate
    say "restored from $cache_tar ($(sed -n 's/^source=//p' "$stamp" | tr '\n' ' '))"
    exit 0
  fi
  say "cache copy unusable, rebuilding"
  rm -rf "$prefix"
fi

command -v $triple-gcc >/dev/null || die "$triple-gcc missing: run ./deploy/install-deps.sh windows"
command -v dpkg-source >/dev/null || die "dpkg-source missing: run ./deploy/install-deps.sh windows"

# --- a deb-src entry for the suites this machine installs from ---------------
have_deb_src() {
  grep -rqsE '^[[:space:]]*(deb-src[[:space:]]|Types:.*deb-src)' \
    /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null
}
add_deb_src() {
  local codename out=/etc/apt/sources.list.d/portfleet-deb-src.sources
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "cannot tell the Debian suite (VERSION_CODENAME)"
  [ "$(id -u)" -eq 0 ] || die "no deb-src entry in /etc/apt; run as root once to add one"
  # Copy every deb stanza (deb822 files) and deb line (sources.list) whose
  # suite is the release, -updates or -security, as deb-src.
  python3 - "$codename" "$out" <<'PY'
import glob, re, sys
codename, out = sys.argv[1], sys.argv[2]
ok = {codename, codename + "-updates", codename + "-security"}
stanzas = []
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    if path == out:
        continue
    for block in re.split(r"\n\s*\n", open(path, encoding="utf-8").read()):
        f = {}
        for line in block.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            k, v = line.split(":", 1)
            f[k.strip().lower()] = v.strip()
        if "deb" not in f.get("types", "").split() or f.get("enabled", "yes") == "no":
            continue
        suites = [s for s in f.get("suites", "").split() if s in ok]
        if suites and f.get("uris"):
            stanzas.append((f["uris"], suites, f.get("components", "main"), f.get("signed-by")))
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError:
        continue
    for line in lines:
        t = line.split("#", 1)[0].split()
        if len(t) >= 4 and t[0] == "deb" and not t[1].startswith("["):
            if t[2] in ok:
                stanzas.append((t[1], [t[2]], " ".join(t[3:]), None))
if not stanzas:
    sys.exit("no Debian deb entry for %s found in /etc/apt" % codename)
with open(out, "w", encoding="utf-8") as fh:
    fh.write("# Added by portfleet deploy/windows/build-deps.sh: source packages of\n")
    fh.write("# the same mirror and suites, for the MinGW dependency build.\n")
    for uris, suites, comps, signed in stanzas:
        fh.write("\nTypes: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n"
                 % (uris, " ".join(suites), comps))
        if signed:
            fh.write("Signed-By: %s\n" % signed)
PY
  say "added $out"
  apt-get update -qq
}

srcdir=$dir/src
mkdir -p "$srcdir"
fetch() { # fetch PKG -> prints the extracted directory
  local pkg=$1 d
  d=$(find "$srcdir" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -n1)
  if [ -z "$d" ]; then
    (cd "$srcdir" && apt-get source -qq "$pkg" >/dev/null 2>"$srcdir/$pkg.log") ||
      { cat "$srcdir/$pkg.log" >&2; die "apt-get source $pkg failed"; }
    d=$(find "$srcdir" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -n1)
  fi
  [ -n "$d" ] || die "no source tree for $pkg"
  echo "$d"
}

if ! find "$srcdir" -maxdepth 1 -type d -name 'cjson-[0-9]*' | grep -q . ||
   ! find "$srcdir" -maxdepth 1 -type d -name 'curl-[0-9]*' | grep -q . ||
   ! find "$srcdir" -maxdepth 1 -type d -name 'mbedtls-[0-9]*' | grep -q .; then
  have_deb_src || add_deb_src
  if ! (cd "$srcdir" && apt-get source --print-uris -qq cjson >/dev/null 2>&1); then
    apt-get update -qq
  fi
fi
mbedtls_src=$(fetch mbedtls)
curl_src=$(fetch curl)
cjson_src=$(fetch cjson)
rm -rf "$prefix" "$dir/obj"
mkdir -p "$prefix" "$dir/obj"

cross=(-DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release
       -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_PREFIX_PATH="$prefix"
       -DCMAKE_C_FLAGS="-D_WIN32_WINNT=0x0602")
build() { # build NAME SRC cmake-args...
  local name=$1 src=$2 t0=$SECONDS
  shift 2
  say "building $name ($(basename "$src"))"
  cmake -S "$src" -B "$dir/obj/$name" "${cross[@]}" "$@" >"$dir/obj/$name.log" 2>&1 &&
    cmake --build "$dir/obj/$name" -j"$jobs" >>"$dir/obj/$name.log" 2>&1 &&
    cmake --install "$dir/obj/$name" >>"$dir/obj/$name.log" 2>&1 ||
    { tail -n 40 "$dir/obj/$name.log" >&2; die "$name failed (log: $dir/obj/$name.log)"; }
  say "$name built in $((SECONDS - t0)) s"
}

# mbedTLS: Debian's patches turn on MBEDTLS_THREADING_PTHREAD; the agent is
# single-threaded and MinGW's win32 thread model has no pthreads, so the
# source tree we build (ours, under DIR/src) turns threading off again.
sed -E -i 's@^#define (MBEDTLS_THREADING_C|MBEDTLS_THREADING_PTHREAD)$@/* #define \1 (off for MinGW) */@' \
  "$mbedtls_src/include/mbedtls/config.h"
build mbedtls "$mbedtls_src" -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF \
  -DUSE_STATIC_MBEDTLS_LIBRARY=ON -DUSE_SHARED_MBEDTLS_LIBRARY=OFF \
  -DMBEDTLS_FATAL_WARNINGS=OFF -DLINK_WITH_PTHREAD=OFF

build curl "$curl_src" -DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF \
  -DHTTP_ONLY=ON -DCURL_USE_MBEDTLS=ON -DCURL_USE_OPENSSL=OFF -DCURL_USE_SCHANNEL=OFF \
  -DCURL_DISABLE_LDAP=ON -DCURL_USE_LIBSSH2=OFF -DCURL_ZLIB=OFF -DUSE_LIBIDN2=OFF \
  -DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DUSE_NGHTTP2=OFF -DENABLE_MANUAL=OFF \
  -DCURL_CA_BUNDLE=none -DCURL_CA_PATH=none -DENABLE_UNIX_SOCKETS=OFF \
  -DMBEDTLS_INCLUDE_DIRS="$prefix/include" \
  -DMBEDTLS_LIBRARY="$prefix/lib/libmbedtls.a" \
  -DMBEDX509_LIBRARY="$prefix/lib/libmbedx509.a" \
  -DMBEDCRYPTO_LIBRARY="$prefix/lib/libmbedcrypto.a"

build cjson "$cjson_src" -DENABLE_CJSON_TEST=OFF -DENABLE_CJSON_UTILS=OFF \
  -DBUILD_SHARED_LIBS=OFF -DBUILD_SHARED_AND_STATIC_LIBS=OFF -DENABLE_CUSTOM_COMPILER_FLAGS=OFF

for f in libmbedtls.a libmbedx509.a libmbedcrypto.a libcurl.a libcjson.a; do
  [ -f "$prefix/lib/$f" ] || die "missing $prefix/lib/$f after the build"
done
{
  echo "$key"
  echo "prefix=$prefix"
  for d in mbedtls curl cjson; do
    echo "source=$(cd "$srcdir" && ls ${d}_*.dsc | sort | tail -n1 | sed 's/\.dsc$//')"
  done
} >"$stamp"
say "done: $(sed -n 's/^source=//p' "$stamp" | tr '\n' ' ')in $prefix"

if [ "${PF_DEPS_NO_CACHE:-0}" != 1 ] && mkdir -p "$cache_root" 2>/dev/null; then
  rm -f "$cache_root"/deps-win-*.tar.gz
  tar -C "$dir" -czf "$cache_tar.tmp" prefix && mv "$cache_tar.tmp" "$cache_tar" &&
    say "kept a copy in $cache_tar"
fi
