#!/usr/bin/env bash
# Installs the host packages the build and the tests need (Debian), when
# missing: gcc and make, glibc's static libraries, musl for the musl
# static-PIE test programs, and the unmodified Debian programs the tests run
# inside the LibOS (python3, sqlite3, busybox, redis, nginx, PostgreSQL,
# OpenJDK 17, Node.js), and Go to build a static Go program for them. Needs root only when
# something is missing.
set -euo pipefail

missing=()
command -v gcc >/dev/null || missing+=(gcc)
command -v g++ >/dev/null || missing+=(g++)
command -v make >/dev/null || missing+=(make)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
[ -f /usr/lib/x86_64-linux-musl/libc.a ] || missing+=(musl-tools)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -x /usr/bin/sqlite3 ] || missing+=(sqlite3)
[ -x /bin/busybox ] || missing+=(busybox)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/bin/redis-benchmark ] || missing+=(redis-tools)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v go >/dev/null || missing+=(golang-go)
[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/javac ] || missing+=(openjdk-17-jdk-headless)
command -v node >/dev/null || missing+=(nodejs)

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
