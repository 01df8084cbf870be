"""Starting and stopping the sandbox, its info file, banner and TLS."""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

from sbtest import SERVE, Sandbox, SandboxTestCase


class TlsTest(SandboxTestCase):
    ARGS = ("--tls",)

    def test_info_file_fields(self):
        info = self.sb.info
        for k in ("url", "tls_url", "ca_file", "wrong_ca_file", "other_origin_url", "account",
                  "api_key", "sat_key", "user_key", "other_account_key", "user_email",
                  "user_id", "member_email", "member_id", "operations", "pid"):
            self.assertIn(k, info)
        self.assertTrue(os.path.isfile(info["operations"]))
        self.assertEqual(len({info["api_key"], info["sat_key"], info["user_key"]}), 3)
        self.assertTrue(info["url"].startswith("http://127.0.0.1:"))
        self.assertTrue(info["tls_url"].startswith("https://localhost:"))
        self.assertTrue(info["other_origin_url"].startswith("http://127.0.0.1:"))
        self.assertEqual(info["pid"], self.sb.proc.pid)
        self.assertTrue(info["other_account_key"].startswith("pat."))
        self.assertNotIn(info["account"], info["other_account_key"])

    def tls_ok(self, path, base=None, ca=None):
        c = self.sb.connection(base or self.sb.info["tls_url"], context=self.tls_context(ca))
        try:
            return self.sb.ok("GET", path, conn=c)
        finally:
            c.close()

    def test_tls_with_generated_ca(self):
        body = self.tls_ok("/ng/api/user/currentUser")
        self.assertEqual(body["status"], "SUCCESS")
        status, s = self.sb.control("GET", "stats")
        self.assertEqual(s["connections"]["tls"], 1)
        self.assertEqual(s["by_listener"]["tls"], 1)

    def test_tls_by_ip_address(self):
        port = int(self.sb.info["tls_url"].rsplit(":", 1)[1])
        self.tls_ok("/ng/api/organizations", "https://127.0.0.1:%d" % port)

    def test_wrong_ca_is_refused(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.tls_ok("/ng/api/organizations", ca=self.sb.info["wrong_ca_file"])
        # the server survives a failed handshake
        self.tls_ok("/ng/api/organizations")

    def test_openssl_verifies_chain(self):
        r = subprocess.run(["openssl", "verify", "-CAfile", self.sb.info["ca_file"],
                            self.sb.info["cert_file"]], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)


class LifecycleTest(unittest.TestCase):
    def test_banner_and_clean_stop(self):
        d = tempfile.mkdtemp()
        info_file = os.path.join(d, "info.json")
        p = subprocess.Popen([sys.executable, SERVE, "--port", "0", "--tls",
                              "--info-file", info_file], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 15
            while not os.path.exists(info_file) and time.time() < deadline:
                time.sleep(0.02)
            with open(info_file) as f:
                info = json.load(f)
            self.assertTrue(os.path.isdir(info["tmp_dir"]))
            self.assertFalse([n for n in os.listdir(d) if n != "info.json"])  # no temp left
        finally:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(err, "")
        self.assertIn("export HARNESS_ENDPOINT=%s" % info["url"], out)
        self.assertIn("export HARNESS_API_KEY=%s" % info["api_key"], out)
        self.assertFalse(os.path.exists(info["tmp_dir"]))
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", int(info["url"].rsplit(":", 1)[1])), 1)

    def test_sigint_stops_too(self):
        sb = Sandbox()
        sb.proc.send_signal(signal.SIGINT)
        self.assertEqual(sb.proc.wait(10), 0)
        sb.stop()

    def test_fixed_port_and_bad_flags(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        sb = Sandbox("--port", str(port))
        try:
            self.assertEqual(sb.url, "http://127.0.0.1:%d" % port)
        finally:
            sb.stop()
        r = subprocess.run([sys.executable, SERVE, "--rate-limit-share", "2"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("between 0 and 1", r.stderr)

    def test_listens_on_loopback_only(self):
        sb = Sandbox()
        try:
            port = int(sb.url.rsplit(":", 1)[1])
            out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True).stdout \
                if os.path.exists("/usr/bin/ss") or os.path.exists("/bin/ss") else ""
            for line in out.splitlines():
                if (":%d " % port) in line + " ":
                    self.assertIn("127.0.0.1:%d" % port, line)
        finally:
            sb.stop()


if __name__ == "__main__":
    unittest.main()
