#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# package_systemd.sh: the two .deb packages installed, started with
# `systemctl` and removed on a Debian 12 machine where systemd is PID 1 —
# a VM, since this build machine does not boot systemd (package_deb.sh
# starts the services from their units' ExecStart lines instead).
#  - builds the .debs with cpack (as package_deb.sh; PF_PKG_BUILD is a build
#    directory to reuse, PF_SOURCE_DIR the checkout);
#  - makes a Debian 12 image with debootstrap from this machine's apt
#    mirror: systemd, PostgreSQL, the libraries the packages depend on (read
#    from their Depends), a kernel; built once into PF_VM_CACHE (default
#    ~/.cache/portfleet/bookworm-systemd) and rebuilt only when that recipe
#    changes;
#  - boots it with qemu (KVM, else TCG: see below) from the image's kernel and initrd,
#    the root file system as a throwaway snapshot (the cached image is never
#    written), no network device at all (-nic none: only loopback in the
#    VM), the .debs and package_systemd_guest.sh on a second disk;
#  - package_systemd_guest.sh runs there from a unit, as systemd's child:
#    README.md's packaged-install commands with a real systemctl (dpkg -i,
#    PostgreSQL, certificates, collector.conf, migrate, systemctl enable
#    --now, /readyz over TLS, portfleet-agent install, enrollment,
#    snapshots in the database), systemctl stop, dpkg -r, dpkg -i again
#    (the configured postinst starts both), dpkg -r of running services,
#    dpkg -P; it writes PASS/FAIL lines to the VM's second serial port
#    and powers the VM off;
#  - this script reads those lines and passes only if every expected check
#    passed.
# Needs root (debootstrap), qemu-system-x86_64, debootstrap and mke2fs
# (deploy/install-deps.sh test installs them); exit 77, skipped, without
# them or when the mirror cannot be reached to build the image.
# Knobs: PF_VM_ACCEL=kvm|tcg, PF_VM_TIMEOUT (s), PF_DEBIAN_MIRROR;
# PF_VM_DEBUG=1 adds both units' journals to the output; PF_VM_KEEP=1
# copies the VM's console to $TMPDIR/package_systemd.console.log.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
skip() { echo "package_systemd: $* (skipped)" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap)"
for t in qemu-system-x86_64 debootstrap mke2fs cpack dpkg-deb; do
  command -v "$t" >/dev/null || skip "$t is not installed (deploy/install-deps.sh test installs it)"
done
src=${PF_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
cache=${PF_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portfleet/bookworm-systemd}
# KVM when it can run a stock kernel; kvm_pvm (a paravirtual KVM for nested
# sandboxes) runs only PVM guest kernels: a stock kernel hangs right after
# the real-mode setup there. Otherwise the first boot under KVM must show the
# kernel's banner within 30 s, or the VM starts again under TCG.
accel=${PF_VM_ACCEL:-}
if [ -z "$accel" ]; then
  if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -d /sys/module/kvm_pvm ]; then
    accel=kvm
  else
    accel=tcg
  fi
fi
pf_tmpdir
qpid=
trap 'rc=$?; set +e; [ -z "$qpid" ] || kill "$qpid" 2>/dev/null; pf_cleanup "$rc"' EXIT
bld=${PF_PKG_BUILD:-$PF_TMP/build}
t_start=$SECONDS

# ---- the .debs ----
t0=$SECONDS
cmake -S "$src" -B "$bld" -DCMAKE_BUILD_TYPE=Release -DPF_BUILD_TESTS=OFF >"$PF_TMP/cmake.log" 2>&1 ||
  { cat "$PF_TMP/cmake.log" >&2; pf_fail "cmake"; }
cmake --build "$bld" -j"$(nproc)" >>"$PF_TMP/cmake.log" 2>&1 ||
  { tail -n 30 "$PF_TMP/cmake.log" >&2; pf_fail "build"; }
rm -f "$bld"/portfleet-*.deb
(cd "$bld" && cpack -G DEB >"$PF_TMP/cpack.log" 2>&1) || { cat "$PF_TMP/cpack.log" >&2; pf_fail "cpack"; }
agent_deb=$(ls "$bld"/portfleet-agent_*_amd64.deb)
coll_deb=$(ls "$bld"/portfleet-collector_*_amd64.deb)
pf_log "built and packaged in $((SECONDS - t0)) s: $(basename "$agent_deb") $(basename "$coll_deb")"

# ---- the image ----
# What the image holds: what booting, the README's steps and the checks
# need, and every package the two .debs depend on (first alternative).
deps=$( (dpkg-deb -f "$agent_deb" Depends; dpkg-deb -f "$coll_deb" Depends) |
  tr ',' '\n' | sed -E 's/\|.*//; s/\(.*\)//; s/[[:space:]]//g' | grep -v '^$')
# shellcheck disable=SC2207
image_pkgs=($(printf '%s\n' systemd systemd-sysv udev dbus procps linux-image-amd64 \
  postgresql openssl curl iproute2 $deps | sort -u))
mirror=${PF_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then # this machine's: the first .../debian of its sources
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -nE 's,^URIs:[[:space:]]*([^[:space:]]+/debian)/?[[:space:]]*$,\1,p' | head -n 1)
fi
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -nE 's,^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+/debian)/?[[:space:]]+bookworm[[:space:]].*,\2,p' |
    head -n 1)
fi
mirror=${mirror:-http://deb.debian.org/debian}
eval "$(apt-config shell http_proxy Acquire::http::Proxy)" # apt's proxy, for debootstrap's wget
[ -z "${http_proxy:-}" ] || export http_proxy

# The first boot's payload unit: mounts the second disk on /pf, runs the
# script on it, powers off. Only with pf.payload=1 on the kernel command line.
hook='#!/bin/sh
for i in $(seq 100); do [ -b /dev/vdb ] && break; sleep 0.1; done
mkdir -p /pf && mount /dev/vdb /pf && bash /pf/guest.sh
umount /pf
systemctl poweroff --no-block'
unit='[Unit]
Description=portfleet test payload (package_systemd.sh)
ConditionKernelCommandLine=pf.payload=1
[Service]
Type=simple
ExecStart=/usr/local/sbin/pf-payload
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target'
recipe="bookworm-systemd 3 $mirror ${image_pkgs[*]} $(printf '%s\n%s' "$hook" "$unit" | sha256sum | cut -c1-16)"

build_image() {
  local new=$cache.new root
  root=$new/root
  rm -rf "$new"
  mkdir -p "$new"
  curl -sSf -o /dev/null --max-time 30 "$mirror/dists/bookworm/Release" 2>"$PF_TMP/mirror.err" ||
    skip "cannot build the image: $mirror unreachable ($(cat "$PF_TMP/mirror.err"))"
  pf_log "building the image in $cache (once): debootstrap bookworm from $mirror"
  # A mount namespace of its own: debootstrap's /proc and /sys mounts in
  # the target go with it whatever happens. It keeps daemons from starting
  # (policy-rc.d) while it installs.
  unshare -m --propagation private -- debootstrap --variant=minbase --components=main \
    --include="$(IFS=,; echo "${image_pkgs[*]}")" bookworm "$root" "$mirror" \
    >"$new/debootstrap.log" 2>&1 || { tail -n 30 "$new/debootstrap.log" >&2; pf_fail "debootstrap"; }
  # An initrd with just what this VM's root needs: a third of the time to
  # boot its kernel under TCG.
  echo MODULES=list >"$root/etc/initramfs-tools/conf.d/pf-vm.conf"
  printf '%s\n' virtio_pci virtio_blk ext4 >>"$root/etc/initramfs-tools/modules"
  unshare -m --propagation private -- sh -c 'mount -t proc proc "$1/proc" &&
    chroot "$1" update-initramfs -u -k all' - "$root" >"$new/initramfs.log" 2>&1 ||
    { cat "$new/initramfs.log" >&2; pf_fail "update-initramfs in the image"; }
  echo pf-vm >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 pf-vm\n' >"$root/etc/hosts"
  printf 'LABEL=pfroot / ext4 defaults 0 0\n' >"$root/etc/fstab"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id" # not a "first boot"
  echo >>"$root/etc/machine-id"
  printf '%s\n' "$hook" >"$root/usr/local/sbin/pf-payload"
  chmod 755 "$root/usr/local/sbin/pf-payload"
  printf '%s\n' "$unit" >"$root/etc/systemd/system/pf-payload.service"
  ln -sf /etc/systemd/system/pf-payload.service "$root/etc/systemd/system/multi-user.target.wants/"
  # No timer may take dpkg's lock (apt-daily is Persistent: it would run at
  # boot); no login prompt is needed.
  rm -f "$root"/etc/systemd/system/timers.target.wants/*
  ln -sf /dev/null "$root/etc/systemd/system/getty@.service"
  ln -sf /dev/null "$root/etc/systemd/system/serial-getty@.service"
  rm -rf "$root"/var/cache/apt/archives/*.deb
  cp "$root"/boot/vmlinuz-* "$new/vmlinuz"
  cp "$root"/boot/initrd.img-* "$new/initrd.img"
  [ -s "$new/vmlinuz" ] && [ -s "$new/initrd.img" ] || pf_fail "no kernel or initrd in the image"
  local mb
  mb=$(($(du -sm "$root" | cut -f1) + 768))
  mke2fs -q -t ext4 -L pfroot -d "$root" "$new/rootfs.ext4" "${mb}M" ||
    pf_fail "mke2fs -d of the image"
  rm -rf "$root"
  printf '%s\n' "$recipe" >"$new/recipe"
  rm -rf "$cache"
  mv "$new" "$cache"
}
mkdir -p "$(dirname "$cache")"
exec 9>"$cache.lock" # one image build at a time; runs share the image read-only
flock -w 1200 9 || pf_fail "another run holds $cache.lock"
t0=$SECONDS
if [ "$(cat "$cache/recipe" 2>/dev/null)" != "$recipe" ]; then
  build_image
  pf_log "image built in $((SECONDS - t0)) s ($(du -sh "$cache/rootfs.ext4" | cut -f1))"
else
  pf_log "image cached in $cache"
fi
flock -u 9

# ---- the payload disk, the VM ----
pl=$PF_TMP/payload
mkdir -p "$pl"
cp "$agent_deb" "$coll_deb" "$pl/"
cp "$here/package_systemd_guest.sh" "$pl/guest.sh"
basename "$agent_deb" >"$pl/agent_deb"
basename "$coll_deb" >"$pl/collector_deb"
[ -z "${PF_VM_DEBUG:-}" ] || touch "$pl/debug" # the guest adds the units' journals
mke2fs -q -t ext4 -L pfpayload -d "$pl" "$PF_TMP/payload.ext4" 64M || pf_fail "mke2fs -d of the payload"
: >"$PF_TMP/console.log"
: >"$PF_TMP/results.log"
# No network device (-nic none, -nodefaults): nothing leaves this machine.
# snapshot=on: the root file system's writes go to a temporary file.
boot() { # boot ACCEL TIMEOUT: runs the VM in the background, sets qpid
  : >"$PF_TMP/console.log"
  : >"$PF_TMP/results.log"
  pf_log "booting the VM (accel $1, timeout $2 s)"
  timeout "$2" qemu-system-x86_64 -accel "$1" -cpu max -smp 2 -m 1536 \
    -nodefaults -display none -no-reboot -nic none \
    -serial "file:$PF_TMP/console.log" -serial "file:$PF_TMP/results.log" \
    -kernel "$cache/vmlinuz" -initrd "$cache/initrd.img" \
    -append "root=LABEL=pfroot rw console=ttyS0 panic=-1 pf.payload=1" \
    -drive "if=virtio,format=raw,file=$cache/rootfs.ext4,snapshot=on" \
    -drive "if=virtio,format=raw,file=$PF_TMP/payload.ext4" >"$PF_TMP/qemu.log" 2>&1 &
  qpid=$!
}
t0=$SECONDS
if [ "$accel" = kvm ]; then
  boot kvm "${PF_VM_TIMEOUT:-420}"
  for _ in $(seq 300); do
    grep -q 'Linux version' "$PF_TMP/console.log" && break
    kill -0 $qpid 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q 'Linux version' "$PF_TMP/console.log"; then
    kill $qpid 2>/dev/null || true
    wait $qpid || true
    pf_log "no kernel banner after $((SECONDS - t0)) s under KVM: TCG instead"
    accel=tcg
  fi
fi
[ "$accel" = kvm ] || boot tcg "${PF_VM_TIMEOUT:-1200}"
set +e
wait $qpid
qrc=$?
qpid=
set -e
vm_s=$((SECONDS - t0))
[ "${PF_VM_KEEP:-0}" != 1 ] || cp "$PF_TMP/console.log" "${TMPDIR:-/tmp}/package_systemd.console.log"
tr -d '\r' <"$PF_TMP/results.log" >"$PF_TMP/results.txt"
pf_log "the VM ran $vm_s s under $accel (qemu exit $qrc)"
sed 's/^/  vm: /' "$PF_TMP/results.txt" >&2

# ---- the verdict ----
expected="pid1_systemd collector_dpkg_i collector_user collector_unconfigured postgresql_installed
  createuser createdb certs collector_conf_mode migrate collector_enable_now collector_active
  collector_readyz collector_steady collector_user_runs collector_enabled collector_report agent_dpkg_i
  agent_unconfigured agent_install agent_active agent_enrolled agent_snapshots agent_steady agent_capabilities
  agent_not_root agent_install_again stop stopped dpkg_r removed conffiles_kept dpkg_i_configured
  postinst_starts pushes_again postinst_steady dpkg_r_running removed_running dpkg_p purged"
bad=0
for id in $expected; do
  grep -q "^PASS $id:" "$PF_TMP/results.txt" || { pf_log "check $id did not pass"; bad=1; }
done
grep -q '^FAIL ' "$PF_TMP/results.txt" && bad=1
grep -q '^DONE ' "$PF_TMP/results.txt" || { pf_log "the guest did not finish"; bad=1; }
[ $qrc = 0 ] || { pf_log "qemu exit $qrc (124: the time limit)"; bad=1; }
if [ $bad = 1 ]; then
  echo "---- last VM console lines ----" >&2
  tail -n 60 "$PF_TMP/console.log" | tr -d '\r' >&2
  [ -s "$PF_TMP/qemu.log" ] && cat "$PF_TMP/qemu.log" >&2
  pf_fail "package_systemd: a check failed (above)"
fi
pf_log "ok: $(grep -c '^PASS ' "$PF_TMP/results.txt") checks passed in the VM ($vm_s s booted);" \
  "$((SECONDS - t_start)) s in all"
