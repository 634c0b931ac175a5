#!/usr/bin/env bash
# Node.js in the LibOS with the Occlum.json that `occlum new` writes: the
# host's node added as it is, then a script with timers, crypto and an HTTP
# server and client on loopback. Usage: demos/node/run.sh [INSTANCE_DIR]
# (OCCLUM: the occlum binary; default: the one on PATH, else this
# repository's target/x86_64-unknown-linux-gnu/release/occlum).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
occlum=${OCCLUM:-$(command -v occlum || echo "$here/../../target/x86_64-unknown-linux-gnu/release/occlum")}
node=$(command -v node || command -v nodejs || true)
[ -n "$node" ] || { echo "no node: apt-get install nodejs" >&2; exit 1; }
dir=${1:-node-demo}

rm -rf "$dir"
"$occlum" new "$dir" >&2
cd "$dir"
"$occlum" add "$(readlink -f "$node")" --to /bin >&2   # node and its libraries
[ -e image/bin/node ] || ln -s "$(basename "$(readlink -f "$node")")" image/bin/node
mkdir -p image/app && cp "$here/hello.js" image/app/
"$occlum" build >&2
"$occlum" run /bin/node /app/hello.js
