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
from clientlib import msg  # noqa: E402
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


TESTS = [test_whois_verify_code, test_server_swaps_key, test_verified_key_changes, test_nick]


def main():
    return test_client.run_tests(TESTS, ONLY, "key tests")


if __name__ == "__main__":
    sys.exit(main())
