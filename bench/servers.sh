# Shared set-up of the server benchmarks (sourced): builds the LibOS, makes
# a work directory with a new instance in "$work/inst", and on exit stops
# the servers whose pids are in "pids" and removes the work directory.
scripts/install-deps.sh
cargo build --release --locked -j2 -q
occlum="$repo/target/x86_64-unknown-linux-gnu/release/occlum"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
"$occlum" new "$work/inst" >/dev/null 2>&1
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
