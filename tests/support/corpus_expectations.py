#!/usr/bin/python3
"""Prints, as JSON, what flufl.bounce's own tests expect of each message of its corpus:
`{"FILE": {"addresses": [...], "temporary": bool}}`, read from the DETECTORS table of
`tests/test_detectors.py` in the sdist (without importing it: it needs pytest).

    corpus_expectations.py SDIST_FOLDER"""

import ast
import json
import sys

path = f"{sys.argv[1]}/tests/test_detectors.py"
with open(path) as f:
    tree = ast.parse(f.read())
table = next(
    node.value
    for node in tree.body
    if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DETECTORS"
)
expected = {}
for _detector, name, addresses, temporary in ast.literal_eval(table):
    entry = expected.setdefault(name, {"addresses": [], "temporary": temporary})
    for address in addresses:
        if address.decode().lower() not in entry["addresses"]:
            entry["addresses"].append(address.decode().lower())
print(json.dumps(expected, indent=1, sort_keys=True))
