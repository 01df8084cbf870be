"""Failure switches, counters, the other-origin recorder and HTTP helpers."""

import http.client
import json
import socket
import threading
import time
import unittest

from sbtest import Sandbox, SandboxTestCase

ORGS = "/ng/api/organizations"


class FaultTest(SandboxTestCase):
    def test_429_with_and_without_retry_after(self):
        self.sb.fault(**{"fault": "429", "count": 2, "retry_after": "1"})
        for _ in range(2):
            status, headers, data = self.sb.request("GET", ORGS)
            self.assertEqual(status, 429)
            self.assertEqual(headers["retry-after"], "1")
            body = json.loads(data)
            self.assertEqual(body["code"], "TOO_MANY_REQUESTS")
            self.assertIn("correlationId", body)
        self.assertEqual(self.sb.request("GET", ORGS)[0], 200)
        self.sb.fault(**{"fault": "429"})
        status, headers, _ = self.sb.request("GET", ORGS)
        self.assertEqual(status, 429)
        self.assertNotIn("retry-after", headers)

    def test_share(self):
        self.sb.fault(**{"fault": "429", "share": 0.5})
        statuses = [self.sb.request("GET", ORGS)[0] for _ in range(60)]
        n = statuses.count(429)
        self.assertTrue(10 < n < 50, n)
        self.assertEqual(set(statuses), {200, 429})

    def test_status_5xx(self):
        self.sb.fault(fault="status", status=503, count=2)
        for _ in range(2):
            status, body = self.sb.json("GET", ORGS)
            self.assertEqual(status, 503)
            self.assertEqual(body["status"], "ERROR")
            self.assertTrue(body["code"])
        self.assertEqual(self.sb.request("GET", ORGS)[0], 200)

    def test_path_and_method_filters(self):
        self.sb.fault(fault="status", status=500, path="/ng/api/projects", count=5)
        self.assertEqual(self.sb.request("GET", ORGS)[0], 200)
        self.assertEqual(self.sb.request("GET", "/ng/api/projects")[0], 500)
        self.sb.fault(fault="status", status=502, method="POST", count=1)
        self.assertEqual(self.sb.request("GET", "/ng/api/users/x")[0], 404)
        self.assertEqual(self.sb.request("POST", "/ng/api/user/aggregate", body={})[0], 502)

    def test_skip(self):
        self.sb.fault(fault="status", status=500, skip=2, count=1)
        self.assertEqual([self.sb.request("GET", ORGS)[0] for _ in range(4)], [200, 200, 500, 200])

    def test_html_error_page(self):
        self.sb.fault(fault="html", status=502)
        status, headers, data = self.sb.request("GET", ORGS)
        self.assertEqual(status, 502)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn(b"<html>", data)

    def test_reset_mid_body(self):
        self.sb.fault(fault="reset_mid_body")
        with self.assertRaises((http.client.IncompleteRead, ConnectionError)):
            self.sb.request("GET", "/_sandbox/bytes", query={"n": 100000}, account=False)
        self.assertEqual(self.sb.request("GET", ORGS)[0], 200)

    def test_truncate(self):
        self.sb.fault(fault="truncate")
        c = self.sb.connection()
        c.request("GET", "/_sandbox/bytes?n=1000")
        r = c.getresponse()
        self.assertEqual(r.getheader("Content-Length"), "1000")
        with self.assertRaises(http.client.IncompleteRead) as cm:
            r.read()
        self.assertEqual(len(cm.exception.partial), 500)
        c.close()

    def test_slow_body(self):
        self.sb.fault(fault="slow_body", seconds=0.6)
        t0 = time.time()
        status, _, data = self.sb.request("GET", "/_sandbox/bytes", query={"n": 4000},
                                          account=False)
        self.assertEqual(len(data), 4000)
        self.assertGreaterEqual(time.time() - t0, 0.55)

    def test_hang(self):
        self.sb.fault(fault="hang")
        t0 = time.time()
        with self.assertRaises((socket.timeout, TimeoutError)):
            self.sb.request("GET", ORGS, timeout=0.5)
        self.assertLess(time.time() - t0, 2)
        self.assertEqual(self.sb.request("GET", ORGS)[0], 200)

    def test_drop_and_reset(self):
        for kind in ("drop", "reset"):
            self.sb.fault(fault=kind)
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
                self.sb.request("GET", ORGS)

    def test_latency_rule_and_config(self):
        self.sb.fault(fault="latency", ms=300, count=1)
        t0 = time.time()
        self.sb.request("GET", ORGS)
        self.assertGreaterEqual(time.time() - t0, 0.29)
        t0 = time.time()
        self.sb.request("GET", ORGS)
        self.assertLess(time.time() - t0, 0.25)
        self.sb.control("POST", "config", {"latency_ms": 200})
        try:
            t0 = time.time()
            self.sb.request("GET", ORGS)
            self.assertGreaterEqual(time.time() - t0, 0.19)
        finally:
            self.sb.control("POST", "config", {"latency_ms": 0})

    def test_64_concurrent_connections_with_latency(self):
        self.sb.fault(fault="latency", ms=500)
        results = []

        def one():
            results.append(self.sb.request("GET", ORGS, timeout=10)[0])
        threads = [threading.Thread(target=one) for _ in range(64)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - t0
        self.assertEqual(results, [200] * 64)
        self.assertLess(elapsed, 2.5)  # all served at once, not one after another

    def test_redirect_other_origin_and_recorder(self):
        self.sb.fault(fault="redirect_other_origin")
        status, headers, _ = self.sb.request("GET", ORGS)
        self.assertEqual(status, 302)
        loc = headers["location"]
        self.assertTrue(loc.startswith(self.sb.info["other_origin_url"] + ORGS))
        # a well-behaved client does not follow; a leaky one would send the key:
        c = self.sb.connection(self.sb.info["other_origin_url"])
        c.request("GET", loc[len(self.sb.info["other_origin_url"]):],
                  headers={"x-api-key": "leaked", "X-Test": "1"})
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        r.read()
        c.close()
        status, log = self.sb.control("GET", "other-origin/log")
        self.assertEqual(log["total"], 1)
        self.assertEqual(log["with_api_key"], 1)
        req = log["requests"][0]
        self.assertTrue(req["has_api_key"])
        self.assertIn(["X-Test", "1"], req["headers"])
        self.sb.reset()
        self.assertEqual(self.sb.control("GET", "other-origin/log")[1]["total"], 0)

    def test_fault_list_and_delete(self):
        f = self.sb.fault(fault="status", status=500, count=10)
        status, body = self.sb.control("GET", "faults")
        self.assertEqual(body["faults"][0]["id"], f["id"])
        self.sb.control("DELETE", "faults/%d" % f["id"])
        self.assertEqual(self.sb.control("GET", "faults")[1]["faults"], [])
        status, body = self.sb.control("POST", "faults", {"fault": "bogus"})
        self.assertEqual(status, 400)
        c = self.sb.connection()
        c.request("POST", "/_sandbox/faults", body="{oops")
        r = c.getresponse()
        self.assertEqual(r.status, 400)
        c.close()

    def test_faults_spare_the_control_api(self):
        self.sb.fault(fault="status", status=500, share=1.0)
        status, stats = self.sb.control("GET", "stats")
        self.assertEqual(status, 200)


class CounterTest(SandboxTestCase):
    def test_counters(self):
        c = self.sb.connection()
        for _ in range(5):
            self.sb.request("GET", ORGS, conn=c)
        self.sb.request("GET", ORGS, key=False)
        self.sb.request("GET", "/_sandbox/echo", key=False, account=False)
        c.close()
        status, s = self.sb.control("GET", "stats")
        self.assertEqual(s["requests"], 7)
        self.assertEqual(s["requests_with_key"], 5)
        self.assertEqual(s["requests_without_key"], 2)
        # the reset call's own connection may be counted; 5 keep-alive requests share one
        self.assertGreaterEqual(s["connections"]["http"], 3)
        self.assertLessEqual(s["connections"]["http"], 5)
        self.assertEqual(s["by_status"]["401"], 1)
        status, s = self.sb.control("GET", "stats?path=" + ORGS)
        # the last request to that path was the one without a key
        self.assertIn("harness-account", [h[0].lower() for h in s["last_headers"]])
        self.assertNotIn("x-api-key", [h[0].lower() for h in s["last_headers"]])
        status, log = self.sb.control("GET", "requests")
        self.assertEqual([e["has_api_key"] for e in log["requests"]], [True] * 5 + [False] * 2)

    def test_echo(self):
        status, headers, data = self.sb.request("PATCH", "/_sandbox/echo/x", query={"a": ["1", "2"]},
                                                body="hello", headers={"X-Thing": "y"})
        e = json.loads(data)
        self.assertEqual(e["method"], "PATCH")
        self.assertEqual(e["path"], "/_sandbox/echo/x")
        self.assertEqual(e["query"]["a"], ["1", "2"])
        self.assertEqual(e["body"], "hello")
        self.assertEqual(e["headers"]["x-thing"], "y")

    def test_chunked_request_body(self):
        c = self.sb.connection()
        c.putrequest("POST", "/_sandbox/echo")
        c.putheader("Transfer-Encoding", "chunked")
        c.endheaders()
        for part in (b"abc", b"defg"):
            c.send(b"%x\r\n%s\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
        e = json.loads(c.getresponse().read())
        self.assertEqual(e["body"], "abcdefg")
        c.close()

    def test_bytes_and_redirect(self):
        status, headers, data = self.sb.request("GET", "/_sandbox/bytes", query={"n": 3_000_000},
                                                account=False)
        self.assertEqual(len(data), 3_000_000)
        status, headers, data = self.sb.request("GET", "/_sandbox/redirect",
                                                query={"to": "/ng/api/organizations"})
        self.assertEqual(status, 302)
        self.assertEqual(headers["location"], "/ng/api/organizations")
        status, headers, data = self.sb.request("GET", "/_sandbox/redirect",
                                                query={"to": "/x", "origin": "other",
                                                       "status": 307})
        self.assertEqual(status, 307)
        self.assertEqual(headers["location"], self.sb.info["other_origin_url"] + "/x")

    def test_status_endpoint(self):
        status, headers, data = self.sb.request("GET", "/_sandbox/status/204")
        self.assertEqual((status, data), (204, b""))
        self.assertNotIn("content-length", headers)
        status, body = self.sb.json("GET", "/_sandbox/status/404")
        self.assertEqual((status, body["status"]), (404, "ERROR"))
        status, body = self.sb.json("GET", "/_sandbox/status/201")
        self.assertEqual((status, body["status"]), (201, "SUCCESS"))

    def test_head(self):
        c = self.sb.connection()
        for _ in range(2):  # the connection stays usable after a HEAD
            c.request("HEAD", "/_sandbox/bytes?n=1000")
            r = c.getresponse()
            self.assertEqual(r.getheader("Content-Length"), "1000")
            self.assertEqual(r.read(), b"")
        c.close()

    def test_bad_request_line(self):
        s = socket.create_connection(("127.0.0.1", int(self.sb.url.rsplit(":", 1)[1])))
        s.sendall(b"garbage\r\n\r\n")
        data = s.recv(65536)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 400"))
        self.assertIn(b'"FAILURE"', data)
        self.assertNotIn(b"Traceback", data)


class FlagsTest(unittest.TestCase):
    """Per-run switches on the command line."""

    def test_latency_and_rate_limit_flags(self):
        sb = Sandbox("--latency-ms", "150", "--rate-limit-share", "0.5", "--retry-after", "2",
                     "--seed", "3")
        try:
            t0 = time.time()
            statuses = []
            c = sb.connection()
            for _ in range(10):
                status, headers, _ = sb.request("GET", ORGS, conn=c)
                statuses.append(status)
                if status == 429:
                    self.assertEqual(headers["retry-after"], "2")
            c.close()
            self.assertGreaterEqual(time.time() - t0, 1.4)
            self.assertIn(429, statuses)
            self.assertIn(200, statuses)
        finally:
            sb.stop()


if __name__ == "__main__":
    unittest.main()
