"""Helpers for the client acceptance tests: the real ./server on a free
port with a temporary database, real ./client processes in line mode (stdin
and stdout are pipes), a TCP proxy that can stall or cut a client's link,
and tmux for the curses UI.  Every wait polls with a generous timeout;
nothing depends on timing."""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time

TIMEOUT = float(os.environ.get("CLIENT_TEST_TIMEOUT", "30"))


class TestFailure(Exception):
    pass


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def poll(cond, what, timeout=TIMEOUT):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise TestFailure("timed out waiting for " + what)


class Server:
    def __init__(self, binary, tmp, tls=None, extra=(), database=None):
        self.binary = binary
        # --database: tmp/server.db unless given (a PostgreSQL URI shared
        # by several Server objects, tests/integration/test_pg.py).
        self.database = database or os.path.join(tmp, "server.db")
        self.extra = list(extra)  # more server options, e.g. ["--rate", "5"]
        self.tmp = tmp
        self.port = None
        self.proc = None
        self.tls = tls  # (cert, key) for https

    def start(self):
        for _ in range(20):
            self.port = free_port()
            pidfile = os.path.join(self.tmp, "server.pid")
            if os.path.exists(pidfile):
                os.unlink(pidfile)
            log = open(os.path.join(self.tmp, "server.log"), "a")
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--listen", "127.0.0.1",
                 "--database", self.database, "--pidfile", pidfile]
                + (["--tls-cert", self.tls[0], "--tls-key", self.tls[1]] if self.tls else [])
                + self.extra,
                stdout=log, stderr=subprocess.STDOUT)
            end = time.time() + 10
            while time.time() < end and self.proc.poll() is None and not os.path.exists(pidfile):
                time.sleep(0.02)
            if os.path.exists(pidfile) and self.proc.poll() is None:
                return self
        raise TestFailure("the server did not start")

    @property
    def url(self):
        if self.tls:
            return "https://localhost:%d" % self.port
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Client:
    """A ./client in line mode; every stdout line is recorded."""

    def __init__(self, binary, url, config, group, user, tmp, name=None, extra=(), create=True):
        """create: pass --create (the consent to make the group if the
        server has none of that name; an existing group just opens).  On by
        default, so the first user of a group creates it as in the README's
        story; a test of the refusal passes create=False."""
        self.name = name or user
        self.user = user
        self.lines = []
        self.lock = threading.Lock()
        self.debug = os.path.join(tmp, "debug-%s-%d.log" % (self.name, int(time.time() * 1000)))
        env = dict(os.environ, MLSCHAT_DEBUG=self.debug, **sanitizer_env(tmp))
        self.proc = subprocess.Popen(
            [binary, "--server", url, "--config", config] + list(extra)
            + (["--create"] if create else []) + [group, user],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def say(self, text):
        self.proc.stdin.write((text + "\n").encode())
        self.proc.stdin.flush()

    def eof(self):
        """Closes the client's stdin (end of input in line mode)."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def wait_exit(self, timeout=TIMEOUT):
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s did not exit; output:\n%s" % (
                self.name, "\n".join(self.snapshot())))
        self.reader.join(5)
        return self.proc.returncode

    def find(self, pattern, start=0):
        rx = re.compile(pattern)
        lines = self.snapshot()
        for i in range(start, len(lines)):
            if rx.search(lines[i]):
                return i
        return None

    def wait_for(self, pattern, start=0, timeout=TIMEOUT):
        """Waits for a line matching the regex; returns its index."""
        end = time.time() + timeout
        while time.time() < end:
            i = self.find(pattern, start)
            if i is not None:
                return i
            if self.proc.poll() is not None:
                time.sleep(0.2)
                i = self.find(pattern, start)
                if i is not None:
                    return i
                raise TestFailure("%s exited (%s) before showing %r; output:\n%s" % (
                    self.name, self.proc.returncode, pattern, "\n".join(self.snapshot())))
            time.sleep(0.05)
        raise TestFailure("%s: timed out waiting for %r; output:\n%s" % (
            self.name, pattern, "\n".join(self.snapshot())))

    def count(self, pattern, start=0):
        rx = re.compile(pattern)
        return sum(1 for l in self.snapshot()[start:] if rx.search(l))

    def mark(self):
        return len(self.snapshot())

    def quit(self, timeout=TIMEOUT):
        if self.proc.poll() is None:
            try:
                self.say("/quit")
            except BrokenPipeError:
                pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s did not quit" % self.name)
        self.reader.join(5)
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(5)


def msg(group, user, text):
    """The regex of a message line as the seed prints it."""
    return "^" + re.escape("#%s <%s>  %s" % (group, user, text)) + "$"


class Proxy:
    """A TCP proxy in front of the server.  pause() stops forwarding in both
    directions (bytes wait in the kernel), resume() continues; cut() closes
    every connection and refuses new ones until restore()."""

    def __init__(self, target_port):
        self.target = target_port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.running = threading.Event()
        self.running.set()
        self.refuse = False
        self.conns = []
        self.lock = threading.Lock()
        # hold(): bytes from the clients are kept here, per upstream socket.
        self.holding = False
        self.held = {}
        self.stranded = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.refuse:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns.append((c, u))
            threading.Thread(target=self._pipe, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, False), daemon=True).start()

    def _pipe(self, a, b, upstream):
        try:
            while True:
                self.running.wait()
                r, _, _ = select.select([a], [], [], 0.05)
                if not r:
                    continue
                if not self.running.is_set():
                    continue
                data = a.recv(65536)
                if not data:
                    break
                with self.lock:
                    if upstream and (self.holding or b in self.held):
                        self.held.setdefault(b, bytearray()).extend(data)
                        continue
                    if not upstream and a in self.stranded:
                        continue
                b.sendall(data)
        except (OSError, ValueError):
            pass  # a socket closed under us (cut, strand, stop)
        with self.lock:
            if upstream and b in self.stranded:
                return  # the server's side stays open for release()
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def pause(self):
        self.running.clear()

    def resume(self):
        self.running.set()

    def wait_held(self, min_bytes, timeout=30.0):
        """While paused: wait until a client has sent at least min_bytes
        that the proxy now holds (e.g. a commit, not a ping), so a test can
        order events without sleeping."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                conns = list(self.conns)
            for c, _ in conns:
                try:
                    r, _, _ = select.select([c], [], [], 0)
                    if r and len(c.recv(65536, socket.MSG_PEEK)) >= min_bytes:
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise TestFailure("proxy: no client sent %d bytes while paused" % min_bytes)

    def hold(self):
        """From now on, bytes from the clients are kept, not forwarded."""
        with self.lock:
            self.holding = True

    def held_bytes(self):
        with self.lock:
            return sum(len(v) for v in self.held.values())

    def strand(self):
        """Closes the clients' side of every connection; the server's side
        stays open with the bytes held for it (a link that broke for the
        client while the network still has its data).  New connections
        pass normally."""
        with self.lock:
            self.holding = False
            conns, self.conns = self.conns, []
            for c, u in conns:
                self.stranded.append(u)
                self.held.setdefault(u, bytearray())
        for c, _ in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass

    def release(self):
        """Delivers the held bytes to the server, late, on the connections
        they were sent on."""
        with self.lock:
            held, self.held = self.held, {}
        for u, data in held.items():
            try:
                u.sendall(bytes(data))
            except OSError:
                pass

    def cut(self):
        self.refuse = True
        with self.lock:
            conns, self.conns = self.conns, []
        for c, u in conns:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass

    def restore(self):
        self.refuse = False

    def stop(self):
        self.stopped = True
        self.cut()
        with self.lock:
            stranded, self.stranded = self.stranded, []
        for u in stranded:
            try:
                u.close()
            except OSError:
                pass
        self.running.set()
        self.sock.close()


class RewritingProxy(Proxy):
    """A proxy that plays a misbehaving server: what the server sends is
    parsed as WebSocket frames (RFC 6455 §5.2; a server's frames are not
    masked) and each JSON text message goes through rewrite(obj), which
    returns the object to send instead.  What clients send passes
    unchanged."""

    def __init__(self, target_port, rewrite):
        self.rewrite = rewrite
        Proxy.__init__(self, target_port)

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns.append((c, u))
            threading.Thread(target=self._pipe, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pipe_frames, args=(u, c), daemon=True).start()

    @staticmethod
    def _frame(opcode, payload, fin=True):
        head = bytes([(0x80 if fin else 0) | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([n])
        elif n < 65536:
            head += bytes([126]) + n.to_bytes(2, "big")
        else:
            head += bytes([127]) + n.to_bytes(8, "big")
        return head + payload

    def _pipe_frames(self, a, b):
        import json
        buf = b""
        upgraded = False
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                buf += data
                if not upgraded:
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    b.sendall(buf[:end + 4])
                    buf = buf[end + 4:]
                    upgraded = True
                while len(buf) >= 2:
                    fin, opcode, n, off = buf[0] & 0x80, buf[0] & 0x0F, buf[1] & 0x7F, 2
                    if n == 126:
                        if len(buf) < 4:
                            break
                        n, off = int.from_bytes(buf[2:4], "big"), 4
                    elif n == 127:
                        if len(buf) < 10:
                            break
                        n, off = int.from_bytes(buf[2:10], "big"), 10
                    if len(buf) < off + n:
                        break
                    payload, raw = buf[off:off + n], buf[:off + n]
                    buf = buf[off + n:]
                    if fin and opcode == 1:
                        try:
                            obj = self.rewrite(json.loads(payload.decode()))
                            raw = self._frame(1, json.dumps(obj).encode())
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


class Tmux:
    """A tmux server of our own (its own socket) running clients on real
    pseudo-terminals."""

    def __init__(self, tmp):
        self.sock = os.path.join(tmp, "tmux.sock")
        self.sessions = []

    def _tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), check=check,
                              capture_output=True, text=True)

    def start(self, name, argv, env=None, width=140, height=32):
        cmd = " ".join(shlex_quote(a) for a in argv)
        envs = []
        for k, v in (env or {}).items():
            envs += ["-e", "%s=%s" % (k, v)]
        self._tmux("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
                   *envs, cmd)
        self._tmux("set-option", "-t", self._target(name), "remain-on-exit", "on")
        self.sessions.append(name)

    @staticmethod
    def _target(name):
        # "=name:" is exactly that session (a bare name may match a window
        # of another session by prefix).
        return "=%s:" % name

    def keys(self, name, *keys):
        self._tmux("send-keys", "-t", self._target(name), *keys)

    def type(self, name, text):
        self._tmux("send-keys", "-t", self._target(name), "-l", text)
        self._tmux("send-keys", "-t", self._target(name), "Enter")

    def screen(self, name):
        return self._tmux("capture-pane", "-p", "-t", self._target(name)).stdout

    def history(self, name):
        """The screen and the lines scrolled off it."""
        return self._tmux("capture-pane", "-p", "-S", "-", "-t", self._target(name)).stdout

    def wait_screen(self, name, pattern, timeout=TIMEOUT, history=False):
        """Waits for the screen (with history: also the lines scrolled
        off it, e.g. by tmux's "Pane is dead" line) to match."""
        rx = re.compile(pattern, re.M)
        end = time.time() + timeout
        while time.time() < end:
            s = self.history(name) if history else self.screen(name)
            if rx.search(s):
                return s
            time.sleep(0.1)
        raise TestFailure("tmux %s: timed out waiting for %r; screen:\n%s" % (
            name, pattern, self.screen(name)))

    def resize(self, name, width, height):
        self._tmux("resize-window", "-t", self._target(name), "-x", str(width), "-y", str(height), check=False)

    def dead(self, name):
        r = self._tmux("display-message", "-p", "-t", self._target(name), "#{pane_dead}",
                       check=False)
        return r.stdout.strip() == "1"

    def stop(self):
        self._tmux("kill-server", check=False)


def sanitizer_env(tmp):
    """Sanitizer reports (SANITIZE=1 builds) go to files the tests check."""
    p = os.path.join(tmp, "sanitizer")
    return {"ASAN_OPTIONS": "log_path=%s:detect_leaks=1" % p,
            "UBSAN_OPTIONS": "log_path=%s:print_stacktrace=1" % p}


def sanitizer_reports(tmp):
    out = []
    for f in sorted(os.listdir(tmp)):
        if f.startswith("sanitizer"):
            with open(os.path.join(tmp, f), errors="replace") as fh:
                out.append(f + ":\n" + fh.read())
    return out


def shlex_quote(s):
    import shlex
    return shlex.quote(s)


def have_tmux():
    return shutil.which("tmux") is not None


# ---- the client's sealed database fields (src/client/seal.c), opened here
# independently of the client's code

SEAL_LABEL = b"mlschat seal v1\0"  # seal.c: SEAL_AD_LABEL with its NUL


def data_key(config):
    """The data key of a config directory without a passphrase, read from
    its key file ("MLSCKEY1", kind 0, the 32-byte key)."""
    with open(os.path.join(config, "key"), "rb") as f:
        raw = f.read()
    assert raw[:9] == b"MLSCKEY1\0" and len(raw) == 41, raw[:9]
    return raw[9:]


def unseal(key, field, row, blob):
    """A sealed field in clear: AES-256-GCM, version 1 | nonce[12] |
    ciphertext | tag[16], with label, field, NUL and the row's key as
    associated data.  Raises if it does not open."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    assert blob[0] == 1, blob[:1]
    return AESGCM(key).decrypt(blob[1:13], blob[13:], SEAL_LABEL + field + b"\0" + row)
