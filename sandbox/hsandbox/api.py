"""The Harness API as the sandbox serves it: routing, authentication, the
account check, envelopes, page styles and error bodies, and the handlers."""

import json
import math
import re
import time
import uuid

from . import state as st
from . import yamlgen
from .engine import Response

JSON = "application/json"
NG_DEFAULT_SIZE, NG_MAX_SIZE = 100, 1000
PMS_DEFAULT_SIZE, PMS_MAX_SIZE = 25, 1000
CF_DEFAULT_SIZE, CF_MAX_SIZE = 50, 1000
V1_DEFAULT_SIZE, V1_MAX_SIZE = 30, 100


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


def v1_page(req, items, fmt):
    page = _int_param(req, "page", 0)
    limit = _int_param(req, "limit", V1_DEFAULT_SIZE, 1, V1_MAX_SIZE)
    content = [fmt(x) for x in items[page * limit:(page + 1) * limit]]
    # Harness builds Link with page_size (not limit) and offers next only after a
    # full page; clients must not rely on it, and this keeps them honest.
    base = req.path
    links = []
    if len(content) == limit:
        links.append('<%s?page=%d&page_size=%d>; rel="next"' % (base, page + 1, limit))
    links.append('<%s?page=%d&page_size=%d>; rel="self"' % (base, page, limit))
    if page > 0:
        links.append('<%s?page=%d&page_size=%d>; rel="previous"' % (base, page - 1, limit))
    headers = [("X-Total-Elements", str(len(items))), ("X-Page-Number", str(page)),
               ("X-Page-Size", str(limit)), ("Link", ", ".join(links))]
    return Response(200, dumps(content), JSON, headers)


def search(items, term, *fields):
    if not term:
        return items
    t = term.lower()
    return [x for x in items if any(t in str(f(x) or "").lower() for f in fields)]


# ------------------------------------------------------------------ routing

class Ctx:
    """One request as the handlers see it."""

    __slots__ = ("req", "path", "token", "account", "state", "params", "_json")

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
        ctype = self.req.headers.get("content-type", "").split(";")[0].strip().lower()
        body = self.req.body
        if not body.strip():
            if required:
                raise invalid("the YAML body is required")
            return None
        if ctype not in ("application/yaml", "application/x-yaml", "text/yaml"):
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE",
                           "HTTP 415 Unsupported Media Type: send the YAML with "
                           "Content-Type: application/yaml (got %r)" % (ctype or "none"))
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid("the YAML body is not UTF-8")

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
        t = self.token
        s = self.state
        if t["apiKeyType"] == "USER":
            for u in s.users:
                if u["uuid"] == t["parentIdentifier"]:
                    return u
            return {"uuid": t["parentIdentifier"], "name": "unknown", "email": None}
        sa = s.service_accounts.get(t["parentIdentifier"], {})
        return {"uuid": t["parentIdentifier"], "name": sa.get("name"), "email": sa.get("email")}


ROUTES = []


def route(method, pattern, account=True):
    rx = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$")

    def deco(fn):
        ROUTES.append((method, rx, fn, account))
        return fn
    return deco


class HarnessApi:
    def __init__(self, state):
        self.state = state

    def dispatch(self, req, path):
        """Route, authenticate, check the account and run the handler."""
        allowed = False
        for method, rx, fn, need_account in ROUTES:
            m = rx.match(path)
            if m is None:
                continue
            allowed = True
            if method != req.method and not (method == "GET" and req.method == "HEAD"):
                continue
            try:
                ctx = self._context(req, path, need_account)
                ctx.params = m.groupdict()
                return fn(ctx)
            except ApiError as e:
                return error_response(path, e)
            except (TypeError, ValueError, AttributeError, KeyError) as e:
                # a body of the wrong shape (a string where an object belongs, ...)
                return error_response(path, invalid("the request does not have the expected "
                                                    "shape (%s: %s)" % (type(e).__name__, e)))
        if allowed:
            return error_response(path, ApiError(405, "METHOD_NOT_ALLOWED",
                                                 "HTTP 405 Method Not Allowed"))
        return error_response(path, not_found("Unable to process request: HTTP 404 Not Found "
                                              "(no such path %s)" % path))

    def _context(self, req, path, need_account):
        ctx = Ctx()
        ctx.req = req
        ctx.path = path
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
        if need_account and not given and not path.startswith("/v1/"):
            raise invalid("accountIdentifier: must not be null", "accountIdentifier")
        ctx.account = token["accountIdentifier"]
        return ctx


def _ms():
    return int(time.time() * 1000)


# ================================================================== NG core

@route("GET", "/ng/api/user/currentUser", account=False)
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
               "admin": u is s.me, "twoFactorAuthenticationEnabled":
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


@route("GET", "/ng/api/organizations")
def list_orgs(ctx):
    idx, size = ng_paging(ctx.req)
    with ctx.state.lock:
        items = search(list(ctx.state.orgs.values()), ctx.q("searchTerm"),
                       lambda o: o["identifier"], lambda o: o["name"])
    return ok(ng_page(items, idx, size, _org_dto))


@route("GET", "/ng/api/organizations/{id}")
def get_org(ctx):
    o = ctx.state.orgs.get(ctx.params["id"])
    if o is None:
        raise not_found("Organization with identifier [%s] not found" % ctx.params["id"])
    return ok(_org_dto(o))


def _projects_in(ctx, org):
    with ctx.state.lock:
        items = [p for (o, _), p in ctx.state.projects.items() if not org or o == org]
    return search(items, ctx.q("searchTerm"), lambda p: p["identifier"], lambda p: p["name"])


@route("GET", "/ng/api/projects")
def list_projects(ctx):
    idx, size = ng_paging(ctx.req)
    org = ctx.q("orgIdentifier")
    items = _projects_in(ctx, org)
    mod = ctx.q("moduleType")
    if mod and ctx.q("hasModule", "true") != "false":
        items = [p for p in items if mod.upper() in p["modules"]]
    return ok(ng_page(items, idx, size, _project_dto))


@route("GET", "/ng/api/projects/{id}")
def get_project(ctx):
    org = ctx.q("orgIdentifier") or "default"
    p = ctx.state.projects.get((org, ctx.params["id"]))
    if p is None:
        raise not_found("Project with orgIdentifier [%s] and identifier [%s] not found"
                        % (org, ctx.params["id"]))
    return ok(_project_dto(p))


# ------------------------------------------------------------------ v1

def _v1_org(o):
    return {"org": {"slug": o["identifier"], "name": o["name"],
                    "description": o["description"], "tags": o["tags"]},
            "created": o["createdAt"], "updated": o["lastModifiedAt"],
            "harness_managed": o["harnessManaged"]}


def _v1_project(p):
    return {"project": {"org": p["orgIdentifier"], "slug": p["identifier"], "name": p["name"],
                        "color": p["color"], "modules": p["modules"],
                        "description": p["description"], "tags": p["tags"]},
            "created": p["createdAt"], "updated": p["lastModifiedAt"]}


@route("GET", "/v1/orgs")
def v1_orgs(ctx):
    with ctx.state.lock:
        items = search(list(ctx.state.orgs.values()), ctx.q("search_term"),
                       lambda o: o["identifier"], lambda o: o["name"])
    return v1_page(ctx.req, items, _v1_org)


@route("GET", "/v1/orgs/{org}")
def v1_org(ctx):
    o = ctx.state.orgs.get(ctx.params["org"])
    if o is None:
        raise not_found("Organization with identifier [%s] not found" % ctx.params["org"])
    return Response(200, dumps(_v1_org(o)), JSON)


@route("GET", "/v1/orgs/{org}/projects")
def v1_org_projects(ctx):
    org = ctx.params["org"]
    if org not in ctx.state.orgs:
        raise not_found("Organization with identifier [%s] not found" % org)
    items = search(_projects_in(ctx, org), ctx.q("search_term"),
                   lambda p: p["identifier"], lambda p: p["name"])
    return v1_page(ctx.req, items, _v1_project)


@route("GET", "/v1/orgs/{org}/projects/{project}")
def v1_project(ctx):
    p = ctx.state.projects.get((ctx.params["org"], ctx.params["project"]))
    if p is None:
        raise not_found("Project with identifier [%s] not found" % ctx.params["project"])
    return Response(200, dumps(_v1_project(p)), JSON)


@route("GET", "/v1/projects")
def v1_projects(ctx):
    items = search(_projects_in(ctx, None), ctx.q("search_term"),
                   lambda p: p["identifier"], lambda p: p["name"])
    return v1_page(ctx.req, items, _v1_project)


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


@route("POST", "/pipeline/api/pipelines/list")
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


@route("GET", "/pipeline/api/pipelines/{id}")
def get_pipeline(ctx):
    p = _get_pipeline(ctx, ctx.params["id"])
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


@route("POST", "/pipeline/api/pipelines/v2")
def create_pipeline_v2(ctx):
    return _create(ctx, True)


@route("POST", "/pipeline/api/pipelines")
def create_pipeline_v1(ctx):
    return _create(ctx, False)


def _update(ctx, v2):
    ident = ctx.params["id"]
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


@route("PUT", "/pipeline/api/pipelines/v2/{id}")
def update_pipeline_v2(ctx):
    return _update(ctx, True)


@route("PUT", "/pipeline/api/pipelines/{id}")
def update_pipeline_v1(ctx):
    return _update(ctx, False)


def _delete(ctx):
    ident = ctx.params["id"]
    p = _get_pipeline(ctx, ident)
    with ctx.state.lock:
        ctx.state.pipelines[(p["orgIdentifier"], p["projectIdentifier"])].pop(ident, None)
    ctx.state.add_audit("PIPELINE", ident, "DELETE", "PMS", p["orgIdentifier"],
                        p["projectIdentifier"], ctx.principal())
    return ok(True)


@route("DELETE", "/pipeline/api/pipelines/{id}")
def delete_pipeline(ctx):
    return _delete(ctx)


@route("DELETE", "/pipeline/api/pipelines/v2/{id}")
def delete_pipeline_v2(ctx):
    return _delete(ctx)


# ------------------------------------------------------------------ executions

@route("POST", "/pipeline/api/pipeline/execute/{id}")
def execute(ctx):
    p = _get_pipeline(ctx, ctx.params["id"])
    inputs = ctx.yaml(required=False)
    if "<+input>" in ctx.state.pipeline_yaml(p) and inputs is None:
        pass  # Harness would use defaults or fail at runtime; the sandbox runs it anyway
    e = ctx.state.run_pipeline(p, inputs, ctx.principal())
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
                "moduleType": "cd", "isNotificationConfigured": False},
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
    e = ctx.state.executions.get(ctx.params["id"])
    org, proj = ctx.scope()
    if e is None or (org and e["pipeline"]["orgIdentifier"] != org) or \
            (proj and e["pipeline"]["projectIdentifier"] != proj):
        raise not_found("Plan Execution with id [%s] is not present or has been deleted"
                        % ctx.params["id"], "ENTITY_NOT_FOUND")
    return e


@route("GET", "/pipeline/api/pipelines/execution/v2/{id}")
def execution_v2(ctx):
    e = _get_execution(ctx)
    return ok({"pipelineExecutionSummary": _exec_summary(ctx.state)(e),
               "executionGraph": None, "childGraph": None})


@route("GET", "/pipeline/api/pipelines/execution/{id}")
def execution_v1(ctx):
    return execution_v2(ctx)


@route("PUT", "/pipeline/api/pipeline/execute/interrupt/{id}")
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


@route("POST", "/pipeline/api/pipelines/execution/summary")
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

def _apikey_dto(a):
    return {k: a[k] for k in ("identifier", "name", "description", "tags", "apiKeyType",
                              "parentIdentifier", "defaultTimeToExpireToken",
                              "accountIdentifier", "projectIdentifier", "orgIdentifier")}


def _apikeys(ctx):
    typ, parent = ctx.q("apiKeyType"), ctx.q("parentIdentifier")
    ids = ctx.req.query.get("identifiers")
    with ctx.state.lock:
        items = [a for a in ctx.state.apikeys.values()
                 if (not typ or a["apiKeyType"] == typ)
                 and (not parent or a["parentIdentifier"] == parent)
                 and (not ids or a["identifier"] in ids)]
    return items


def _tokens_count(ctx, a):
    return sum(1 for t in ctx.state.tokens.values()
               if t["listed"] and t["apiKeyIdentifier"] == a["identifier"]
               and t["parentIdentifier"] == a["parentIdentifier"])


@route("GET", "/ng/api/apikey")
def list_apikeys(ctx):
    return ok([_apikey_dto(a) for a in _apikeys(ctx)])


@route("GET", "/ng/api/apikey/aggregate")
def apikey_aggregate(ctx):
    idx, size = ng_paging(ctx.req)
    items = search(_apikeys(ctx), ctx.q("searchTerm"), lambda a: a["identifier"],
                   lambda a: a["name"])
    return ok(ng_page(items, idx, size, lambda a: {
        "apiKey": _apikey_dto(a), "createdAt": a["createdAt"],
        "lastModifiedAt": a["lastModifiedAt"], "tokensCount": _tokens_count(ctx, a)}))


@route("GET", "/ng/api/apikey/aggregate/{id}")
def apikey_aggregate_one(ctx):
    for a in _apikeys(ctx):
        if a["identifier"] == ctx.params["id"]:
            return ok({"apiKey": _apikey_dto(a), "createdAt": a["createdAt"],
                       "lastModifiedAt": a["lastModifiedAt"],
                       "tokensCount": _tokens_count(ctx, a)})
    raise not_found("Api key not present in scope for identifier: " + ctx.params["id"],
                    "INVALID_REQUEST")


@route("POST", "/ng/api/apikey")
def create_apikey(ctx):
    b = ctx.json_object()
    for f in ("identifier", "name", "apiKeyType", "parentIdentifier"):
        if not b.get(f):
            raise invalid("%s: must not be blank" % f, f)
    if b["apiKeyType"] not in ("USER", "SERVICE_ACCOUNT"):
        raise invalid("apiKeyType must be USER or SERVICE_ACCOUNT", "apiKeyType")
    key = (b["apiKeyType"], b["parentIdentifier"], b["identifier"])
    now = _ms()
    with ctx.state.lock:
        if key in ctx.state.apikeys:
            raise ApiError(400, "DUPLICATE_FIELD",
                           "Try using different Key name, [%s] already exists" % b["identifier"])
        a = {"identifier": b["identifier"], "name": b["name"],
             "description": b.get("description", ""), "tags": b.get("tags") or {},
             "apiKeyType": b["apiKeyType"], "parentIdentifier": b["parentIdentifier"],
             "defaultTimeToExpireToken": b.get("defaultTimeToExpireToken") or 30 * st.DAY_MS,
             "accountIdentifier": ctx.account, "orgIdentifier": b.get("orgIdentifier"),
             "projectIdentifier": b.get("projectIdentifier"), "createdAt": now,
             "lastModifiedAt": now}
        ctx.state.apikeys[key] = a
    return ok(_apikey_dto(a))


@route("DELETE", "/ng/api/apikey/{id}")
def delete_apikey(ctx):
    for a in _apikeys(ctx):
        if a["identifier"] == ctx.params["id"]:
            with ctx.state.lock:
                ctx.state.apikeys.pop((a["apiKeyType"], a["parentIdentifier"], a["identifier"]))
                for t in list(ctx.state.tokens.values()):
                    if t["apiKeyIdentifier"] == a["identifier"] and \
                            t["parentIdentifier"] == a["parentIdentifier"]:
                        del ctx.state.tokens[t["tokenId"]]
            return ok(True)
    raise not_found("Api key not present in scope for identifier: " + ctx.params["id"],
                    "INVALID_REQUEST")


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


def _tokens(ctx):
    typ, parent, ak = ctx.q("apiKeyType"), ctx.q("parentIdentifier"), ctx.q("apiKeyIdentifier")
    ids = ctx.req.query.get("identifiers")
    with ctx.state.lock:
        return [t for t in ctx.state.tokens.values()
                if t["listed"] and t["accountIdentifier"] == ctx.account
                and (not typ or t["apiKeyType"] == typ)
                and (not parent or t["parentIdentifier"] == parent)
                and (not ak or t["apiKeyIdentifier"] == ak)
                and (not ids or t["identifier"] in ids)]


def _find_token(ctx):
    ident = ctx.params["id"]
    for t in _tokens(ctx):
        if t["identifier"] == ident:
            return t
    raise not_found("Token with identifier [%s] not found" % ident, "INVALID_REQUEST")


@route("GET", "/ng/api/token")
def get_tokens(ctx):
    tid = ctx.q("tokenId")
    if tid:
        t = ctx.state.tokens.get(tid)
        if t is None:
            for cand in _tokens(ctx):
                if cand["identifier"] == tid:
                    t = cand
        if t is None or t["accountIdentifier"] != ctx.account:
            raise not_found("Token with identifier [%s] not found" % tid, "INVALID_REQUEST")
        return ok(_token_dto(t))
    return ok([_token_dto(t) for t in _tokens(ctx)])


@route("GET", "/ng/api/token/aggregate")
def token_aggregate(ctx):
    idx, size = ng_paging(ctx.req)
    items = search(_tokens(ctx), ctx.q("searchTerm"), lambda t: t["identifier"],
                   lambda t: t["name"])
    return ok(ng_page(items, idx, size, lambda t: {
        "token": _token_dto(t), "expiryAt": t["scheduledExpireTime"],
        "createdAt": t["createdAt"], "lastModifiedAt": t["lastModifiedAt"]}))


@route("POST", "/ng/api/token")
def create_token(ctx):
    b = ctx.json_object()
    for f in ("identifier", "name", "apiKeyType", "parentIdentifier", "apiKeyIdentifier"):
        if not b.get(f):
            raise invalid("%s: must not be blank" % f, f)
    s = ctx.state
    with s.lock:
        if (b["apiKeyType"], b["parentIdentifier"], b["apiKeyIdentifier"]) not in s.apikeys:
            raise not_found("Api key not present in scope for identifier: "
                            + b["apiKeyIdentifier"], "INVALID_REQUEST")
        if s.find_token(b["identifier"], b["apiKeyIdentifier"], b["parentIdentifier"]):
            raise ApiError(400, "DUPLICATE_FIELD",
                           "Try using different token name, [%s] already exists"
                           % b["identifier"])
        now = _ms()
        valid_from = int(b.get("validFrom") or now)
        valid_to = int(b.get("validTo") or now + 30 * st.DAY_MS)
        if valid_to <= valid_from:
            raise invalid("validTo must be after validFrom", "validTo")
        t = s._new_token(ctx.account, b["apiKeyType"], b["parentIdentifier"],
                         b["apiKeyIdentifier"], b["identifier"], b["name"], valid_from,
                         valid_to, s.ids.hex24())
        t["description"] = b.get("description") or ""
        t["tags"] = b.get("tags") or {}
        key = s.key_string(t)
    s.add_audit("TOKEN", t["identifier"], "CREATE", "CORE", None, None, ctx.principal())
    return ok(key)


@route("PUT", "/ng/api/token/{id}")
def update_token(ctx):
    b = ctx.json_object()
    t = _find_token(ctx)
    with ctx.state.lock:
        for f in ("name", "description", "tags"):
            if f in b and b[f] is not None:
                t[f] = b[f]
        if b.get("validTo"):
            t["validTo"] = int(b["validTo"])
            t["scheduledExpireTime"] = t["validTo"]
        t["lastModifiedAt"] = _ms()
    return ok(_token_dto(t))


@route("DELETE", "/ng/api/token/{id}")
def delete_token(ctx):
    t = _find_token(ctx)
    with ctx.state.lock:
        ctx.state.tokens.pop(t["tokenId"], None)
    return ok(True)


@route("POST", "/ng/api/token/rotate/{id}")
def rotate_token(ctx):
    t = _find_token(ctx)
    ts = _int_param(ctx.req, "rotateTimestamp", _ms())
    new = ctx.state.rotate_token(t, ts)
    ctx.state.add_audit("TOKEN", new["identifier"], "UPDATE", "CORE", None, None, ctx.principal())
    return ok(ctx.state.key_string(new))


# ------------------------------------------------------------------ service accounts

def _sa_dto(a):
    return {k: a[k] for k in ("identifier", "name", "email", "description", "tags",
                              "accountIdentifier", "orgIdentifier", "projectIdentifier")}


def _sas(ctx):
    ids = ctx.req.query.get("identifiers")
    with ctx.state.lock:
        return [a for a in ctx.state.service_accounts.values()
                if not ids or a["identifier"] in ids]


@route("GET", "/ng/api/serviceaccount")
def list_sas(ctx):
    return ok([_sa_dto(a) for a in _sas(ctx)])


def _sa_aggregate(ctx, a):
    return {"serviceAccount": _sa_dto(a), "createdAt": a["createdAt"],
            "lastModifiedAt": a["lastModifiedAt"],
            "tokensCount": sum(1 for t in ctx.state.tokens.values()
                               if t["listed"] and t["parentIdentifier"] == a["identifier"]),
            "roleAssignmentsMetadataDTO": [{
                "identifier": "role_assignment_%s" % a["identifier"],
                "roleIdentifier": "_account_viewer", "roleName": "Account Viewer",
                "resourceGroupIdentifier": "_all_account_level_resources",
                "resourceGroupName": "All Account Level Resources", "managedRole": True,
                "managedRoleAssignment": False}]}


@route("GET", "/ng/api/serviceaccount/aggregate")
def sa_aggregate(ctx):
    idx, size = ng_paging(ctx.req)
    items = search(_sas(ctx), ctx.q("searchTerm"), lambda a: a["identifier"],
                   lambda a: a["name"])
    return ok(ng_page(items, idx, size, lambda a: _sa_aggregate(ctx, a)))


@route("GET", "/ng/api/serviceaccount/aggregate/{id}")
def sa_aggregate_one(ctx):
    a = ctx.state.service_accounts.get(ctx.params["id"])
    if a is None:
        raise not_found("Service account [%s] doesn't exist in scope" % ctx.params["id"],
                        "INVALID_REQUEST")
    return ok(_sa_aggregate(ctx, a))


@route("POST", "/ng/api/serviceaccount")
def create_sa(ctx):
    b = ctx.json_object()
    for f in ("identifier", "name", "email"):
        if not b.get(f):
            raise invalid("%s: must not be blank" % f, f)
    now = _ms()
    with ctx.state.lock:
        if b["identifier"] in ctx.state.service_accounts:
            raise ApiError(400, "DUPLICATE_FIELD",
                           "Try using different service account name, [%s] already exists"
                           % b["identifier"])
        a = {"identifier": b["identifier"], "name": b["name"], "email": b["email"],
             "description": b.get("description") or "", "tags": b.get("tags") or {},
             "accountIdentifier": ctx.account, "orgIdentifier": b.get("orgIdentifier"),
             "projectIdentifier": b.get("projectIdentifier"), "createdAt": now,
             "lastModifiedAt": now}
        ctx.state.service_accounts[b["identifier"]] = a
    return ok(_sa_dto(a))


@route("DELETE", "/ng/api/serviceaccount/{id}")
def delete_sa(ctx):
    with ctx.state.lock:
        if ctx.state.service_accounts.pop(ctx.params["id"], None) is None:
            raise not_found("Service account [%s] doesn't exist in scope" % ctx.params["id"],
                            "INVALID_REQUEST")
    return ok(True)


# ================================================================== secrets

def _secrets_in_scope(ctx):
    org, proj = ctx.scope()
    with ctx.state.lock:
        items = [s for (o, p, _), s in ctx.state.secrets.items() if o == org and p == proj]
    typ = ctx.q("type")
    types = ctx.req.query.get("types")
    if typ:
        items = [s for s in items if s["secret"]["type"] == typ]
    if types:
        items = [s for s in items if s["secret"]["type"] in types]
    ids = ctx.req.query.get("identifiers")
    if ids:
        items = [s for s in items if s["secret"]["identifier"] in ids]
    return search(items, ctx.q("searchTerm"), lambda s: s["secret"]["identifier"],
                  lambda s: s["secret"]["name"])


@route("GET", "/ng/api/v2/secrets")
def list_secrets(ctx):
    idx, size = ng_paging(ctx.req)
    return ok(ng_page(_secrets_in_scope(ctx), idx, size))


@route("POST", "/ng/api/v2/secrets/list")
def list_secrets_post(ctx):
    idx, size = ng_paging(ctx.req)
    b = ctx.json_object(required=False)
    items = _secrets_in_scope(ctx)
    if b.get("secretTypes"):
        items = [s for s in items if s["secret"]["type"] in b["secretTypes"]]
    if b.get("searchTerm"):
        items = search(items, b["searchTerm"], lambda s: s["secret"]["identifier"],
                       lambda s: s["secret"]["name"])
    return ok(ng_page(items, idx, size))


def _secret_key(ctx):
    org, proj = ctx.scope()
    return (org, proj, ctx.params["id"])


@route("GET", "/ng/api/v2/secrets/{id}")
def get_secret(ctx):
    s = ctx.state.secrets.get(_secret_key(ctx))
    if s is None:
        raise not_found("Secret with identifier [%s] does not exist in the specified scope"
                        % ctx.params["id"])
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


@route("POST", "/ng/api/v2/secrets")
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


@route("PUT", "/ng/api/v2/secrets/{id}")
def update_secret(ctx):
    sec = _secret_body(ctx)
    key = _secret_key(ctx)
    with ctx.state.lock:
        s = ctx.state.secrets.get(key)
        if s is None:
            raise not_found("Secret with identifier [%s] does not exist in the specified scope"
                            % ctx.params["id"])
        s["secret"]["name"] = sec["name"]
        s["secret"]["description"] = sec.get("description") or ""
        s["secret"]["tags"] = sec.get("tags") or {}
        s["updatedAt"] = _ms()
    return ok(s)


@route("DELETE", "/ng/api/v2/secrets/{id}")
def delete_secret(ctx):
    with ctx.state.lock:
        if ctx.state.secrets.pop(_secret_key(ctx), None) is None:
            raise not_found("Secret with identifier [%s] does not exist in the specified scope"
                            % ctx.params["id"])
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


@route("GET", "/ng/api/connectors")
def list_connectors(ctx):
    idx, size = ng_paging(ctx.req)
    t = ctx.q("type")
    return ok(ng_page(_connectors_in_scope(ctx, [t] if t else None), idx, size))


@route("POST", "/ng/api/connectors/listV2")
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


@route("GET", "/ng/api/connectors/{id}")
def get_connector(ctx):
    org, proj = ctx.scope()
    c = ctx.state.connectors.get((org, proj, ctx.params["id"]))
    if c is None:
        raise not_found("Connector with identifier [%s] in account [%s] doesn't exist"
                        % (ctx.params["id"], ctx.account))
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


@route("GET", "/cf/admin/features")
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


@route("GET", "/cf/admin/features/{id}")
def get_feature(ctx):
    org, proj, flags, env = _cf_scope(ctx)
    f = flags.get(ctx.params["id"])
    if f is None:
        raise not_found("feature flag not found")
    return Response(200, dumps(_feature(f, proj, env)), JSON)


@route("PATCH", "/cf/admin/features/{id}")
def patch_feature(ctx):
    org, proj, flags, env = _cf_scope(ctx)
    f = flags.get(ctx.params["id"])
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
                    "roleIdentifier": "_account_admin" if u is ctx.state.me else "_account_viewer",
                    "roleName": "Account Admin" if u is ctx.state.me else "Account Viewer",
                    "resourceGroupIdentifier": "_all_resources_including_child_scopes",
                    "resourceGroupName": "All Resources Including Child Scopes",
                    "managedRole": True, "managedRoleAssignment": False}]}
    idx, size = ng_paging(ctx.req)
    items = search(ctx.state.users, ctx.q("searchTerm"), lambda u: u["name"],
                   lambda u: u["email"])
    return ok(ng_page(items, idx, size, fmt))


@route("POST", "/ng/api/user/aggregate")
def users_post(ctx):
    ctx.json(required=False)
    return _users(ctx)


@route("GET", "/ng/api/user/aggregate")
def users_get(ctx):
    return _users(ctx)


@route("GET", "/ng/api/user/users")
def users_list(ctx):
    return _users(ctx)


@route("POST", "/audit/api/audits/list")
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
