#!/usr/bin/env bash
# Java in the LibOS with the Occlum.json that `occlum new` writes: Debian's
# OpenJDK 17 added as it is, then `java Hello.java` (the source launcher:
# javac runs inside too). Usage: demos/java/run.sh [INSTANCE_DIR]
# (OCCLUM: the occlum binary; default: the one on PATH, else this
# repository's target/x86_64-unknown-linux-gnu/release/occlum).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
occlum=${OCCLUM:-$(command -v occlum || echo "$here/../../target/x86_64-unknown-linux-gnu/release/occlum")}
jdk=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
[ -x "$jdk/bin/javac" ] || { echo "no JDK at $jdk: apt-get install openjdk-17-jdk-headless" >&2; exit 1; }
dir=${1:-java-demo}

rm -rf "$dir"
"$occlum" new "$dir" >&2
cd "$dir"
"$occlum" add "$jdk" >&2                       # the JDK, its libraries and /etc/java-17-openjdk
ln -s "$jdk/bin/java" image/bin/java           # /bin is the entry point
mkdir -p image/app && cp "$here/Hello.java" image/app/
"$occlum" build >&2
"$occlum" run /bin/java /app/Hello.java
