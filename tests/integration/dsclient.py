"""A test client for the mlschat server protocol (docs/PROTOCOL.md).

Standard library plus python3-cryptography: a small RFC 6455 WebSocket
client, the AuthContent signature of PROTOCOL.md section 3, and builders
for the MLS objects the server inspects (KeyPackages are real and signed;
PrivateMessage / PublicMessage / Welcome / GroupInfo carry random bodies
behind a correct clear header, which is all the server reads).
"""

import base64
import json
import os
import select
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw
RAWPUB = serialization.PublicFormat.Raw


def b64(b):
    return base64.b64encode(b).decode()


def unb64(s):
    return base64.b64decode(s, validate=True)


# ---------------------------------------------------------------- MLS codec

def varint(n):
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return struct.pack(">H", 0x4000 | n)
    return struct.pack(">I", 0x80000000 | n)


def vec(b):
    return varint(len(b)) + b


def u16(n):
    return struct.pack(">H", n)


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def sign_with_label(sk, label, content):
    """RFC 9420 section 5.1.2 SignWithLabel for Ed25519."""
    return sk.sign(vec(b"MLS 1.0 " + label.encode()) + vec(content))


class Identity:
    """A user: username and an Ed25519 signature key pair (suite 1)."""

    def __init__(self, username, suite=1):
        self.username = username
        self.suite = suite
        self.sk = Ed25519PrivateKey.generate()
        self.pk = self.sk.public_key().public_bytes(RAW, RAWPUB)

    def auth_signature(self, action, nonce, timestamp, username=None):
        content = (vec(action.encode()) + vec(nonce) + u64(timestamp) +
                   vec((username or self.username).encode()) + u16(self.suite) + vec(self.pk))
        return sign_with_label(self.sk, "mlschat auth v1", content)

    def key_package(self, identity=None, not_before=None, not_after=None, sig_sk=None,
                    suite=None, wrap=True, corrupt_sig=False, version=1, same_init=False,
                    corrupt_leaf_sig=False):
        """A real, signed KeyPackage (RFC 9420 section 10) for suite 1."""
        now = int(time.time())
        nb = now - 3600 if not_before is None else not_before
        na = now + 30 * 86400 if not_after is None else not_after
        suite = self.suite if suite is None else suite
        enc = X25519PrivateKey.generate().public_key().public_bytes(RAW, RAWPUB)
        init = enc if same_init else \
            X25519PrivateKey.generate().public_key().public_bytes(RAW, RAWPUB)
        ident = (identity or self.username).encode()
        caps = (vec(u16(1)) + vec(u16(suite)) + vec(b"") + vec(b"") + vec(u16(1)))
        leaf_tbs = (vec(enc) + vec(self.pk) + u16(1) + vec(ident) + caps + bytes([1]) +
                    u64(nb) + u64(na) + vec(b""))
        sk = sig_sk or self.sk
        leaf_sig = sign_with_label(sk, "LeafNodeTBS", leaf_tbs)
        if corrupt_leaf_sig:
            leaf_sig = bytes([leaf_sig[0] ^ 1]) + leaf_sig[1:]
        leaf = leaf_tbs + vec(leaf_sig)
        kp_tbs = u16(version) + u16(suite) + vec(init) + leaf + vec(b"")
        sig = sign_with_label(sk, "KeyPackageTBS", kp_tbs)
        if corrupt_sig:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        kp = kp_tbs + vec(sig)
        return (u16(1) + u16(5) + kp) if wrap else kp


def private_message(group_id, epoch, content_type=1, size=64):
    return (u16(1) + u16(2) + vec(group_id) + u64(epoch) + bytes([content_type]) + vec(b"") +
            vec(os.urandom(16)) + vec(os.urandom(size)))


def public_commit(group_id, epoch, leaf=0):
    """A PublicMessage (RFC 9420 section 6.2) from member `leaf` holding an
    empty Commit (no proposals, no path) with random signature and tags:
    it decodes, which is all the server checks."""
    return (u16(1) + u16(1) + vec(group_id) + u64(epoch) + bytes([1]) + u32(leaf) + vec(b"") +
            bytes([3]) + vec(b"") + bytes([0]) +
            vec(os.urandom(64)) + vec(os.urandom(32)) + vec(os.urandom(32)))


def welcome():
    secrets = vec(os.urandom(32)) + vec(os.urandom(32)) + vec(os.urandom(48))
    return u16(1) + u16(3) + u16(1) + vec(secrets) + vec(os.urandom(80))


def group_info(group_id, epoch):
    ctx = (u16(1) + u16(1) + vec(group_id) + u64(epoch) + vec(os.urandom(32)) +
           vec(os.urandom(32)) + vec(b""))
    return u16(1) + u16(4) + ctx + vec(b"") + vec(os.urandom(32)) + u32(0) + vec(os.urandom(64))


# ---------------------------------------------------------------- WebSocket

class WSClosed(Exception):
    pass


class WebSocket:
    """Blocking RFC 6455 client: text frames, masked, with fragmentation."""

    def __init__(self, port, path="/v1/ws", host="127.0.0.1", timeout=20, tls=None):
        """tls: an ssl.SSLContext for WSS, or None for plain WS."""
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=host)
        key = b64(os.urandom(16))
        req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mlschat.v1\r\n\r\n")
        self.sock.sendall(req.encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WSClosed("closed during handshake")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise WSClosed("upgrade refused: " + head.split(b"\r\n")[0].decode())
        self.closed = False

    def send_frame(self, opcode, payload, fin=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 65536 else \
            _mask_big(payload, mask)
        self.sock.sendall(head + mask + body)

    def send_text(self, text):
        self.send_frame(1, text.encode() if isinstance(text, str) else text)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                self.closed = True
                raise WSClosed("connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_text(self, timeout=20):
        """The next complete text message, or None on timeout."""
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        if not self.buf and not pending:
            r, _, _ = select.select([self.sock], [], [], timeout)
            if not r:
                return None
        self.sock.settimeout(timeout)
        data = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 8:
                self.closed = True
                raise WSClosed("close frame %r" % payload[:2])
            if op == 9:
                self.send_frame(10, payload)
                continue
            if op == 10:
                continue
            data += payload
            if b0 & 0x80:
                return data.decode()

    def close(self):
        try:
            self.send_frame(8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()


def _mask_big(payload, mask):
    m = int.from_bytes(mask * ((len(payload) + 3) // 4), "big") >> (8 * ((-len(payload)) % 4))
    return (int.from_bytes(payload, "big") ^ m).to_bytes(len(payload), "big")


# ---------------------------------------------------------------- protocol

class Client:
    """One WebSocket connection speaking the mlschat protocol."""

    def __init__(self, port, identity=None, tls=None):
        self.port = port
        self.ws = WebSocket(port, tls=tls)
        self.events = []
        self.next_id = 1
        first = json.loads(self.ws.recv_text())
        assert first["event"] == "challenge", first
        self.nonce = unb64(first["nonce"])
        self.id = identity

    def send(self, obj):
        self.ws.send_text(json.dumps(obj))

    def request(self, type_, timeout=30, **fields):
        rid = self.next_id
        self.next_id += 1
        msg = {"id": rid, "type": type_}
        msg.update(fields)
        self.send(msg)
        return self.wait_response(rid, timeout)

    def wait_response(self, rid, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.ws.recv_text(max(0.1, deadline - time.time()))
            if text is None:
                break
            obj = json.loads(text)
            if "event" in obj:
                self.events.append(obj)
                continue
            if obj.get("id") == rid or obj.get("id") is None:
                if not obj.get("ok") and "nonce" in obj:
                    self.nonce = unb64(obj["nonce"])
                return obj
        raise TimeoutError("no response to request %d" % rid)

    def wait_event(self, pred, timeout=30):
        deadline = time.time() + timeout
        while True:
            for i, e in enumerate(self.events):
                if pred(e):
                    return self.events.pop(i)
            if time.time() > deadline:
                raise TimeoutError("event not received")
            text = self.ws.recv_text(0.2)
            if text is not None:
                obj = json.loads(text)
                if "event" in obj:
                    self.events.append(obj)

    def register(self, ident=None, **override):
        ident = ident or self.id
        self.id = ident
        ts = int(time.time())
        fields = dict(username=ident.username, cipher_suite=ident.suite,
                      signature_key=b64(ident.pk), nonce=b64(self.nonce), timestamp=ts,
                      signature=b64(ident.auth_signature("register", self.nonce, ts)))
        fields.update(override)
        return self.request("register", **fields)

    def login(self, ident=None, **override):
        ident = ident or self.id
        self.id = ident
        ts = override.pop("ts", int(time.time()))
        fields = dict(username=ident.username, nonce=b64(self.nonce), timestamp=ts,
                      signature=b64(ident.auth_signature("login", self.nonce, ts)))
        fields.update(override)
        return self.request("login", **fields)

    def close(self):
        self.ws.close()


# ---------------------------------------------------------------- server process

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pg_database():
    """A new, empty database in the PostgreSQL cluster MLSCHAT_TEST_PG
    names (a libpq URI without a database, tests/integration/pg_test.sh),
    as the --database URI of a server; None when that is not set."""
    base = os.environ.get("MLSCHAT_TEST_PG")
    if not base:
        return None
    name = "t" + os.urandom(8).hex()
    subprocess.run(["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", base + "/postgres",
                    "-c", "CREATE DATABASE " + name], check=True)
    return base + "/" + name


class Server:
    """The real ./server binary on a free port with a temporary database
    (SQLite; PostgreSQL when MLSCHAT_TEST_PG is set)."""

    def __init__(self, binary, db=None, args=(), tls=None, env=None):
        """tls: (cert.pem, key.pem) to serve HTTPS/WSS; clients then trust
        that certificate.  env: variables added to the server's
        environment."""
        self.binary = os.path.abspath(binary)
        self.tls = None
        if tls:
            args = list(args) + ["--tls-cert", tls[0], "--tls-key", tls[1]]
            self.tls = ssl.create_default_context(cafile=tls[0])
        self.dir = tempfile.mkdtemp(prefix="mlschat-test-")
        self.db = db or pg_database() or os.path.join(self.dir, "test.db")
        self.args = list(args)
        self.proc = None
        self.port = None
        self.log = None
        self.env = dict(os.environ, **env) if env else None

    def start(self):
        for _ in range(5):
            self.port = free_port()
            self.log = open(os.path.join(self.dir, "server.log"), "ab")
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--database", self.db,
                 "--listen", "127.0.0.1", "--log-level", "warn"] + self.args,
                stdout=self.log, stderr=self.log, env=self.env)
            deadline = time.time() + 20
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    self.http("/health")
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("server did not start; log in " + self.dir)

    def http(self, path):
        """(status, body bytes)"""
        try:
            scheme = "https" if self.tls else "http"
            with urllib.request.urlopen("%s://127.0.0.1:%d%s" % (scheme, self.port, path),
                                        timeout=10, context=self.tls) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def client(self, ident=None):
        return Client(self.port, ident, tls=self.tls)

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self, sig=None):
        if self.proc and self.proc.poll() is None:
            if sig:
                self.proc.send_signal(sig)
            else:
                self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None
