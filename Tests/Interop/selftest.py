#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""End-to-end check of libtorrent_dht.py with libtorrent only (no Potluck node).

    /usr/bin/python3 Tests/Interop/selftest.py [--base-port 47500]

Starts the fixture with 3 sessions on 127.0.0.1, drives it over stdin/stdout
as the Swift test will, and prints timings and 'N passed, N failed'.
Bounded: every answer is awaited at most 60 s, the whole run at most ~3 min.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"   # RFC 8032 test 1
PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


class Fixture:
    def __init__(self, base_port):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "libtorrent_dht.py"), "--nodes", "3",
             "--base-port", str(base_port), "--max-lifetime", "300"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, bufsize=1)
        self.next_id = 0
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(json.loads(line))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def read(self, timeout=60.0):
        end = time.monotonic() + timeout
        with self.cond:
            while not self.lines:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError("fixture did not answer")
                self.cond.wait(left)
            line = self.lines.pop(0)
        if line is None:
            raise EOFError("fixture exited")
        return line

    def call(self, cmd, **kw):
        self.next_id += 1
        kw.update(cmd=cmd, id=self.next_id)
        t0 = time.monotonic()
        self.proc.stdin.write(json.dumps(kw) + "\n")
        self.proc.stdin.flush()
        res = self.read()
        assert res.get("id") == self.next_id, res
        res["_wall_ms"] = round((time.monotonic() - t0) * 1000, 1)
        return res

    def close(self):
        try:
            self.call("quit")
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        return self.proc.returncode


def signature_ok(pub_hex, salt, seq, v_bencoded, sig_hex):
    """BEP 44 signature check with python3-cryptography, when it is installed."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return None
    buf = b""
    if salt:
        buf += b"4:salt%d:" % len(salt) + salt
    buf += b"3:seqi%de1:v" % seq + v_bencoded
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(pub_hex)).verify(bytes.fromhex(sig_hex), buf)
        return True
    except Exception:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-port", type=int, default=47500)
    args = ap.parse_args()
    passed, failed = [], []

    def check(name, cond, detail=""):
        (passed if cond else failed).append(name)
        print(("PASS " if cond else "FAIL ") + name + (("  " + str(detail)) if detail else ""))
        sys.stdout.flush()

    t0 = time.monotonic()
    fx = Fixture(args.base_port)
    try:
        ready = fx.read(60)
        ready_ms = round((time.monotonic() - t0) * 1000, 1)
        check("ready", ready.get("ready") is True and len(ready["nodes"]) == 3, ready)
        print("timing: ready after %.1f ms wall (fixture says %.1f ms)" % (ready_ms, ready.get("elapsed_ms", -1)))
        ids = [n["node_id"] for n in ready["nodes"]]
        check("node ids are 40 hex", all(isinstance(i, str) and len(i) == 40 for i in ids), ids)

        r = fx.call("wait_table", node=2, min_nodes=2, timeout=10)
        check("wait_table", r["ok"] and r["count"] >= 2, r)

        r = fx.call("put_immutable", node=0, value="hello from libtorrent")
        target = hashlib.sha1(b"21:hello from libtorrent").hexdigest()
        check("put_immutable", r["ok"] and r["target"] == target and r["num_success"] >= 1, r)
        print("timing: immutable put %.1f ms (wall %.1f ms)" % (r.get("elapsed_ms", -1), r["_wall_ms"]))
        r = fx.call("get_immutable", node=2, target=target)
        check("get_immutable from another session", r["ok"] and r["found"] and r["value"] == "hello from libtorrent", r)
        print("timing: immutable get %.1f ms" % r.get("elapsed_ms", -1))
        r = fx.call("get_immutable", node=1, target="00" * 19 + "01", timeout=10)
        check("get_immutable missing -> found false", r["ok"] and r["found"] is False, r)

        r = fx.call("put_mutable", node=0, seed=SEED, salt="potluck", value="first")
        check("put_mutable public key = RFC 8032", r["ok"] and r["public_key"] == PUBLIC, r)
        check("put_mutable target = sha1(pk+salt)",
              r.get("target") == hashlib.sha1(bytes.fromhex(PUBLIC) + b"potluck").hexdigest(), r)
        check("put_mutable seq 1 first", r.get("seq") == 1 and r.get("num_success", 0) >= 1, r)
        print("timing: mutable put %.1f ms" % r.get("elapsed_ms", -1))
        r = fx.call("put_mutable", node=1, seed=SEED, salt="potluck", value="second", seq=2)
        check("put_mutable again -> seq 2", r["ok"] and r["seq"] == 2, r)
        r = fx.call("put_mutable", node=1, seed=SEED, salt="potluck", value="third", seq=7)
        check("put_mutable cannot choose seq (ok false)", r["ok"] is False and r.get("seq") == 3, r)
        r = fx.call("get_mutable", node=2, public_key=PUBLIC, salt="potluck")
        check("get_mutable from another session", r["ok"] and r["found"] and r["value"] == "third" and r["seq"] == 3, r)
        sig = signature_ok(PUBLIC, b"potluck", r.get("seq", 0), bytes.fromhex(r.get("value_bencoded_hex", "")),
                           r.get("signature", ""))
        if sig is None:
            print("SKIP signature check (python3-cryptography not installed)")
        else:
            check("libtorrent's signature is standard ed25519 over the BEP 44 buffer", sig)
        r = fx.call("get_mutable", node=2, public_key=PUBLIC, salt="other", timeout=10)
        check("get_mutable other salt -> found false", r["ok"] and r["found"] is False, r)

        r = fx.call("ping", node=1)
        port1 = ready["nodes"][1]["port"]
        check("ping", r["ok"] and r["y"] == "r" and r["node_id"] == ids[1], r)
        print("timing: ping rtt %.3f ms" % r.get("rtt_ms", -1))
        r = fx.call("find_node", host="127.0.0.1", port=port1, target=ids[0])
        check("find_node returns the other sessions",
              r["ok"] and {n["id"] for n in r.get("nodes", [])} >= {ids[0], ids[2]}, r)

        # a dict-valued immutable item, stored through raw KRPC (as a Potluck node would)
        v = {"n": "potluck", "x": 1}
        vt = hashlib.sha1(b"d1:n7:potluck1:xi1ee").hexdigest()
        g = fx.call("krpc", node=1, q="get", args_hex={"target": vt})
        token = g.get("reply", {}).get("r", {}).get("token")
        p = fx.call("krpc", node=1, q="put", args={"v": v}, args_hex={"token": token or ""})
        check("raw KRPC put of a dict item accepted", p["ok"] and p["y"] == "r", p)
        r = fx.call("get_immutable", node=0, target=vt)
        check("get_immutable of a dict item (raw value from packet capture)",
              r["ok"] and r["found"] and r.get("value_type") == "dict"
              and r.get("value_bencoded_hex") == b"d1:n7:potluck1:xi1ee".hex(), r)

        r = fx.call("nonsense")
        check("unknown command -> ok false", r["ok"] is False and "unknown" in r["error"], r)
        r = fx.call("status")
        check("status", r["ok"] and len(r["nodes"]) == 3, r)
    except Exception as exc:
        check("no exception", False, "%s: %s" % (type(exc).__name__, exc))
    finally:
        rc = fx.close()
        check("clean exit", rc == 0, "rc=%s" % rc)
    print("total %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (len(passed), len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
