#!/usr/bin/python3
"""Checks every DKIM signature of each message with dkimpy (Debian's python3-dkim), the DNS
answered from the arguments instead of the network:

    dkim_verify.py NAME=TXT... -- FILE...

prints one line per file, `FILE ok ALGORITHM...` when the file has at least one signature and
each verifies, else `FILE FAIL ...`; exits 1 when any file failed."""

import sys

import dkim

args = sys.argv[1:]
split = args.index("--")
records = dict(arg.split("=", 1) for arg in args[:split])


def dns(name, timeout=5):
    return records.get(name.decode().rstrip("."), "").encode() or None


failed = False
for path in args[split + 1:]:
    with open(path, "rb") as f:
        message = f.read()
    checker = dkim.DKIM(message)
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    results = []
    for index in range(count):
        try:
            ok = checker.verify(idx=index, dnsfunc=dns)
        except dkim.ValidationError as why:
            # dkimpy raises for some mismatches (the body hash) and returns False for others.
            ok = f"False({why})"
        algorithm = checker.signature_fields.get(b"a", b"?").decode()
        results.append((ok, algorithm))
    if count and all(ok is True for ok, _ in results):
        print(path, "ok", *(a for _, a in results))
    else:
        failed = True
        print(path, "FAIL", *(f"{a}={ok}" for ok, a in results))
sys.exit(1 if failed else 0)
