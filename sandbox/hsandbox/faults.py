"""Failure switches: rules set through POST /_sandbox/faults or the command line.

A rule matches a request by path prefix and method, then fires for `count`
matches (after skipping `skip` of them) or, with `share`, for that fraction of
matches. Latency rules add delay and let the request go on; of the other rules
the first that fires decides the answer.
"""

import random
import threading

KINDS = ("latency", "429", "status", "html", "reset_mid_body", "truncate", "slow_body",
         "hang", "redirect_other_origin", "drop", "reset")

HTML_PAGE = """<html>
<head><title>{status} {reason}</title></head>
<body>
<center><h1>{status} {reason}</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


class FaultError(ValueError):
    pass


class Rule:
    def __init__(self, spec, rid):
        if not isinstance(spec, dict):
            raise FaultError("a fault is a JSON object")
        kind = str(spec.get("fault", ""))
        if kind not in KINDS:
            raise FaultError("unknown fault %r; known: %s" % (kind, ", ".join(KINDS)))
        self.id = rid
        self.kind = kind
        self.spec = dict(spec)
        self.path = str(spec.get("path", "") or "")
        self.method = str(spec.get("method", "") or "").upper()
        share = spec.get("share")
        self.share = None if share is None else _num(share, "share", 0.0, 1.0)
        default_count = None if (kind == "latency" or self.share is not None) else 1
        count = spec.get("count", default_count)
        self.remaining = None if count in (None, 0, -1) else int(_num(count, "count", 1, 1e12))
        self.skip = int(_num(spec.get("skip", 0), "skip", 0, 1e12))
        self.fired = 0
        if kind == "latency":
            self.ms = _num(spec.get("ms", 0), "ms", 0, 600000)
            self.jitter_ms = _num(spec.get("jitter_ms", 0), "jitter_ms", 0, 600000)
        if kind in ("status", "html"):
            self.status = int(_num(spec.get("status", 503 if kind == "status" else 502),
                                   "status", 100, 599))
        if kind == "429":
            ra = spec.get("retry_after")
            self.retry_after = None if ra is None else str(ra)
        if kind == "slow_body":
            self.seconds = _num(spec.get("seconds", 5), "seconds", 0, 3600)
        if kind == "redirect_other_origin":
            self.status = int(_num(spec.get("status", 302), "status", 300, 399))

    def matches(self, method, path):
        if self.remaining == 0:
            return False
        if self.path and not path.startswith(self.path):
            return False
        return not self.method or self.method == method

    def view(self):
        d = dict(self.spec)
        d.update(id=self.id, fired=self.fired, remaining=self.remaining)
        return d


def _num(v, name, lo, hi):
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise FaultError("%s must be a number" % name)
    if not lo <= f <= hi:
        raise FaultError("%s must be between %g and %g" % (name, lo, hi))
    return f


class Faults:
    def __init__(self, seed=1):
        self.lock = threading.Lock()
        self.rules = []
        self.next_id = 1
        self.rng = random.Random(seed)

    def add(self, spec):
        with self.lock:
            rule = Rule(spec, self.next_id)
            self.next_id += 1
            self.rules.append(rule)
            return rule

    def remove(self, rid):
        with self.lock:
            before = len(self.rules)
            self.rules = [r for r in self.rules if r.id != rid]
            return len(self.rules) != before

    def clear(self):
        with self.lock:
            self.rules = []

    def list(self):
        with self.lock:
            return [r.view() for r in self.rules]

    def pick(self, method, path):
        """Returns (delay seconds, the terminal rule or None) for one request."""
        if not self.rules:
            return 0.0, None
        delay = 0.0
        chosen = None
        with self.lock:
            for r in self.rules:
                if r.kind != "latency" and chosen is not None:
                    continue
                if not r.matches(method, path):
                    continue
                if r.skip > 0:
                    r.skip -= 1
                    continue
                if r.share is not None and self.rng.random() >= r.share:
                    continue
                if r.remaining is not None:
                    r.remaining -= 1
                r.fired += 1
                if r.kind == "latency":
                    delay += (r.ms + self.rng.uniform(0, r.jitter_ms)) / 1000.0
                else:
                    chosen = r
        return delay, chosen

    def jitter(self, ms):
        with self.lock:
            return self.rng.uniform(0, ms)

    def roll(self, share):
        with self.lock:
            return self.rng.random() < share
