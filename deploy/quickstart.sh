#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# quickstart.sh: on a fresh Debian 12 machine, as root: installs what
# portfleet needs, builds it, and runs the main job on this machine.
#   ./deploy/quickstart.sh        install, build, take a snapshot of this host
#   ./deploy/quickstart.sh stop   stop everything the quickstart started
# Everything it makes lives under .quickstart/ in the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
state=$root/.quickstart
build=$root/build

case "${1:-start}" in
stop)
  # Nothing runs in the background yet; later stages add their services here.
  echo "quickstart: nothing left running"
  exit 0
  ;;
start) ;;
*)
  echo "usage: $0 [stop]" >&2
  exit 2
  ;;
esac

./deploy/install-deps.sh run
mkdir -p "$state"
echo "quickstart: building (Release) in build/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >"$state/cmake.log"
cmake --build "$build" -j"$(nproc)" >>"$state/cmake.log" 2>&1 || {
  tail -n 30 "$state/cmake.log" >&2
  exit 1
}

echo
echo "quickstart: a snapshot of this host's ephemeral ports"
echo
"$build/agent/portfleet-agent" snapshot --text
"$build/agent/portfleet-agent" snapshot --pretty >"$state/snapshot.json"
echo
echo "The same snapshot as the JSON the agent sends: $state/snapshot.json"
