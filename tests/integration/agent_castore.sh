#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# agent_castore.sh BUILD_DIR: the Windows agent's trust store reader, its
# pure half on Linux. Certificates made here with openssl (two CAs, a
# server certificate signed by the first) are fed as a constructed store to
# castore_build (tests/tools/castore_bundle.c): the bundle must hold the
# trusted CA once, byte for byte what openssl writes as PEM, and verify the
# server certificate with `openssl verify`; a CA the store marks as
# Disallowed (or expired, or not for TLS servers) must be left out, so the
# same verification then fails.
set -euo pipefail
BUILD=$(cd "${1:?usage: agent_castore.sh BUILD_DIR}" && pwd)
tool=$BUILD/tests/castore_bundle
d=$(mktemp -d "${TMPDIR:-/tmp}/pf-castore.XXXXXX")
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$d"
ossl() { openssl "$@" 2>/dev/null; }
for ca in ca1 ca2; do
  ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca.key \
    -out $ca.pem -days 30 -subj "/CN=portfleet test $ca" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  ossl x509 -in $ca.pem -outform DER -out $ca.der
done
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr \
  -subj "/CN=collector"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >srv.ext
ossl x509 -req -in srv.csr -CA ca1.pem -CAkey ca1.key -CAcreateserial -days 30 \
  -extfile srv.ext -out srv.pem
printf '\x04\x03abc' >junk.der # an OCTET STRING, not a certificate

# ROOT: ca2 (Disallowed), ca1; CA store: ca1 again, junk
"$tool" disallowed:ca2.der ca1.der ca1.der junk.der >bundle.pem 2>counts.txt ||
  fail "castore_bundle failed: $(cat counts.txt)"
echo "counts: $(cat counts.txt)"
grep -qx 'kept 1 disallowed 1 expired 0 not_for_tls 0 malformed 1 duplicate 1' counts.txt ||
  fail "unexpected counts: $(cat counts.txt)"
ossl x509 -in ca1.der -inform DER -outform PEM -out ca1.openssl.pem
cmp -s bundle.pem ca1.openssl.pem || fail "the PEM differs from openssl's: $(diff bundle.pem ca1.openssl.pem | head -5)"
echo "ok - the bundle is ca1 once, identical to openssl's PEM"
openssl verify -CAfile bundle.pem srv.pem >verify.txt 2>&1 || fail "openssl verify: $(cat verify.txt)"
echo "ok - openssl verify with the bundle: $(cat verify.txt)"
for flag in disallowed expired notls; do
  "$tool" "$flag:ca1.der" ca2.der >bad.pem 2>/dev/null
  if openssl verify -CAfile bad.pem srv.pem >/dev/null 2>&1; then
    fail "ca1 marked $flag still verifies the server certificate"
  fi
  echo "ok - ca1 marked $flag: left out, the server certificate does not verify"
done
"$tool" disallowed:ca1.der >empty.pem 2>/dev/null
[ ! -s empty.pem ] || fail "a store of one disallowed CA gave a non-empty bundle"
echo "agent_castore: passed"
