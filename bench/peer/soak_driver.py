#!/usr/bin/env python3
"""Drives the service soak (bench/run_serve_soak.sh): for --seconds, --concurrency clients
post a mix to /predict -- 90% good uploads (the given PNGs; every tenth as multipart with two
images) and 10% bad ones (a truncated PNG, plain text, a PNG header claiming 60000x60000
pixels, a wrong Content-Type) -- and the service's RSS is sampled every 5 s from /proc.
Prints the table and exits 1 when the soak's bounds are broken. A bench tool: the product
never runs Python."""
import argparse
import http.client
import io
import random
import struct
import sys
import threading
import time
import urllib.parse
import zlib


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def huge_png():
    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=1800)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--rss-bound-mb", type=float, default=64)
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.url)
    goods = [open(p, "rb").read() for p in a.images]
    bads = [("image/png", goods[0][: len(goods[0]) // 3]), ("image/png", b"this is not an image"),
            ("image/png", huge_png()), ("text/plain", goods[0])]
    window = min(300.0, a.seconds / 3)
    records = []  # (t, good, status, seconds)
    lock = threading.Lock()
    t0 = time.monotonic()
    stop = t0 + a.seconds

    def client(k):
        rng = random.Random(k)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        n = 0
        while time.monotonic() < stop:
            n += 1
            good = rng.random() >= 0.1
            if good and n % 10 == 0:
                b = "soakboundary"
                body = b"".join(
                    f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="x{i}.png"\r\n'
                    f"Content-Type: image/png\r\n\r\n".encode() + rng.choice(goods) + b"\r\n"
                    for i in range(2)) + f"--{b}--\r\n".encode()
                ctype = f"multipart/form-data; boundary={b}"
            elif good:
                ctype, body = "image/png", rng.choice(goods)
            else:
                ctype, body = rng.choice(bads)
            s = time.monotonic()
            try:
                conn.request("POST", "/predict", body=body, headers={"Content-Type": ctype})
                r = conn.getresponse()
                r.read()
                status = r.status
            except Exception:
                status = 0
                conn.close()
                conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            e = time.monotonic()
            with lock:
                records.append((s - t0, good, status, e - s))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(a.concurrency)]
    for t in threads:
        t.start()
    rss = []
    while time.monotonic() < stop:
        rss.append((time.monotonic() - t0, rss_mb(a.pid)))
        time.sleep(5)
    for t in threads:
        t.join()
    rss.append((time.monotonic() - t0, rss_mb(a.pid)))

    def pct(xs, q):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

    goods_r = [r for r in records if r[1]]
    bads_r = [r for r in records if not r[1]]
    good_fail = sum(1 for r in goods_r if r[2] != 200)
    bad_not_4xx = sum(1 for r in bads_r if not 400 <= r[2] < 500)
    first = [r[3] for r in goods_r if r[0] < window]
    last = [r[3] for r in goods_r if r[0] >= a.seconds - window]
    rss_after_warm = [m for t, m in rss if t >= window] or [rss[-1][1]]
    growth = rss[-1][1] - rss_after_warm[0]
    statuses = {}
    for r in bads_r:
        statuses[r[2]] = statuses.get(r[2], 0) + 1
    print(f"requests          {len(records)} in {a.seconds:.0f} s ({len(records) / a.seconds:.1f}/s)")
    print(f"good              {len(goods_r)}, failed {good_fail}")
    print(f"bad               {len(bads_r)}, answered " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())) +
          f"; not 4xx {bad_not_4xx}")
    print(f"RSS MB            first {rss[0][1]:.1f}, after {window:.0f} s {rss_after_warm[0]:.1f}, "
          f"last {rss[-1][1]:.1f}, peak {max(m for _, m in rss):.1f} (growth after warm-up {growth:+.1f})")
    print(f"good p50/p99 ms   first {window:.0f} s {pct(first, 0.5):.1f}/{pct(first, 0.99):.1f}, "
          f"last {window:.0f} s {pct(last, 0.5):.1f}/{pct(last, 0.99):.1f}")
    ok = good_fail == 0 and bad_not_4xx == 0 and growth <= a.rss_bound_mb and pct(last, 0.99) <= 1.5 * pct(first, 0.99)
    print("soak: " + ("within bounds" if ok else "OUT OF BOUNDS"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
