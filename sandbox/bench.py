#!/usr/bin/env python3
"""Measures the sandbox: small keep-alive GETs per second, and many concurrent
connections with latency injected. Starts its own sandbox unless --url is given.

    sandbox/bench.py [--seconds 3] [--connections 1] [--concurrent 64 --latency-ms 200]
"""

import argparse
import http.client
import os
import shutil
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests"))
from sbtest import Sandbox  # noqa: E402

PATH = "/ng/api/organizations/default?accountIdentifier=%s"


def keepalive_loop(url, key, account, seconds, counts, i):
    u = urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"x-api-key": key, "Harness-Account": account}
    path = PATH % account
    n = 0
    end = time.time() + seconds
    while time.time() < end:
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("unexpected status %d" % r.status)
        n += 1
    c.close()
    counts[i] = n


def throughput(sb, seconds, connections):
    counts = [0] * connections
    threads = [threading.Thread(target=keepalive_loop,
                                args=(sb.url, sb.key, sb.account, seconds, counts, i))
               for i in range(connections)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.time() - t0)


def curl_throughput(sb, n):
    """One curl process, n URLs over one keep-alive connection: the client costs
    little, so this is closer to what the server can do."""
    if not shutil.which("curl"):
        return None
    url = "%s%s&n=[1-%d]" % (sb.url, PATH % sb.account, n)
    t0 = time.time()
    subprocess.run(["curl", "-s", "-o", "/dev/null", "-H", "x-api-key: " + sb.key, url],
                   check=True)
    return n / (time.time() - t0)


def concurrent(sb, n, latency_ms):
    sb.control("POST", "config", {"latency_ms": latency_ms})
    ok = [0]
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def one():
        u = urlsplit(sb.url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        c.connect()
        barrier.wait()
        for _ in range(3):
            c.request("GET", PATH % sb.account, headers={"x-api-key": sb.key})
            r = c.getresponse()
            r.read()
            if r.status == 200:
                with lock:
                    ok[0] += 1
        c.close()
    threads = [threading.Thread(target=one) for _ in range(n)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    sb.control("POST", "config", {"latency_ms": 0})
    return ok[0], elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=3)
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--concurrent", type=int, default=64)
    p.add_argument("--latency-ms", type=float, default=200)
    a = p.parse_args()
    sb = Sandbox()
    try:
        rate = curl_throughput(sb, 10000)
        if rate:
            print("curl, 1 keep-alive connection, 10000 GETs: %.0f req/s" % rate)
        rate = throughput(sb, a.seconds, a.connections)
        print("http.client, %d keep-alive connection(s), %.0fs: %.0f req/s"
              % (a.connections, a.seconds, rate))
        done, elapsed = concurrent(sb, a.concurrent, a.latency_ms)
        print("%d concurrent connections x 3 GETs with %.0f ms latency: %d ok in %.2fs "
              "(serial would take %.1fs)" % (a.concurrent, a.latency_ms, done, elapsed,
                                             a.concurrent * 3 * a.latency_ms / 1000))
        status, s = sb.control("GET", "stats")
        print("server counted %d requests on %d connections"
              % (s["requests"], s["connections"]["http"]))
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
