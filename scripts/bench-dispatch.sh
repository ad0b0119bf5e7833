#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md, "Dispatch": the release binary's whole `dispatch` command
# (loading the project, composing, planning, freezing the recipients in the ledger, sending
# with the durable ledger on), wall clock, against Postfix's smtp-sink on loopback, side by
# side in the same round with Postfix's own C load generator smtp-source sending as many
# messages of the same size over as many sessions. Each round runs, at each connection
# count: smtp-source (a session per message), smtp-source -d (sessions reused, as
# dispatch's are), the unsigned dispatch, the dispatch signing every message with an
# RSA-2048 DKIM key, and the one signing with an Ed25519 key. The machine is shared:
# compare the ratios within a round; the load average is printed beside each round.
#
# Needs: cargo, Debian's postfix (smtp-sink, smtp-source), python3, openssl (makes the
# keys), GNU time (apt: time; the dispatch's peak memory).
# Usage: scripts/bench-dispatch.sh [RECIPIENTS] [CONNECTIONS...]   (defaults: 20000 8 16)
# ROUNDS=N rounds (default 3). BROADSHEET_BIN measures another build with the same harness.
set -euo pipefail
cd "$(dirname "$0")/.."
recipients=${1:-20000}
shift || true
connections=("$@")
[ ${#connections[@]} -gt 0 ] || connections=(8 16)
rounds=${ROUNDS:-3}
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
# Stops the sink; with a label, first notes the CPU seconds it used under that label.
stop_sink() {
    [ -z "${1:-}" ] || awk -v l="$1" '{ print l, ($14 + $15) / 100 }' "/proc/$sink/stat" >> "$work/cpu.txt"
    kill "$sink"; wait "$sink" 2>/dev/null || true; sink=
}

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
    case "${2:-}" in
        rsa) signing rsa-sha256 BENCH_DKIM_RSA >> "$dir/broadsheet.toml" ;;
        ed25519) signing ed25519-sha256 BENCH_DKIM_ED25519 >> "$dir/broadsheet.toml" ;;
    esac
    echo "$dir"
}

# `[dkim]` signing with one algorithm, its key in the environment variable $2.
signing() {
    printf '\n[dkim]\ndomain = "eto.tech"\nselector = "bench"\nalgorithm = "%s"\nkey_env = "%s"\n' "$1" "$2"
}
BENCH_DKIM_RSA=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)
BENCH_DKIM_ED25519=$(openssl genpkey -algorithm ed25519 2>/dev/null)
export BENCH_DKIM_RSA BENCH_DKIM_ED25519

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
    /usr/bin/time -f "%U %S" -o "$work/time.txt" /usr/sbin/smtp-source "$@" -s "$c" \
        -m "$recipients" -l "$size" -f news@example.org -t reader@example.org "127.0.0.1:$port"
    t1=$(date +%s.%N)
    awk -v l="smtp-source${1:-}" '{ print l, $1 + $2 }' "$work/time.txt" >> "$work/cpu.txt"
    stop_sink "sink (smtp-source${1:-})"
    python3 -c "print($t1 - $t0)"
}

# The whole dispatch command over $c connections, unsigned, `rsa` or `ed25519`: its seconds.
dispatch_run() {
    start_sink
    local dir t0 t1
    dir=$(make_project "$c" "${1:-}")
    t0=$(date +%s.%N)
    (cd "$dir" && /usr/bin/time -f "%M %U %S" -o "$work/time.txt" "$bin" dispatch \
        volumes/011.toml --segment subscribers --yes --expect "$recipients" \
        > "$work/out.txt" 2> "$work/err.txt") || { cat "$work/err.txt" >&2; exit 1; }
    t1=$(date +%s.%N)
    stop_sink "sink (dispatch ${1:-unsigned})"
    awk -v l="dispatch ${1:-unsigned}" '{ print l, $2 + $3 }' "$work/time.txt" >> "$work/cpu.txt"
    echo $(( $(cut -d' ' -f1 "$work/time.txt") / 1024 )) >> "$work/peaks.txt"
    grep -q "$recipients sent" "$work/out.txt" || { cat "$work/out.txt" >&2; exit 1; }
    rm -rf "$dir"
    python3 -c "print($t1 - $t0)"
}

echo "round | load | conns | smtp-source | smtp-source -d | unsigned | RSA-2048 | Ed25519 | unsigned / -d | unsigned / smtp-source | RSA / unsigned | Ed25519 / unsigned"
for round in $(seq "$rounds"); do
    load=$(cut -d' ' -f1 /proc/loadavg)
    for c in "${connections[@]}"; do
        fresh=$(source_run)
        reused=$(source_run -d)
        unsigned=$(dispatch_run)
        rsa=$(dispatch_run rsa)
        ed=$(dispatch_run ed25519)
        python3 -c "
n = $recipients
f, r, u, s, e = (n / t for t in ($fresh, $reused, $unsigned, $rsa, $ed))
pct = lambda a, b: f'{100 * a / b:.0f}%'
print(f'$round | $load | $c | {f:,.0f} | {r:,.0f} | {u:,.0f} | {s:,.0f} | {e:,.0f} | '
      f'{pct(u, r)} | {pct(u, f)} | {pct(s, u)} | {pct(e, u)}')"
    done
done
echo "(messages a second; the dispatch's peak resident memory: $(sort -n "$work/peaks.txt" | tail -1) MB at most)"
echo "CPU time per message, user + system, mean over the runs (µs):"
awk -v n="$recipients" -F' ' '{ key = $0; sub(/ [^ ]*$/, "", key); sum[key] += $NF; runs[key]++ }
    END { for (k in sum) printf "  %-32s %6.0f\n", k, 1e6 * sum[k] / runs[k] / n }' "$work/cpu.txt" | sort
