#!/usr/bin/env python3
# Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
"""A classic STUN responder (RFC 3489 / RFC 5389 binding, with CHANGE-REQUEST) for the NAT lab.

It listens on two addresses and two ports and answers a binding request from the socket the
request's CHANGE-REQUEST asks for, with MAPPED-ADDRESS and XOR-MAPPED-ADDRESS. Debian 12's
miniupnpd refuses to map ports when its WAN address is a documentation address unless a STUN
server tells it the mapping is unfiltered (ext_perform_stun), so the lab's UPnP router asks this.

Usage: stun.py ADDRESS ALT_ADDRESS [PORT ALT_PORT]
"""
import select
import socket
import struct
import sys

COOKIE = 0x2112A442


def answer(request, source):
    if len(request) < 20 or request[0:2] != b"\x00\x01":
        return None, 0
    change = 0
    offset = 20
    end = min(len(request), 20 + struct.unpack("!H", request[2:4])[0])
    while offset + 4 <= end:
        kind, length = struct.unpack("!HH", request[offset:offset + 4])
        if kind == 0x0003 and length == 4:
            change = request[offset + 7] & 0x06
        offset += 4 + length + (-length % 4)
    host, port = source
    address = socket.inet_aton(host)
    mapped = struct.pack("!HHBBH", 0x0001, 8, 0, 1, port) + address
    xored = struct.pack("!HHBBH", 0x0020, 8, 0, 1, port ^ (COOKIE >> 16)) + bytes(
        a ^ b for a, b in zip(address, struct.pack("!I", COOKIE)))
    body = mapped + xored
    return b"\x01\x01" + struct.pack("!H", len(body)) + request[4:20] + body, change


def main():
    hosts = sys.argv[1:3]
    ports = [int(p) for p in (sys.argv[3:5] or ["3478", "3479"])]
    sockets = {}
    for h in range(2):
        for p in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((hosts[h], ports[p]))
            sockets[(h, p)] = s
    index = {s: key for key, s in sockets.items()}
    while True:
        ready, _, _ = select.select(list(index), [], [])
        for s in ready:
            request, source = s.recvfrom(2048)
            reply, change = answer(request, source)
            if reply is None:
                continue
            h, p = index[s]
            if change & 0x04:
                h = 1 - h
            if change & 0x02:
                p = 1 - p
            sockets[(h, p)].sendto(reply, source)


if __name__ == "__main__":
    main()
