#!/usr/bin/env bash
# Photographs what people see, with Debian's headless chromium:
#   email-600.png, email-375.png  the sample volume's email at desktop and phone widths;
#   preview.png                   the `broadsheet preview` page (through chromedriver, so
#                                 the page's live parts have loaded).
# Usage: scripts/screenshots.sh [OUT_DIR]   (default out/screenshots; docs/ holds the README's)
# Needs chromium, chromium-driver, curl and python3. Remote images show as their alt text
# when the machine has no network.
set -euo pipefail
cd "$(dirname "$0")/.."
shots=$(realpath -m "${1:-out/screenshots}")
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$shots"
cargo build --quiet --release
target/release/broadsheet build volumes/011.toml --out "$work/email"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
       --disable-background-networking --disable-component-update --disable-sync)
for width in 600 375; do
    chromium "${flags[@]}" --user-data-dir="$work/profile-$width" --window-size="$width,4200" \
        --screenshot="$shots/email-$width.png" "file://$work/email/email.html" 2>/dev/null
    echo "wrote $shots/email-$width.png"
done

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
driver_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/broadsheet preview volumes/011.toml --port "$port" >/dev/null 2>&1 & pids+=($!)
chromedriver --port="$driver_port" >/dev/null 2>&1 & pids+=($!)
sleep 1
driver="http://127.0.0.1:$driver_port"
args=$(printf '"%s",' "${flags[@]}" "--user-data-dir=$work/profile-preview" "--window-size=1280,860")
session=$(curl -sf "$driver/session" -d "{\"capabilities\":{\"alwaysMatch\":{\"browserName\":\"chrome\",
    \"goog:chromeOptions\":{\"binary\":\"/usr/bin/chromium\",\"args\":[${args%,}]}}}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["value"]["sessionId"])')
curl -sf "$driver/session/$session/url" -d "{\"url\":\"http://127.0.0.1:$port/\"}" >/dev/null
sleep 2
curl -sf "$driver/session/$session/screenshot" |
    python3 -c 'import base64,json,sys; sys.stdout.buffer.write(base64.b64decode(json.load(sys.stdin)["value"]))' \
    > "$shots/preview.png"
curl -sf -X DELETE "$driver/session/$session" >/dev/null
echo "wrote $shots/preview.png"
