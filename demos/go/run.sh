#!/usr/bin/env bash
# Go in the LibOS with the Occlum.json that `occlum new` writes: a static Go
# program (goroutines, a net/http server and its client on loopback).
# Usage: demos/go/run.sh [INSTANCE_DIR] (OCCLUM: the occlum binary; default:
# the one on PATH, else this repository's target/x86_64-unknown-linux-gnu/release/occlum).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
occlum=${OCCLUM:-$(command -v occlum || echo "$here/../../target/x86_64-unknown-linux-gnu/release/occlum")}
command -v go >/dev/null || { echo "no go: apt-get install golang-go" >&2; exit 1; }
dir=${1:-go-demo}

rm -rf "$dir"
"$occlum" new "$dir" >&2
cd "$dir"
# A static executable: no C library at all.
(cd "$here" && CGO_ENABLED=0 GOFLAGS=-mod=mod GO111MODULE=off go build -o "$OLDPWD/image/bin/hello_go" main.go)
"$occlum" build >&2
"$occlum" run /bin/hello_go
