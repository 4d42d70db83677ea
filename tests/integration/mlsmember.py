"""Group members for the acceptance tests: users whose MLS objects are real,
built through libmls by tests/tools/mlsforge (the server validates every
commit and proposal with its public view of the group, docs/PROTOCOL.md
section 7.4), so that a test can create groups, invite, commit and join.

MLSFORGE names the tool (default build/rel/bin/mlsforge).
"""

import json
import os
import shutil
import subprocess
import tempfile

from dsclient import Identity, b64, u16, u64, unb64, vec

FORGE = os.environ.get("MLSFORGE", "build/rel/bin/mlsforge")
TMP = tempfile.mkdtemp(prefix="mlschat-members-")


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


def ok(resp, what=""):
    expect(resp.get("ok") is True, "%s: expected ok, got %s" % (what, str(resp)[:300]))
    return resp


def refused(resp, code, what=""):
    expect(resp.get("ok") is False and resp.get("error") == code,
           "%s: expected error %s, got %s" % (what, code, str(resp)[:300]))
    return resp


def cleanup():
    shutil.rmtree(TMP, ignore_errors=True)


def forge(*args):
    """mlsforge's stdout; a failure is a test failure."""
    r = subprocess.run([FORGE] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        raise Fail("mlsforge %s failed: %s" % (args[0], r.stderr.strip()))
    return r.stdout.strip()


def forge_json(*args):
    return json.loads(forge(*args))


class ForgeIdentity(Identity):
    """A user whose Ed25519 key lives in an mlsforge identity file, so that
    its MLS objects carry the key the directory holds; login challenges are
    signed by mlsforge (docs/PROTOCOL.md section 3)."""

    def __init__(self, username):
        self.username = username
        self.suite = 1
        self.dir = tempfile.mkdtemp(prefix=username + "-", dir=TMP)
        self.keyfile = os.path.join(self.dir, "key")
        self.pk = unb64(forge("identity", username, self.keyfile))
        self.states = {}  # group name -> MLS state file
        self.bundle = os.path.join(self.dir, "bundle")

    def auth_signature(self, action, nonce, timestamp, username=None):
        content = (vec(action.encode()) + vec(nonce) + u64(timestamp) +
                   vec((username or self.username).encode()) + u16(self.suite) + vec(self.pk))
        return unb64(forge("sign", self.keyfile, "mlschat auth v1", b64(content)))

    def key_package_b64(self):
        return forge("kp", self.keyfile, self.bundle)

    def state(self, group):
        return self.states.setdefault(group, os.path.join(self.dir, group + ".state"))

    def snapshot(self, group):
        """A copy of the group state now, to build a commit that goes stale."""
        path = self.state(group) + ".old"
        shutil.copyfile(self.state(group), path)
        return path

    def leaf_of(self, group, name):
        info = forge_json("info", self.state(group))
        return [m["leaf"] for m in info["members"] if m["identity"] == name][0]


REGISTRY = {}  # username -> ForgeIdentity


def member(srv, name, keep=True):
    """A registered user who can be a group member (mlsforge key); its
    connection is closed unless keep."""
    ident = ForgeIdentity(name)
    REGISTRY[name] = ident
    c = srv.client(ident)
    ok(c.register(), "register " + name)
    if not keep:
        c.close()
        return ident, None
    return ident, c


def make_group(c, name):
    """Creates group `name` with the caller's GroupInfo (section 7.1)."""
    out = forge_json("create", c.id.keyfile, c.id.state(name), name)
    ok(c.request("group.create", name=name, group_id=out["group_id"], epoch=0,
                 group_info=out["group_info"]), "group.create")
    return unb64(out["group_id"])


def commit_request(c, group, out, epoch=None, **extra):
    """The group.commit request for mlsforge commit output."""
    req = dict(group=group, epoch=out["epoch"] - 1 if epoch is None else epoch,
               commit=out["commit"], **extra)
    if out["welcomes"]:
        req["welcomes"] = [{"welcome": w} for w in out["welcomes"]]
    if out.get("group_info"):
        req["group_info"] = out["group_info"]
    return req


def send_commit(c, group, out, **extra):
    """Sends a commit; once accepted the committer adopts its next state."""
    r = c.request("group.commit", **commit_request(c, group, out, **extra))
    nxt = c.id.state(group) + ".next"
    if r.get("ok") and os.path.exists(nxt):
        os.replace(nxt, c.id.state(group))
    elif os.path.exists(nxt):
        os.unlink(nxt)
    return r


def commit(c, group, *opts, state=None, **extra):
    out = forge_json("commit", state or c.id.state(group), *opts)
    return send_commit(c, group, out, **extra)


def add_member(admin, group, idents):
    """The administrator adds these users (ForgeIdentity or username; fresh
    KeyPackages of theirs)."""
    opts = []
    for ident in idents:
        ident = REGISTRY[ident] if isinstance(ident, str) else ident
        opts += ["--add", ident.key_package_b64()]
    return commit(admin, group, *opts)


def join(c, group):
    """Joins from the Welcome in the inbox; returns its inbox entry."""
    entries = [e for e in ok(c.request("inbox.fetch"))["entries"] if e["group"] == group]
    expect(entries, "%s has an invitation to %s" % (c.id.username, group))
    e = entries[-1]
    forge("join", c.id.keyfile, c.id.bundle, e["welcome"], c.id.state(group))
    return e


def refused_rule(resp, rule, what=""):
    refused(resp, "invalid_commit", what)
    expect(resp.get("rule") == rule, "%s: expected rule %s, got %s" % (what, rule, resp))
    return resp


