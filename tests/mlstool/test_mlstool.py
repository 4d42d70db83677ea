#!/usr/bin/env python3
"""mlstool over the official vectors (make mlstool-check, part of make check).

Every field of every entry of messages.json that is an MLSMessage is
decoded by `mlstool decode` (hex input, text and --json), the ratchet_tree
field with --tree; each must succeed and report the right wire format.
Then a few refusals: garbage input, a truncated message, check-kp of a
non-KeyPackage.  Last, every Welcome of welcome.json (next to
messages.json) is opened with `decode --bundle`, the bundle built from the
vector's key_package and init_priv; with MLSFORGE, also the Welcome of a
real group (alice adds bob), whose GroupInfo lists both members.

Usage: test_mlstool.py MLSTOOL MESSAGES_JSON [MLSFORGE]
"""
import json
import os
import subprocess
import sys
import tempfile

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


def varint(n):
    """RFC 9420 §2.1.2 variable-length integer."""
    if n < 0x40:
        return bytes([n])
    if n < 0x4000:
        return (0x4000 | n).to_bytes(2, "big")
    return (0x80000000 | n).to_bytes(4, "big")


def bundle_of(key_package_msg, init_priv):
    """The private bundle of mls_key_package_create (lib/key_package.c,
    version 1): u8 version, <V> KeyPackage, <V> init key, <V> encryption
    key.  The vectors give no encryption key; opening a Welcome does not
    need it, so it stays empty."""
    kp = key_package_msg[4:]  # MLSMessage header: version, wire_format
    return (b"\x01" + varint(len(kp)) + kp + varint(len(init_priv)) + init_priv +
            varint(0))


def check_welcomes(tool, path):
    """decode --bundle over welcome.json; returns (checked, failures)."""
    with open(path) as f:
        entries = json.load(f)
    checked = failures = 0
    with tempfile.TemporaryDirectory() as d:
        for i, e in enumerate(entries):
            kp = bytes.fromhex(e["key_package"])
            bundle = os.path.join(d, "bundle%d" % i)
            with open(bundle, "w") as f:
                f.write(bundle_of(kp, bytes.fromhex(e["init_priv"])).hex())
            checked += 1
            r = run(tool, ["decode", "--json", "--bundle", bundle], e["welcome"].encode())
            try:
                obj = json.loads(r.stdout) if r.returncode == 0 else {}
            except ValueError:
                obj = {}
            opened = obj.get("opened", {})
            gi = opened.get("group_info", {})
            if (not opened.get("ok") or opened.get("bundle") != 0 or
                    gi.get("cipher_suite") != e["cipher_suite"] or
                    gi.get("signature_verified") is not False):
                failures += 1
                print("FAIL welcome.json entry %d --bundle: exit %d: %s %s" %
                      (i, r.returncode, r.stdout.decode()[:300], r.stderr.decode().strip()))
                continue
            r = run(tool, ["decode", "--bundle", bundle], e["welcome"].encode())
            if r.returncode != 0 or "signer_leaf:" not in r.stdout.decode():
                failures += 1
                print("FAIL welcome.json entry %d --bundle text: %s" % (i, r.stdout.decode()))
            # The wrong bundle: the Welcome is not for it (exit 1).
            other = entries[(i + 1) % len(entries)]
            wrong = os.path.join(d, "wrong%d" % i)
            with open(wrong, "w") as f:
                f.write(bundle_of(bytes.fromhex(other["key_package"]),
                                  bytes.fromhex(other["init_priv"])).hex())
            r = run(tool, ["decode", "--bundle", wrong], e["welcome"].encode())
            checked += 1
            if r.returncode != 1:
                failures += 1
                print("FAIL welcome.json entry %d wrong bundle: exit %d" % (i, r.returncode))
    return checked, failures


def check_forged(tool, forge):
    """alice adds bob with tests/tools/mlsforge; bob's Welcome opened with
    his bundle (raw bytes) shows epoch 1 and both members."""
    with tempfile.TemporaryDirectory() as d:
        def forge_run(*args):
            r = subprocess.run([forge] + list(args), cwd=d, capture_output=True, check=True)
            return r.stdout.decode().strip()
        forge_run("identity", "alice", "a.key")
        forge_run("identity", "bob", "b.key")
        kp = forge_run("kp", "b.key", "b.bundle")
        forge_run("create", "a.key", "a.state", "grp")
        welcome = json.loads(forge_run("commit", "a.state", "--add", kp))["welcomes"][0]
        r = run(tool, ["decode", "--json", "--bundle", os.path.join(d, "b.bundle")],
                welcome.encode())
        try:
            gi = json.loads(r.stdout)["opened"]["group_info"]
            names = [m.get("identity") for m in gi["tree"]["members"]]
        except (ValueError, KeyError):
            gi, names = {}, []
        if r.returncode != 0 or gi.get("epoch") != 1 or names != ["alice", "bob"]:
            print("FAIL forged Welcome --bundle: exit %d: %s %s" %
                  (r.returncode, r.stdout.decode()[:300], r.stderr.decode().strip()))
            return 1, 1
    return 1, 0


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

    wpath = os.path.join(os.path.dirname(path), "welcome.json")
    c, f = check_welcomes(tool, wpath)
    checked += c
    failures += f
    if len(sys.argv) > 3:
        c, f = check_forged(tool, os.path.abspath(sys.argv[3]))
        checked += c
        failures += f

    print("mlstool: %d objects of %d entries, %d failed" % (checked, len(entries), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
