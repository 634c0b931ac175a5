#!/usr/bin/env bash
# Benchmarks of the execution engine, each measured against native Linux in
# the same run (absolute times on shared machines mean little; ratios do).
#   1. getppid: native, under a bare Syscall-User-Dispatch handler (the floor
#      of any SUD-based LibOS), and inside the LibOS.
#   2. `occlum run /bin/hello` end to end, next to running ./hello natively.
# Each figure is the median of ROUNDS interleaved rounds.
# Usage: bench/run.sh [ROUNDS] (default 7)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
rounds=${1:-7}
calls=200000
starts=50

scripts/install-deps.sh
cargo build --release --locked -j2 -q
make -s -C tests/apps -j2
make -s -C bench
occlum="$repo/target/release/occlum"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$occlum" new "$work/inst" >/dev/null 2>&1
cp tests/apps/build/glibc/getppid_loop tests/apps/build/glibc/hello "$work/inst/image/bin/"
(cd "$work/inst" && "$occlum" build >/dev/null 2>&1)

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
num() { grep -o '[0-9.]* ns/call' | head -1 | cut -d' ' -f1; }

# Mean wall time of one run of "$@", in microseconds, over $starts runs.
per_start_us() {
    local t0 t1
    t0=$(date +%s%N)
    for _ in $(seq "$starts"); do "$@" >/dev/null; done
    t1=$(date +%s%N)
    echo "scale=1; ($t1 - $t0) / 1000 / $starts" | bc
}

: >"$work/native" >"$work/floor" >"$work/libos" >"$work/e2e_native" >"$work/e2e_libos"
for _ in $(seq "$rounds"); do
    tests/apps/build/glibc/getppid_loop "$calls" | num >>"$work/native"
    bench/build/sud_floor "$calls" | grep sud_floor | num >>"$work/floor"
    (cd "$work/inst" && "$occlum" run /bin/getppid_loop "$calls") | num >>"$work/libos"
    per_start_us tests/apps/build/glibc/hello >>"$work/e2e_native"
    (cd "$work/inst" && per_start_us "$occlum" run /bin/hello) >>"$work/e2e_libos"
done

native=$(median <"$work/native")
floor=$(median <"$work/floor")
libos=$(median <"$work/libos")
e2e_native=$(median <"$work/e2e_native")
e2e_libos=$(median <"$work/e2e_libos")
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "getppid (median of $rounds rounds x $calls calls):"
printf '  native             %8.1f ns/call\n' "$native"
printf '  SUD floor          %8.1f ns/call   (%sx native)\n' "$floor" "$(ratio "$floor" "$native")"
printf '  LibOS (trap path)  %8.1f ns/call   (%sx the SUD floor; target <= 1.2x)\n' "$libos" "$(ratio "$libos" "$floor")"
echo "start-up, static-PIE hello (median of $rounds rounds x $starts runs):"
printf '  native ./hello          %8.1f us\n' "$e2e_native"
printf '  occlum run /bin/hello   %8.1f us   (%sx native; target <= 10 ms)\n' "$e2e_libos" "$(ratio "$e2e_libos" "$e2e_native")"
