#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md, "Recipients": loading 1,000,000 generated recipients (a CSV
# import with names, segments and topics, plus recipients.toml) and counting them per
# segment, timed with peak memory by GNU time. Needs: cargo, awk, /usr/bin/time (apt: time).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
[ -x /usr/bin/time ] || { echo "install GNU time (apt-get install time)" >&2; exit 1; }
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp broadsheet.toml "$dir/"
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
