"""The Harness API as the sandbox serves it: the check of every request against
the Harness API table, authentication, the account check, roles, envelopes,
page styles and error bodies, and the handlers of the simulated operations
(SIMULATED, at the end, maps each to its operation in the table)."""

import json
import math
import time
import uuid

from . import optable
from . import state as st
from . import yamlgen
from .engine import Response

JSON = "application/json"
NG_DEFAULT_SIZE, NG_MAX_SIZE = 100, 1000
V1_DEFAULT_SIZE, V1_MAX_SIZE = 30, 100
PMS_DEFAULT_SIZE, PMS_MAX_SIZE = 25, 1000
CF_DEFAULT_SIZE, CF_MAX_SIZE = 50, 1000


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def corr():
    return str(uuid.uuid4())


class ApiError(Exception):
    """Raised by handlers; rendered in the shape of the service the path belongs to."""

    def __init__(self, status, code, message, kind="ERROR", errors=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.kind = kind
        self.errors = errors
        self.headers = headers


def invalid(message, field=None):
    errors = [{"fieldId": field, "error": message}] if field else []
    return ApiError(400, "INVALID_REQUEST", "Invalid request: " + message, "FAILURE", errors)


def not_found(message, code="RESOURCE_NOT_FOUND"):
    return ApiError(404, code, message)


def ok(data, status=200, headers=None):
    return Response(status, dumps({"status": "SUCCESS", "data": data, "metaData": None,
                                   "correlationId": corr()}), JSON, headers)


def error_response(path, e):
    """Harness's error body for the service of `path`."""
    cid = corr()
    if path.startswith("/cf/"):
        body = {"code": str(e.status), "message": e.message, "details": None}
    elif path.startswith("/v1/"):
        body = {"code": e.code, "message": e.message, "correlationId": cid}
    elif e.kind == "FAILURE":
        body = {"status": "FAILURE", "code": e.code, "message": e.message,
                "correlationId": cid, "errors": e.errors or []}
    else:
        body = {"status": "ERROR", "code": e.code, "message": e.message,
                "correlationId": cid, "detailedMessage": None,
                "responseMessages": [{"code": e.code, "level": "ERROR", "message": e.message,
                                      "exception": None, "failureTypes": []}],
                "metadata": None}
    return Response(e.status, dumps(body), JSON, e.headers)


# ------------------------------------------------------------------ paging

def _int_param(req, name, default, lo=0, hi=None):
    v = req.q(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise invalid("%s must be an integer" % name, name)
    if n < lo:
        raise invalid("%s must be at least %d" % (name, lo), name)
    return n if hi is None else min(n, hi)


def ng_paging(req):
    return (_int_param(req, "pageIndex", 0),
            _int_param(req, "pageSize", NG_DEFAULT_SIZE, 1, NG_MAX_SIZE))


def ng_page(items, index, size, fmt=None):
    total = len(items)
    content = items[index * size:(index + 1) * size]
    if fmt is not None:
        content = [fmt(x) for x in content]
    return {"totalPages": math.ceil(total / size), "totalItems": total,
            "pageItemCount": len(content), "pageSize": size, "content": content,
            "pageIndex": index, "empty": not content}


def spring_page(items, page, size, fmt=None, sorted_=True):
    total = len(items)
    content = items[page * size:(page + 1) * size]
    if fmt is not None:
        content = [fmt(x) for x in content]
    pages = math.ceil(total / size)
    sort = {"empty": not sorted_, "sorted": sorted_, "unsorted": not sorted_}
    return {"content": content,
            "pageable": {"sort": sort, "offset": page * size, "pageNumber": page,
                         "pageSize": size, "paged": True, "unpaged": False},
            "totalPages": pages, "totalElements": total, "last": page >= pages - 1,
            "size": size, "number": page, "sort": sort, "numberOfElements": len(content),
            "first": page == 0, "empty": not content}


def v1_page(req, items, fmt=None):
    """A v1 list page: a bare array, with X-Total-Elements, X-Page-Number and
    X-Page-Size, and a Link header that, like Harness's, is built with
    page_size (not limit) and offers next only after a full page: clients
    must not rely on it."""
    page = _int_param(req, "page", 0)
    limit = _int_param(req, "limit", V1_DEFAULT_SIZE, 1, V1_MAX_SIZE)
    content = items[page * limit:(page + 1) * limit]
    if fmt is not None:
        content = [fmt(x) for x in content]
    links = []
    if len(content) == limit:
        links.append('<%s?page=%d&page_size=%d>; rel="next"' % (req.path, page + 1, limit))
    links.append('<%s?page=%d&page_size=%d>; rel="self"' % (req.path, page, limit))
    if page > 0:
        links.append('<%s?page=%d&page_size=%d>; rel="previous"' % (req.path, page - 1, limit))
    headers = [("X-Total-Elements", str(len(items))), ("X-Page-Number", str(page)),
               ("X-Page-Size", str(limit)), ("Link", ", ".join(links))]
    return Response(200, dumps(content), JSON, headers)


def search(items, term, *fields):
    if not term:
        return items
    t = term.lower()
    return [x for x in items if any(t in str(f(x) or "").lower() for f in fields)]


# ------------------------------------------------------------------ routing

BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
# The operations that take the account from the key, as Harness does, though
# the table lists accountIdentifier among their required query parameters.
ACCOUNT_FROM_KEY = frozenset(("User.GetCurrentUserInfo",))


class Ctx:
    """One request as the handlers see it."""

    __slots__ = ("req", "path", "op", "token", "account", "state", "params", "_json")

    def q(self, name, default=None):
        return self.req.q(name, default)

    def json(self, required=True):
        if self._json is None:
            body = self.req.body
            if not body.strip():
                if required:
                    raise invalid("request body is required")
                self._json = {}
            else:
                try:
                    self._json = json.loads(body)
                except (ValueError, UnicodeDecodeError) as e:
                    raise invalid("malformed JSON body: %s" % e)
        return self._json

    def json_object(self, required=True):
        v = self.json(required)
        if not isinstance(v, dict):
            raise invalid("the body must be a JSON object")
        return v

    def yaml(self, required=True):
        """The YAML text of the body. The table has already refused a
        Content-Type the operation does not consume; a JSON string (what a
        client that sends the YAML as application/json may do) is unwrapped."""
        body = self.req.body
        if not body.strip():
            if required:
                raise invalid("the YAML body is required")
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid("the YAML body is not UTF-8")
        ctype = optable.media_type(self.req.headers.get("content-type", ""))
        if ctype == "application/json" and text.lstrip().startswith('"'):
            try:
                text = json.loads(text)
            except ValueError as e:
                raise invalid("malformed JSON body: %s" % e)
        return text

    def scope(self, need_org=False, need_project=False):
        org = self.q("orgIdentifier") or None
        proj = self.q("projectIdentifier") or None
        if need_org and not org:
            raise invalid("orgIdentifier: must not be null", "orgIdentifier")
        if need_project and not proj:
            raise invalid("projectIdentifier: must not be null", "projectIdentifier")
        if proj and not org:
            raise invalid("orgIdentifier: must be given with projectIdentifier", "orgIdentifier")
        return org, proj

    def principal(self):
        return self.state.principal(self.token)

    # -- roles ---------------------------------------------------------------

    def is_admin(self):
        return self.state.is_admin(self.token)

    def is_self(self, typ, parent, org=None, proj=None):
        """Whether (type, parent, scope) names the caller itself."""
        t = self.token
        return (typ == t["apiKeyType"] and parent == t["parentIdentifier"]
                and org == t["orgIdentifier"] and proj == t["projectIdentifier"])

    def need_admin(self, permission, resource):
        if not self.is_admin():
            raise denied(permission, resource)

    def need_self_or_admin(self, typ, parent, org, proj, action):
        """A non-admin reaches only its own API keys and tokens."""
        if self.is_admin() or self.is_self(typ, parent, org, proj):
            return
        if typ == "SERVICE_ACCOUNT":
            raise denied("core_serviceaccount_%s" % ("view" if action == "view" else
                                                     "manageapikey"), "serviceaccount")
        raise ApiError(403, "ACCESS_DENIED",
                       "Invalid api key type: %s or parent identifier: %s provided: "
                       "a user may only %s its own API keys and tokens"
                       % (typ, parent, "list" if action == "view" else "change"))


def denied(permission, resource):
    return ApiError(403, "ACCESS_DENIED", "Missing permission %s on %s"
                    % (permission, resource))


def not_simulated(op):
    return ApiError(501, "NOT_SIMULATED", "%s is a real Harness operation the sandbox does "
                    "not simulate" % op.label())


class HarnessApi:
    """Every request is first checked against the Harness API table: a method
    and path it does not have is a 404, a Content-Type the operation does not
    consume a 415, a missing required query parameter a 400. Then the
    operation's handler runs, or, for an operation the sandbox does not
    simulate, a 501 NOT_SIMULATED says so."""

    def __init__(self, state, table):
        self.state = state
        self.table = table
        self.handlers = {}   # Operation -> handler
        self.unmatched = []  # simulated names the table lacks (or has elsewhere)
        for name, (method, path, fn, _notes) in SIMULATED.items():
            op = table.by_name.get(name)
            if op is None or op.method != method or op.path != path:
                self.unmatched.append(name)
                continue
            self.handlers[op] = fn

    def dispatch(self, req, path, entry=None):
        """Match the table, check the request's shape, authenticate, check the
        account, run the handler. `entry` (the request log's) gets the
        operation's name and the code of an error."""
        op, params = self.table.match(req.method, path)
        if op is None:
            if entry is not None:
                entry["code"] = "RESOURCE_NOT_FOUND"
            return error_response(path, not_found(
                "Unable to process request: HTTP 404 Not Found (no Harness operation %s %s)"
                % (req.method, path)))
        if entry is not None:
            entry["operation"] = op.name
        try:
            self._check_media_type(req, op)
            ctx = self._context(req, path, op)
            self._check_required(req, op)
            if entry is not None:
                entry["shape_ok"] = True  # what the table asks of the request, it has
            fn = self.handlers.get(op)
            if fn is None:
                raise not_simulated(op)
            ctx.params = params
            return fn(ctx)
        except ApiError as e:
            if entry is not None:
                entry["code"] = e.code
            return error_response(path, e)
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            # a body of the wrong shape (a string where an object belongs, ...)
            if entry is not None:
                entry["code"] = "INVALID_REQUEST"
            return error_response(path, invalid("the request does not have the expected "
                                                "shape (%s: %s)" % (type(e).__name__, e)))

    @staticmethod
    def _check_media_type(req, op):
        if req.method not in BODY_METHODS and not req.body:
            return
        ctype = req.headers.get("content-type")
        if ctype is None:
            if not req.body:
                return  # nothing sent, nothing to type
        elif op.accepts(ctype):
            return
        if op.consumes is None:
            want = "no body and no Content-Type"
        else:
            want = "Content-Type " + " or ".join(sorted(op.consumes))
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE",
                       "HTTP 415 Unsupported Media Type: %s takes %s (got %s)"
                       % (op.label(), want, repr(ctype) if ctype is not None
                          else "a body without a Content-Type"))

    @staticmethod
    def _check_required(req, op):
        for name in op.required_query:
            if name == "accountIdentifier":
                continue  # the account check in _context
            v = req.query.get(name)
            if not v or not v[0]:
                raise invalid("%s: must not be null" % name, name)
        if op.body not in ("-", "optional") and op.consumes is not None \
                and not req.body.strip():
            raise invalid("the request body (%s) is required" % op.body, "body")

    def _context(self, req, path, op):
        ctx = Ctx()
        ctx.req = req
        ctx.path = path
        ctx.op = op
        ctx.state = self.state
        ctx._json = None
        key = req.headers.get("x-api-key")
        if not key:
            raise ApiError(401, "INVALID_TOKEN", "Token is not valid.")
        token, err = self.state.authenticate(key.strip())
        if token is None:
            msg = "Token expired." if err == "EXPIRED_TOKEN" else "Token is not valid."
            raise ApiError(401, err, msg)
        ctx.token = token
        given = [v for v in (req.headers.get("harness-account"), req.q("account"),
                             req.q("accountIdentifier")) if v]
        for v in given:
            if v != token["accountIdentifier"]:
                raise ApiError(403, "ACCESS_DENIED",
                               "The API key belongs to another account than %s" % v)
        if not given and "accountIdentifier" in op.required_query \
                and op.name not in ACCOUNT_FROM_KEY:
            raise invalid("accountIdentifier: must not be null", "accountIdentifier")
        ctx.account = token["accountIdentifier"]
        return ctx


def _ms():
    return int(time.time() * 1000)


# ================================================================== NG core

def current_user(ctx):
    if ctx.token["apiKeyType"] != "USER":
        raise ApiError(400, "INVALID_REQUEST",
                       "Current user can be accessed only by 'USER' principal type")
    u = ctx.principal()
    s = ctx.state
    return ok({"uuid": u["uuid"], "name": u["name"], "email": u["email"], "token": None,
               "defaultAccountId": st.ACCOUNT, "intent": None,
               "accounts": [{"uuid": st.ACCOUNT, "accountName": s.account["name"],
                             "companyName": s.account["companyName"],
                             "defaultExperience": "NG", "createdFromNG": True,
                             "nextGenEnabled": True}],
               "admin": s.is_admin(ctx.token), "twoFactorAuthenticationEnabled":
                   u.get("twoFactorAuthenticationEnabled", False),
               "emailVerified": True, "locked": False, "disabled": False,
               "signupAction": None, "edition": None, "billingFrequency": None,
               "utmInfo": None, "externallyManaged": False,
               "givenName": u["name"].split()[0], "familyName": u["name"].split()[-1],
               "createdAt": u.get("createdAt"), "lastUpdatedAt": u.get("createdAt")})


def _org_dto(o):
    return {"organization": {"identifier": o["identifier"], "name": o["name"],
                             "description": o["description"], "tags": o["tags"]},
            "createdAt": o["createdAt"], "lastModifiedAt": o["lastModifiedAt"],
            "harnessManaged": o["harnessManaged"]}


def _project_dto(p):
    return {"project": {"orgIdentifier": p["orgIdentifier"], "identifier": p["identifier"],
                        "name": p["name"], "color": p["color"], "modules": p["modules"],
                        "description": p["description"], "tags": p["tags"]},
            "createdAt": p["createdAt"], "lastModifiedAt": p["lastModifiedAt"]}


def list_orgs(ctx):
    idx, size = ng_paging(ctx.req)
    with ctx.state.lock:
        items = search(list(ctx.state.orgs.values()), ctx.q("searchTerm"),
                       lambda o: o["identifier"], lambda o: o["name"])
    return ok(ng_page(items, idx, size, _org_dto))


def get_org(ctx):
    o = ctx.state.orgs.get(ctx.params["identifier"])
    if o is None:
        raise not_found("Organization with identifier [%s] not found" % ctx.params["identifier"])
    return ok(_org_dto(o))


def _projects_in(ctx, org):
    with ctx.state.lock:
        items = [p for (o, _), p in ctx.state.projects.items() if not org or o == org]
    return search(items, ctx.q("searchTerm"), lambda p: p["identifier"], lambda p: p["name"])


def list_projects(ctx):
    idx, size = ng_paging(ctx.req)
    org = ctx.q("orgIdentifier")
    items = _projects_in(ctx, org)
    mod = ctx.q("moduleType")
    if mod and ctx.q("hasModule", "true") != "false":
        items = [p for p in items if mod.upper() in p["modules"]]
    return ok(ng_page(items, idx, size, _project_dto))


def get_project(ctx):
    org = ctx.q("orgIdentifier") or "default"
    p = ctx.state.projects.get((org, ctx.params["identifier"]))
    if p is None:
        raise not_found("Project with orgIdentifier [%s] and identifier [%s] not found"
                        % (org, ctx.params["identifier"]))
    return ok(_project_dto(p))


# ================================================================== notification channels (v1)

def _channel_scope(ctx):
    org, proj = ctx.params.get("org"), ctx.params.get("project")
    if org is not None and org not in ctx.state.orgs:
        raise not_found("Organization %s not found" % org)
    if proj is not None and (org, proj) not in ctx.state.projects:
        raise not_found("Project %s/%s not found" % (org, proj))
    return org, proj


def _list_channels(ctx):
    org, proj = _channel_scope(ctx)
    with ctx.state.lock:
        items = list(ctx.state.channels.get((org, proj), []))
    kind = ctx.q("notification_channel_type")
    if kind:
        items = [c for c in items if c["notification_channel_type"] == kind]
    return v1_page(ctx.req, search(items, ctx.q("search_term"), lambda c: c["identifier"],
                                   lambda c: c["name"]))


def _get_channel(ctx):
    org, proj = _channel_scope(ctx)
    ident = ctx.params["notification-channel"]
    with ctx.state.lock:
        for c in ctx.state.channels.get((org, proj), []):
            if c["identifier"] == ident:
                return Response(200, dumps(c), JSON)
    raise not_found("Notification channel %s not found" % ident)


# one handler per operation, as SIMULATED wants: the scope is in the path
def list_channels_account(ctx): return _list_channels(ctx)
def list_channels_org(ctx): return _list_channels(ctx)
def list_channels_project(ctx): return _list_channels(ctx)
def get_channel_account(ctx): return _get_channel(ctx)
def get_channel_org(ctx): return _get_channel(ctx)
def get_channel_project(ctx): return _get_channel(ctx)


# ================================================================== pipelines

def _pipeline_scope(ctx):
    org, proj = ctx.scope(need_org=True, need_project=True)
    return org, proj


def _get_pipeline(ctx, ident):
    org, proj = _pipeline_scope(ctx)
    p = ctx.state.pipelines.get((org, proj), {}).get(ident)
    if p is None:
        raise not_found("Pipeline [%s] under Project[%s], Organization [%s] doesn't exist "
                        "or has been deleted." % (ident, proj, org), "ENTITY_NOT_FOUND")
    return p


def _git_details():
    return {"objectId": None, "branch": None, "repoIdentifier": None, "rootFolder": None,
            "filePath": None, "repoName": None, "commitId": None, "fileUrl": None,
            "repoUrl": None, "parentEntityConnectorRef": None, "parentEntityRepoName": None}


def _modules(p):
    return {"ci": ["ci", "pms"], "cd": ["cd", "pms"], "custom": ["pms"]}[p["kind"]]


def _pipeline_summary(ctx):
    s = ctx.state

    def fmt(p):
        last = s.last_exec.get((p["orgIdentifier"], p["projectIdentifier"], p["identifier"]))
        info = {"numOfErrors": [], "deployments": [], "lastExecutionTs": None,
                "lastExecutionStatus": None, "lastExecutionId": None}
        if last is not None:
            info.update(lastExecutionTs=last["startTs"],
                        lastExecutionStatus=s.execution_status(last),
                        lastExecutionId=last["planExecutionId"])
        return {"name": p["name"], "identifier": p["identifier"],
                "description": p["description"], "tags": p["tags"],
                "version": p["version"], "numOfStages": len(p["stageNames"]),
                "createdAt": p["createdAt"], "lastUpdatedAt": p["lastUpdatedAt"],
                "modules": _modules(p), "executionSummaryInfo": info, "filters": {},
                "stageNames": p["stageNames"], "storeType": "INLINE",
                "connectorRef": None, "isDraft": False, "yamlVersion": "0",
                "gitDetails": _git_details(),
                "entityValidityDetails": {"valid": True, "invalidYaml": None}}
    return fmt


def list_pipelines(ctx):
    org, proj = _pipeline_scope(ctx)
    page = _int_param(ctx.req, "page", 0)
    size = _int_param(ctx.req, "size", PMS_DEFAULT_SIZE, 1, PMS_MAX_SIZE)
    body = ctx.json_object(required=False)
    ft = body.get("filterType")
    if ft is not None and ft != "PipelineSetup":
        raise invalid("filterType must be PipelineSetup", "filterType")
    with ctx.state.lock:
        items = list(ctx.state.pipelines.get((org, proj), {}).values())
    items = search(items, ctx.q("searchTerm"), lambda p: p["identifier"], lambda p: p["name"])
    ids = body.get("pipelineIdentifiers")
    if ids:
        wanted = set(ids)
        items = [p for p in items if p["identifier"] in wanted]
    sort = ctx.q("sort", "")
    if sort:
        field, _, order = sort.partition(",")
        if field in ("name", "identifier", "createdAt", "lastUpdatedAt"):
            items.sort(key=lambda p: p[field], reverse=order.upper() == "DESC")
    return ok(spring_page(items, page, size, _pipeline_summary(ctx), bool(sort)))


def get_pipeline(ctx):
    p = _get_pipeline(ctx, ctx.params["pipelineIdentifier"])
    with ctx.state.lock:
        text = ctx.state.pipeline_yaml(p)
    return ok({"yamlPipeline": text, "resolvedTemplatesPipelineYaml": text,
               "gitDetails": _git_details(),
               "entityValidityDetails": {"valid": True, "invalidYaml": None},
               "modules": _modules(p), "storeType": "INLINE", "connectorRef": None,
               "allowDynamicExecutions": False, "isInlineHCEntity": False,
               "yamlSchemaErrorWrapper": None, "cacheResponse": None,
               "validateTemplateReconcileResponseDTO": None},
              headers=[("ETag", '"%d"' % p["version"])])


def _read_pipeline_yaml(ctx, org, proj):
    text = ctx.yaml()
    try:
        f = yamlgen.read_pipeline(text)
    except yamlgen.YamlError as e:
        raise ApiError(400, "INVALID_YAML_EXCEPTION", str(e), "ERROR")
    for k, v in (("orgIdentifier", org), ("projectIdentifier", proj)):
        if f.get(k) and f[k] != v:
            raise invalid("pipeline.%s [%s] does not match the query parameter [%s]"
                          % (k, f[k], v), k)
    return text, f


def _kind_of(text):
    if "type: CI" in text:
        return "ci"
    if "type: Deployment" in text:
        return "cd"
    return "custom"


def _create(ctx, v2):
    org, proj = _pipeline_scope(ctx)
    if (org, proj) not in ctx.state.projects:
        raise not_found("Project with orgIdentifier [%s] and identifier [%s] not found"
                        % (org, proj))
    text, f = _read_pipeline_yaml(ctx, org, proj)
    s = ctx.state
    with s.lock:
        table = s.pipelines[(org, proj)]
        if f["identifier"] in table:
            raise ApiError(400, "DUPLICATE_FIELD",
                           "Pipeline [%s] under Project[%s], Organization [%s] already exists"
                           % (f["identifier"], proj, org))
        p = s._new_pipeline(org, proj, f["identifier"], f["name"], _kind_of(text), text, _ms())
        p["stageNames"] = f["stageNames"]
        p["description"] = f.get("description", "")
        table[f["identifier"]] = p
    s.add_audit("PIPELINE", p["identifier"], "CREATE", "PMS", org, proj, ctx.principal())
    if v2:
        return ok({"identifier": p["identifier"], "governanceMetadata": _governance()})
    return ok(p["identifier"])


def _governance():
    return {"id": "", "deny": False, "details": [], "message": "", "timestamp": "0",
            "status": "pass", "accountId": "", "orgId": "", "projectId": "",
            "entity": "", "type": "", "action": "", "created": "0"}


def create_pipeline_v2(ctx):
    return _create(ctx, True)


def create_pipeline_v1(ctx):
    return _create(ctx, False)


def _update(ctx, v2):
    ident = ctx.params["pipelineIdentifier"]
    p = _get_pipeline(ctx, ident)
    org, proj = p["orgIdentifier"], p["projectIdentifier"]
    text, f = _read_pipeline_yaml(ctx, org, proj)
    if f["identifier"] != ident:
        raise invalid("pipeline.identifier [%s] does not match the path [%s]"
                      % (f["identifier"], ident), "identifier")
    with ctx.state.lock:
        p.update(yaml=text, name=f["name"], description=f.get("description", ""),
                 stageNames=f["stageNames"], kind=_kind_of(text), lastUpdatedAt=_ms(),
                 version=p["version"] + 1)
        p.pop("generated", None)
    ctx.state.add_audit("PIPELINE", ident, "UPDATE", "PMS", org, proj, ctx.principal())
    if v2:
        return ok({"identifier": ident, "governanceMetadata": _governance()})
    return ok(ident)


def update_pipeline_v2(ctx):
    return _update(ctx, True)


def update_pipeline_v1(ctx):
    return _update(ctx, False)


def delete_pipeline(ctx):
    ident = ctx.params["pipelineIdentifier"]
    p = _get_pipeline(ctx, ident)
    with ctx.state.lock:
        ctx.state.pipelines[(p["orgIdentifier"], p["projectIdentifier"])].pop(ident, None)
    ctx.state.add_audit("PIPELINE", ident, "DELETE", "PMS", p["orgIdentifier"],
                        p["projectIdentifier"], ctx.principal())
    return ok(True)


# ------------------------------------------------------------------ executions

def execute(ctx):
    p = _get_pipeline(ctx, ctx.params["identifier"])
    inputs = ctx.yaml(required=False)
    if "<+input>" in ctx.state.pipeline_yaml(p) and inputs is None:
        pass  # Harness would use defaults or fail at runtime; the sandbox runs it anyway
    e = ctx.state.run_pipeline(p, inputs, ctx.principal(), ctx.q("moduleType"))
    return ok({"planExecution": _plan_execution(ctx, e), "gitDetails": _git_details()})


def _plan_execution(ctx, e):
    p = e["pipeline"]
    status = ctx.state.execution_status(e)
    plan_status = {"Running": "RUNNING", "Success": "SUCCEEDED", "Failed": "FAILED",
                   "Aborted": "ABORTED"}[status]
    return {"uuid": e["planExecutionId"], "createdAt": e["startTs"], "planId": e["planId"],
            "setupAbstractions": {"accountId": st.ACCOUNT, "orgIdentifier": p["orgIdentifier"],
                                  "projectIdentifier": p["projectIdentifier"]},
            "validUntil": e["startTs"] + 180 * st.DAY_MS, "status": plan_status,
            "startTs": e["startTs"], "endTs": None, "metadata": {
                "runSequence": e["runSequence"], "pipelineIdentifier": p["identifier"],
                "executionUuid": e["planExecutionId"],
                "triggerInfo": {"triggerType": "MANUAL", "triggeredBy": {
                    "uuid": e["user"]["uuid"], "identifier": e["user"]["name"],
                    "extraInfo": {"email": e["user"].get("email")}}, "isRerun": False},
                "moduleType": e.get("moduleType") or _modules(p)[0],
                "isNotificationConfigured": False},
            "lastUpdatedAt": e["startTs"], "version": 0}


def _exec_summary(state):
    def fmt(e):
        p = e["pipeline"]
        status = state.execution_status(e)
        stages = p["stageNames"] or ["stage"]
        n = len(stages)
        end = None
        if status == "Running":
            done = min(n - 1, int((_ms() - e["startTs"]) / (e["duration"] * 1000) * n))
            ok_, running, failed = done, 1, 0
        elif status == "Success":
            ok_, running, failed = n, 0, 0
            end = e["startTs"] + int(e["duration"] * 1000)
        elif status == "Failed":
            ok_, running, failed = n - 1, 0, 1
            end = e["startTs"] + int(e["duration"] * 1000)
        else:
            ok_, running, failed = 0, 0, 0
            end = e["abortedAt"]
        summary = {
            "pipelineIdentifier": p["identifier"], "orgIdentifier": p["orgIdentifier"],
            "projectIdentifier": p["projectIdentifier"],
            "planExecutionId": e["planExecutionId"], "name": p["name"], "status": status,
            "tags": [], "labels": [],
            "executionTriggerInfo": {"triggerType": "MANUAL", "triggeredBy": {
                "uuid": e["user"]["uuid"], "identifier": e["user"]["name"],
                "extraInfo": {"email": e["user"].get("email")}}, "isRerun": False},
            "governanceMetadata": None, "moduleInfo": {}, "layoutNodeMap": {},
            "modules": _modules(p), "startingNodeId": "stage_0",
            "startTs": e["startTs"], "endTs": end, "createdAt": e["startTs"],
            "canRetry": status == "Failed", "showRetryHistory": False,
            "runSequence": e["runSequence"], "successfulStagesCount": ok_,
            "runningStagesCount": running, "failedStagesCount": failed,
            "totalStagesCount": n, "executionInputConfigured": False,
            "isLatestExecution": True, "allowStageExecutions": False,
            "stagesExecution": False, "storeType": "INLINE", "connectorRef": None,
            "executionMode": "NORMAL", "notesExistForPlanExecutionId": False,
            "shouldUseSimplifiedLayout": False}
        if status == "Failed":
            summary["executionErrorInfo"] = {"message": "Shell Script execution failed. "
                                             "Please check execution logs."}
        if status == "Aborted":
            summary["abortedBy"] = {"userName": e["user"]["name"], "email": e["user"].get("email")}
        return summary
    return fmt


def _get_execution(ctx):
    ident = ctx.params["planExecutionId"]
    e = ctx.state.executions.get(ident)
    org, proj = _pipeline_scope(ctx)
    if e is None or e["pipeline"]["orgIdentifier"] != org or \
            e["pipeline"]["projectIdentifier"] != proj:
        raise not_found("Plan Execution with id [%s] is not present or has been deleted"
                        % ident, "ENTITY_NOT_FOUND")
    return e


def execution_v2(ctx):
    e = _get_execution(ctx)
    return ok({"pipelineExecutionSummary": _exec_summary(ctx.state)(e),
               "executionGraph": None, "childGraph": None})


def execution_v1(ctx):
    return execution_v2(ctx)


def interrupt(ctx):
    e = _get_execution(ctx)
    kind = ctx.q("interruptType")
    if kind not in ("AbortAll", "Abort"):
        raise invalid("interruptType must be AbortAll", "interruptType")
    with ctx.state.lock:
        if ctx.state.execution_status(e) == "Running":
            e["abortedAt"] = _ms()
    return ok({"id": ctx.state.ids.uid(), "interruptType": kind,
               "planExecutionId": e["planExecutionId"], "metadata": None})


def execution_summary(ctx):
    org, proj = _pipeline_scope(ctx)
    page = _int_param(ctx.req, "page", 0)
    size = _int_param(ctx.req, "size", 20, 1, PMS_MAX_SIZE)
    body = ctx.json_object(required=False)
    ft = body.get("filterType")
    if ft is not None and ft != "PipelineExecution":
        raise invalid("filterType must be PipelineExecution", "filterType")
    s = ctx.state
    with s.lock:
        items = list(reversed(s.exec_by_project.get((org, proj), [])))
    pid = ctx.q("pipelineIdentifier") or body.get("pipelineIdentifier")
    if pid:
        items = [e for e in items if e["pipeline"]["identifier"] == pid]
    statuses = ctx.req.query.get("status") or body.get("status")
    if statuses:
        wanted = set(statuses)
        items = [e for e in items if s.execution_status(e) in wanted]
    return ok(spring_page(items, page, size, _exec_summary(s)))


# ================================================================== keys and tokens
#
# API keys and tokens live under a parent (a user, or a service account) in a
# scope: the account, an org or a project (orgIdentifier/projectIdentifier).
# A list names the scope; what lives in another scope is not in it. An
# account admin reaches every parent; anyone else only itself.

KEY_TYPES = ("USER", "SERVICE_ACCOUNT")


def _key_type(typ, field="apiKeyType"):
    if typ not in KEY_TYPES:
        raise invalid("%s must be USER or SERVICE_ACCOUNT" % field, field)
    return typ


def _parent_query(ctx, action):
    """Type, parent and scope of a key or token call from its query, once the
    caller may reach that parent."""
    typ = _key_type(ctx.q("apiKeyType"))
    parent = ctx.q("parentIdentifier")
    org, proj = ctx.scope()
    ctx.need_self_or_admin(typ, parent, org, proj, action)
    return typ, parent, org, proj


def _parent_body(ctx, b, action):
    """The same from a body (ApiKeyDTO, TokenDTO), scope included: these
    operations have no query parameter but accountIdentifier."""
    for f in ("apiKeyType", "parentIdentifier"):
        if not b.get(f):
            raise invalid("%s: must not be blank" % f, f)
    typ = _key_type(b["apiKeyType"])
    org = b.get("orgIdentifier") or None
    proj = b.get("projectIdentifier") or None
    if proj and not org:
        raise invalid("orgIdentifier: must be given with projectIdentifier", "orgIdentifier")
    ctx.need_self_or_admin(typ, b["parentIdentifier"], org, proj, action)
    return typ, b["parentIdentifier"], org, proj


def _apikey_dto(a):
    return {k: a[k] for k in ("identifier", "name", "description", "tags", "apiKeyType",
                              "parentIdentifier", "defaultTimeToExpireToken",
                              "accountIdentifier", "projectIdentifier", "orgIdentifier")}


def _apikeys(ctx, typ, parent, org, proj):
    ids = ctx.req.query.get("identifiers")  # ListApiKeys and ListApiKeys1 have it
    with ctx.state.lock:
        return [a for (o, p, t, par, _), a in ctx.state.apikeys.items()
                if o == org and p == proj and t == typ and par == parent
                and (not ids or a["identifier"] in ids)]


def _tokens_count(ctx, a):
    return sum(1 for t in ctx.state.tokens.values()
               if t["listed"] and t["apiKeyIdentifier"] == a["identifier"]
               and t["parentIdentifier"] == a["parentIdentifier"]
               and t["apiKeyType"] == a["apiKeyType"]
               and t["orgIdentifier"] == a["orgIdentifier"]
               and t["projectIdentifier"] == a["projectIdentifier"])


def _apikey_aggregate(ctx, a):
    return {"apiKey": _apikey_dto(a), "createdAt": a["createdAt"],
            "lastModifiedAt": a["lastModifiedAt"], "tokensCount": _tokens_count(ctx, a)}


def list_apikeys(ctx):
    return ok([_apikey_dto(a) for a in _apikeys(ctx, *_parent_query(ctx, "view"))])


def apikey_aggregate(ctx):
    idx, size = ng_paging(ctx.req)
    items = search(_apikeys(ctx, *_parent_query(ctx, "view")), ctx.q("searchTerm"),
                   lambda a: a["identifier"], lambda a: a["name"])
    return ok(ng_page(items, idx, size, lambda a: _apikey_aggregate(ctx, a)))


def _find_apikey(ctx, ident, typ, parent, org, proj):
    a = ctx.state.apikeys.get((org, proj, typ, parent, ident))
    if a is None:
        raise not_found("Api key not present in scope for identifier: " + ident,
                        "INVALID_REQUEST")
    return a


def apikey_aggregate_one(ctx):
    a = _find_apikey(ctx, ctx.params["identifier"], *_parent_query(ctx, "view"))
    return ok(_apikey_aggregate(ctx, a))


def _parent_exists(ctx, typ, parent, org, proj):
    if typ == "SERVICE_ACCOUNT" and (org, proj, parent) not in ctx.state.service_accounts:
        raise not_found("Service account [%s] doesn't exist in scope" % parent,
                        "INVALID_REQUEST")


def create_apikey(ctx):
    b = ctx.json_object()
    for f in ("identifier", "name"):
        if not b.get(f):
            raise invalid("%s: must not be blank" % f, f)
    typ, parent, org, proj = _parent_body(ctx, b, "change")
    _parent_exists(ctx, typ, parent, org, proj)
    key = (org, proj, typ, parent, b["identifier"])
    now = _ms()
    with ctx.state.lock:
        if key in ctx.state.apikeys:
            raise ApiError(400, "DUPLICATE_FIELD",
                           "Try using different Key name, [%s] already exists" % b["identifier"])
        a = {"identifier": b["identifier"], "name": b["name"],
             "description": b.get("description", ""), "tags": b.get("tags") or {},
             "apiKeyType": typ, "parentIdentifier": parent,
             "defaultTimeToExpireToken": b.get("defaultTimeToExpireToken") or 30 * st.DAY_MS,
             "accountIdentifier": ctx.account, "orgIdentifier": org,
             "projectIdentifier": proj, "createdAt": now, "lastModifiedAt": now}
        ctx.state.apikeys[key] = a
    return ok(_apikey_dto(a))


def delete_apikey(ctx):
    typ, parent, org, proj = _parent_query(ctx, "change")
    a = _find_apikey(ctx, ctx.params["identifier"], typ, parent, org, proj)
    with ctx.state.lock:
        ctx.state.apikeys.pop((org, proj, typ, parent, a["identifier"]), None)
        for t in list(ctx.state.tokens.values()):
            if t["apiKeyIdentifier"] == a["identifier"] and t["parentIdentifier"] == parent \
                    and t["apiKeyType"] == typ and t["orgIdentifier"] == org \
                    and t["projectIdentifier"] == proj:
                del ctx.state.tokens[t["tokenId"]]
    return ok(True)


def _token_dto(t):
    d = {k: t[k] for k in ("identifier", "name", "validFrom", "validTo", "scheduledExpireTime",
                           "accountIdentifier", "projectIdentifier", "orgIdentifier",
                           "apiKeyIdentifier", "parentIdentifier", "apiKeyType",
                           "description", "tags")}
    now = _ms()
    d["valid"] = t["validFrom"] <= now < t["validTo"] and (
        t["rotateUntil"] is None or now < t["rotateUntil"])
    d["email"] = None
    d["username"] = None
    d["encodedPassword"] = None
    return d


def _tokens(ctx, typ, parent, ak, org, proj, ids=None):
    with ctx.state.lock:
        return [t for t in ctx.state.tokens.values()
                if t["listed"] and t["accountIdentifier"] == ctx.account
                and t["apiKeyType"] == typ and t["parentIdentifier"] == parent
                and t["apiKeyIdentifier"] == ak and t["orgIdentifier"] == org
                and t["projectIdentifier"] == proj
                and (not ids or t["identifier"] in ids)]


def _find_token(ctx, ident, typ, parent, ak, org, proj):
    for t in _tokens(ctx, typ, parent, ak, org, proj):
        if t["identifier"] == ident:
            return t
    raise not_found("Token with identifier [%s] not found" % ident, "INVALID_REQUEST")


def _token_query(ctx, action):
    typ, parent, org, proj = _parent_query(ctx, action)
    return typ, parent, ctx.q("apiKeyIdentifier"), org, proj


def token_aggregate(ctx):
    idx, size = ng_paging(ctx.req)
    typ, parent, ak, org, proj = _token_query(ctx, "view")
    items = search(_tokens(ctx, typ, parent, ak, org, proj, ctx.req.query.get("identifiers")),
                   ctx.q("searchTerm"),
                   lambda t: t["identifier"], lambda t: t["name"])
    return ok(ng_page(items, idx, size, lambda t: {
        "token": _token_dto(t), "expiryAt": t["scheduledExpireTime"],
        "createdAt": t["createdAt"], "lastModifiedAt": t["lastModifiedAt"]}))


def create_token(ctx):
    b = ctx.json_object()
    for f in ("identifier", "name", "apiKeyIdentifier"):
        if not b.get(f):
            raise invalid("%s: must not be blank" % f, f)
    typ, parent, org, proj = _parent_body(ctx, b, "change")
    ak = b["apiKeyIdentifier"]
    s = ctx.state
    with s.lock:
        _find_apikey(ctx, ak, typ, parent, org, proj)
        if any(t["identifier"] == b["identifier"] for t in _tokens(ctx, typ, parent, ak, org, proj)):
            raise ApiError(400, "DUPLICATE_FIELD",
                           "Try using different token name, [%s] already exists"
                           % b["identifier"])
        now = _ms()
        valid_from = int(b.get("validFrom") or now)
        valid_to = int(b.get("validTo") or now + 30 * st.DAY_MS)
        if valid_to <= valid_from:
            raise invalid("validTo must be after validFrom", "validTo")
        t = s._new_token(ctx.account, typ, parent, ak, b["identifier"], b["name"], valid_from,
                         valid_to, s.ids.hex24(), org=org, proj=proj)
        t["description"] = b.get("description") or ""
        t["tags"] = b.get("tags") or {}
        key = s.key_string(t)
    s.add_audit("TOKEN", t["identifier"], "CREATE", "CORE", org, proj, ctx.principal())
    return ok(key)


def update_token(ctx):
    b = ctx.json_object()
    if not b.get("apiKeyIdentifier"):
        raise invalid("apiKeyIdentifier: must not be blank", "apiKeyIdentifier")
    ident = ctx.params["identifier"]
    if b.get("identifier") not in (None, ident):
        raise invalid("identifier [%s] does not match the path [%s]"
                      % (b["identifier"], ident), "identifier")
    typ, parent, org, proj = _parent_body(ctx, b, "change")
    t = _find_token(ctx, ident, typ, parent, b["apiKeyIdentifier"], org, proj)
    with ctx.state.lock:
        for f in ("name", "description", "tags"):
            if f in b and b[f] is not None:
                t[f] = b[f]
        if b.get("validTo"):
            t["validTo"] = int(b["validTo"])
            t["scheduledExpireTime"] = t["validTo"]
        t["lastModifiedAt"] = _ms()
    return ok(_token_dto(t))


def delete_token(ctx):
    t = _find_token(ctx, ctx.params["identifier"], *_token_query(ctx, "change"))
    with ctx.state.lock:
        ctx.state.tokens.pop(t["tokenId"], None)
    return ok(True)


def rotate_token(ctx):
    t = _find_token(ctx, ctx.params["identifier"], *_token_query(ctx, "change"))
    ts = _int_param(ctx.req, "rotateTimestamp", _ms())
    new = ctx.state.rotate_token(t, ts)
    ctx.state.add_audit("TOKEN", new["identifier"], "UPDATE", "CORE", t["orgIdentifier"],
                        t["projectIdentifier"], ctx.principal())
    return ok(ctx.state.key_string(new))


# ------------------------------------------------------------------ service accounts

def _sa_dto(a):
    return {k: a[k] for k in ("identifier", "name", "email", "description", "tags",
                              "accountIdentifier", "orgIdentifier", "projectIdentifier")}


def _sas(ctx):
    ctx.need_admin("core_serviceaccount_view", "serviceaccount")
    org, proj = ctx.scope()
    ids = ctx.req.query.get("identifiers")
    with ctx.state.lock:
        return [a for (o, p, _), a in ctx.state.service_accounts.items()
                if o == org and p == proj and (not ids or a["identifier"] in ids)]


def list_sas(ctx):
    return ok([_sa_dto(a) for a in _sas(ctx)])


def _sa_aggregate(ctx, a):
    return {"serviceAccount": _sa_dto(a), "createdAt": a["createdAt"],
            "lastModifiedAt": a["lastModifiedAt"],
            "tokensCount": sum(1 for t in ctx.state.tokens.values()
                               if t["listed"] and t["apiKeyType"] == "SERVICE_ACCOUNT"
                               and t["parentIdentifier"] == a["identifier"]
                               and t["orgIdentifier"] == a["orgIdentifier"]
                               and t["projectIdentifier"] == a["projectIdentifier"]),
            "roleAssignmentsMetadataDTO": [{
                "identifier": "role_assignment_%s" % a["identifier"],
                "roleIdentifier": "_account_viewer", "roleName": "Account Viewer",
                "resourceGroupIdentifier": "_all_account_level_resources",
                "resourceGroupName": "All Account Level Resources", "managedRole": True,
                "managedRoleAssignment": False}]}


def sa_aggregate(ctx):
    idx, size = ng_paging(ctx.req)
    items = search(_sas(ctx), ctx.q("searchTerm"), lambda a: a["identifier"],
                   lambda a: a["name"])
    return ok(ng_page(items, idx, size, lambda a: _sa_aggregate(ctx, a)))


def sa_aggregate_one(ctx):
    ident = ctx.params["identifier"]
    org, proj = ctx.scope()
    if not ctx.is_self("SERVICE_ACCOUNT", ident, org, proj):
        ctx.need_admin("core_serviceaccount_view", "serviceaccount")
    a = ctx.state.service_accounts.get((org, proj, ident))
    if a is None:
        raise not_found("Service account [%s] doesn't exist in scope" % ident,
                        "INVALID_REQUEST")
    return ok(_sa_aggregate(ctx, a))


def create_sa(ctx):
    ctx.need_admin("core_serviceaccount_edit", "serviceaccount")
    b = ctx.json_object()
    for f in ("identifier", "name", "email"):
        if not b.get(f):
            raise invalid("%s: must not be blank" % f, f)
    qorg, qproj = ctx.scope()
    org = qorg or b.get("orgIdentifier") or None
    proj = qproj or b.get("projectIdentifier") or None
    if proj and not org:
        raise invalid("orgIdentifier: must be given with projectIdentifier", "orgIdentifier")
    now = _ms()
    with ctx.state.lock:
        if (org, proj, b["identifier"]) in ctx.state.service_accounts:
            raise ApiError(400, "DUPLICATE_FIELD",
                           "Try using different service account name, [%s] already exists"
                           % b["identifier"])
        a = {"identifier": b["identifier"], "name": b["name"], "email": b["email"],
             "description": b.get("description") or "", "tags": b.get("tags") or {},
             "accountIdentifier": ctx.account, "orgIdentifier": org,
             "projectIdentifier": proj, "createdAt": now, "lastModifiedAt": now}
        ctx.state.service_accounts[(org, proj, b["identifier"])] = a
    return ok(_sa_dto(a))


def delete_sa(ctx):
    ctx.need_admin("core_serviceaccount_delete", "serviceaccount")
    org, proj = ctx.scope()
    with ctx.state.lock:
        if ctx.state.service_accounts.pop((org, proj, ctx.params["identifier"]), None) is None:
            raise not_found("Service account [%s] doesn't exist in scope"
                            % ctx.params["identifier"], "INVALID_REQUEST")
    return ok(True)


# ================================================================== secrets

def _secrets_in_scope(ctx, types=None, ids=None, term=None):
    org, proj = ctx.scope()
    with ctx.state.lock:
        items = [s for (o, p, _), s in ctx.state.secrets.items() if o == org and p == proj]
    if types:
        items = [s for s in items if s["secret"]["type"] in types]
    if ids:
        items = [s for s in items if s["secret"]["identifier"] in ids]
    return search(items, term, lambda s: s["secret"]["identifier"],
                  lambda s: s["secret"]["name"])


def list_secrets(ctx):
    """The filters in the query."""
    idx, size = ng_paging(ctx.req)
    types = list(ctx.req.query.get("types") or [])
    if ctx.q("type"):
        types.append(ctx.q("type"))
    return ok(ng_page(_secrets_in_scope(ctx, types, ctx.req.query.get("identifiers"),
                                        ctx.q("searchTerm")), idx, size))


def list_secrets_post(ctx):
    """The filters in the body (the query has only the scope and the page)."""
    idx, size = ng_paging(ctx.req)
    b = ctx.json_object(required=False)
    return ok(ng_page(_secrets_in_scope(ctx, b.get("secretTypes"), b.get("identifiers"),
                                        b.get("searchTerm")), idx, size))


def _secret_key(ctx):
    org, proj = ctx.scope()
    return (org, proj, ctx.params["identifier"])


def get_secret(ctx):
    s = ctx.state.secrets.get(_secret_key(ctx))
    if s is None:
        raise not_found("Secret with identifier [%s] does not exist in the specified scope"
                        % ctx.params["identifier"])
    return ok(s)


def _secret_body(ctx):
    b = ctx.json_object()
    sec = b.get("secret")
    if not isinstance(sec, dict):
        raise invalid("secret: must not be null", "secret")
    for f in ("identifier", "name", "type"):
        if not sec.get(f):
            raise invalid("secret.%s: must not be blank" % f, "secret." + f)
    if sec["type"] not in ("SecretText", "SecretFile", "SSHKey", "WinRmCredentials"):
        raise invalid("secret.type is not a known type", "secret.type")
    return sec


def create_secret(ctx):
    sec = _secret_body(ctx)
    org, proj = ctx.scope()
    key = (org, proj, sec["identifier"])
    with ctx.state.lock:
        if key in ctx.state.secrets:
            raise ApiError(400, "DUPLICATE_FIELD", "Duplicate identifier, please try again "
                           "with a new identifier")
        # The value is accepted and thrown away: Harness never returns it.
        s = ctx.state._new_secret(org, proj, sec["identifier"], sec["name"], sec["type"],
                                  sec.get("description") or "", sec.get("tags") or {}, _ms())
        ctx.state.secrets[key] = s
    ctx.state.add_audit("SECRET", sec["identifier"], "CREATE", "CORE", org, proj,
                        ctx.principal())
    return ok(s)


def update_secret(ctx):
    sec = _secret_body(ctx)
    key = _secret_key(ctx)
    with ctx.state.lock:
        s = ctx.state.secrets.get(key)
        if s is None:
            raise not_found("Secret with identifier [%s] does not exist in the specified scope"
                            % ctx.params["identifier"])
        s["secret"]["name"] = sec["name"]
        s["secret"]["description"] = sec.get("description") or ""
        s["secret"]["tags"] = sec.get("tags") or {}
        s["updatedAt"] = _ms()
    return ok(s)


def delete_secret(ctx):
    with ctx.state.lock:
        if ctx.state.secrets.pop(_secret_key(ctx), None) is None:
            raise not_found("Secret with identifier [%s] does not exist in the specified scope"
                            % ctx.params["identifier"])
    return ok(True)


# ================================================================== connectors

def _connectors_in_scope(ctx, types=None):
    org, proj = ctx.scope()
    with ctx.state.lock:
        items = [c for (o, p, _), c in ctx.state.connectors.items() if o == org and p == proj]
    if types:
        items = [c for c in items if c["connector"]["type"] in types]
    return search(items, ctx.q("searchTerm"), lambda c: c["connector"]["identifier"],
                  lambda c: c["connector"]["name"])


def list_connectors(ctx):
    idx, size = ng_paging(ctx.req)
    t = ctx.q("type")
    return ok(ng_page(_connectors_in_scope(ctx, [t] if t else None), idx, size))


def list_connectors_v2(ctx):
    idx, size = ng_paging(ctx.req)
    b = ctx.json_object(required=False)
    ft = b.get("filterType")
    if ft is not None and ft != "Connector":
        raise invalid("filterType must be Connector", "filterType")
    items = _connectors_in_scope(ctx, b.get("types"))
    if b.get("connectorIdentifiers"):
        items = [c for c in items if c["connector"]["identifier"] in b["connectorIdentifiers"]]
    return ok(ng_page(items, idx, size))


def get_connector(ctx):
    org, proj = ctx.scope()
    c = ctx.state.connectors.get((org, proj, ctx.params["identifier"]))
    if c is None:
        raise not_found("Connector with identifier [%s] in account [%s] doesn't exist"
                        % (ctx.params["identifier"], ctx.account))
    return ok(c)


# ================================================================== feature flags

def _cf_scope(ctx):
    org, proj = ctx.q("orgIdentifier"), ctx.q("projectIdentifier")
    if not org or not proj:
        raise ApiError(400, "INVALID_REQUEST", "orgIdentifier and projectIdentifier are required")
    flags = ctx.state.flags.get((org, proj))
    if flags is None:
        raise not_found("project not found")
    env = ctx.q("environmentIdentifier")
    if env and env not in ctx.state.environments[(org, proj)]:
        raise not_found("environment not found")
    return org, proj, flags, env


def _feature(f, proj, env):
    d = {k: f[k] for k in ("archived", "createdAt", "defaultOffVariation", "defaultOnVariation",
                           "description", "identifier", "kind", "modifiedAt", "name", "owner",
                           "permanent", "tags", "variations")}
    d.update(project=proj, prerequisites=[], services=[], stale=False,
             status={"lastAccess": -6795364578871, "status": "never-requested"})
    if env:
        e = f["env"][env]
        d["envProperties"] = {"defaultServe": {"variation": f["defaultOnVariation"]},
                              "environment": env, "modifiedAt": e["modifiedAt"],
                              "offVariation": f["defaultOffVariation"],
                              "pipelineConfigured": False, "rules": [], "state": e["state"],
                              "variationMap": [], "version": e["version"]}
        on = e["state"] == "on"
        d["evaluation"] = f["defaultOnVariation"] if on else f["defaultOffVariation"]
        d["evaluationIdentifier"] = d["evaluation"]
    return d


def list_features(ctx):
    org, proj, flags, env = _cf_scope(ctx)
    page = _int_param(ctx.req, "pageNumber", 0)
    size = _int_param(ctx.req, "pageSize", CF_DEFAULT_SIZE, 1, CF_MAX_SIZE)
    with ctx.state.lock:
        items = [f for f in flags.values() if not f["archived"] or ctx.q("archived") == "true"]
    items = search(items, ctx.q("name"), lambda f: f["name"], lambda f: f["identifier"])
    ident = ctx.q("identifier")
    if ident:
        items = [f for f in items if ident in f["identifier"]]
    content = [_feature(f, proj, env) for f in items[page * size:(page + 1) * size]]
    return Response(200, dumps({"features": content, "itemCount": len(items),
                                "pageCount": math.ceil(len(items) / size),
                                "pageIndex": page, "pageSize": size,
                                "version": ctx.state.flag_versions[(org, proj)]}), JSON)


def get_feature(ctx):
    org, proj, flags, env = _cf_scope(ctx)
    f = flags.get(ctx.params["identifier"])
    if f is None:
        raise not_found("feature flag not found")
    return Response(200, dumps(_feature(f, proj, env)), JSON)


def patch_feature(ctx):
    org, proj, flags, env = _cf_scope(ctx)
    f = flags.get(ctx.params["identifier"])
    if f is None:
        raise not_found("feature flag not found")
    b = ctx.json_object()
    instr = b.get("instructions")
    if not isinstance(instr, list) or not instr:
        raise ApiError(400, "INVALID_REQUEST", "instructions: must be a non-empty array")
    with ctx.state.lock:
        for i in instr:
            if not isinstance(i, dict):
                raise ApiError(400, "INVALID_REQUEST", "an instruction must be an object")
            kind = i.get("kind")
            params = i.get("parameters") or {}
            if kind == "setFeatureFlagState":
                if not env:
                    raise ApiError(400, "INVALID_REQUEST",
                                   "environmentIdentifier is required for setFeatureFlagState")
                state = params.get("state")
                if state not in ("on", "off"):
                    raise ApiError(400, "INVALID_REQUEST", "state must be 'on' or 'off'")
                e = f["env"][env]
                e["state"] = state
                e["version"] += 1
                e["modifiedAt"] = _ms()
            elif kind == "updateName":
                f["name"] = str(params.get("name") or f["name"])
            elif kind == "updateDescription":
                f["description"] = str(params.get("description") or "")
            elif kind == "setDefaultOnVariation":
                f["defaultOnVariation"] = str(params.get("variation") or "true")
            elif kind == "setDefaultOffVariation":
                f["defaultOffVariation"] = str(params.get("variation") or "false")
            else:
                raise ApiError(400, "INVALID_REQUEST", "unknown instruction kind %r" % kind)
        f["modifiedAt"] = _ms()
        ctx.state.flag_versions[(org, proj)] += 1
    ctx.state.add_audit("FEATURE_FLAG", f["identifier"], "UPDATE", "CF", org, proj,
                        ctx.principal())
    return Response(200, dumps(_feature(f, proj, env)), JSON)


# ================================================================== users, audit

def _users(ctx):
    def fmt(u):
        return {"user": {"name": u["name"], "email": u["email"], "uuid": u["uuid"],
                         "locked": u["locked"], "disabled": u["disabled"],
                         "externallyManaged": u["externallyManaged"],
                         "twoFactorAuthenticationEnabled": u["twoFactorAuthenticationEnabled"]},
                "roleAssignmentMetadata": [{
                    "identifier": "role_assignment_%s" % u["uuid"][:8],
                    "roleIdentifier": "_account_admin" if u["uuid"] in ctx.state.admins
                    else "_account_viewer",
                    "roleName": "Account Admin" if u["uuid"] in ctx.state.admins
                    else "Account Viewer",
                    "resourceGroupIdentifier": "_all_resources_including_child_scopes",
                    "resourceGroupName": "All Resources Including Child Scopes",
                    "managedRole": True, "managedRoleAssignment": False}]}
    idx, size = ng_paging(ctx.req)
    items = search(ctx.state.users, ctx.q("searchTerm"), lambda u: u["name"],
                   lambda u: u["email"])
    return ok(ng_page(items, idx, size, fmt))


def users_post(ctx):
    ctx.json(required=False)
    return _users(ctx)


def audits(ctx):
    idx, size = ng_paging(ctx.req)
    b = ctx.json_object(required=False)
    if b.get("filterType") not in (None, "Audit"):
        raise invalid("filterType must be Audit", "filterType")
    start = b.get("startTime")
    end = b.get("endTime")
    with ctx.state.lock:
        items = list(reversed(ctx.state.audits))
    if start is not None:
        items = [a for a in items if a["timestamp"] >= start]
    if end is not None:
        items = [a for a in items if a["timestamp"] <= end]
    if b.get("modules"):
        items = [a for a in items if a["module"] in b["modules"]]
    if b.get("actions"):
        items = [a for a in items if a["action"] in b["actions"]]
    return ok(ng_page(items, idx, size))


# ================================================================== the simulated operations
#
# Each simulated operation of the Harness API table, by its name there, with
# the method and path the table gives it (checked at start and by the tests),
# its handler, and a note for the README's table (sandbox/serve
# --list-simulated prints it). Every other operation of the table answers 501
# NOT_SIMULATED; a method and path the table does not have, 404.

SIMULATED = {
    "User.GetCurrentUserInfo": (
        "GET", "/ng/api/user/currentUser", current_user,
        "account from the key; 400 for service-account keys, as Harness"),
    "User.GetAggregatedUsers": (
        "POST", "/ng/api/user/aggregate", users_post,
        "NG page of `{user, roleAssignmentMetadata}`; `searchTerm`"),
    "Organization.GetOrganizationList": (
        "GET", "/ng/api/organizations", list_orgs, "NG page; `searchTerm`"),
    "Organization.GetOrganization": (
        "GET", "/ng/api/organizations/{identifier}", get_org, ""),
    "Project.GetProjectList": (
        "GET", "/ng/api/projects", list_projects,
        "`orgIdentifier`, `moduleType`, `hasModule`, `searchTerm`; "
        "`{project, createdAt, lastModifiedAt}`"),
    "Project.GetProject": (
        "GET", "/ng/api/projects/{identifier}", get_project, "`orgIdentifier` (default `default`)"),
    "Pipelines.GetPipelineList": (
        "POST", "/pipeline/api/pipelines/list", list_pipelines,
        "`page`, `size` (default 25), `searchTerm`, `sort`; body `{\"filterType\":\"PipelineSetup\"}`"),
    "Pipelines.GetPipeline": (
        "GET", "/pipeline/api/pipelines/{pipelineIdentifier}", get_pipeline,
        "`data.yamlPipeline`"),
    "Pipelines.PostPipelineV2": (
        "POST", "/pipeline/api/pipelines/v2", create_pipeline_v2,
        "YAML body (`application/yaml`, or `application/json`); `data.identifier`"),
    "Pipelines.PostPipeline": (
        "POST", "/pipeline/api/pipelines", create_pipeline_v1, "as v2; `data` is the identifier"),
    "Pipelines.UpdatePipelineV2": (
        "PUT", "/pipeline/api/pipelines/v2/{pipelineIdentifier}", update_pipeline_v2,
        "YAML body; its identifier must match"),
    "Pipelines.UpdatePipeline": (
        "PUT", "/pipeline/api/pipelines/{pipelineIdentifier}", update_pipeline_v1, "as v2"),
    "Pipelines.DeletePipeline": (
        "DELETE", "/pipeline/api/pipelines/{pipelineIdentifier}", delete_pipeline, "`data: true`"),
    "Execute.PostPipelineExecuteWithInputSetYaml": (
        "POST", "/pipeline/api/pipeline/execute/{identifier}", execute,
        "`moduleType`; optional runtime-input YAML, `application/yaml` only; "
        "`data.planExecution.uuid`, `.status` (`RUNNING`)"),
    "ExecutionDetails.GetExecutionDetailV2": (
        "GET", "/pipeline/api/pipelines/execution/v2/{planExecutionId}", execution_v2,
        "`data.pipelineExecutionSummary.status`: `Running` then `Success`/`Failed`"),
    "ExecutionDetails.GetExecutionDetail": (
        "GET", "/pipeline/api/pipelines/execution/{planExecutionId}", execution_v1, "as v2"),
    "Execute.PutHandleInterrupt": (
        "PUT", "/pipeline/api/pipeline/execute/interrupt/{planExecutionId}", interrupt,
        "`interruptType=AbortAll` (or `Abort`) makes a running execution `Aborted`"),
    "ExecutionDetails.GetListOfExecutions": (
        "POST", "/pipeline/api/pipelines/execution/summary", execution_summary,
        "`page`, `size`, `pipelineIdentifier`, `status`; newest first"),
    "ApiKey.ListApiKeys": (
        "GET", "/ng/api/apikey", list_apikeys, "a list of ApiKeyDTO; roles and scope as below"),
    "ApiKey.ListApiKeys1": (
        "GET", "/ng/api/apikey/aggregate", apikey_aggregate, "NG page of `{apiKey, tokensCount}`"),
    "ApiKey.GetAggregatedApiKey": (
        "GET", "/ng/api/apikey/aggregate/{identifier}", apikey_aggregate_one, ""),
    "ApiKey.CreateApiKey": (
        "POST", "/ng/api/apikey", create_apikey, "body ApiKeyDTO (its scope fields place it)"),
    "ApiKey.DeleteApiKey": (
        "DELETE", "/ng/api/apikey/{identifier}", delete_apikey, "its tokens go with it"),
    "Token.ListAggregatedTokens": (
        "GET", "/ng/api/token/aggregate", token_aggregate,
        "NG page of `{token, expiryAt, createdAt, lastModifiedAt}`; `searchTerm`, `identifiers`"),
    "Token.CreateToken": (
        "POST", "/ng/api/token", create_token,
        "body TokenDTO; the new key string in `data`"),
    "Token.UpdateToken": (
        "PUT", "/ng/api/token/{identifier}", update_token,
        "body TokenDTO names the token (`apiKeyType`, `parentIdentifier`, `apiKeyIdentifier`)"),
    "Token.DeleteToken": (
        "DELETE", "/ng/api/token/{identifier}", delete_token, ""),
    "Token.RotateToken": (
        "POST", "/ng/api/token/rotate/{identifier}", rotate_token,
        "no body, no Content-Type; new key in `data`; the old token works until "
        "`rotateTimestamp` (then `EXPIRED_TOKEN`) and is renamed `rotated_<15 letters>`"),
    "ServiceAccount.ListServiceAccount": (
        "GET", "/ng/api/serviceaccount", list_sas, "admin only; the scope named"),
    "ServiceAccount.ListAggregatedServiceAccounts": (
        "GET", "/ng/api/serviceaccount/aggregate", sa_aggregate, "admin only; NG page"),
    "ServiceAccount.GetAggregatedServiceAccount": (
        "GET", "/ng/api/serviceaccount/aggregate/{identifier}", sa_aggregate_one,
        "admin, or the service account itself"),
    "ServiceAccount.CreateServiceAccount": (
        "POST", "/ng/api/serviceaccount", create_sa, "admin only"),
    "ServiceAccount.DeleteServiceAccount": (
        "DELETE", "/ng/api/serviceaccount/{identifier}", delete_sa, "admin only"),
    "Secrets.ListSecretsV2": (
        "GET", "/ng/api/v2/secrets", list_secrets,
        "scope from `orgIdentifier`/`projectIdentifier` (none = account); `type`, `types`, "
        "`identifiers`, `searchTerm`"),
    "Secrets.ListSecretsV3": (
        "POST", "/ng/api/v2/secrets/list", list_secrets_post,
        "filters in the body `{secretTypes, identifiers, searchTerm}`, not the query"),
    "Secrets.GetSecretV2": (
        "GET", "/ng/api/v2/secrets/{identifier}", get_secret, "values are never returned"),
    "Secrets.PostSecret": (
        "POST", "/ng/api/v2/secrets", create_secret, "`application/json` only"),
    "Secrets.PutSecret": (
        "PUT", "/ng/api/v2/secrets/{identifier}", update_secret, "`application/json` only"),
    "Secrets.DeleteSecretV2": (
        "DELETE", "/ng/api/v2/secrets/{identifier}", delete_secret, ""),
    "Connectors.GetConnectorList": (
        "GET", "/ng/api/connectors", list_connectors, "`type`, `searchTerm`; scope as secrets"),
    "Connectors.GetConnectorListV2": (
        "POST", "/ng/api/connectors/listV2", list_connectors_v2,
        "body (required) `{\"filterType\":\"Connector\",\"types\":[...]}`"),
    "Connectors.GetConnector": (
        "GET", "/ng/api/connectors/{identifier}", get_connector,
        "the built-in secret manager is `harnessSecretManager`"),
    "FeatureFlags.GetAllFeatures": (
        "GET", "/cf/admin/features", list_features,
        "`pageNumber`, `pageSize`, `environmentIdentifier`, `name`, `identifier`; "
        "`{features, itemCount, pageCount, pageIndex, pageSize, version}`"),
    "FeatureFlags.GetFeatureFlag": (
        "GET", "/cf/admin/features/{identifier}", get_feature, "`environmentIdentifier`"),
    "FeatureFlags.PatchFeature": (
        "PATCH", "/cf/admin/features/{identifier}", patch_feature,
        "`{\"instructions\":[{\"kind\":\"setFeatureFlagState\",\"parameters\":{\"state\":\"on\"}}]}` "
        "(also `updateName`, `updateDescription`, `setDefaultOnVariation`, "
        "`setDefaultOffVariation`)"),
    "NotificationChannels.ListNotificationChannelsAccount": (
        "GET", "/v1/notification-channels", list_channels_account,
        "v1 list (a bare array; `page`, `limit`, `X-Total-Elements`); `search_term`, `notification_channel_type`"),
    "NotificationChannels.ListNotificationChannelsOrg": (
        "GET", "/v1/orgs/{org}/notification-channels", list_channels_org, "as the account's"),
    "NotificationChannels.ListNotificationChannels": (
        "GET", "/v1/orgs/{org}/projects/{project}/notification-channels", list_channels_project,
        "as the account's; `default/big` has 250"),
    "NotificationChannels.GetNotificationChannelAccount": (
        "GET", "/v1/notification-channels/{notification-channel}", get_channel_account, ""),
    "NotificationChannels.GetNotificationChannelOrg": (
        "GET", "/v1/orgs/{org}/notification-channels/{notification-channel}", get_channel_org, ""),
    "NotificationChannels.GetNotificationChannel": (
        "GET", "/v1/orgs/{org}/projects/{project}/notification-channels/{notification-channel}",
        get_channel_project, ""),
    "Audit.GetAuditEventList": (
        "POST", "/audit/api/audits/list", audits,
        "NG page; body `{\"filterType\":\"Audit\",\"startTime\",\"endTime\",\"modules\",\"actions\"}`"),
}


def simulated_markdown():
    """The README's table of simulated operations."""
    rows = ["| operation | method | path | notes |", "|---|---|---|---|"]
    for name, (method, path, _fn, notes) in SIMULATED.items():
        rows.append("| `%s` | %s | `%s` | %s |" % (name, method, path, notes))
    return "\n".join(rows) + "\n"

