#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md, "Recipients": loading 1,000,000 generated recipients (a CSV
# import with names, segments and topics, plus recipients.toml) and counting them per
# segment, timed with peak memory by GNU time. Needs: cargo, awk, /usr/bin/time (apt: time).
# With --dispatch, it then dispatches the sample volume to all of them through Postfix's
# smtp-sink on loopback (no capture), again under GNU time: "Dispatch: memory"; then plans
# the volume again, looking every recipient up in the ledger ("Plan: a volume sent"),
# reports on it ("Report: a volume sent to everyone"), starts `serve` and reads its memory
# once it listens ("Serve: memory"), and imports 500 complaints that name their messages by
# Message-ID ("Bounces: matching by Message-ID").
# Usage: scripts/bench-recipients.sh [ROWS] [--dispatch]
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
[ -x /usr/bin/time ] || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The test fixture's settings and volume (the root ones are the user's), the repository's layouts.
cp -r tests/fixtures/project/. "$dir/"
cp -r layouts "$dir/"
cat > "$dir/recipients.toml" <<'TOML'
[segments.subscribers]
description = "Everyone who signed up"
[segments.staff]
description = "The newsroom"
[segments.chips-watch]
description = "Chip policy readers"
topics_any = ["chips", "trade"]

[[imports]]
path = "subscribers.csv"
segments = ["subscribers"]
TOML
awk -v n="$rows" 'BEGIN {
    print "email,name,segments,topics"
    for (i = 0; i < n; i++) {
        seg = (i % 10 == 0) ? "chips-watch" : ""
        topics = (i % 7 == 0) ? "ai;chips" : ""
        printf "reader%d@example%d.org,\"Reader %d, Esq.\",%s,%s\n", i, i % 1000, i, seg, topics
    }
}' > "$dir/subscribers.csv"
echo "$rows rows, $(du -h "$dir/subscribers.csv" | cut -f1) of CSV"
cd "$dir"
/usr/bin/time -f "elapsed %e s, peak RSS %M KB" "$OLDPWD/target/release/broadsheet" recipients

[ "${2:-}" = "--dispatch" ] || exit 0
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
chmod 755 "$dir"
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$port" 256 & sink=$!
trap 'kill $sink; rm -rf "$dir"' EXIT
sed -i "s/^kind = \"outbox\"/kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = $port\nsecurity = \"none\"/; s/^dir = \"outbox\"//" broadsheet.toml
printf '\n[limits]\nconnections = 8\n' >> broadsheet.toml
export BROADSHEET_UNSUBSCRIBE_SECRET=benchmark-secret-not-for-real-use-0123456789
/usr/bin/time -f "dispatch: elapsed %e s, peak RSS %M KB" "$OLDPWD/target/release/broadsheet" \
    dispatch volumes/011.toml --segment subscribers --yes --expect "$rows" | tail -3
echo "ledger: $(du -h state/ledger.sqlite | cut -f1)"
# Everyone has the volume now: the plan looks each of them up in the ledger.
/usr/bin/time -f "plan after the dispatch: elapsed %e s, peak RSS %M KB" \
    "$OLDPWD/target/release/broadsheet" plan volumes/011.toml --segment subscribers >/dev/null
/usr/bin/time -f "report after the dispatch: elapsed %e s, peak RSS %M KB" \
    "$OLDPWD/target/release/broadsheet" report volumes/011.toml >/dev/null
# serve indexes every reader by the key of their tokens before it listens.
listen=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
started=$(date +%s.%N)
"$OLDPWD/target/release/broadsheet" serve --listen "$listen" > serve.log 2>&1 & server=$!
until grep -q serving serve.log; do
    kill -0 $server 2>/dev/null || { cat serve.log >&2; exit 1; }
    sleep 0.1
done
echo "serve listening after $(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $started }") s:" \
    "$(grep -E 'VmHWM|VmRSS' /proc/$server/status | tr -s ' \t' ' ' | tr '\n' ' ')"
kill -INT $server; wait $server || true
# Complaints that name their message only by its Message-ID (an ARF report's attached
# headers, as Yahoo's and Microsoft's feedback loops send them), for 500 of the readers:
# each is matched through the ledger's index of Message-IDs. "Bounces: matching by
# Message-ID".
python3 - state/ledger.sqlite > complaints.mbox <<'PY'
import random, sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT message_id FROM recipients").fetchall()
random.seed(7)
for i, (message_id,) in enumerate(random.sample(rows, min(500, len(rows)))):
    print(f"""From feedback@fbl.example Mon Dec  7 10:00:00 2026
From: Feedback Loop <feedback@fbl.example>
To: bounces@eto.tech
Subject: Complaint
Message-ID: <arf-{i}@fbl.example>
Date: Mon, 07 Dec 2026 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b{i}"

--b{i}
Content-Type: text/plain

An abuse report.

--b{i}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: FBL/1.0
Version: 1

--b{i}
Content-Type: text/rfc822-headers

From: scout@eto.tech
Message-ID: {message_id}

--b{i}--
""")
PY
/usr/bin/time -f "500 complaints by Message-ID: elapsed %e s, peak RSS %M KB" \
    "$OLDPWD/target/release/broadsheet" bounces import complaints.mbox | tail -1
