#!/usr/bin/env bash
# Benchmark for BENCHMARKS.md, "Serve: counted click redirects": the release binary's
# `broadsheet serve` answering a volume's counted links, driven by wrk (Debian's package)
# from another process on loopback. A copy of the test fixture project gets `[clicks]`, is
# dispatched to the outbox (which records the volume's links), and serve is started on it.
# Two runs: every request from a new client address (X-Forwarded-For from the trusted
# proxy, so each one is a click that is counted and committed durably, grouped), and every
# request from one client (counted once an hour, then redirected without a write).
#
# Needs: cargo, python3, wrk (apt-get install wrk).
# Usage: scripts/bench-clicks.sh [SECONDS] [CONNECTIONS]   (default 10 and 32)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-32}
command -v wrk >/dev/null || { echo "install wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release --locked --quiet
bin=$PWD/target/release/broadsheet
work=$(mktemp -d)
serve=""
trap '[ -n "$serve" ] && kill "$serve" 2>/dev/null; rm -rf "$work"' EXIT
cp -r tests/fixtures/project/. "$work"
cp -r layouts "$work/"
cp recipients.example.toml "$work/recipients.toml"
printf '\n[clicks]\nenabled = true\n' >> "$work/broadsheet.toml"
export BROADSHEET_UNSUBSCRIBE_SECRET=bench-secret-bench-secret-bench
(cd "$work" && "$bin" dispatch volumes/011.toml --segment subscribers --yes --expect 2 >/dev/null 2>&1)
path=$(python3 - "$work/outbox" <<'PY'
import email, glob, re, sys
for name in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    message = email.message_from_binary_file(open(name, "rb"))
    for part in message.walk():
        if part.get_content_type() == "text/html":
            html = part.get_payload(decode=True).decode()
            found = re.findall(r'https://scout\.eto\.tech(/c/011/[1-9][0-9]*/[A-Za-z0-9_-]+)', html)
            if found:
                print(found[0])
                sys.exit(0)
sys.exit("no counted link in the dispatched messages")
PY
)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$work" && "$bin" serve --listen "127.0.0.1:$port" >/dev/null 2>&1) &
serve=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 0.1
done
cat > "$work/clients.lua" <<'LUA'
-- Each request from another client address (the documentation prefix 2001:db8::/32), as
-- the reverse proxy would forward it.
local n = 0
request = function()
  n = n + 1
  local client = string.format("2001:db8::%x:%x", math.floor(n / 65536) % 65536, n % 65536)
  return wrk.format("GET", nil, {["X-Forwarded-For"] = client,
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"})
end
LUA
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== counted: a new client each request (each one a durable count)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/clients.lua" "http://127.0.0.1:$port$path"
echo "== one client again and again (counted once an hour; redirect only)"
wrk -t2 -c"$connections" -d"${seconds}s" --latency \
    -H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0" "http://127.0.0.1:$port$path"
(cd "$work" && "$bin" report volumes/011.toml --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print("report:", [(c["link"], c["clicks"], c["scanner"]) for c in r["clicks"]][:3])')
