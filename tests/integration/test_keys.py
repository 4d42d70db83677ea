#!/usr/bin/env python3
"""Pinned keys and verification (issue 9, deliverables 6 and 8) with the
real server and real clients in line mode: /whois, /verify, /verify ok,
/code, and a server that swaps a user's key (a proxy rewriting its
user.lookup and kp.claim answers) caught by the pin.
Usage: test_keys.py CLIENT SERVER [test-name]"""

import base64
import hashlib
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_client  # noqa: E402  (its Env, invite and talk; same argv)
from test_client import Env, invite, talk  # noqa: E402
from clientlib import data_key, msg, poll, unseal  # noqa: E402
import dsclient  # noqa: E402

ONLY = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
FP = r"[0-9a-f]{4}(?::[0-9a-f]{4}){15}"


def fingerprint(key):
    h = hashlib.sha256(key).hexdigest()
    return ":".join(h[i:i + 4] for i in range(0, 64, 4))


class KeySwapProxy:
    """A WebSocket proxy in front of the real server.  While `swap` is set,
    it rewrites the server's answers about `victim`: user.lookup gets the
    impostor's signature key, kp.claim a KeyPackage with the victim's name
    signed by the impostor's key: a server that swaps a directory key."""

    def __init__(self, target_port, victim):
        self.target = target_port
        self.victim = victim
        self.impostor = dsclient.Identity(victim)
        self.swap = False
        self.rewritten = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            u = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [c, u]
            threading.Thread(target=self._up, args=(c, u), daemon=True).start()
            threading.Thread(target=self._down, args=(u, c), daemon=True).start()

    @staticmethod
    def _up(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _rewrite(self, obj):
        if not self.swap or not obj.get("ok") or obj.get("username") != self.victim:
            return obj
        if obj.get("type") == "user.lookup":
            obj["signature_key"] = base64.b64encode(self.impostor.pk).decode()
            obj["fingerprint"] = fingerprint(self.impostor.pk)
            self.rewritten.append("user.lookup")
        elif obj.get("type") == "kp.claim":
            kp = self.impostor.key_package(identity=self.victim, wrap=False)
            obj["key_package"] = base64.b64encode(kp).decode()
            self.rewritten.append("kp.claim")
        return obj

    @staticmethod
    def _frame(op, payload):
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | op, n])
        elif n < 65536:
            head = bytes([0x80 | op, 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | op, 127]) + n.to_bytes(8, "big")
        return head + payload

    def _down(self, a, b):
        """Server to client: the HTTP answer as it is, then frame by frame
        (the server's frames are unmasked and not fragmented)."""
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                data = a.recv(65536)
                if not data:
                    raise OSError("closed")
                buf += data
            head, buf = buf.split(b"\r\n\r\n", 1)
            b.sendall(head + b"\r\n\r\n")
            while True:
                while True:
                    if len(buf) >= 2:
                        n, off = buf[1] & 0x7F, 2
                        if n == 126 and len(buf) >= 4:
                            n, off = int.from_bytes(buf[2:4], "big"), 4
                        elif n == 127 and len(buf) >= 10:
                            n, off = int.from_bytes(buf[2:10], "big"), 10
                        if (buf[1] & 0x7F) < 126 or off > 2:
                            if len(buf) >= off + n:
                                break
                    data = a.recv(65536)
                    if not data:
                        raise OSError("closed")
                    buf += data
                op, payload, raw = buf[0] & 0x0F, buf[off:off + n], buf[:off + n]
                buf = buf[off + n:]
                if op == 1 and buf is not None:
                    try:
                        obj = json.loads(payload)
                        new = json.dumps(self._rewrite(obj)).encode()
                        raw = self._frame(1, new)
                    except ValueError:
                        pass
                b.sendall(raw)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def command(client, line, pattern):
    """Types a command; returns the first line after it matching pattern."""
    m = client.mark()
    client.say(line)
    i = client.wait_for(pattern, m)
    return client.snapshot()[i]


def test_whois_verify_code(env):
    """/whois, /verify (the same safety number on both sides), /verify ok,
    /code (the same for two members, new after a commit)."""
    a = env.client("lobby", "alice")
    a.wait_for(r"created #lobby")
    b = env.client("lobby", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "lobby", "bob")

    own = command(b, "/whois bob", r"bob \(you\): key " + FP)
    bob_fp = re.search(FP, own).group(0)
    m = a.mark()
    a.say("/whois bob")
    i = a.wait_for(r"bob: key " + FP, m)
    line = a.snapshot()[i]
    assert re.search(FP, line).group(0) == bob_fp, (line, own)
    a.wait_for(r"pinned since \d{4}-\d\d-\d\d \d\d:\d\d UTC \(first seen in a KeyPackage the "
               r"server gave\), not verified", m)
    a.wait_for(r"groups you share: #lobby$", m)

    num = r"safety number of %s and %s: ((?:\d{5} ){11}\d{5})$"
    sa = re.search(num % ("alice", "bob"), command(a, "/verify bob", num % ("alice", "bob")))
    sb = re.search(num % ("bob", "alice"), command(b, "/verify alice", num % ("bob", "alice")))
    assert sa.group(1) == sb.group(1), (sa.group(1), sb.group(1))
    command(a, "/verify bob ok", r"bob's key %s is now marked VERIFIED" % bob_fp)
    command(a, "/whois bob", r"VERIFIED by you")
    command(a, "/verify bob accept", r"no different key of bob was seen: nothing to accept")
    command(a, "/verify alice", r"that is you")
    m = a.mark()
    a.say("/list")
    a.wait_for(r"^\*\*\*   bob .*\(key matches the directory; verified\)", m)

    code = r"code of #lobby, epoch (\d+): ((?:\d{4} ){5}\d{4}) "
    ca = re.search(code, command(a, "/code", code))
    cb = re.search(code, command(b, "/code", code))
    assert ca.groups() == cb.groups(), (ca.groups(), cb.groups())
    m = a.mark()
    b.say("/update")
    a.wait_for(r"bob updated their keys in #lobby", m)
    b.wait_for(r"you updated your keys|updated", 0)
    talk(b, "after update", "lobby", a)
    ca2 = re.search(code, command(a, "/code", code))
    cb2 = re.search(code, command(b, "/code", code))
    assert ca2.groups() == cb2.groups(), (ca2.groups(), cb2.groups())
    assert ca2.group(1) != ca.group(1) and ca2.group(2) != ca.group(2)
    for who in (a, b):
        assert who.quit() == 0


def test_server_swaps_key(env):
    """alice has bob's key pinned; the server then answers user.lookup and
    kp.claim for bob with another key (and a KeyPackage signed by it): the
    invitation is refused with a loud warning, nothing is committed, the
    pin stays until alice accepts the new key."""
    proxy = KeySwapProxy(env.server.port, "bob")
    try:
        a = env.client("lobby", "alice", url=proxy.url)
        a.wait_for(r"created #lobby")
        b = env.client("lobby", "bob")
        b.wait_for(r"must /invite bob")
        invite(a, b, "lobby", "bob")
        bob_fp = re.search(FP, command(b, "/whois bob", r"bob \(you\): key " + FP)).group(0)
        evil_fp = fingerprint(proxy.impostor.pk)

        m = a.mark()
        a.say("/join --create second")
        a.wait_for(r"created #second", m)
        proxy.swap = True
        m = a.mark()
        a.say("/invite bob")
        a.wait_for(r"^!!! WARNING: bob's key from a KeyPackage the server gave \(%s\) is NOT "
                   r"the key pinned for bob since .* \(%s\): refused" % (evil_fp, bob_fp), m)
        a.wait_for(r"^!!! cannot invite bob: the server gave a key that is not the one pinned "
                   r"for bob; nothing was committed", m)
        assert "kp.claim" in proxy.rewritten and "user.lookup" in proxy.rewritten
        # Nothing was committed: #second has alice alone, bob saw nothing.
        m2 = a.mark()
        a.say("/list")
        a.wait_for(r"members of #second \(1\)", m2)
        assert a.count(r"you invited bob", m) == 0
        time.sleep(1)
        assert b.count(r"#second") == 0
        # The directory's answer does not replace the pin either; the
        # refused key is shown until accepted.
        m = a.mark()
        a.say("/whois bob")
        a.wait_for(r"bob: key %s" % bob_fp, m)
        a.wait_for(r"^!!!   a DIFFERENT key %s was offered for bob .* and refused" % evil_fp, m)
        command(a, "/verify bob accept", r"bob's key is now pinned as %s" % evil_fp)
        command(a, "/whois bob", r"bob: key %s" % evil_fp)
        for who in (a, b):
            assert who.quit() == 0
    finally:
        proxy.stop()


def test_verified_key_changes(env):
    """A verified key that changes is a louder warning (the member check
    in a group: the server swaps the directory's key of a member)."""
    proxy = KeySwapProxy(env.server.port, "bob")
    try:
        a = env.client("lobby", "alice", url=proxy.url)
        a.wait_for(r"created #lobby")
        b = env.client("lobby", "bob")
        b.wait_for(r"must /invite bob")
        invite(a, b, "lobby", "bob")
        command(a, "/verify bob ok", r"is now marked VERIFIED")
        proxy.swap = True
        m = a.mark()
        a.say("/join --create other")
        a.wait_for(r"created #other", m)
        a.say("/invite bob")
        a.wait_for(r"^!!! SECURITY ALERT: bob's key from a KeyPackage the server gave .* is NOT "
                   r"the key you VERIFIED for bob", m)
        a.wait_for(r"cannot invite bob", m)
        for who in (a, b):
            assert who.quit() == 0
    finally:
        proxy.stop()


def test_nick(env):
    """/nick: the server renames bob, a commit in each group carries the
    new name in his leaf; the others see "bob is now robert", his messages
    after it show the new name, his pin follows him, and the next run as
    robert finds his keys and groups."""
    a = env.client("lobby", "alice")
    a.wait_for(r"created #lobby")
    b = env.client("lobby", "bob")
    b.wait_for(r"must /invite bob")
    invite(a, b, "lobby", "bob")
    talk(b, "as bob", "lobby", a)
    command(a, "/verify bob ok", r"is now marked VERIFIED")
    m = a.mark()
    mb = b.mark()
    b.say("/nick robert")
    b.wait_for(r"you are now robert \(was bob\)", mb)
    a.wait_for(r"^\*\*\* bob is now robert$", m)
    b.user = "robert"
    talk(b, "as robert", "lobby", a)
    assert a.count(msg("lobby", "robert", "as robert")) == 1
    # The pin moved with the name (still verified), and the server's
    # directory agrees.
    command(a, "/whois robert", r"VERIFIED by you")
    m = a.mark()
    a.say("/list")
    a.wait_for(r"^\*\*\*   robert .*\(key matches the directory; verified\)", m)
    assert a.count(r"WARNING|ALERT") == 0, a.snapshot()
    # The old name is gone from the directory; the new one opens bob's
    # database next time.
    assert b.quit() == 0
    b2 = env.client("lobby", "robert", config=os.path.join(env.tmp, "cfg-bob"), name="robert")
    b2.wait_for(r"history ends")
    talk(b2, "back as robert", "lobby", a)
    code = r"code of #lobby, epoch (\d+): ((?:\d{4} ){5}\d{4}) "
    ca = re.search(code, command(a, "/code", code))
    cb = re.search(code, command(b2, "/code", code))
    assert ca.groups() == cb.groups(), (ca.groups(), cb.groups())
    # The administrator renames: the same commit carries the new name into
    # the administrators extension, so she stays one.
    m = b2.mark()
    ma = a.mark()
    a.say("/nick alicia")
    a.wait_for(r"you are now alicia \(was alice\)", ma)
    b2.wait_for(r"^\*\*\* alice is now alicia$", m)
    a.user = "alicia"
    talk(a, "as alicia", "lobby", b2)
    command(b2, "/list", r"^\*\*\*   alicia \[admin\]")
    assert b2.count(r"WARNING|ALERT|REFUSED|misbehav") == 0, b2.snapshot()
    for who in (a, b2):
        assert who.quit() == 0


# ---------------------------------------------------------------- secrets at rest

def db_of(config):
    dbs = [f for f in os.listdir(config) if f.endswith(".db")]
    assert len(dbs) == 1, dbs
    return os.path.join(config, dbs[0])


def db_row(path, sql, args=()):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(sql, args).fetchone()
    finally:
        db.close()


def disk_bytes(path):
    """The database and its WAL as they are on disk."""
    out = b""
    for p in (path, path + "-wal"):
        if os.path.exists(p):
            out += open(p, "rb").read()
    return out


def varint(b, i):
    """RFC 9420 §2.1.2 variable-length integer at b[i]: (value, next)."""
    n = 1 << (b[i] >> 6)
    if n > 4:
        raise ValueError
    v = b[i] & 0x3F
    for j in range(1, n):
        v = (v << 8) | b[i + j]
    return v, i + n


def past_epochs(state, group_id):
    """{epoch: sender_data_secret} of the past-epoch records in a clear
    group state (lib/group_codec.c: u64 epoch, GroupContext<V>, Nh sender
    data secret), found by their GroupContext (version 1, suite 1, the
    group id, the same epoch).  Suite 1: Nh = 32."""
    found = {}
    for i in range(len(state) - 8):
        try:
            e = int.from_bytes(state[i:i + 8], "big")
            n, j = varint(state, i + 8)
            ctx = state[j:j + n]
            if ctx[:4] != b"\0\x01\0\x01":
                continue
            g, k = varint(ctx, 4)
            if ctx[k:k + g] != group_id or int.from_bytes(ctx[k + g:k + g + 8], "big") != e:
                continue
            found[e] = state[j + n:j + n + 32]
        except (ValueError, IndexError):
            continue
    return found


def test_secrets_at_rest(env):
    """The client's database holds no secret in clear: the signature
    private key and the epoch secrets of the group (each one checked as
    real: the key opens to the user's public key, each secret is in the
    clear state) are not in the database or WAL bytes.  A group keeps one
    past epoch's keys: two commits after an epoch, its secret is gone from
    the stored state.  The key files are 0600; a client given the wrong
    passphrase refuses with a clear error and changes nothing."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    cfg_a = os.path.join(env.tmp, "cfg-alice")
    cfg_b = os.path.join(env.tmp, "cfg-bob")
    os.makedirs(cfg_b, mode=0o700)
    good = os.path.join(env.tmp, "pass-good")
    bad = os.path.join(env.tmp, "pass-bad")
    with open(good, "w") as f:
        f.write("correct horse battery staple\n")
    with open(bad, "w") as f:
        f.write("incorrect horse\n")
    a = env.client("lobby", "alice")
    a.wait_for(r"created #lobby")
    b = env.client("lobby", "bob", extra=("--passphrase-file", good))
    b.wait_for(r"must /invite bob")
    invite(a, b, "lobby", "bob")
    talk(b, "hello", "lobby", a)

    key = data_key(cfg_a)
    path = db_of(cfg_a)
    gid = db_row(path, "SELECT group_id FROM groups WHERE name = 'lobby'")[0]

    def state():
        blob = db_row(path, "SELECT state FROM groups WHERE name = 'lobby'")[0]
        return unseal(key, b"groups.state", b"lobby", blob)

    # Five commits; after each, alice's stored state as it is then.
    states = []
    for i in range(5):
        m = a.mark()
        b.say("/update")
        a.wait_for(r"bob updated their keys in #lobby", m)
        talk(b, "epoch step %d" % i, "lobby", a)
        states.append(state())
    secrets = {}
    for st in states:
        past = past_epochs(st, gid)
        # One past epoch kept, never more (the default of libmls is two).
        assert len(past) == 1, sorted(past)
        secrets.update(past)
    epochs = sorted(secrets)
    assert len(epochs) == 5 and epochs == list(range(epochs[0], epochs[0] + 5)), epochs
    for n, st in enumerate(states):
        cur = epochs[n] + 1
        # The secret of the epoch then current is in that clear state (so
        # the search below looks for real secrets) ...
        if cur in secrets:
            assert secrets[cur] in st, cur
        # ... and those of epochs two or more commits back are gone.
        for e in epochs:
            if e < cur - 1:
                assert secrets[e] not in st, (e, cur)

    sk_blob, pk = db_row(path, "SELECT sig_sk, sig_pk FROM identity")
    sk = unseal(key, b"identity.sig_sk", b"alice", sk_blob)
    pub = Ed25519PrivateKey.from_private_bytes(sk[:32]).public_key()
    assert pub.public_bytes(Encoding.Raw, PublicFormat.Raw) == pk

    assert a.quit() == 0
    raw = disk_bytes(path)
    assert len(raw) > 4096
    assert sk[:32] not in raw, "the signature private key is in the database file"
    for e, sd in secrets.items():
        assert sd not in raw, "the secret of epoch %d is in the database file" % e
    assert key not in raw

    for cfg in (cfg_a, cfg_b):
        assert os.stat(os.path.join(cfg, "key")).st_mode & 0o777 == 0o600, cfg
        assert os.stat(db_of(cfg)).st_mode & 0o777 == 0o600, cfg
    # bob's key file is wrapped under his passphrase: not his data key in
    # clear (it is not the unprotected format).
    assert open(os.path.join(cfg_b, "key"), "rb").read()[:9] == b"MLSCKEY1\x01"

    # Wrong or missing passphrase: a clear error, nothing changed.
    assert b.quit() == 0
    before = {f: open(os.path.join(cfg_b, f), "rb").read() for f in sorted(os.listdir(cfg_b))}
    for extra, why in (((("--passphrase-file", bad)), r"wrong passphrase"),
                       ((), r"protected by a passphrase")):
        c = env.client("lobby", "bob", extra=extra, name="bob-refused")
        assert c.wait_exit() != 0
        assert c.find(r"^client: .*" + why) is not None, c.snapshot()
        after = {f: open(os.path.join(cfg_b, f), "rb").read() for f in sorted(os.listdir(cfg_b))}
        assert after == before, sorted(set(after) ^ set(before))
    # The right one from the environment: bob is back with his history.
    os.environ["MLSCHAT_PASSPHRASE"] = "correct horse battery staple"
    try:
        b2 = env.client("lobby", "bob", name="bob-again")
    finally:
        del os.environ["MLSCHAT_PASSPHRASE"]
    b2.wait_for(r"history ends")
    assert b2.find(msg("lobby", "bob", "epoch step 4")) is not None
    assert b2.quit() == 0


def test_passphrase_prompt(env):
    """On a terminal, a client whose key file needs a passphrase and is
    given none asks for it (not echoed): a wrong one is refused with a
    clear error, the right one starts the full-screen UI."""
    if not test_client.have_tmux():
        raise test_client.TestFailure("tmux is not installed (scripts/deps.sh installs it)")
    cfg = os.path.join(env.tmp, "cfg-dave")
    os.environ["MLSCHAT_PASSPHRASE"] = "open sesame"
    try:
        d = env.client("lobby", "dave")
    finally:
        del os.environ["MLSCHAT_PASSPHRASE"]
    d.wait_for(r"created #lobby")
    assert d.quit() == 0
    env.tmux = t = test_client.Tmux(env.tmp)
    envv = dict({"LANG": "C.UTF-8", "TERM": "xterm-256color"},
                **test_client.sanitizer_env(env.tmp))
    argv = [test_client.CLIENT, "--server", env.server.url, "--config", cfg, "lobby", "dave"]
    t.start("wrong", argv, env=envv)
    t.wait_screen("wrong", r"passphrase for .*/key:")
    t.type("wrong", "open sesame!")
    t.wait_screen("wrong", r"client: wrong passphrase for the key file .*nothing was changed",
                  history=True)
    assert "open sesame" not in t.history("wrong")
    t.start("right", argv, env=envv)
    t.wait_screen("right", r"passphrase for .*/key:")
    t.type("right", "open sesame")
    t.wait_screen("right", r"dave \| #lobby \| 1 member \| connected")
    t.type("right", "/quit")
    poll(lambda: t.dead("right"), "the client to quit")


TESTS = [test_whois_verify_code, test_server_swaps_key, test_verified_key_changes, test_nick,
         test_secrets_at_rest, test_passphrase_prompt]


def main():
    return test_client.run_tests(TESTS, ONLY, "key tests")


if __name__ == "__main__":
    sys.exit(main())
