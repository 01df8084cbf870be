#!/usr/bin/env python3
"""A hostile server, for tests/e2e/hostile_spec.lua: it does what a broken
or malicious server (or a proxy in the way) may do to a client. It echoes
the API key it was sent (the x-api-key header) in every form and place a
server could: bodies that are not JSON, cut points that split it, response
headers, non-string error fields, percent-encoded, base64, JSON escapes. It
closes a connection after reading a POST, serves error pages built to make
a naive parser quadratic, huge header lines, Retry-After dates no calendar
holds, and acts as a proxy: it answers absolute-form requests itself and
tunnels CONNECT, recording both.

Python 3 standard library only. Prints its port on stdout, then serves on
127.0.0.1 until killed. Every request is recorded: GET /_log answers
{"requests": [{method, target, proxied, has_key, body_length}]}, POST /_reset
empties it. The key itself is never recorded.

Routes (query parameters in brackets):
  /ok                              200 {"ok": true}, keep-alive
  /echo/json                       200, the key in a string, a list, an object
  /echo/badjson                    200 application/json, invalid right after the key
  /echo/at [at, status, html]      the key so that a cut at byte 'at' of the body
                                   (of the <title> text with html=1) keeps all of
                                   it but its last character
  /echo/forms [status, json]       the secret alone, the key percent-encoded,
                                   base64 (plain, url-safe, in Basic credentials),
                                   JSON \\u escapes
  /echo/headers [status, kind]     the key in X-Echo and Set-Cookie; JSON code and
                                   correlationId as objects holding it (kind=table)
                                   or as numbers (kind=number)
  /post-close                      reads the request, then closes without answering
  /status [code, ra, body]         that status, with Retry-After: ra
  /titles [n]                      500 text/html: n '<title>' and no end tag
  /angles [n]                      500 text/html: n '<' and no '>'
  /bigheader [kb]                  200 with one header line of kb KiB
  /bigjson [mb]                    200, a JSON array of about mb MiB
"""
import base64
import json
import socket
import socketserver
import sys
import threading
import urllib.parse

LOG = []
LOG_LOCK = threading.Lock()


def record(entry):
    with LOG_LOCK:
        LOG.append(entry)


def read_request(rfile):
    """One request off the connection: (method, target, headers, body), or
    None at the end of the connection."""
    line = rfile.readline(65537)
    while line in (b"\r\n", b"\n"):
        line = rfile.readline(65537)
    if not line:
        return None
    parts = line.decode("latin-1").rstrip("\r\n").split(" ")
    if len(parts) != 3:
        return None
    method, target, _ = parts
    headers = {}
    while True:
        h = rfile.readline(65537)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b""
    n = int(headers.get("content-length", "0") or "0")
    if n:
        body = rfile.read(n)
    return method, target, headers, body


def response(status, body=b"", headers=(), ctype="application/json"):
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 500: "Internal Server Error",
              502: "Bad Gateway", 503: "Service Unavailable"}.get(status, "Status")
    if isinstance(body, str):
        body = body.encode()
    head = ["HTTP/1.1 %d %s" % (status, reason), "Content-Type: " + ctype,
            "Content-Length: %d" % len(body)]
    head += ["%s: %s" % h for h in headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def forms(key):
    """The key's secret (its last dot-separated part) and the key in the
    encodings a server may echo it in."""
    secret = key.rsplit(".", 1)[-1]
    return {
        "secret": secret,
        "percent": "".join("%%%02X" % b for b in key.encode()),
        "percent_lower": "".join("%%%02x" % b for b in secret.encode()),
        "base64": base64.b64encode(key.encode()).decode(),
        "base64_shifted": base64.b64encode(b"k=" + key.encode()).decode(),
        "base64url": base64.urlsafe_b64encode(b"xx" + key.encode()).decode().rstrip("="),
        "basic": "Basic " + base64.b64encode(b"api:" + key.encode()).decode(),
        "unicode": "".join("\\u%04x" % b for b in key.encode()),
        "unicode_upper": "".join("\\u%04X" % b for b in secret.encode()),
    }


def route(method, target, headers, body):
    """The answer to one request: bytes to send, or None to close at once."""
    u = urllib.parse.urlsplit(target)
    q = dict(urllib.parse.parse_qsl(u.query))
    key = headers.get("x-api-key") or q.get("key") or "pat.acc.tok.nokeynokeynokey"
    status = int(q.get("status", "200"))
    path = u.path
    if path == "/_log":
        with LOG_LOCK:
            return response(200, json.dumps({"requests": LOG}))
    if path == "/_reset":
        with LOG_LOCK:
            LOG.clear()
        return response(200, "{}")
    if path == "/ok":
        return response(200, '{"ok": true}')
    if path == "/echo/json":
        return response(200, json.dumps({"echo": key, "list": [key], "nested": {"key": key}}))
    if path == "/echo/badjson":
        return response(200, '{"token":"%s"x}' % key)
    if path == "/echo/at":
        at = int(q.get("at", "200"))
        text = "x" * (at - len(key) + 1) + key + " and some more text after it"
        if q.get("html"):
            page = "<html><head><title>%s</title></head><body>oops</body></html>" % text
            return response(status, page, ctype="text/html")
        return response(status, text + "y" * 9000, ctype="text/plain")
    if path == "/echo/forms":
        f = forms(key)
        if q.get("json"):
            # the decoder turns \\u escapes back into the key: the raw body still holds them
            return response(status, '{"message": "denied for %s", "detail": "%s"}'
                            % (f["unicode"], f["unicode_upper"]))
        text = "\n".join("%s=%s" % kv for kv in sorted(f.items()))
        return response(status, text, ctype="text/plain")
    if path == "/echo/headers":
        if q.get("kind") == "number":
            err = {"status": "ERROR", "code": 4001, "message": "denied", "correlationId": 12345}
        else:
            err = {"status": "ERROR", "code": {"token": key}, "message": "denied",
                   "correlationId": {"id": key}}
        return response(status, json.dumps(err),
                        headers=[("X-Echo", key), ("Set-Cookie", "sid=%s; HttpOnly" % key)])
    if path == "/post-close":
        return None
    if path == "/status":
        extra = [("Retry-After", q["ra"])] if "ra" in q else []
        return response(status, q.get("body", '{"status": "ERROR", "code": "UNAVAILABLE", '
                                              '"message": "try later"}'), headers=extra)
    if path == "/titles":
        return response(500, "<html>" + "<title>" * int(q.get("n", "40000")), ctype="text/html")
    if path == "/angles":
        return response(500, "<" * int(q.get("n", "280000")), ctype="text/html")
    if path == "/bigheader":
        return response(200, "{}", headers=[("X-Big", "a" * (int(q.get("kb", "200")) * 1024))])
    if path == "/bigjson":
        n = int(q.get("mb", "20")) * 1024 * 1024 // 8
        return response(200, "[" + ",".join(["1234567"] * n) + "]")
    return response(404, '{"status": "ERROR", "code": "NOT_FOUND", "message": "no route"}')


def tunnel(client, target):
    """CONNECT: relays bytes both ways between the client and target."""
    host, _, port = target.rpartition(":")
    try:
        upstream = socket.create_connection((host, int(port)), timeout=10)
    except (OSError, ValueError):
        client.sendall(response(502, '{"tunnel": "failed"}'))
        return
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    other = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    other.start()
    pump(client, upstream)
    other.join()
    upstream.close()


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            try:
                req = read_request(self.rfile)
            except (OSError, ValueError):
                return
            if req is None:
                return
            method, target, headers, body = req
            proxied = method == "CONNECT" or target.startswith(("http://", "https://"))
            if not target.startswith("/_"):
                record({"method": method, "target": target, "proxied": proxied,
                        "has_key": "x-api-key" in headers, "body_length": len(body)})
            if method == "CONNECT":
                return tunnel(self.connection, target)
            if proxied:
                out = response(200, '{"proxied": true}')
            else:
                out = route(method, target, headers, body)
            if out is None:
                return  # closes the connection without an answer
            try:
                self.wfile.write(out)
                self.wfile.flush()
            except OSError:
                return
            if headers.get("connection", "").lower() == "close":
                return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    server = Server(("127.0.0.1", 0), Handler)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
