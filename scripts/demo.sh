#!/usr/bin/env bash
# Builds `occlum`, compiles a hello-world C program with occlum-gcc, and runs
# it inside the LibOS (simulated enclave) in a fresh instance.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

scripts/install-deps.sh
cargo build --release --locked -j2
occlum="$repo/target/x86_64-unknown-linux-gnu/release/occlum"
occlum_gcc="$repo/target/x86_64-unknown-linux-gnu/release/occlum-gcc"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > hello.c <<'C'
#include <stdio.h>
int main(int argc, char **argv) {
    printf("Hello from inside the LibOS!");
    for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
    printf("\n");
    return 0;
}
C
"$occlum_gcc" -O2 hello.c -o hello
"$occlum" new demo >/dev/null 2>&1
cp hello demo/image/bin/hello
cd demo
"$occlum" build
"$occlum" run /bin/hello "$@"
