#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds the `occlum` binary and
# the C test programs, checks that unsafe code stays in the platform crate,
# and runs every test (unit, CLI and differential native-vs-LibOS tests).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --locked -j2
make -s -C tests/apps -j2
scripts/check-unsafe.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Native and LibOS runs start from one normalized state whatever this
# script was started in (a background job ignores SIGINT and SIGQUIT; a
# nice value is inherited): default dispositions and nice 0 (the tests'
# std::process::Command clears the signal mask of what it starts).
normalize=(env --default-signal)
niceness=$(nice)
[ "$niceness" -ne 0 ] && normalize+=(nice -n $((-niceness)))
"${normalize[@]}" cargo test --release --locked -j2 --workspace --no-fail-fast 2>&1 | tee "$log"
awk '/^test result:/ { p += $4; f += $6 } END { printf "tests: %d passed, %d failed\n", p, f; exit (p == 0 || f > 0) }' "$log"
