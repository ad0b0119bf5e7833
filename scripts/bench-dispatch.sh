#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md, "Dispatch": the release binary's whole `dispatch` command
# (loading the project, composing, planning, freezing 20,000 recipients in the ledger,
# sending with the durable ledger on), wall clock, against Postfix's smtp-sink on loopback,
# side by side in the same run with Postfix's own C load generator smtp-source sending as
# many messages of the same size over as many sessions. Both runs are repeated; the
# machine is shared, so compare the ratios of each pair.
#
# Needs: cargo, Debian's postfix (smtp-sink, smtp-source), python3, /usr/bin/time (apt: time),
# and openssl for DKIM=1.
# Usage: scripts/bench-dispatch.sh [RECIPIENTS] [CONNECTIONS...]   (defaults: 20000 8 16)
# ROUNDS=N repeats each pair N times (default 2). DKIM=1 adds, in each round, the same
# dispatch with an RSA-2048 DKIM signature on every message, beside the unsigned one.
set -euo pipefail
cd "$(dirname "$0")/.."
recipients=${1:-20000}
shift || true
connections=("$@")
[ ${#connections[@]} -gt 0 ] || connections=(8 16)
rounds=${ROUNDS:-2}
for tool in /usr/sbin/smtp-sink /usr/sbin/smtp-source /usr/bin/time; do
    [ -x "$tool" ] || { echo "missing $tool (apt-get install postfix time)" >&2; exit 1; }
done
# BROADSHEET_BIN measures another build (an older one, say) with the same harness.
if [ -z "${BROADSHEET_BIN:-}" ]; then
    cargo build --release --locked --quiet
fi
bin=${BROADSHEET_BIN:-$PWD/target/release/broadsheet}
work=$(mktemp -d)
chmod 755 "$work"
sink=
cleanup() { [ -z "$sink" ] || kill "$sink" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# smtp-sink counting only, with a backlog as deep as the connections.
start_sink() {
    port=$(free_port)
    /usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 & sink=$!
    sleep 0.3
}
stop_sink() { kill "$sink"; wait "$sink" 2>/dev/null || true; sink=; }

# A fresh project: the test fixture's settings and volume, the repository's layouts,
# `recipients` subscribers in a CSV import, sending to $port over $1 connections.
make_project() {
    local dir=$work/project-$1-$RANDOM
    mkdir -p "$dir"
    cp -r tests/fixtures/project/. "$dir/"
    cp -r layouts "$dir/"
    cat > "$dir/recipients.toml" <<'TOML'
[segments.subscribers]
description = "Everyone who signed up"

[[imports]]
path = "subscribers.csv"
segments = ["subscribers"]
TOML
    awk -v n="$recipients" 'BEGIN {
        print "email,name,segments,topics"
        for (i = 0; i < n; i++) printf "reader%d@example%d.org,Reader %d,,\n", i, i % 100, i
    }' > "$dir/subscribers.csv"
    sed -i "s/^kind = \"outbox\"/kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = $port\nsecurity = \"none\"/; s/^dir = \"outbox\"//" "$dir/broadsheet.toml"
    printf '\n[limits]\nconnections = %s\n' "$1" >> "$dir/broadsheet.toml"
    if [ "${2:-}" = signed ]; then
        printf '\n[dkim]\ndomain = "eto.tech"\nselector = "bench"\nalgorithm = "rsa-sha256"\nkey_env = "BROADSHEET_DKIM_KEY"\n' \
            >> "$dir/broadsheet.toml"
    fi
    echo "$dir"
}

if [ -n "${DKIM:-}" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/dkim.pem" 2>/dev/null
    BROADSHEET_DKIM_KEY=$(cat "$work/dkim.pem")
    export BROADSHEET_DKIM_KEY
fi

export BROADSHEET_UNSUBSCRIBE_SECRET=benchmark-secret-not-for-real-use-0123456789
# The size of the messages dispatch sends, for smtp-source's payload.
start_sink
probe=$(make_project 1)
size=$(cd "$probe" && "$bin" plan volumes/011.toml --segment subscribers --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["variants"][0]["message_bytes"])')
stop_sink
echo "$recipients recipients, messages of $size bytes, smtp-sink on loopback, $rounds rounds"

rate() { python3 -c "print(f'{$recipients / $1:.0f}')"; }

# smtp-source as the issue measured it (a new session for each message), and with -d (one
# session carries many messages, as dispatch's connections do): the stricter reference.
source_run() {
    start_sink
    local t0 t1
    t0=$(date +%s.%N)
    /usr/sbin/smtp-source "$@" -s "$c" -m "$recipients" -l "$size" -f news@example.org \
        -t reader@example.org "127.0.0.1:$port"
    t1=$(date +%s.%N)
    stop_sink
    python3 -c "print($t1 - $t0)"
}

# The whole dispatch command over $c connections, unsigned or `signed`: its seconds.
dispatch_run() {
    start_sink
    local dir t0 t1
    dir=$(make_project "$c" "${1:-}")
    t0=$(date +%s.%N)
    (cd "$dir" && "$bin" dispatch volumes/011.toml --segment subscribers --yes \
        --expect "$recipients" > "$work/out.txt" 2> "$work/err.txt") ||
        { cat "$work/err.txt" >&2; exit 1; }
    t1=$(date +%s.%N)
    stop_sink
    grep -q "$recipients sent" "$work/out.txt" || { cat "$work/out.txt" >&2; exit 1; }
    rm -rf "$dir"
    python3 -c "print($t1 - $t0)"
}

for c in "${connections[@]}"; do
    for round in $(seq "$rounds"); do
        fresh=$(source_run)
        reused=$(source_run -d)
        ours=$(dispatch_run)
        signed=0
        [ -z "${DKIM:-}" ] || signed=$(dispatch_run signed)
        python3 -c "
n, o, f, r, s = $recipients, $ours, $fresh, $reused, $signed
line = (f'{$c:>2} connections, round $round: dispatch {n/o:>5.0f} msg/s ({o:.2f} s); '
        f'smtp-source {n/f:>5.0f} msg/s ({100*f/o:.0f}%), smtp-source -d {n/r:>5.0f} msg/s ({100*r/o:.0f}%)')
if s:
    line += f'; with RSA-2048 DKIM {n/s:>5.0f} msg/s ({100*o/s:.0f}% of unsigned)'
print(line)"
    done
done
