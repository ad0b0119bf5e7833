#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md, "Dispatch: DKIM signing": the whole `broadsheet dispatch`
# command sending the sample volume to ROWS recipients through Postfix's smtp-sink on
# loopback, once unsigned and once with an RSA-2048 DKIM signature on every message, in the
# same run and against the same sink. Needs: cargo, openssl, Debian's postfix (smtp-sink).
# Usage: scripts/bench-dkim.sh [ROWS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-20000}
connections=${2:-8}
cargo build --release --quiet
bin=$PWD/target/release/broadsheet
dir=$(mktemp -d)
chmod 755 "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 & sink=$!
trap 'kill $sink; rm -rf "$dir"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/dkim.pem" 2>/dev/null
export BROADSHEET_UNSUBSCRIBE_SECRET=benchmark-secret-not-for-real-use-0123456789
export BROADSHEET_DKIM_KEY="$(cat "$dir/dkim.pem")"
for run in unsigned rsa-sha256; do
    project="$dir/$run"
    mkdir "$project"
    cp -r tests/fixtures/project/. layouts "$project/"
    printf '[segments.subscribers]\ndescription = "Everyone"\n[[imports]]\npath = "subscribers.csv"\nsegments = ["subscribers"]\n' \
        > "$project/recipients.toml"
    awk -v n="$rows" 'BEGIN { print "email,name,segments,topics"
        for (i = 0; i < n; i++) printf "reader%d@example%d.org,Reader %d,,\n", i, i % 1000, i }' \
        > "$project/subscribers.csv"
    sed -i "s/^kind = \"outbox\"/kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = $port\nsecurity = \"none\"/; s/^dir = \"outbox\"//" \
        "$project/broadsheet.toml"
    printf '\n[limits]\nconnections = %s\n' "$connections" >> "$project/broadsheet.toml"
    if [ "$run" = rsa-sha256 ]; then
        printf '\n[dkim]\ndomain = "eto.tech"\nselector = "bench"\nalgorithm = "rsa-sha256"\nkey_env = "BROADSHEET_DKIM_KEY"\n' \
            >> "$project/broadsheet.toml"
    fi
    start=$(date +%s.%N)
    (cd "$project" && "$bin" dispatch volumes/011.toml --segment subscribers --yes --expect "$rows" > /dev/null 2>&1)
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" -v n="$rows" -v r="$run" -v c="$connections" \
        'BEGIN { printf "%s: %d messages, %d connections, %.1f s, %.0f msg/s\n", r, n, c, e - s, n / (e - s) }'
done
