"""bench/paging_probe.py — the driver of bench/paging.sh: publishes one
violating Device Defender report per thing (N distinct things, one every
SPACING_MS, over one MQTT connection as the server identity, QoS 0), then
waits for the SMTP sink to record the first email of each thing's incident
and prints the latency distribution (publish -> email accepted by the SMTP
server). Usage: paging_probe.py BROKER_PORT USER PASS MAILFILE N SPACING_MS"""
import json
import re
import socket
import struct
import sys
import time


def enc_str(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def enc_len(n):
    out = b""
    while True:
        d = n % 128
        n //= 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def connect(port, user, pw):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    var = enc_str("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 60)
    payload = enc_str(f"bench-paging-{int(time.time() * 1000) % 100000}") + enc_str(user) + enc_str(pw)
    body = var + payload
    s.sendall(bytes([0x10]) + enc_len(len(body)) + body)
    ack = s.recv(4)
    if len(ack) < 4 or ack[0] != 0x20 or ack[3] != 0:
        raise SystemExit(f"MQTT connect refused: {ack!r}")
    return s


def publish(s, topic, payload):
    body = enc_str(topic) + payload.encode()
    s.sendall(bytes([0x30]) + enc_len(len(body)) + body)


def report(rid):
    return json.dumps({
        "header": {"report_id": rid, "version": "1.0"},
        "metrics": {"listening_tcp_ports": {"ports": [{"port": 22}, {"port": 4444}]}},
    })


def main():
    port, user, pw, mailfile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    n, spacing = int(sys.argv[5]), float(sys.argv[6]) / 1000.0
    s = connect(port, user, pw)
    sent = {}
    base = int(time.time())
    for i in range(n):
        thing = f"bench-{i}"
        sent[thing] = time.time()
        publish(s, f"$aws/things/{thing}/defender/metrics/json", report(base + i))
        time.sleep(spacing)
    first = {}
    deadline = time.time() + 60
    pat = re.compile(r"/things/(bench-\d+)\b")
    while len(first) < n and time.time() < deadline:
        with open(mailfile) as f:
            for line in f:
                m = json.loads(line)
                t = pat.search(m["data"])
                if t and t.group(1) in sent and t.group(1) not in first:
                    first[t.group(1)] = m["t"]
        time.sleep(0.2)
    s.close()
    lat = sorted((first[k] - sent[k]) * 1000.0 for k in first)
    if not lat:
        raise SystemExit("no email arrived")
    def pct(p):
        return lat[min(len(lat) - 1, int(round(p / 100.0 * (len(lat) - 1))))]
    print(f"emails for {len(lat)} of {n} incidents; min {lat[0]:.1f} ms, max {lat[-1]:.1f} ms")
    print(f"bench paging: p50_ms={pct(50):.1f} p99_ms={pct(99):.1f} samples={len(lat)}")


if __name__ == "__main__":
    main()
