#!/usr/bin/env bash
# Renders the sample volume and photographs it in headless Chromium at desktop (600 px)
# and mobile (375 px) widths, for a look at what readers see.
# Usage: scripts/screenshots.sh [VOLUME] [OUT_DIR]   (defaults: volumes/011.toml, out/screenshots)
# Needs Debian's chromium (apt-get install chromium). Images from remote hosts show as their
# alt text when the machine has no network.
set -euo pipefail
cd "$(dirname "$0")/.."
volume=${1:-volumes/011.toml}
shots=${2:-out/screenshots}
html_dir=$(mktemp -d)
trap 'rm -rf "$html_dir"' EXIT
cargo run --quiet --release -- build "$volume" --out "$html_dir"
mkdir -p "$shots"
for width in 600 375; do
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$html_dir/profile-$width" \
        --window-size="$width,4200" --screenshot="$PWD/$shots/email-$width.png" \
        "file://$html_dir/email.html" 2>/dev/null
    echo "wrote $shots/email-$width.png"
done
