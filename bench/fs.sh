#!/usr/bin/env bash
# File-system benchmark: sequential write+fsync and read of MIB MiB, and
# random 4 KiB reads, natively (a host directory), and inside the LibOS on
# the encrypted root (/root) and on hostfs (/host), in the same run.
# Each figure is the median of ROUNDS interleaved rounds.
# Usage: bench/fs.sh [ROUNDS] [MIB]   (defaults: 3 rounds, 256 MiB)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
rounds=${1:-3}
mib=${2:-256}

scripts/install-deps.sh
cargo build --release --locked -j2 -q
make -s -C bench
occlum="$repo/target/x86_64-unknown-linux-gnu/release/occlum"

work=$(mktemp -d -p "${BENCH_DIR:-/var/tmp}")
trap 'rm -rf "$work"' EXIT
"$occlum" new "$work/inst" >/dev/null 2>&1
cp bench/build/fs_bw "$work/inst/image/bin/"
(cd "$work/inst" && "$occlum" build >/dev/null 2>&1)
mkdir -p "$work/native" "$work/inst/hostdir"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for where in native sefs hostfs; do
    for m in write read rand; do : >"$work/$where.$m"; done
done
record() {
    local where=$1 out=$2
    grep -o 'write+fsync [0-9.]*' <<<"$out" | cut -d' ' -f2 >>"$work/$where.write"
    grep -o '^read [0-9.]*' <<<"$out" | cut -d' ' -f2 >>"$work/$where.read"
    grep -o 'rand4k [0-9.]*' <<<"$out" | cut -d' ' -f2 >>"$work/$where.rand"
}
for _ in $(seq "$rounds"); do
    record native "$(bench/build/fs_bw "$work/native" "$mib")"
    record sefs "$(cd "$work/inst" && "$occlum" run /bin/fs_bw /root "$mib")"
    record hostfs "$(cd "$work/inst" && "$occlum" run /bin/fs_bw /host/hostdir "$mib")"
done

ratio() { echo "scale=2; $1 / $2" | bc; }
echo "file systems, $mib MiB (median of $rounds rounds; host directory under ${BENCH_DIR:-/var/tmp}):"
printf '  %-28s %12s %12s %14s\n' "" "write+fsync" "read" "rand 4 KiB"
for where in native sefs hostfs; do
    w=$(median <"$work/$where.write"); r=$(median <"$work/$where.read"); q=$(median <"$work/$where.rand")
    case $where in
        native) label="native (host directory)"; nw=$w; nr=$r; nq=$q ;;
        sefs) label="LibOS encrypted root /root" ;;
        hostfs) label="LibOS hostfs /host" ;;
    esac
    printf '  %-28s %7.1f MB/s %7.1f MB/s %8.2f us/read\n' "$label" "$w" "$r" "$q"
    if [ "$where" != native ]; then
        printf '  %-28s %10sx %11sx %13sx   (MB/s: higher is better, target >= 0.5x for the encrypted root; us/read: lower is better)\n' \
            "  ratio to native" "$(ratio "$w" "$nw")" "$(ratio "$r" "$nr")" "$(ratio "$q" "$nq")"
    fi
done
