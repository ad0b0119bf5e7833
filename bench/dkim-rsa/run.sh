#!/usr/bin/env bash
# BENCHMARKS.md, "DKIM signing: which library": RSA-2048 PKCS#1 v1.5 SHA-256 signatures
# (a DKIM rsa-sha256 signature) per second on one thread in ring, aws-lc-rs and OpenSSL
# (through the `openssl` crate), same key, same data, one process, beside `openssl speed`.
# Needs: cargo, openssl, libssl-dev and pkg-config (for the `openssl` crate).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked --quiet
key=$(mktemp)
trap 'rm -f "$key"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null |
    openssl pkcs8 -topk8 -nocrypt -outform DER -out "$key"
target/release/dkim-rsa "$key" "${1:-3000}"
openssl speed -seconds 3 rsa2048 2>/dev/null | tail -2
