#!/usr/bin/env bash
# Checks the memory-safety rule: `unsafe` appears only in crates/occlum-pal,
# every unsafe block has a `// SAFETY:` comment in the three lines above it,
# and every other crate forbids unsafe code.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
outside=$(grep -rnw --include='*.rs' 'unsafe' crates | grep -v '^crates/occlum-pal/' | grep -v 'forbid(unsafe_code)' || true)
if [ -n "$outside" ]; then
    echo "unsafe outside crates/occlum-pal:" >&2
    echo "$outside" >&2
    status=1
fi
while IFS=: read -r file line _; do
    start=$((line > 3 ? line - 3 : 1))
    if ! sed -n "${start},${line}p" "$file" | grep -q 'SAFETY'; then
        echo "$file:$line: unsafe block without a SAFETY comment above it" >&2
        status=1
    fi
done < <(grep -rnE 'unsafe \{' --include='*.rs' crates/occlum-pal)
for lib in crates/*/src/lib.rs crates/occlum-cli/src/main.rs; do
    case "$lib" in crates/occlum-pal/*) continue ;; esac
    grep -q '#!\[forbid(unsafe_code)\]' "$lib" || { echo "$lib: missing #![forbid(unsafe_code)]" >&2; status=1; }
done
[ $status -eq 0 ] && echo "unsafe check: unsafe only in crates/occlum-pal, every block with a SAFETY comment"
exit $status
