#!/usr/bin/env bash
# Benchmarks for BENCHMARKS.md, "Render": the whole `broadsheet build` process against the
# reference Node MJML compiler as a process (`mjml` CLI, version 5), and the render stage
# in a loop against the Node compiler in a loop, all in one run so the ratios compare.
# Needs: cargo, node + npm (installs mjml into bench/node_modules), hyperfine (apt).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -x bench/node_modules/.bin/mjml ] || npm ci --prefix bench --no-audit --no-fund --silent
cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
target/release/broadsheet build volumes/011.toml --out "$out" >/dev/null
echo "## whole process"
hyperfine -N --warmup 3 --min-runs 20 --export-markdown "$out/process.md" \
    -n "broadsheet build" "target/release/broadsheet build volumes/011.toml --out $out" \
    -n "mjml CLI (Node)" "bench/node_modules/.bin/mjml $out/email.mjml -o $out/node.html"
cat "$out/process.md"
echo "## render stage in a loop"
cargo bench --quiet --bench render 2>/dev/null | grep -v '^$'
node bench/mjml-loop.js "$out/email.mjml"
