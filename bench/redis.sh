#!/usr/bin/env bash
# redis-server (Debian's, unmodified) natively and inside the LibOS, each
# driven by redis-benchmark on the host over 127.0.0.1 (SET and GET, 50
# clients), in the same run. Prints requests per second and the ratio.
# Usage: bench/redis.sh [REQUESTS]   (default 100000)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
requests=${1:-100000}

. bench/servers.sh
(cd "$work/inst" && "$occlum" add /usr/bin/redis-server --to /bin >/dev/null && "$occlum" build >/dev/null 2>&1)

wait_port() { for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "no server on $1" >&2; exit 1; }
args=(--bind 127.0.0.1 --save "" --appendonly no)

native_port=$(free_port)
redis-server --port "$native_port" "${args[@]}" >/dev/null &
pids+=($!)
wait_port "$native_port"
libos_port=$(free_port)
(cd "$work/inst" && exec "$occlum" run /bin/redis-server --port "$libos_port" "${args[@]}") >/dev/null &
pids+=($!)
wait_port "$libos_port"

rps() { redis-benchmark -h 127.0.0.1 -p "$1" -t set,get -n "$requests" -c 50 -q | tr '\r' '\n' | grep -E "^$2: [0-9.]+ requests" | grep -oE '[0-9.]+ requests' | cut -d' ' -f1; }
echo "redis-server, redis-benchmark -t set,get -n $requests -c 50 (host client, 127.0.0.1):"
for op in SET GET; do
    n=$(rps "$native_port" "$op")
    l=$(rps "$libos_port" "$op")
    printf '  %s: native %10.0f req/s, LibOS %10.0f req/s   (%sx native)\n' "$op" "$n" "$l" "$(echo "scale=2; $l / $n" | bc)"
done
