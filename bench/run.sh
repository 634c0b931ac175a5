#!/usr/bin/env bash
# Benchmarks of the execution engine, each measured against native Linux in
# the same run (absolute times on shared machines mean little; ratios do).
#   1. getppid: native, under a bare Syscall-User-Dispatch handler (the floor
#      of any SUD-based LibOS), and inside the LibOS, trapped
#      (OCCLUM_FASTPATH=0) and through a rewritten site (the default).
#   2. `occlum run /bin/hello` end to end, next to running ./hello natively,
#      and `occlum exec /bin/hello` in a started enclave (`occlum start`).
#   3. posix_spawn+exit+wait of a static-PIE program, native and in the LibOS.
#   4. pipe throughput between two processes, 64 KiB and 4 KiB writes, and
#      one byte's round trip between two processes over two pipes.
# Each figure is the median of ROUNDS interleaved rounds; the min and max
# of every series follow.
# Usage: bench/run.sh [ROUNDS] [PIPE_MIB]   (defaults: 5 rounds, 1024 MiB per pipe run)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
rounds=${1:-5}
pipe_mib=${2:-1024}
calls=200000
starts=50

scripts/install-deps.sh
cargo build --release --locked -j2 -q
make -s -C tests/apps -j2
make -s -C bench
occlum="$repo/target/x86_64-unknown-linux-gnu/release/occlum"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$occlum" new "$work/inst" >/dev/null 2>&1
cp tests/apps/build/glibc/getppid_loop tests/apps/build/glibc/hello tests/apps/build/glibc/exit_code \
    bench/build/spawn bench/build/pipe_bw bench/build/pipe_rtt "$work/inst/image/bin/"
cp tests/apps/build/musl/exit_code "$work/inst/image/bin/exit_code_musl"
(cd "$work/inst" && "$occlum" build >/dev/null 2>&1)

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
num() { grep -o '[0-9.]* ns/call' | head -1 | cut -d' ' -f1; }

# Mean wall time of one run of PROGRAM ARGS..., in microseconds, over
# $starts runs started with posix_spawn (no shell in between).
per_start_us() {
    local prog=$1
    shift
    "$repo/bench/build/spawn" "$prog" "$starts" "${@:-x}" | usi
}

: >"$work/native" >"$work/floor" >"$work/libos" >"$work/trapped" >"$work/e2e_native" >"$work/e2e_libos"
: >"$work/e2e_exec" >"$work/e2e_client"
# A copy of the instance runs as a server (`occlum run` refuses an
# instance whose server runs).
cp -a "$work/inst" "$work/srv"
(cd "$work/srv" && "$occlum" start >/dev/null)
trap '(cd "$work/srv" && "$occlum" stop -t 0 >/dev/null 2>&1); rm -rf "$work"' EXIT
: >"$work/spawn_native" >"$work/spawn_libos" >"$work/rtt_native" >"$work/rtt_libos"
: >"$work/mspawn_native" >"$work/mspawn_libos"
for c in 65536 4096; do : >"$work/pipe${c}_native" >"$work/pipe${c}_libos"; done
mbs() { grep -o '[0-9.]* MB/s' | cut -d' ' -f1; }
usi() { grep -o '[0-9.]* us/iter' | cut -d' ' -f1; }
rtt() { grep -o '[0-9.]* us$' | cut -d' ' -f1; }
for _ in $(seq "$rounds"); do
    tests/apps/build/glibc/getppid_loop "$calls" | num >>"$work/native"
    bench/build/sud_floor "$calls" | grep sud_floor | num >>"$work/floor"
    (cd "$work/inst" && "$occlum" run /bin/getppid_loop "$calls") | num >>"$work/libos"
    (cd "$work/inst" && OCCLUM_FASTPATH=0 "$occlum" run /bin/getppid_loop "$calls") | num >>"$work/trapped"
    per_start_us tests/apps/build/glibc/hello >>"$work/e2e_native"
    (cd "$work/inst" && per_start_us "$occlum" run /bin/hello) >>"$work/e2e_libos"
    (cd "$work/srv" && per_start_us "$occlum" exec /bin/hello) >>"$work/e2e_exec"
    per_start_us "$occlum" --version >>"$work/e2e_client"
    bench/build/spawn tests/apps/build/glibc/exit_code 300 | usi >>"$work/spawn_native"
    (cd "$work/inst" && "$occlum" run /bin/spawn /bin/exit_code 300) | usi >>"$work/spawn_libos"
    bench/build/spawn tests/apps/build/musl/exit_code 1000 | usi >>"$work/mspawn_native"
    (cd "$work/inst" && "$occlum" run /bin/spawn /bin/exit_code_musl 1000) | usi >>"$work/mspawn_libos"
    for c in 65536 4096; do
        bench/build/pipe_bw "$c" "$pipe_mib" | mbs >>"$work/pipe${c}_native"
        (cd "$work/inst" && "$occlum" run /bin/pipe_bw "$c" "$pipe_mib") | mbs >>"$work/pipe${c}_libos"
    done
    bench/build/pipe_rtt 20000 | rtt >>"$work/rtt_native"
    (cd "$work/inst" && "$occlum" run /bin/pipe_rtt 20000) | rtt >>"$work/rtt_libos"
done

native=$(median <"$work/native")
floor=$(median <"$work/floor")
libos=$(median <"$work/libos")
trapped=$(median <"$work/trapped")
e2e_native=$(median <"$work/e2e_native")
e2e_libos=$(median <"$work/e2e_libos")
ratio() { echo "scale=2; $1 / $2" | bc; }

echo "getppid (median of $rounds rounds x $calls calls):"
printf '  native             %8.1f ns/call\n' "$native"
printf '  SUD floor          %8.1f ns/call   (%sx native)\n' "$floor" "$(ratio "$floor" "$native")"
printf '  LibOS, trapped     %8.1f ns/call   (%sx the SUD floor; target <= 1.2x)\n' "$trapped" "$(ratio "$trapped" "$floor")"
printf '  LibOS, direct      %8.1f ns/call   (%sx native)\n' "$libos" "$(ratio "$libos" "$native")"
echo "start-up, static-PIE hello (median of $rounds rounds x $starts runs):"
printf '  native ./hello          %8.1f us\n' "$e2e_native"
printf '  occlum run /bin/hello   %8.1f us   (%sx native; target <= 10 ms)\n' "$e2e_libos" "$(ratio "$e2e_libos" "$e2e_native")"
e2e_exec=$(median <"$work/e2e_exec")
printf '  occlum exec /bin/hello  %8.1f us   (%sx native, %sx occlum run; target <= 1 ms)\n' "$e2e_exec" "$(ratio "$e2e_exec" "$e2e_native")" "$(ratio "$e2e_exec" "$e2e_libos")"
printf '  occlum --version        %8.1f us   (the exec client alone: its own start-up)\n' "$(median <"$work/e2e_client")"
spawn_native=$(median <"$work/spawn_native")
spawn_libos=$(median <"$work/spawn_libos")
echo "posix_spawn+exit+wait, static-PIE (median of $rounds rounds x 300 glibc, x 1000 musl):"
printf '  glibc native       %8.1f us\n' "$spawn_native"
printf '  glibc LibOS        %8.1f us   (%sx native; target <= 0.5x)\n' "$spawn_libos" "$(ratio "$spawn_libos" "$spawn_native")"
mspawn_native=$(median <"$work/mspawn_native")
mspawn_libos=$(median <"$work/mspawn_libos")
printf '  musl native        %8.1f us\n' "$mspawn_native"
printf '  musl LibOS         %8.1f us   (%sx native; target <= 0.5x)\n' "$mspawn_libos" "$(ratio "$mspawn_libos" "$mspawn_native")"
echo "pipe throughput between two processes, $pipe_mib MiB (median of $rounds rounds):"
for c in 65536 4096; do
    n=$(median <"$work/pipe${c}_native")
    l=$(median <"$work/pipe${c}_libos")
    printf '  %5d-byte writes: native %6.0f MB/s, LibOS %6.0f MB/s   (%sx native)\n' "$c" "$n" "$l" "$(ratio "$l" "$n")"
done
n=$(median <"$work/rtt_native")
l=$(median <"$work/rtt_libos")
printf '  1-byte round trip:  native %6.2f us,   LibOS %6.2f us     (%sx native)\n' "$n" "$l" "$(ratio "$l" "$n")"
echo "min - max over the $rounds rounds (same units as above):"
for f in native floor trapped libos e2e_native e2e_libos e2e_exec e2e_client spawn_native spawn_libos \
    mspawn_native mspawn_libos pipe65536_native pipe65536_libos pipe4096_native pipe4096_libos rtt_native rtt_libos; do
    printf '  %-18s %s\n' "$f" "$(sort -g "$work/$f" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo " - " hi }')"
done
