#!/usr/bin/env bash
# Processes that run side by side after fork, each measured against native
# Linux in the same run:
#   1. fork+exit+wait, and a byte ping-ponged between a parent and its fork
#      child, with a 10 MiB and a 200 MiB resident parent;
#   2. python3 multiprocessing.Pool(4).map over 10,000 small tasks (wall time);
#   3. nginx (Debian's) with a master and 2 workers, 50 concurrent keep-alive
#      clients on the host for 5 seconds (requests/s).
# Usage: bench/fork.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

make -s -C bench
. bench/servers.sh
ratio() { echo "scale=2; $1 / $2" | bc; }
cd "$work/inst"
cp "$repo/bench/build/fork_bw" image/bin/
"$occlum" add /usr/bin/python3 --to /bin >/dev/null
"$occlum" add /usr/lib/python3.11 >/dev/null
"$occlum" add /usr/sbin/nginx --to /bin >/dev/null
cat >image/bin/pool.py <<'PY'
import multiprocessing, sys, time
def task(x):
    return x * x
if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    t = time.monotonic()
    with multiprocessing.Pool(4) as pool:
        total = sum(pool.map(task, range(10000)))
    print(f"{(time.monotonic() - t) * 1000:.1f} ms {total}")
PY
nginx_conf() {
    cat <<CONF
daemon off;
master_process on;
worker_processes 2;
error_log stderr warn;
pid $3/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $3/body; proxy_temp_path $3/proxy; fastcgi_temp_path $3/fastcgi;
    uwsgi_temp_path $3/uwsgi; scgi_temp_path $3/scgi;
    server { listen 127.0.0.1:$1; root $2; location / { } }
}
CONF
}
libos_port=$(free_port)
mkdir -p image/etc/nginx image/var/www
nginx_conf "$libos_port" /var/www /tmp >image/etc/nginx/nginx.conf
head -c 1024 /dev/zero | tr '\0' 'x' >image/var/www/index.html
"$occlum" build >/dev/null 2>&1

echo "fork (static-PIE glibc program):"
for mib in 10 200; do
    iters=$((mib == 10 ? 200 : 20))
    n=$("$repo/bench/build/fork_bw" "$mib" "$iters")
    l=$("$occlum" run /bin/fork_bw "$mib" "$iters")
    for what in fork pingpong; do
        nv=$(echo "$n" | grep "^$what:" | grep -oE '[0-9.]+' | head -1)
        lv=$(echo "$l" | grep "^$what:" | grep -oE '[0-9.]+' | head -1)
        printf '  %3d MiB parent, %-8s native %9.1f us, LibOS %9.1f us   (%sx native)\n' "$mib" "$what" "$nv" "$lv" "$(ratio "$lv" "$nv")"
    done
done

echo "python3 multiprocessing.Pool(4).map, 10,000 tasks:"
n=$(/usr/bin/python3 image/bin/pool.py | cut -d' ' -f1)
l=$("$occlum" run /bin/python3 /bin/pool.py | cut -d' ' -f1)
printf '  native %8.1f ms, LibOS %8.1f ms   (%sx native)\n' "$n" "$l" "$(ratio "$l" "$n")"

echo "nginx, master + 2 workers, 50 keep-alive clients for 5 s (1 KiB page):"
native_dir="$work/native"
mkdir -p "$native_dir/www"
cp image/var/www/index.html "$native_dir/www/"
chmod 755 "$work" "$native_dir" "$native_dir/www"
native_port=$(free_port)
nginx_conf "$native_port" "$native_dir/www" "$native_dir" >"$native_dir/nginx.conf"
/usr/sbin/nginx -c "$native_dir/nginx.conf" -p "$native_dir" 2>/dev/null &
pids+=($!)
"$occlum" run /bin/nginx -c /etc/nginx/nginx.conf -p /tmp 2>/dev/null &
pids+=($!)
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "no server on $1" >&2; exit 1; }
wait_port "$native_port"
wait_port "$libos_port"
n=$("$repo/bench/build/http_load" "$native_port" 50 5 | cut -d' ' -f1)
l=$("$repo/bench/build/http_load" "$libos_port" 50 5 | cut -d' ' -f1)
printf '  native %8.0f req/s, LibOS %8.0f req/s   (%sx native; target >= 0.5x)\n' "$n" "$l" "$(ratio "$l" "$n")"
