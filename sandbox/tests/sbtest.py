"""Shared helpers for the sandbox's own tests: start a real sandbox process on a
free port and talk to it with http.client."""

import http.client
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
from urllib.parse import urlencode, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
SERVE = os.path.join(os.path.dirname(HERE), "serve")


class Sandbox:
    """A sandbox process. `info` is the parsed info file."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="sbtest-")
        self.info_file = os.path.join(self.dir, "info.json")
        self.proc = subprocess.Popen(
            [sys.executable, SERVE, "--port", "0", "--info-file", self.info_file, "--quiet"]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 15
        while not os.path.exists(self.info_file):
            if self.proc.poll() is not None or time.time() > deadline:
                out, err = self.proc.communicate(timeout=5) if self.proc.poll() is not None \
                    else (b"", b"")
                self.stop()
                raise RuntimeError("sandbox did not start: %s" % err.decode(errors="replace"))
            time.sleep(0.02)
        with open(self.info_file) as f:
            self.info = json.load(f)
        self.url = self.info["url"]
        self.key = self.info["api_key"]
        self.account = self.info["account"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    # -- requests ---------------------------------------------------------

    def connection(self, base=None, timeout=10, context=None):
        u = urlsplit(base or self.url)
        if u.scheme == "https":
            return http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout,
                                               context=context)
        return http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)

    def request(self, method, path, query=None, body=None, headers=None, key=True,
                account=True, conn=None, timeout=10, base=None):
        """Returns (status, headers dict with lower-case names, raw body)."""
        q = dict(query or {})
        if account and not path.startswith("/v1/") and "accountIdentifier" not in q:
            q["accountIdentifier"] = self.account
        if q:
            path = path + ("&" if "?" in path else "?") + urlencode(q, doseq=True)
        h = {}
        if key:
            h["x-api-key"] = self.key if key is True else key
        if account:
            h["Harness-Account"] = self.account
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        own = conn is None
        c = conn or self.connection(base, timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            if own:
                c.close()

    def json(self, method, path, **kw):
        status, headers, data = self.request(method, path, **kw)
        return status, json.loads(data) if data else None

    def ok(self, method, path, **kw):
        status, body = self.json(method, path, **kw)
        if status != 200:
            raise AssertionError("%s %s: %d %s" % (method, path, status, body))
        return body

    def control(self, method, path, body=None):
        c = self.connection()
        try:
            data = json.dumps(body) if body is not None else None
            c.request(method, "/_sandbox/" + path, body=data,
                      headers={"Content-Type": "application/json"} if data else {})
            r = c.getresponse()
            return r.status, json.loads(r.read() or b"null")
        finally:
            c.close()

    def fault(self, **spec):
        status, body = self.control("POST", "faults", spec)
        assert status == 201, body
        return body["faults"][0]

    def reset(self, state=False):
        self.control("POST", "reset", {"state": state} if state else None)


class SandboxTestCase(unittest.TestCase):
    """Starts one sandbox for the class; `ARGS` adds command-line flags."""

    ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.sb = Sandbox(*cls.ARGS)

    @classmethod
    def tearDownClass(cls):
        cls.sb.stop()

    def setUp(self):
        self.sb.reset()

    def tls_context(self, ca=None):
        ctx = ssl.create_default_context(cafile=ca or self.sb.info["ca_file"])
        return ctx

    def project(self, org="default", project="default_project"):
        return {"orgIdentifier": org, "projectIdentifier": project}
