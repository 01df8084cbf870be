"""The Harness API table (src/api/operations.tsv): every operation of Harness's
generated Go SDK with its method, path template, required and optional query
parameters and headers, body and accepted Content-Types.

The sandbox answers only what the table has: a method and path that match no
operation is a 404, a missing required query parameter a 400, a Content-Type
the operation does not consume a 415. The table is read once at start and
indexed for matching: per method and segment count, a tree of path segments
where a literal segment is tried before a {param} one."""

import os
from urllib.parse import unquote

COLUMNS = ("service", "operation", "method", "path", "required_query", "optional_query",
           "required_header", "optional_header", "body", "consumes", "returns",
           "param_types")


class TableError(Exception):
    pass


def _names(cell):
    return () if cell == "-" or not cell else tuple(cell.split(","))


def media_type(value):
    """The media type of a Content-Type value, lower-case, without parameters."""
    return value.split(";", 1)[0].strip().lower()


class Operation:
    """One row of the table. Only the name, method and path are read at start;
    the rest of the row is parsed when the operation is first matched."""

    __slots__ = ("service", "name", "method", "path", "segments", "params", "_rest",
                 "_detail")

    def __init__(self, service, name, method, path, rest):
        self.service = service
        self.name = name
        self.method = method.upper()
        self.path = path
        self.segments = _split(path)
        self.params = ()   # (segment index, name) of each {name}: set by Table._index
        self._rest = rest  # the other columns, tab-separated
        self._detail = None

    def _parse(self):
        cols = self._rest.split("\t")
        if len(cols) != len(COLUMNS) - 4:
            raise TableError("%s: %d columns, expected %d" % (self.name, len(cols) + 4,
                                                              len(COLUMNS)))
        rq, oq, rh, oh, body, consumes, returns, _types = cols
        types = None if consumes == "-" else frozenset(consumes.lower().split(","))
        self._detail = (_names(rq), _names(oq), _names(rh), _names(oh), body, types,
                        types is not None and "*/*" in types, returns)
        return self._detail

    def _d(self, i):
        return (self._detail or self._parse())[i]

    required_query = property(lambda self: self._d(0))
    optional_query = property(lambda self: self._d(1))
    required_header = property(lambda self: self._d(2))
    optional_header = property(lambda self: self._d(3))
    body = property(lambda self: self._d(4))
    consumes = property(lambda self: self._d(5),
                        doc="the accepted media types, lower-case; None: takes no body")
    any_type = property(lambda self: self._d(6))
    returns = property(lambda self: self._d(7))

    def accepts(self, ctype):
        """Whether a request body of Content-Type `ctype` (None: no header) is
        consumed. An operation that takes no body refuses any Content-Type."""
        d = self._detail or self._parse()
        if d[5] is None:
            return ctype is None
        if ctype is None:
            return False
        return d[6] or media_type(ctype) in d[5]

    def label(self):
        return "%s (%s %s)" % (self.name, self.method, self.path)

    def __repr__(self):
        return "<Operation %s>" % self.label()


def _split(path):
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path[1:].split("/") if path.startswith("/") else path.split("/")


class _Node:
    __slots__ = ("lit", "param", "op")

    def __init__(self):
        self.lit = {}
        self.param = None
        self.op = None


def _walk(node, segs, i, n):
    if i == n:
        return node.op
    child = node.lit.get(segs[i])
    if child is not None:
        op = _walk(child, segs, i + 1, n)
        if op is not None:
            return op
    if node.param is not None and segs[i]:
        return _walk(node.param, segs, i + 1, n)
    return None


class Table:
    """The operations, by name and indexed for matching."""

    def __init__(self, rows, source="<rows>"):
        """rows: (service, operation, method, path, the other columns joined
        by tabs)."""
        self.source = source
        self.ops = []
        self.by_name = {}
        self.duplicates = []   # operations whose method and path an earlier one has
        self._roots = {}       # (method, segment count) -> tree
        for row in rows:
            op = Operation(*row)
            self.ops.append(op)
            self.by_name.setdefault(op.name, op)
            self._index(op)

    def _index(self, op):
        key = (op.method, len(op.segments))
        node = self._roots.get(key)
        if node is None:
            node = self._roots[key] = _Node()
        params = []
        for i, s in enumerate(op.segments):
            if s[:1] == "{" and s[-1:] == "}":
                params.append((i, s[1:-1]))
                if node.param is None:
                    node.param = _Node()
                node = node.param
            else:
                nxt = node.lit.get(s)
                if nxt is None:
                    nxt = node.lit[s] = _Node()
                node = nxt
        op.params = tuple(params)
        if node.op is None:
            node.op = op
        else:
            self.duplicates.append(op)

    def match(self, method, path):
        """(operation, path parameters) for a request, or (None, None). HEAD
        is answered by the GET operation of the path."""
        segs = _split(path)
        root = self._roots.get((method, len(segs)))
        op = _walk(root, segs, 0, len(segs)) if root is not None else None
        if op is None and method == "HEAD":
            return self.match("GET", path)
        if op is None:
            return None, None
        params = {}
        for i, name in op.params:
            v = segs[i]
            params[name] = unquote(v) if "%" in v else v
        return op, params

    def find(self, method, path):
        """The operation whose template is exactly `path` (with {names})."""
        segs = _split(path)
        for op in self.ops:
            if op.method == method and op.segments == segs:
                return op
        return None

    def __len__(self):
        return len(self.ops)


def load(path):
    """Reads the table; raises TableError when it is missing or malformed."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except OSError as e:
        raise TableError("cannot read the Harness API table %s: %s" % (path, e.strerror))
    header = tuple(lines[0].rstrip("\r").split("\t")) if lines else ()
    if header != COLUMNS:
        raise TableError("%s: not a Harness API table (its first line is not the expected "
                         "column names)" % path)
    rows = []
    want = len(COLUMNS) - 1
    for n, line in enumerate(lines[1:], 2):
        if not line:
            continue
        if line.count("\t") != want:
            raise TableError("%s:%d: %d columns, expected %d"
                             % (path, n, line.count("\t") + 1, len(COLUMNS)))
        rows.append(line.rstrip("\r").split("\t", 4))
    return Table(rows, path)


def default_path(sandbox_dir):
    """Where the table is: in a source tree src/api/ beside the sandbox, once
    installed share/hlua/api/ beside share/hlua/sandbox. None if neither."""
    for rel in (("..", "src", "api", "operations.tsv"), ("..", "api", "operations.tsv")):
        p = os.path.normpath(os.path.join(sandbox_dir, *rel))
        if os.path.isfile(p):
            return p
    return None
