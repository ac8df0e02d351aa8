#!/bin/sh
# Runs the whole benchmark and writes bench/RESULTS.md; flags go to
# bench/driver (bench/run.sh -h lists them). Takes about five minutes on a
# quiet machine.
set -eu
cd "$(dirname "$0")/.."
# A private binary, so that two people benchmarking at once do not rebuild
# each other's driver under their feet.
bin=$(mktemp "${TMPDIR:-/tmp}/llmservice-bench-driver.XXXXXX")
trap 'rm -f "$bin"' EXIT
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
go build -o "$bin" ./bench/driver
"$bin" "$@"
