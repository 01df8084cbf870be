"""The sandbox application: counters, faults, the control API under /_sandbox/,
the test helpers (echo, bytes, redirect), then the Harness API itself."""

import collections
import json
import threading
import time
from urllib.parse import urlencode

from . import api
from .engine import Response
from .faults import HTML_PAGE, FaultError, Faults
from .engine import reason

JSON = "application/json"
CONTROL = ("/_sandbox/info", "/_sandbox/stats", "/_sandbox/reset", "/_sandbox/faults",
           "/_sandbox/config", "/_sandbox/requests", "/_sandbox/other-origin",
           "/_sandbox/size")
MAX_BYTES = 512 * 1024 * 1024


def dumps(obj, indent=None):
    if indent:
        return (json.dumps(obj, indent=2) + "\n").encode()
    return json.dumps(obj, separators=(",", ":")).encode()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = 0
            self.with_key = 0
            self.without_key = 0
            self.by_listener = collections.Counter()
            self.by_status = collections.Counter()
            self.last_headers = collections.OrderedDict()
            self.log = collections.deque(maxlen=2000)
            self.seq = 0


class Recorder:
    """The other origin: answers anything with 200 and remembers what it got."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log = collections.deque(maxlen=1000)
        self.total = 0

    def handle(self, req):
        with self.lock:
            self.total += 1
            self.log.append({"n": self.total, "time": time.time(), "method": req.method,
                             "path": req.path, "target": req.target,
                             "headers": [list(h) for h in req.header_list],
                             "has_api_key": "x-api-key" in req.headers,
                             "has_authorization": "authorization" in req.headers,
                             "body_bytes": len(req.body)})
        return Response(200, dumps({"status": "SUCCESS", "data": {"origin": "other",
                                                                  "path": req.path},
                                    "metaData": None, "correlationId": api.corr()}), JSON)

    def bad_request(self, status, message):
        return Response(status, dumps({"message": message}), JSON)

    def internal_error(self, req, e):
        return Response(500, dumps({"message": "internal error"}), JSON)

    def view(self):
        with self.lock:
            return {"total": self.total,
                    "with_api_key": sum(1 for r in self.log if r["has_api_key"]),
                    "requests": list(self.log)}

    def clear(self):
        with self.lock:
            self.log.clear()
            self.total = 0


class SandboxApp:
    def __init__(self, state, config, recorder, info_fn, engine, harness_api):
        self.state = state
        self.config = config          # dict: latency_ms, jitter_ms, rate_limit_share, ...
        self.recorder = recorder
        self.info_fn = info_fn
        self.engine = engine
        self.api = harness_api
        self.faults = Faults(config.get("seed", 1))
        self.stats = Stats()
        self.other_origin_url = None

    # -- engine callbacks ------------------------------------------------

    def bad_request(self, status, message):
        return api.error_response("/", api.ApiError(status, "INVALID_REQUEST", message,
                                                    "FAILURE"))

    def internal_error(self, req, e):
        return api.error_response(req.path, api.ApiError(
            500, "UNEXPECTED", "An unexpected error occurred in the sandbox: %s"
            % type(e).__name__))

    def handle(self, req):
        path = req.path
        if path.startswith("/gateway/"):
            path = path[8:]
        if path.startswith("/_sandbox/") and path.startswith(CONTROL):
            return self.control(req, path)
        entry = self._record(req, path)
        delay, rule = self._faults(req.method, path)
        if delay > 0:
            time.sleep(delay)
        if rule is not None and rule.kind not in ("truncate", "reset_mid_body", "slow_body"):
            resp = self._fault_response(rule, req, path)
        else:
            if path.startswith("/_sandbox/"):
                resp = self.helpers(req, path)
            else:
                resp = self.api.dispatch(req, path, entry)
            if rule is not None:
                resp.action = rule.kind
                resp.compress = rule.kind != "slow_body" and resp.compress
                if rule.kind == "slow_body":
                    resp.slow_seconds = rule.seconds
        entry["status"] = resp.status
        entry["fault"] = rule.kind if rule is not None else None
        with self.stats.lock:
            self.stats.by_status[resp.status] += 1
        return resp

    def _record(self, req, path):
        s = self.stats
        key = req.headers.get("x-api-key")
        with s.lock:
            s.requests += 1
            s.seq += 1
            if key:
                s.with_key += 1
            else:
                s.without_key += 1
            s.by_listener[req.listener] += 1
            s.last_headers[path] = req.header_list
            s.last_headers.move_to_end(path)
            if len(s.last_headers) > 500:
                s.last_headers.popitem(last=False)
            entry = {"n": s.seq, "time": time.time(), "listener": req.listener,
                     "connection": req.conn_id, "method": req.method, "path": path,
                     "target": req.target, "has_api_key": bool(key),
                     "account_header": req.headers.get("harness-account"),
                     "content_type": req.headers.get("content-type"),
                     "body_bytes": len(req.body), "operation": None, "shape_ok": False,
                     "status": None, "code": None, "fault": None}
            s.log.append(entry)
        return entry

    def _faults(self, method, path):
        cfg = self.config
        delay = 0.0
        if cfg.get("latency_ms") or cfg.get("jitter_ms"):
            delay = (cfg.get("latency_ms", 0) + self.faults.jitter(cfg.get("jitter_ms", 0))) / 1000
        d, rule = self.faults.pick(method, path)
        delay += d
        if rule is None and path.startswith("/_sandbox/"):
            return delay, None
        if rule is None and cfg.get("rate_limit_share") and self.faults.roll(cfg["rate_limit_share"]):
            rule = self.faults_synthetic({"fault": "429", "retry_after": cfg.get("retry_after")})
        if rule is None and cfg.get("error_share") and self.faults.roll(cfg["error_share"]):
            rule = self.faults_synthetic({"fault": "status", "status": cfg.get("error_status", 503)})
        return delay, rule

    @staticmethod
    def faults_synthetic(spec):
        from .faults import Rule
        return Rule({k: v for k, v in spec.items() if v is not None}, 0)

    def _fault_response(self, rule, req, path):
        k = rule.kind
        if k == "429":
            headers = [] if rule.retry_after is None else [("Retry-After", rule.retry_after)]
            return api.error_response(path, api.ApiError(
                429, "TOO_MANY_REQUESTS",
                "Too many requests received, please try again later", headers=headers))
        if k == "status":
            code = rule.spec.get("code") or {500: "UNEXPECTED", 502: "BAD_GATEWAY",
                                             503: "SERVICE_UNAVAILABLE",
                                             504: "GATEWAY_TIMEOUT"}.get(rule.status, "UNEXPECTED")
            headers = []
            if rule.spec.get("retry_after") is not None:
                headers.append(("Retry-After", str(rule.spec["retry_after"])))
            return api.error_response(path, api.ApiError(
                rule.status, code, rule.spec.get("message") or
                "Service is temporarily unavailable (%d)" % rule.status, headers=headers))
        if k == "html":
            return Response(rule.status, HTML_PAGE.format(status=rule.status,
                                                          reason=reason(rule.status)),
                            "text/html")
        if k == "redirect_other_origin":
            return Response(rule.status, b"", None,
                            [("Location", self.other_origin_url + req.target)])
        r = Response(0)
        r.action = k  # hang, drop, reset
        return r

    # -- helpers for HTTP tests (counted, subject to faults, no key needed) --

    def helpers(self, req, path):
        if path == "/_sandbox/echo" or path.startswith("/_sandbox/echo/"):
            body = req.body
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            return Response(200, dumps({
                "method": req.method, "path": req.path, "target": req.target,
                "query": req.query, "headers": {k: v for k, v in req.headers.items()},
                "header_list": req.header_list, "body": text,
                "body_bytes": len(body), "listener": req.listener,
                "connection": req.conn_id}), JSON)
        if path == "/_sandbox/bytes":
            try:
                n = int(req.q("n", "1024"))
            except ValueError:
                n = -1
            if not 0 <= n <= MAX_BYTES:
                return self._control_error(400, "n must be between 0 and %d" % MAX_BYTES)
            ctype = req.q("type", "application/octet-stream")
            unit = b"0123456789abcdef" * 4096
            body = (unit * (n // len(unit) + 1))[:n]
            return Response(200, body, ctype)
        if path == "/_sandbox/redirect":
            to = req.q("to", "/_sandbox/echo")
            if req.q("origin") == "other":
                to = self.other_origin_url + to
            try:
                status = int(req.q("status", "302"))
            except ValueError:
                status = 302
            return Response(status, b"", None, [("Location", to)])
        if path.startswith("/_sandbox/status/"):
            try:
                status = int(path.rsplit("/", 1)[1])
            except ValueError:
                status = 400
            if not 200 <= status <= 599:
                status = 400
            if status < 400:
                return api.ok({"status": status}, status)
            return api.error_response(path, api.ApiError(status, "SANDBOX_STATUS",
                                                         "status %d as asked" % status))
        return self._control_error(404, "no such sandbox endpoint: " + path)

    # -- the control API ---------------------------------------------------

    def _control_error(self, status, message):
        return Response(status, dumps({"status": "ERROR", "code": "INVALID_REQUEST",
                                       "message": message, "correlationId": api.corr()}), JSON)

    def _body(self, req):
        if not req.body.strip():
            return {}
        return json.loads(req.body)

    def control(self, req, path):
        try:
            body = self._body(req) if req.method in ("POST", "PUT", "PATCH") else {}
        except ValueError as e:
            return self._control_error(400, "malformed JSON body: %s" % e)
        m = req.method
        try:
            if path == "/_sandbox/info" and m == "GET":
                return Response(200, dumps(self.info_fn(), 2), JSON)
            if path == "/_sandbox/stats" and m == "GET":
                return Response(200, dumps(self.stats_view(req), 2), JSON)
            if path == "/_sandbox/requests" and m == "GET":
                since = int(req.q("since", "0"))
                with self.stats.lock:
                    items = [e for e in self.stats.log if e["n"] > since]
                return Response(200, dumps({"requests": items}, 2), JSON)
            if path == "/_sandbox/reset" and m == "POST":
                return self.reset(body)
            if path == "/_sandbox/faults":
                if m == "GET":
                    return Response(200, dumps({"faults": self.faults.list()}, 2), JSON)
                if m == "POST":
                    specs = body if isinstance(body, list) else [body]
                    if isinstance(body, dict) and body.get("replace"):
                        self.faults.clear()
                    made = [self.faults.add(s).view() for s in specs]
                    return Response(201, dumps({"faults": made}, 2), JSON)
                if m == "DELETE":
                    self.faults.clear()
                    return Response(200, dumps({"faults": []}), JSON)
            if path.startswith("/_sandbox/faults/") and m == "DELETE":
                found = self.faults.remove(int(path.rsplit("/", 1)[1]))
                return Response(200 if found else 404, dumps({"removed": found}), JSON)
            if path == "/_sandbox/config":
                if m in ("POST", "PUT", "PATCH"):
                    self.set_config(body)
                return Response(200, dumps(self.config_view(), 2), JSON)
            if path == "/_sandbox/other-origin/log":
                if m == "DELETE":
                    self.recorder.clear()
                return Response(200, dumps(self.recorder.view(), 2), JSON)
            if path == "/_sandbox/size" and m == "POST":
                return self.resize(body)
        except FaultError as e:
            return self._control_error(400, str(e))
        except (ValueError, TypeError, KeyError) as e:
            return self._control_error(400, "bad control request: %s" % e)
        return self._control_error(404 if m in ("GET", "POST", "DELETE") else 405,
                                   "no such control endpoint: %s %s" % (m, path))

    def stats_view(self, req):
        s = self.stats
        with s.lock:
            out = {"connections": {l.name: l.connections for l in self.engine.listeners},
                   "connections_total": sum(l.connections for l in self.engine.listeners
                                            if l.name != "other"),
                   "requests": s.requests, "requests_with_key": s.with_key,
                   "requests_without_key": s.without_key,
                   "by_listener": dict(s.by_listener),
                   "by_status": {str(k): v for k, v in s.by_status.items()},
                   "other_origin_requests": self.recorder.total,
                   "faults": self.faults.list()}
            p = req.q("path")
            if p is not None:
                out["last_headers"] = s.last_headers.get(p)
            elif req.q("headers") == "1":
                out["last_headers"] = dict(s.last_headers)
        return out

    def reset(self, body):
        self.faults.clear()
        self.stats.reset()
        self.recorder.clear()
        for l in self.engine.listeners:
            l.connections = 0
        if body.get("state"):
            with self.state.lock:
                self.state.seed(self.config.get("big_pipelines", 10000))
        return Response(200, dumps({"reset": True, "state": bool(body.get("state"))}), JSON)

    CONFIG_KEYS = {"latency_ms": float, "jitter_ms": float, "rate_limit_share": float,
                   "retry_after": str, "error_share": float, "error_status": int,
                   "execution_seconds": float, "outcome": str}

    def set_config(self, body):
        if not isinstance(body, dict):
            raise ValueError("config is a JSON object")
        for k, v in body.items():
            if k not in self.CONFIG_KEYS:
                raise ValueError("unknown config key %r" % k)
            self.config[k] = None if v is None else self.CONFIG_KEYS[k](v)
        if body.get("execution_seconds") is not None:
            self.state.execution_seconds = self.config["execution_seconds"]
        if "outcome" in body:
            self.state.forced_outcome = self.config["outcome"]

    def config_view(self):
        return {k: self.config.get(k) for k in self.CONFIG_KEYS}

    def resize(self, body):
        kind = body.get("kind", "pipelines")
        if kind != "pipelines":
            raise ValueError("only kind 'pipelines' can be sized")
        count = int(body.get("count", 0))
        if not 0 <= count <= 1000000:
            raise ValueError("count must be between 0 and 1000000")
        self.state.resize_pipelines(body.get("org", "default"), body.get("project", "big"), count)
        return Response(200, dumps({"kind": kind, "count": count}), JSON)
