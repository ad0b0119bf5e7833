#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md, "Return path memory": peak memory (and time) of the release
# binary's `bounces import` on three generated inputs, each in a fresh copy of the test
# fixture project: a Maildir of 10,000 small DSNs, an mbox holding one 200 MB message (a
# base64 attachment's lines) between two small ones, and an mbox of 10,000 small DSNs.
# The DSNs name addresses that are nobody's, so the store is not written: the figures are
# reading, classifying and mapping.
#
# Needs: cargo, python3, /usr/bin/time (apt: time).
# Usage: scripts/bench-import.sh [MESSAGES]   (default 10000)
# BROADSHEET_BIN measures another build (an older one, say) with the same harness.
set -euo pipefail
cd "$(dirname "$0")/.."
messages=${1:-10000}
[ -x /usr/bin/time ] || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
if [ -z "${BROADSHEET_BIN:-}" ]; then
    cargo build --release --locked --quiet
fi
bin=${BROADSHEET_BIN:-$PWD/target/release/broadsheet}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$messages" <<'PY'
import os, sys
work, n = sys.argv[1], int(sys.argv[2])
separator = "From MAILER-DAEMON Thu Jan  1 00:00:00 2026\n"

def dsn(i):
    return (
        f"From: MAILER-DAEMON@mx.example.org\nMessage-ID: <dsn-{i}@mx.example.org>\n"
        "Subject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nNo such user.\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        f"Final-Recipient: rfc822; reader{i}@example.net\nAction: failed\nStatus: 5.1.1\n\n--b--\n"
    )

os.makedirs(f"{work}/maildir/new")
os.makedirs(f"{work}/maildir/cur")
for i in range(n):
    with open(f"{work}/maildir/new/{i:06}.bench:2,", "w") as f:
        f.write(dsn(i))
with open(f"{work}/many.mbox", "w") as f:
    for i in range(n):
        f.write(separator + dsn(i) + "\n")
line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\n"
with open(f"{work}/large.mbox", "w") as f:
    f.write(separator + dsn(0) + "\n")
    f.write(separator + "From: someone@example.org\nSubject: a large attachment\n"
            'Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n')
    f.write(line * (200 * 1024 * 1024 // len(line)))
    f.write("\n" + separator + dsn(1) + "\n")
PY

measure() {
    local name=$1
    shift
    rm -rf "$work/project"
    mkdir "$work/project"
    cp -r tests/fixtures/project/. "$work/project/"
    cp -r layouts "$work/project/"
    local status=0
    (cd "$work/project" && /usr/bin/time -o "$work/time" -f "%e s, peak RSS %M KB" \
        "$bin" bounces import "$@" > "$work/out" 2> "$work/err") || status=$?
    printf '%-34s exit %s, %s\n    %s\n' "$name" "$status" "$(tail -1 "$work/time")" "$(tail -1 "$work/out")"
}

echo "inputs: $(du -sh "$work/maildir" | cut -f1) Maildir ($messages files), $(du -h "$work/many.mbox" | cut -f1) mbox of $messages, $(du -h "$work/large.mbox" | cut -f1) mbox with one large message"
measure "Maildir, $messages messages" "$work/maildir"
measure "mbox, one 200 MB message" "$work/large.mbox"
measure "mbox, $messages messages" "$work/many.mbox"
