#!/usr/bin/env python3
"""mlstool over the official vectors (make mlstool-check, part of make check).

Every field of every entry of messages.json that is an MLSMessage is
decoded by `mlstool decode` (hex input, text and --json), the ratchet_tree
field with --tree; each must succeed and report the right wire format.
Then a few refusals: garbage input, a truncated message, check-kp of a
non-KeyPackage.

Usage: test_mlstool.py MLSTOOL MESSAGES_JSON
"""
import json
import subprocess
import sys

MESSAGE_FIELDS = {
    "mls_welcome": "Welcome",
    "mls_group_info": "GroupInfo",
    "mls_key_package": "KeyPackage",
    "public_message_application": "PublicMessage",
    "public_message_proposal": "PublicMessage",
    "public_message_commit": "PublicMessage",
    "private_message": "PrivateMessage",
}


def run(tool, args, data):
    return subprocess.run([tool] + args + ["-"], input=data, capture_output=True)


def main():
    tool, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        entries = json.load(f)
    failures = 0
    checked = 0

    def fail(what, r):
        nonlocal failures
        failures += 1
        print("FAIL %s: exit %d: %s" % (what, r.returncode, r.stderr.decode().strip()))

    for i, e in enumerate(entries):
        for field, wire in MESSAGE_FIELDS.items():
            data = e[field].encode()
            what = "entry %d %s" % (i, field)
            r = run(tool, ["decode"], data)
            checked += 1
            if r.returncode != 0 or ("wire_format: %s" % wire) not in r.stdout.decode():
                fail(what, r)
                continue
            r = run(tool, ["decode", "--json"], data)
            if r.returncode != 0:
                fail(what + " --json", r)
                continue
            try:
                obj = json.loads(r.stdout)
            except ValueError as ex:
                failures += 1
                print("FAIL %s --json: not JSON: %s" % (what, ex))
                continue
            if obj.get("wire_format") != wire:
                failures += 1
                print("FAIL %s --json: wire_format %r" % (what, obj.get("wire_format")))
        r = run(tool, ["decode", "--tree"], e["ratchet_tree"].encode())
        checked += 1
        if r.returncode != 0 or "type: ratchet_tree" not in r.stdout.decode():
            fail("entry %d ratchet_tree" % i, r)

    # Refusals: exit status 1 and a reason on stderr / in the output.
    first = entries[0]
    refusals = [
        (["decode"], b"zz not an mls message zz"),
        (["decode"], first["public_message_commit"][:-4].encode()),
        (["decode", "--tree"], b"05ff"),
        (["check-kp"], first["mls_welcome"].encode()),
    ]
    for args, data in refusals:
        r = run(tool, args, data)
        checked += 1
        if r.returncode != 1:
            fail("refusal %s" % " ".join(args), r)
    r = run(tool, ["check-kp", "--json"], first["mls_welcome"].encode())
    if json.loads(r.stdout).get("reason") != "MLS_KP_NOT_KEY_PACKAGE":
        failures += 1
        print("FAIL check-kp of a Welcome: %s" % r.stdout.decode())
    r = run(tool, ["bogus"], b"")
    if r.returncode != 2:
        fail("unknown command", r)

    print("mlstool: %d objects of %d entries, %d failed" % (checked, len(entries), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
