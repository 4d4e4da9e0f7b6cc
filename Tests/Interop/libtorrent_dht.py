#!/usr/bin/python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Potluck interop fixture: real libtorrent (Debian 12 python3-libtorrent 2.0.8)
Mainline DHT nodes on 127.0.0.1, driven by JSON lines on stdin.

Run it with Debian's interpreter (the module is built for it, not for pyenv):

    /usr/bin/python3 Tests/Interop/libtorrent_dht.py --nodes 3 --base-port 47000

Protocol (one JSON object per line; every answer is flushed at once):
  stdout, first line:  {"ready": true, "nodes": [{"port": P, "node_id": "<40 hex>", "table": n}, ...]}
                       or {"ready": false, "error": "..."} (then exit status 1)
  stdin:  {"cmd": "...", "id": <int>, ...}
  stdout: {"id": <int>, "ok": true|false, ...}   ("error" says why when ok is false)
See Tests/Interop/README.md for every command. Logs go to stderr only.
Only 127.0.0.1 is ever contacted; every wait is bounded in time.
"""

import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time

try:
    import libtorrent as lt
except ImportError as exc:  # pragma: no cover - depends on the interpreter
    sys.stdout.write(json.dumps({"ready": False, "error": "cannot import libtorrent (%s); "
                                 "install python3-libtorrent and run with /usr/bin/python3" % exc}) + "\n")
    sys.stdout.flush()
    sys.exit(1)

LOOPBACK = "127.0.0.1"
DEFAULT_TIMEOUT = 30.0
MAX_TIMEOUT = 120.0


def log(*parts):
    sys.stderr.write("[libtorrent_dht %.3f] %s\n" % (time.monotonic(), " ".join(str(p) for p in parts)))
    sys.stderr.flush()


# --------------------------------------------------------------------------
# bencode (own implementation, used for the raw KRPC client and packet capture)

def bencode(obj):
    out = []

    def enc(o):
        if isinstance(o, bool):
            raise TypeError("bool is not bencodable")
        if isinstance(o, int):
            out.append(b"i%de" % o)
        elif isinstance(o, (bytes, bytearray)):
            out.append(b"%d:" % len(o))
            out.append(bytes(o))
        elif isinstance(o, str):
            enc(o.encode("utf-8"))
        elif isinstance(o, (list, tuple)):
            out.append(b"l")
            for x in o:
                enc(x)
            out.append(b"e")
        elif isinstance(o, dict):
            out.append(b"d")
            items = [((k.encode("utf-8") if isinstance(k, str) else bytes(k)), v) for k, v in o.items()]
            for k, v in sorted(items, key=lambda kv: kv[0]):
                enc(k)
                enc(v)
            out.append(b"e")
        else:
            raise TypeError("cannot bencode %r" % type(o))

    enc(obj)
    return b"".join(out)


def bdecode(data):
    def dec(i, depth):
        if depth > 64:
            raise ValueError("bencode nesting too deep")
        c = data[i:i + 1]
        if c == b"i":
            j = data.index(b"e", i)
            return int(data[i + 1:j]), j + 1
        if c == b"l":
            i += 1
            res = []
            while data[i:i + 1] != b"e":
                if i >= len(data):
                    raise ValueError("truncated list")
                v, i = dec(i, depth + 1)
                res.append(v)
            return res, i + 1
        if c == b"d":
            i += 1
            res = {}
            while data[i:i + 1] != b"e":
                if i >= len(data):
                    raise ValueError("truncated dict")
                k, i = dec(i, depth + 1)
                if not isinstance(k, bytes):
                    raise ValueError("dict key is not a string")
                v, i = dec(i, depth + 1)
                res[k] = v
            return res, i + 1
        if c.isdigit():
            j = data.index(b":", i)
            n = int(data[i:j])
            if j + 1 + n > len(data):
                raise ValueError("truncated string")
            return data[j + 1:j + 1 + n], j + 1 + n
        raise ValueError("bad bencode at offset %d" % i)

    v, end = dec(0, 0)
    if end != len(data):
        raise ValueError("trailing bytes after bencoded value")
    return v


TEXT_KEYS = (b"y", b"q")


def jsonable(o):
    """Decoded bencode -> JSON: dict keys as text, every byte string as hex
    (except the KRPC message type 'y' and query name 'q', kept as text)."""
    if isinstance(o, dict):
        return {k.decode("utf-8", "backslashreplace"):
                (v.decode("latin-1") if k in TEXT_KEYS and isinstance(v, bytes) else jsonable(v))
                for k, v in o.items()}
    if isinstance(o, list):
        return [jsonable(x) for x in o]
    if isinstance(o, (bytes, bytearray)):
        return bytes(o).hex()
    return o


def text_or_none(b):
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


def parse_compact_nodes(blob):
    nodes = []
    for off in range(0, len(blob) - len(blob) % 26, 26):
        rec = blob[off:off + 26]
        nodes.append({"id": rec[:20].hex(), "host": socket.inet_ntoa(rec[20:24]),
                      "port": int.from_bytes(rec[24:26], "big")})
    return nodes


# --------------------------------------------------------------------------
# ed25519 (RFC 8032), pure Python: only to derive the public key from a seed.
# libtorrent's python binding for 2.0.8 exposes no ed25519 functions at all.

_P = 2 ** 255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P != 0:
        x = x * _SQRT_M1 % _P
    if x & 1 != sign:
        x = _P - x
    return x


_GY = 4 * pow(5, _P - 2, _P) % _P
_GX = _recover_x(_GY, 0)
_G = (_GX, _GY, 1, _GX * _GY % _P)


def _add(p1, p2):
    a = (p1[1] - p1[0]) * (p2[1] - p2[0]) % _P
    b = (p1[1] + p1[0]) * (p2[1] + p2[0]) % _P
    c = 2 * p1[3] * p2[3] * _D % _P
    d = 2 * p1[2] * p2[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


_L = 2 ** 252 + 27742317777372353535851937790883648493


def _decompress(b):
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if x2 == 0:
        return None if sign else (0, y, 1, 0)
    x = _recover_x(y, sign)
    if (x * x - x2) % _P != 0:
        return None
    return (x, y, 1, x * y % _P)


def _equal(p1, p2):
    return ((p1[0] * p2[2] - p2[0] * p1[2]) % _P == 0 and (p1[1] * p2[2] - p2[1] * p1[2]) % _P == 0)


def ed25519_verify(public, msg, sig):
    """RFC 8032 verification (cofactorless), pure Python."""
    if len(public) != 32 or len(sig) != 64:
        return False
    a = _decompress(public)
    r = _decompress(sig[:32])
    s = int.from_bytes(sig[32:], "little")
    if a is None or r is None or s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + public + msg).digest(), "little") % _L
    return _equal(_mul(s, _G), _add(r, _mul(h, a)))


def bep44_signed_buffer(salt, seq, v_bencoded):
    buf = b""
    if salt:
        buf += b"4:salt%d:" % len(salt) + salt
    return buf + b"3:seqi%de1:v" % seq + v_bencoded


def ed25519_keys_from_seed(seed):
    """32-byte seed -> (public 32 bytes, libtorrent secret 64 bytes).

    The public key is the standard one (RFC 8032 / libsodium crypto_sign_seed_keypair).
    libtorrent's secret key is NOT libsodium's (seed || public): it is the
    'expanded' key SHA-512(seed) with the first half clamped (orlp/ed25519 format).
    """
    if len(seed) != 32:
        raise ValueError("seed must be 32 bytes")
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    a = int.from_bytes(bytes(h[:32]), "little")
    x, y, z, _ = _mul(a, _G)
    zi = pow(z, _P - 2, _P)
    x, y = x * zi % _P, y * zi % _P
    public = (y | ((x & 1) << 255)).to_bytes(32, "little")
    return public, bytes(h)


# --------------------------------------------------------------------------
# libtorrent sessions

def session_settings(port, verbose):
    cat = lt.alert.category_t
    mask = (cat.dht_notification | cat.dht_operation_notification | cat.dht_log_notification
            | cat.error_notification | cat.status_notification)
    return {
        # the DHT runs on the listen socket; the literal loopback address is needed
        "listen_interfaces": "%s:%d" % (LOOPBACK, port),
        "enable_dht": True,
        # default is dht.libtorrent.org:25401 -- never contact it
        "dht_bootstrap_nodes": "",
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # loopback peers share one IP: allow them all into the table / searches
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        # default 5 packets/s per IP, then 127.0.0.1 is banned for dht_block_timeout s
        "dht_block_ratelimit": 1000000,
        "dht_block_timeout": 1,
        # default 8000 bytes/s; never 0 (crashes 2.0.8, see README)
        "dht_upload_rate_limit": 100000000,
        "alert_mask": mask,
        "alert_queue_size": 100000,
    }


class Node:
    def __init__(self, index, port, verbose):
        self.index = index
        self.port = port
        self.ses = lt.session(session_settings(port, verbose))
        self.cond = threading.Condition()
        self.events = []          # (serial, kind, data dict)
        self.serial = 0
        self.listen_udp = None    # True / error text
        self.captured = {}        # raw 'v' values seen in incoming get replies


class Fixture:
    def __init__(self, args):
        self.args = args
        self.verbose = args.verbose
        self.nodes = []
        self.stop = threading.Event()
        self.krpc_sock = None
        self.krpc_id = os.urandom(20)
        self.pump_thread = None

    # ---- alert pump: alerts are only valid until the next pop, so copy what matters
    def start(self):
        for i in range(self.args.nodes):
            self.nodes.append(Node(i, self.args.base_port + i, self.verbose))
        self.pump_thread = threading.Thread(target=self._pump, name="alert-pump", daemon=True)
        self.pump_thread.start()
        self.krpc_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.krpc_sock.bind((LOOPBACK, self.args.krpc_port))

    def _pump(self):
        while not self.stop.is_set():
            for node in self.nodes:
                try:
                    alerts = node.ses.pop_alerts()
                except Exception as exc:  # session going away
                    log("pop_alerts failed", exc)
                    alerts = []
                batch = []
                for a in alerts:
                    try:
                        item = self._extract(node, a)
                    except Exception as exc:  # never let one odd alert stop the pump
                        log("node%d" % node.index, "cannot read alert", a.what(), exc)
                        item = None
                    if item is not None:
                        batch.append(item)
                if batch:
                    with node.cond:
                        for kind, data in batch:
                            node.serial += 1
                            node.events.append((node.serial, kind, data))
                        if len(node.events) > 20000:
                            del node.events[:len(node.events) - 20000]
                        node.cond.notify_all()
            self.stop.wait(0.01)

    def _extract(self, node, a):
        what = a.what()
        if what == "dht_pkt":
            msg = a.message()
            incoming = msg.startswith("<==")
            if self.verbose:
                log("node%d" % node.index, msg[:600])
            if incoming:
                self._capture(node, bytes(a.pkt_buf))
            return None
        if what == "dht_log":
            if self.verbose:
                log("node%d" % node.index, a.message()[:300])
            return None
        if what == "listen_succeeded":
            if "UDP" in a.message() or "uTP" in a.message():
                node.listen_udp = True
            return ("listen", {"ok": True, "message": a.message()})
        if what == "listen_failed":
            node.listen_udp = a.message()
            log("node%d" % node.index, "LISTEN FAILED", a.message())
            return ("listen", {"ok": False, "message": a.message()})
        if what == "dht_put":
            return ("put", {"target": str(a.target), "public_key": bytes(a.public_key).hex(),
                            "salt": a.salt if isinstance(a.salt, bytes) else a.salt.encode("latin-1"),
                            "seq": int(a.seq), "num_success": int(a.num_success)})
        if what == "dht_immutable_item":
            d = self._item(a)
            return ("immutable", {"target": str(a.target), "value": d.get("value") if isinstance(d, dict) else d})
        if what == "dht_mutable_item":
            d = self._item(a)
            salt = a.salt if isinstance(a.salt, bytes) else a.salt.encode("latin-1")
            return ("mutable", {"key": bytes(a.key).hex(), "salt": salt, "seq": int(a.seq),
                                "signature": bytes(a.signature).hex(), "authoritative": bool(a.authoritative),
                                "value": d.get("value") if isinstance(d, dict) else d})
        if what == "dht_live_nodes":
            nodes = []
            for n in a.nodes:
                ep = n.get("endpoint") if isinstance(n, dict) else None
                nid = n.get("nid") if isinstance(n, dict) else None
                nodes.append({"id": str(nid) if nid is not None else None,
                              "host": ep[0] if ep else None, "port": ep[1] if ep else None})
            return ("live", {"nodes": nodes})
        if what == "dht_stats":
            return ("stats", {"buckets": [dict(b) for b in a.routing_table],
                              "active_requests": len(a.active_requests)})
        if self.verbose:
            log("node%d" % node.index, what, a.message()[:300])
        return None

    @staticmethod
    def _item(a):
        # a not-found item is an undefined entry: the binding raises
        # "invalid type requested from entry" when it is read
        try:
            return a.item
        except RuntimeError:
            return None

    def _capture(self, node, buf):
        """Keep the raw 'v' of get replies: the binding turns non-string values into debug text."""
        try:
            msg = bdecode(buf)
        except Exception:
            return
        if not isinstance(msg, dict) or msg.get(b"y") != b"r":
            return
        r = msg.get(b"r")
        if not isinstance(r, dict) or b"v" not in r:
            return
        raw = bencode(r[b"v"])
        with node.cond:
            if b"k" in r and isinstance(r.get(b"seq"), int):
                node.captured[("m", r[b"k"].hex(), r[b"seq"])] = raw
            else:
                node.captured[("i", hashlib.sha1(raw).hexdigest())] = raw
            if len(node.captured) > 10000:
                node.captured.clear()

    def wait_event(self, node, since, kind, match, deadline):
        """First event of `kind` after serial `since` for which match(data) is true."""
        with node.cond:
            while True:
                for serial, k, data in node.events:
                    if serial > since and k == kind and match(data):
                        return serial, data
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, None
                node.cond.wait(min(left, 0.5))

    def mark(self, node):
        with node.cond:
            return node.serial

    # ---- helpers
    def table_size(self, node):
        return int(node.ses.status().dht_nodes)

    def node_id(self, node):
        try:
            st = node.ses.dht_state()
            ids = st.get(b"node-id") or st.get("node-id") or []
            for entry in ids:
                b = bytes(entry)
                if len(b) >= 20:
                    return b[:20].hex()
        except Exception as exc:
            log("dht_state failed", exc)
        try:
            rep = self.krpc_query(LOOPBACK, node.port, b"ping", {}, 2.0)
            return rep["r"][b"id"].hex()
        except Exception:
            return None

    def wait_listening(self, deadline):
        for node in self.nodes:
            while node.listen_udp is None and time.monotonic() < deadline:
                time.sleep(0.01)
            if node.listen_udp is not True:
                return "node%d (port %d) did not listen on %s:%d: %s" % (
                    node.index, node.port, LOOPBACK, node.port, node.listen_udp or "timeout")
        return None

    def krpc_query(self, host, port, q, args, timeout, read_only=True):
        if host not in (LOOPBACK, "localhost"):
            raise ValueError("only 127.0.0.1 may be contacted")
        t = os.urandom(2)
        a = {b"id": self.krpc_id}
        a.update(args)
        msg = {b"t": t, b"y": b"q", b"q": q, b"a": a}
        if read_only:
            # BEP 43: keeps this client out of libtorrent's routing tables, so that
            # lookups never wait on a socket that does not answer queries
            msg[b"ro"] = 1
        pkt = bencode(msg)
        sock = self.krpc_sock
        start = time.monotonic()
        deadline = start + timeout
        sock.sendto(pkt, (LOOPBACK, port))
        for _ in range(1000):  # bounded: stray datagrams are dropped
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, src = sock.recvfrom(65536)
            except socket.timeout:
                break
            try:
                msg = bdecode(data)
            except Exception:
                continue
            if isinstance(msg, dict) and msg.get(b"t") == t:
                msg["_rtt_ms"] = round((time.monotonic() - start) * 1000.0, 3)
                msg["_from"] = src
                return msg
        raise TimeoutError("no KRPC reply from %s:%d within %.1fs" % (host, port, timeout))

    # ---- commands
    def pick(self, req, key="node", required=True):
        if key not in req:
            if required:
                raise ValueError("missing '%s'" % key)
            return None
        i = req[key]
        if not isinstance(i, int) or not 0 <= i < len(self.nodes):
            raise ValueError("'%s' must be an index 0..%d" % (key, len(self.nodes) - 1))
        return self.nodes[i]

    @staticmethod
    def value_bytes(req):
        if "value_hex" in req:
            return bytes.fromhex(req["value_hex"])
        v = req.get("value")
        if not isinstance(v, str):
            raise ValueError("'value' (text) or 'value_hex' is required")
        return v.encode("utf-8")

    @staticmethod
    def salt_bytes(req):
        if "salt_hex" in req:
            return bytes.fromhex(req["salt_hex"])
        s = req.get("salt", "")
        if not isinstance(s, str):
            raise ValueError("'salt' must be text")
        return s.encode("utf-8")

    def cmd_status(self, req, deadline):
        return {"nodes": [{"node": n.index, "port": n.port, "table": self.table_size(n),
                           "node_id": self.node_id(n)} for n in self.nodes],
                "krpc_port": self.krpc_sock.getsockname()[1]}

    def cmd_add_node(self, req, deadline):
        host = req.get("host", LOOPBACK)
        port = req.get("port")
        if host != LOOPBACK:
            raise ValueError("host must be 127.0.0.1")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError("'port' must be a UDP port")
        targets = [self.pick(req)] if "node" in req else self.nodes
        for n in targets:
            if n.port != port:
                n.ses.add_dht_node((host, port))
        return {"nodes": [n.index for n in targets]}

    def cmd_wait_table(self, req, deadline):
        want = int(req.get("min_nodes", 1))
        targets = [self.pick(req)] if "node" in req else self.nodes
        counts = {}
        while True:
            counts = {n.index: self.table_size(n) for n in targets}
            if all(c >= want for c in counts.values()):
                break
            if time.monotonic() >= deadline:
                raise TimeoutError("table below %d nodes: %s" % (want, counts))
            time.sleep(0.05)
        if len(targets) == 1:
            return {"count": counts[targets[0].index]}
        return {"counts": [counts[n.index] for n in targets], "count": min(counts.values())}

    def cmd_table(self, req, deadline):
        node = self.pick(req)
        since = self.mark(node)
        node.ses.dht_live_nodes(lt.sha1_hash(bytes.fromhex(self.node_id(node) or "00" * 20)))
        _, data = self.wait_event(node, since, "live", lambda d: True, deadline)
        if data is None:
            raise TimeoutError("no dht_live_nodes_alert")
        return {"count": len(data["nodes"]), "nodes": data["nodes"]}

    def cmd_put_immutable(self, req, deadline):
        node = self.pick(req)
        value = self.value_bytes(req)
        since = self.mark(node)
        t0 = time.monotonic()
        target = str(node.ses.dht_put_immutable_item(value))
        expected = hashlib.sha1(bencode(value)).hexdigest()
        _, data = self.wait_event(node, since, "put", lambda d: d["target"] == target, deadline)
        if data is None:
            raise TimeoutError("no dht_put_alert for %s" % target)
        res = {"target": target, "num_success": data["num_success"],
               "elapsed_ms": round((time.monotonic() - t0) * 1000, 1)}
        if target != expected:
            res["warning"] = "target %s != sha1(bencode(value)) %s" % (target, expected)
        if data["num_success"] == 0:
            res["ok"] = False
            res["error"] = "put reached no node (is the routing table empty?)"
        return res

    def cmd_put_mutable(self, req, deadline):
        node = self.pick(req)
        seed = bytes.fromhex(req.get("seed", ""))
        if len(seed) != 32:
            raise ValueError("'seed' must be 64 hex digits")
        pub, sec = ed25519_keys_from_seed(seed)
        value = self.value_bytes(req)
        salt = self.salt_bytes(req)
        since = self.mark(node)
        t0 = time.monotonic()
        node.ses.dht_put_mutable_item(sec, pub, value, salt)
        pkh = pub.hex()
        _, data = self.wait_event(node, since, "put",
                                  lambda d: d["public_key"] == pkh and d["salt"] == salt, deadline)
        if data is None:
            raise TimeoutError("no dht_put_alert for %s" % pkh)
        res = {"public_key": pkh, "target": hashlib.sha1(pub + salt).hexdigest(),
               "num_success": data["num_success"], "seq": data["seq"],
               "elapsed_ms": round((time.monotonic() - t0) * 1000, 1)}
        if data["num_success"] == 0:
            res["ok"] = False
            res["error"] = "put reached no node (is the routing table empty?)"
        elif "seq" in req and req["seq"] != data["seq"]:
            res["ok"] = False
            res["error"] = ("libtorrent published seq %d, not the requested %s: the 2.0.8 binding always "
                            "publishes (highest seq found in the DHT) + 1" % (data["seq"], req["seq"]))
        return res

    @staticmethod
    def describe_value(raw_bencoded):
        v = bdecode(raw_bencoded)
        out = {"value_bencoded_hex": raw_bencoded.hex()}
        if isinstance(v, bytes):
            out["value_type"] = "string"
            out["value_hex"] = v.hex()
            t = text_or_none(v)
            if t is not None:
                out["value"] = t
        else:
            out["value_type"] = type(v).__name__
            out["value_json"] = jsonable(v)
        return out

    def cmd_get_immutable(self, req, deadline):
        node = self.pick(req)
        target = req.get("target", "").lower()
        tb = bytes.fromhex(target)
        if len(tb) != 20:
            raise ValueError("'target' must be 40 hex digits")
        since = self.mark(node)
        t0 = time.monotonic()
        node.ses.dht_get_immutable_item(lt.sha1_hash(tb))
        _, data = self.wait_event(node, since, "immutable", lambda d: d["target"] == target, deadline)
        if data is None:
            raise TimeoutError("no dht_immutable_item_alert for %s" % target)
        res = {"found": False, "elapsed_ms": round((time.monotonic() - t0) * 1000, 1)}
        v = data["value"]
        vb = v if isinstance(v, bytes) else (v.encode("latin-1") if isinstance(v, str) else b"")
        raw = None
        if hashlib.sha1(bencode(vb)).hexdigest() == target:
            raw = bencode(vb)
        else:
            with node.cond:
                raw = node.captured.get(("i", target))
        if raw is not None:
            res["found"] = True
            res.update(self.describe_value(raw))
        return res

    def cmd_get_mutable(self, req, deadline):
        node = self.pick(req)
        pk = bytes.fromhex(req.get("public_key", ""))
        if len(pk) != 32:
            raise ValueError("'public_key' must be 64 hex digits")
        salt = self.salt_bytes(req)
        pkh = pk.hex()
        since = self.mark(node)
        t0 = time.monotonic()
        node.ses.dht_get_mutable_item(pk, salt)
        match = lambda d: d["key"] == pkh and d["salt"] == salt and d["authoritative"]
        _, data = self.wait_event(node, since, "mutable", match, deadline)
        authoritative = True
        if data is None:
            # fall back to the best non-authoritative answer, if any
            authoritative = False
            _, data = self.wait_event(node, since, "mutable",
                                      lambda d: d["key"] == pkh and d["salt"] == salt, time.monotonic())
            if data is None:
                raise TimeoutError("no dht_mutable_item_alert for %s" % pkh)
        res = {"found": False, "authoritative": authoritative,
               "elapsed_ms": round((time.monotonic() - t0) * 1000, 1)}
        # A not-found answer still carries a stale signature (and seq 0, empty value):
        # an item counts as found only when its signature verifies.
        with node.cond:
            raw = node.captured.get(("m", pkh, data["seq"]))
        v = data["value"]
        vb = v if isinstance(v, bytes) else (v.encode("latin-1") if isinstance(v, str) else b"")
        if raw is None:
            raw = bencode(vb)
        sig = bytes.fromhex(data["signature"])
        if ed25519_verify(pk, bep44_signed_buffer(salt, data["seq"], raw), sig):
            res["found"] = True
            res["seq"] = data["seq"]
            res["signature"] = data["signature"]
            res.update(self.describe_value(raw))
        return res

    def _dest(self, req):
        if "port" in req:
            host = req.get("host", LOOPBACK)
            port = req["port"]
            if not isinstance(port, int):
                raise ValueError("'port' must be an int")
            return host, port
        return LOOPBACK, self.pick(req).port

    def _reply(self, msg):
        res = {"y": msg.get(b"y", b"").decode("latin-1"), "rtt_ms": msg.pop("_rtt_ms"),
               "from": list(msg.pop("_from"))}
        res["reply"] = jsonable(msg)
        r = msg.get(b"r")
        if isinstance(r, dict):
            if isinstance(r.get(b"id"), bytes):
                res["node_id"] = r[b"id"].hex()
            if isinstance(r.get(b"nodes"), bytes):
                res["nodes"] = parse_compact_nodes(r[b"nodes"])
        if msg.get(b"y") == b"e":
            e = msg.get(b"e")
            res["ok"] = False
            res["error"] = "KRPC error %r" % (jsonable(e),)
        return res

    def cmd_ping(self, req, deadline):
        host, port = self._dest(req)
        return self._reply(self.krpc_query(host, port, b"ping", {}, max(0.1, deadline - time.monotonic()),
                                           req.get("read_only", True)))

    def cmd_find_node(self, req, deadline):
        host, port = self._dest(req)
        target = bytes.fromhex(req["target"]) if "target" in req else os.urandom(20)
        if len(target) != 20:
            raise ValueError("'target' must be 40 hex digits")
        return self._reply(self.krpc_query(host, port, b"find_node", {b"target": target},
                                           max(0.1, deadline - time.monotonic()), req.get("read_only", True)))

    def cmd_krpc(self, req, deadline):
        host, port = self._dest(req)
        q = req.get("q")
        if not isinstance(q, str):
            raise ValueError("'q' (query name) is required")
        args = {}
        for k, v in (req.get("args") or {}).items():
            args[k.encode()] = v.encode() if isinstance(v, str) else v
        for k, v in (req.get("args_hex") or {}).items():
            args[k.encode()] = bytes.fromhex(v)
        return self._reply(self.krpc_query(host, port, q.encode(), args,
                                           max(0.1, deadline - time.monotonic()), req.get("read_only", True)))

    def handle(self, req):
        cmd = req.get("cmd")
        timeout = req.get("timeout", DEFAULT_TIMEOUT)
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            timeout = DEFAULT_TIMEOUT
        deadline = time.monotonic() + min(float(timeout), MAX_TIMEOUT)
        fn = getattr(self, "cmd_" + cmd, None) if isinstance(cmd, str) else None
        if fn is None:
            return {"ok": False, "error": "unknown command %r" % (cmd,)}
        res = fn(req, deadline)
        res.setdefault("ok", True)
        return res

    def shutdown(self):
        self.stop.set()
        if self.pump_thread:
            self.pump_thread.join(2.0)
        for n in self.nodes:
            try:
                n.ses.pause()
            except Exception:
                pass
        self.nodes = []  # session destructors abort the DHT
        if self.krpc_sock:
            self.krpc_sock.close()


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=3, help="number of libtorrent sessions (1..32)")
    ap.add_argument("--base-port", type=int, default=47000, help="UDP/TCP ports P..P+N-1 on 127.0.0.1")
    ap.add_argument("--krpc-port", type=int, default=0, help="UDP port of the raw KRPC client (0: any)")
    ap.add_argument("--ready-timeout", type=float, default=30.0, help="seconds to reach readiness")
    ap.add_argument("--max-lifetime", type=float, default=1800.0, help="exit by itself after this many seconds")
    ap.add_argument("--verbose", action="store_true", help="log every DHT packet and DHT log line to stderr")
    args = ap.parse_args()
    if not 1 <= args.nodes <= 32 or not 1024 <= args.base_port <= 65535 - args.nodes:
        emit({"ready": False, "error": "bad --nodes/--base-port"})
        return 1

    # hard stop, whatever the driver does
    killer = threading.Timer(args.max_lifetime, lambda: (log("max lifetime reached, exiting"), os._exit(3)))
    killer.daemon = True
    killer.start()

    # libtorrent binds with SO_REUSEADDR, so a port held by a stale fixture would NOT make it
    # fail: it would silently share the port. Probe each port with plain sockets first.
    for port in range(args.base_port, args.base_port + args.nodes):
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            probe = socket.socket(socket.AF_INET, kind)
            try:
                probe.bind((LOOPBACK, port))
            except OSError as exc:
                emit({"ready": False, "error": "port %d on %s is in use (%s)" % (port, LOOPBACK, exc)})
                return 1
            finally:
                probe.close()

    t0 = time.monotonic()
    fx = Fixture(args)
    try:
        fx.start()
        deadline = t0 + args.ready_timeout
        err = fx.wait_listening(deadline)
        if err:
            emit({"ready": False, "error": err})
            fx.shutdown()
            return 1
        # libtorrent ignores dht_bootstrap_nodes for its routing table: add each peer explicitly
        for n in fx.nodes:
            for m in fx.nodes:
                if m is not n:
                    n.ses.add_dht_node((LOOPBACK, m.port))
        want = len(fx.nodes) - 1
        while want > 0 and time.monotonic() < deadline:
            if all(fx.table_size(n) >= want for n in fx.nodes):
                break
            time.sleep(0.02)
        tables = [fx.table_size(n) for n in fx.nodes]
        if any(t < want for t in tables):
            emit({"ready": False, "error": "routing tables did not fill: %s" % tables})
            fx.shutdown()
            return 1
        emit({"ready": True, "elapsed_ms": round((time.monotonic() - t0) * 1000, 1),
              "krpc_port": fx.krpc_sock.getsockname()[1],
              "nodes": [{"node": n.index, "port": n.port, "node_id": fx.node_id(n), "table": tables[n.index]}
                        for n in fx.nodes]})
        log("ready in %.3fs" % (time.monotonic() - t0))

        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise ValueError("a command must be a JSON object")
            except ValueError as exc:
                emit({"id": None, "ok": False, "error": "bad JSON: %s" % exc})
                continue
            rid = req.get("id")
            if req.get("cmd") == "quit":
                emit({"id": rid, "ok": True})
                break
            try:
                res = fx.handle(req)
            except Exception as exc:
                res = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
            res["id"] = rid
            emit(res)
    finally:
        fx.shutdown()
    return 0


if __name__ == "__main__":
    import warnings
    warnings.simplefilter("ignore", DeprecationWarning)  # session.status() is deprecated but works
    sys.exit(main())
