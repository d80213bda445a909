# Sourced by the parts of `make bench` (bench/PART.sh) from the checkout's
# root: the lab's settings in the environment, URI and V (virsh
# on the lab host), BIN (bin/stowage, built). bench_need PART checks them.
# shellcheck shell=bash
set -a
# shellcheck disable=SC1091
. lab/env
set +a
URI=$STOWAGE_LAB_URI
V=(virsh -q -c "$URI")
BIN=bin/stowage
bench_need() { [[ -x $BIN ]] || { echo "bench/$1.sh: $BIN is missing: run make build" >&2; exit 2; }; }
