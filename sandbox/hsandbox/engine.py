"""A small, fast HTTP/1.1 server engine for the sandbox.

One thread per connection, keep-alive by default, whole responses written with
one sendall (Nagle off), no per-request logging. The engine knows nothing about
Harness: it parses requests, asks an application for a Response, and delivers
it, possibly damaged on purpose by a fault (see faults.py).
"""

import gzip
import http
import socket
import ssl
import struct
import threading
import time
from email.utils import formatdate
from urllib.parse import parse_qs, urlsplit

MAX_LINE = 16384
MAX_HEADERS = 200
MAX_BODY = 256 * 1024 * 1024
IDLE_TIMEOUT = 120.0
GZIP_MIN = 256

_REASONS = {s.value: s.phrase for s in http.HTTPStatus}
_REASONS.setdefault(429, "Too Many Requests")


def reason(status):
    return _REASONS.get(status, "Unknown")


class BadRequest(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class Request:
    """A parsed request. `headers` maps lower-case names to values (repeated
    headers joined with ", "); `header_list` keeps them as received."""

    __slots__ = ("method", "target", "path", "query", "version", "headers",
                 "header_list", "body", "listener", "conn_id", "client", "seq")

    def q(self, name, default=None):
        vals = self.query.get(name)
        return vals[0] if vals else default

    def h(self, name, default=None):
        return self.headers.get(name, default)


class Response:
    """What an application returns. `action` asks the engine for something
    other than a plain answer: "hang", "drop" (close, no answer), "reset" (RST,
    no answer), "truncate", "reset_mid_body", "slow_body" (with `slow_seconds`)."""

    __slots__ = ("status", "headers", "body", "action", "slow_seconds", "compress")

    def __init__(self, status=200, body=b"", ctype="application/json", headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode("utf-8")
        self.headers = [] if ctype is None else [("Content-Type", ctype)]
        if headers:
            self.headers.extend(headers)
        self.action = None
        self.slow_seconds = 0.0
        self.compress = True


class _DateCache:
    """Formatting the Date header each request is measurable; do it once a second."""

    def __init__(self):
        self.sec = 0
        self.value = ""

    def get(self):
        now = int(time.time())
        if now != self.sec:
            self.sec = now
            self.value = formatdate(now, usegmt=True)
        return self.value


_date = _DateCache()


class Listener:
    """A listening socket on loopback with its accept thread."""

    def __init__(self, engine, name, app, host="127.0.0.1", port=0, ssl_context=None):
        if host not in ("127.0.0.1", "localhost"):
            raise ValueError("the sandbox listens on loopback only")
        self.engine = engine
        self.name = name
        self.app = app
        self.ssl_context = ssl_context
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept_loop, name="accept-" + name,
                                       daemon=True)

    def start(self):
        self.thread.start()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept_loop(self):
        while not self.engine.stopping.is_set():
            try:
                conn, addr = self.sock.accept()
            except OSError:
                if self.engine.stopping.is_set():
                    return
                time.sleep(0.01)
                continue
            with self.engine.lock:
                self.connections += 1
                self.engine.conn_seq += 1
                conn_id = self.engine.conn_seq
            t = threading.Thread(target=self.engine.serve_connection,
                                 args=(self, conn, addr, conn_id), daemon=True)
            t.start()


class Engine:
    def __init__(self):
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.conn_seq = 0
        self.listeners = []

    def listen(self, name, app, port=0, ssl_context=None):
        lst = Listener(self, name, app, port=port, ssl_context=ssl_context)
        self.listeners.append(lst)
        return lst

    def start(self):
        for lst in self.listeners:
            lst.start()

    def stop(self):
        self.stopping.set()
        for lst in self.listeners:
            lst.close()

    # -- one connection -------------------------------------------------

    def serve_connection(self, listener, conn, addr, conn_id):
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(IDLE_TIMEOUT)
            if listener.ssl_context is not None:
                try:
                    conn = listener.ssl_context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    return
            self._request_loop(listener, conn, addr, conn_id)
        except Exception:  # never let a connection thread print a traceback
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _request_loop(self, listener, conn, addr, conn_id):
        rfile = conn.makefile("rb", 65536)
        while not self.stopping.is_set():
            try:
                req = read_request(rfile, conn)
            except BadRequest as e:
                resp = listener.app.bad_request(e.status, e.message)
                self._send(conn, None, resp, False)
                return
            except (OSError, ValueError):
                return
            if req is None:
                return
            req.listener = listener.name
            req.conn_id = conn_id
            req.client = addr
            keep = _keep_alive(req)
            try:
                resp = listener.app.handle(req)
            except Exception as e:  # the client gets Harness's error shape, not a traceback
                resp = listener.app.internal_error(req, e)
            if resp.action is not None:
                if not self._act(conn, req, resp):
                    return
                continue
            if not self._send(conn, req, resp, keep):
                return
            if not keep:
                return

    def _send(self, conn, req, resp, keep):
        head, body = build(req, resp, keep)
        try:
            if req is not None and req.method == "HEAD":
                conn.sendall(head)
            else:
                conn.sendall(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    conn.sendall(body)
        except OSError:
            return False
        return True

    def _act(self, conn, req, resp):
        """Deliver a deliberately broken answer; returns True to keep reading."""
        act = resp.action
        if act == "hang":
            conn.settimeout(0.25)
            while not self.stopping.is_set():
                try:
                    if not conn.recv(65536):
                        return False
                except socket.timeout:
                    continue
                except OSError:
                    return False
            return False
        if act == "drop":
            return False
        if act == "reset":
            _rst(conn)
            return False
        head, body = build(req, resp, True)
        try:
            if act == "truncate":
                conn.sendall(head + body[: len(body) // 2])
                conn.shutdown(socket.SHUT_RDWR)
                return False
            if act == "reset_mid_body":
                conn.sendall(head + body[: len(body) // 2])
                time.sleep(0.05)
                _rst(conn)
                return False
            if act == "slow_body":
                conn.sendall(head)
                pieces = max(1, min(len(body), 20))
                step = -(-len(body) // pieces) if body else 0
                pause = resp.slow_seconds / pieces
                for i in range(pieces):
                    if self.stopping.wait(pause):
                        return False
                    conn.sendall(body[i * step:(i + 1) * step])
                return True
        except OSError:
            return False
        return False


def _rst(conn):
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        conn.close()
    except OSError:
        pass


def _keep_alive(req):
    conn = req.headers.get("connection", "").lower()
    if req.version == "HTTP/1.0":
        return "keep-alive" in conn
    return "close" not in conn


def read_request(rfile, conn):
    """Parse one request from rfile; None at a clean end of stream."""
    line = rfile.readline(MAX_LINE + 1)
    while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between requests
        line = rfile.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE:
        raise BadRequest(414, "Request line too long")
    try:
        method, target, version = line.decode("latin-1").split()
    except ValueError:
        raise BadRequest(400, "Malformed request line")
    if not version.startswith("HTTP/1."):
        raise BadRequest(505, "HTTP version not supported")
    headers = {}
    header_list = []
    while True:
        hl = rfile.readline(MAX_LINE + 1)
        if not hl:
            return None
        if hl in (b"\r\n", b"\n"):
            break
        if len(hl) > MAX_LINE or len(header_list) >= MAX_HEADERS:
            raise BadRequest(431, "Request header fields too large")
        name, sep, value = hl.decode("latin-1").partition(":")
        if not sep:
            raise BadRequest(400, "Malformed header line")
        name = name.strip()
        value = value.strip()
        header_list.append((name, value))
        key = name.lower()
        headers[key] = headers[key] + ", " + value if key in headers else value
    req = Request()
    req.method = method.upper()
    req.target = target
    req.version = version
    req.headers = headers
    req.header_list = header_list
    if "?" in target:
        path, _, qs = target.partition("?")
        req.query = parse_qs(qs, keep_blank_values=True)
    else:
        path = target
        req.query = {}
    if path.startswith("http://") or path.startswith("https://"):
        path = urlsplit(path).path or "/"
    req.path = path
    req.body = _read_body(rfile, conn, headers)
    return req


def _read_body(rfile, conn, headers):
    te = headers.get("transfer-encoding", "").lower()
    cl = headers.get("content-length")
    if "chunked" not in te and not cl:
        return b""
    if headers.get("expect", "").lower() == "100-continue":
        conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in te:
        parts = []
        total = 0
        while True:
            size_line = rfile.readline(MAX_LINE)
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise BadRequest(400, "Malformed chunked body")
            if size == 0:
                while rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > MAX_BODY:
                raise BadRequest(413, "Request body too large")
            parts.append(rfile.read(size))
            rfile.readline(MAX_LINE)
    try:
        n = int(cl)
    except ValueError:
        raise BadRequest(400, "Malformed Content-Length")
    if n < 0:
        raise BadRequest(400, "Malformed Content-Length")
    if n > MAX_BODY:
        raise BadRequest(413, "Request body too large")
    body = rfile.read(n)
    if len(body) < n:
        raise ValueError("short body")
    return body


def build(req, resp, keep):
    """Serialise status line, headers and (maybe gzipped) body."""
    body = resp.body
    extra = []
    bodiless = resp.status < 200 or resp.status in (204, 304)
    if bodiless:
        body = b""
    if (resp.compress and req is not None and len(body) >= GZIP_MIN
            and "gzip" in req.headers.get("accept-encoding", "")):
        body = gzip.compress(body, compresslevel=5, mtime=0)
        extra.append("Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n")
    lines = ["HTTP/1.1 %d %s\r\n" % (resp.status, reason(resp.status)),
             "Date: ", _date.get(), "\r\nServer: hlua-sandbox\r\n"]
    for name, value in resp.headers:
        lines.append("%s: %s\r\n" % (name, value))
    lines.extend(extra)
    if bodiless:
        pass  # 1xx and 204 carry no Content-Length at all (RFC 9110 8.6)
    elif resp.action == "truncate" or resp.action == "reset_mid_body":
        lines.append("Content-Length: %d\r\n" % max(len(body), 16))
    else:
        lines.append("Content-Length: %d\r\n" % len(body))
    if not keep:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1"), body
