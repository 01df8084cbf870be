"""The simulated Harness API: auth, account check, envelopes, page styles,
state changes, executions, tokens."""

import gzip
import json
import time
import unittest

from sbtest import SandboxTestCase

YAML = """pipeline:
  name: {name}
  identifier: {ident}
  projectIdentifier: default_project
  orgIdentifier: default
  tags: {{}}
  stages:
    - stage:
        name: Build
        identifier: build
        type: CI
"""
YAML_CT = {"Content-Type": "application/yaml"}


class AuthTest(SandboxTestCase):
    def assertHarnessError(self, status, body, want_status, code):
        self.assertEqual(status, want_status, body)
        self.assertEqual(body["status"], "ERROR")
        self.assertEqual(body["code"], code)
        self.assertTrue(body["message"])
        self.assertEqual(len(body["correlationId"]), 36)

    def test_missing_key_is_401(self):
        status, body = self.sb.json("GET", "/ng/api/organizations", key=False)
        self.assertHarnessError(status, body, 401, "INVALID_TOKEN")

    def test_wrong_key_is_401(self):
        bad = self.sb.key[:-1] + ("A" if self.sb.key[-1] != "A" else "B")
        for key in (bad, "nonsense", "pat.a.b.c.d", self.sb.info["sat_key"].replace("sat", "pat", 1)):
            status, body = self.sb.json("GET", "/ng/api/organizations", key=key)
            self.assertHarnessError(status, body, 401, "INVALID_TOKEN")

    def test_expired_key(self):
        status, body = self.sb.json("GET", "/ng/api/organizations", key=self.sb.info["expired_key"])
        self.assertHarnessError(status, body, 401, "EXPIRED_TOKEN")

    def test_key_of_another_account(self):
        # its own account in the request: valid; ours: refused
        status, body = self.sb.json("GET", "/ng/api/organizations",
                                    key=self.sb.info["other_account_key"])
        self.assertHarnessError(status, body, 403, "ACCESS_DENIED")

    def test_account_header_and_query_must_match(self):
        other = self.sb.info["other_account"]
        status, body = self.sb.json("GET", "/ng/api/organizations",
                                    query={"accountIdentifier": other})
        self.assertEqual(status, 403)
        status, body = self.sb.json("GET", "/ng/api/organizations",
                                    headers={"Harness-Account": other})
        self.assertEqual(status, 403)
        # a v1 operation (of the table, not simulated): the account is checked first
        status, body = self.sb.json("GET", "/v1/ip-allowlist", headers={"Harness-Account": other})
        self.assertEqual(status, 403)
        self.assertEqual(body["code"], "ACCESS_DENIED")
        self.assertEqual(set(body), {"code", "message", "correlationId"})

    def test_account_required_on_ng_but_not_v1(self):
        status, body = self.sb.json("GET", "/ng/api/organizations", account=False)
        self.assertEqual(status, 400)
        self.assertEqual(body["status"], "FAILURE")
        self.assertEqual(body["code"], "INVALID_REQUEST")
        # v1 takes the account from the key: no 400, on to the (unsimulated) operation
        status, body = self.sb.json("GET", "/v1/ip-allowlist", account=False)
        self.assertEqual((status, body["code"]), (501, "NOT_SIMULATED"))
        # header alone is enough
        status, body = self.sb.json("GET", "/ng/api/organizations?x=1", account=False,
                                    headers={"Harness-Account": self.sb.account})
        self.assertEqual(status, 200)

    def test_current_user_needs_no_account(self):
        body = self.sb.ok("GET", "/ng/api/user/currentUser", account=False)
        self.assertEqual(body["data"]["email"], self.sb.info["user_email"])
        self.assertEqual(body["data"]["defaultAccountId"], self.sb.account)

    def test_legacy_three_part_key(self):
        body = self.sb.ok("GET", "/ng/api/user/currentUser", key=self.sb.info["legacy_key"])
        self.assertEqual(body["data"]["uuid"], self.sb.info["user_id"])

    def test_service_account_key(self):
        key = self.sb.info["sat_key"]
        self.assertTrue(key.startswith("sat.%s." % self.sb.account))
        self.sb.ok("GET", "/ng/api/organizations", key=key)
        status, body = self.sb.json("GET", "/ng/api/user/currentUser", key=key)
        self.assertEqual(status, 400)

    def test_key_format(self):
        parts = self.sb.key.split(".")
        self.assertEqual(parts[0], "pat")
        self.assertEqual(parts[1], self.sb.account)
        self.assertEqual(len(self.sb.account), 22)
        self.assertRegex(parts[3], r"^[A-Za-z0-9]{20}$")


class ShapesTest(SandboxTestCase):
    def test_envelope(self):
        body = self.sb.ok("GET", "/ng/api/organizations/default")
        self.assertEqual(set(body), {"status", "data", "metaData", "correlationId"})
        self.assertEqual(body["status"], "SUCCESS")
        self.assertIsNone(body["metaData"])
        self.assertEqual(body["data"]["organization"]["identifier"], "default")

    def test_gateway_prefix(self):
        a = self.sb.ok("GET", "/gateway/ng/api/organizations")
        b = self.sb.ok("GET", "/ng/api/organizations")
        self.assertEqual(a["data"], b["data"])

    def test_unknown_path_is_404(self):
        for path in ("/ng/api/nope", "/nothing/here", "/gateway/ng/api/organizationz"):
            status, body = self.sb.json("GET", path)
            self.assertEqual(status, 404)
            self.assertEqual(body["status"], "ERROR")
            self.assertEqual(body["code"], "RESOURCE_NOT_FOUND")
        status, body = self.sb.json("GET", "/ng/api/projects/nope", query={"orgIdentifier": "default"})
        self.assertEqual(status, 404)

    def test_wrong_method_is_404(self):
        # no operation of the table has that method and path
        status, body = self.sb.json("DELETE", "/ng/api/organizations")
        self.assertEqual((status, body["code"]), (404, "RESOURCE_NOT_FOUND"))

    def test_malformed_json_is_400_failure(self):
        status, _, data = self.sb.request("POST", "/pipeline/api/pipelines/list",
                                          query=self.project(), body="{not json",
                                          headers={"Content-Type": "application/json"})
        body = json.loads(data)
        self.assertEqual(status, 400)
        self.assertEqual(body["status"], "FAILURE")
        self.assertEqual(body["code"], "INVALID_REQUEST")
        self.assertIn("correlationId", body)

    def test_wrong_body_shapes_are_400(self):
        q = dict(self.project("payments", "checkout"), environmentIdentifier="dev")
        for method, path, query, body in (
                ("PATCH", "/cf/admin/features/dark_mode", q, {"instructions": [
                    {"kind": "setFeatureFlagState", "parameters": "on"}]}),
                ("POST", "/ng/api/token", {}, ["a list"]),
                ("PUT", "/ng/api/token/hlua_dev", {"apiKeyIdentifier": "hlua_automation"},
                 {"validTo": "tomorrow"}),
                ("POST", "/ng/api/v2/secrets", {}, {"secret": "x"})):
            status, _, data = self.sb.request(method, path, query=query, body=body)
            self.assertEqual(status, 400, (path, data))
            self.assertNotIn(b"Traceback", data)

    def test_bad_paging_param_is_400(self):
        status, body = self.sb.json("GET", "/ng/api/organizations", query={"pageIndex": "x"})
        self.assertEqual(status, 400)
        self.assertEqual(body["status"], "FAILURE")

    def test_ng_paging_walk(self):
        seen = []
        idx = 0
        while True:
            d = self.sb.ok("GET", "/ng/api/projects", query={"pageIndex": idx, "pageSize": 4})["data"]
            self.assertEqual(set(d), {"totalPages", "totalItems", "pageItemCount", "pageSize",
                                      "content", "pageIndex", "empty"})
            self.assertEqual(d["pageIndex"], idx)
            self.assertEqual(d["pageItemCount"], len(d["content"]))
            seen += [p["project"]["identifier"] for p in d["content"]]
            idx += 1
            if idx >= d["totalPages"]:
                break
        self.assertEqual(len(seen), d["totalItems"])
        self.assertEqual(len(seen), len(set(seen)))
        self.assertIn("big", seen)
        past = self.sb.ok("GET", "/ng/api/projects", query={"pageIndex": 99})["data"]
        self.assertTrue(past["empty"])
        self.assertEqual(past["content"], [])

    def test_ng_page_size_is_capped(self):
        d = self.sb.ok("GET", "/ng/api/organizations", query={"pageSize": 100000})["data"]
        self.assertEqual(d["pageSize"], 1000)

    def test_projects_by_org(self):
        d = self.sb.ok("GET", "/ng/api/projects", query={"orgIdentifier": "payments"})["data"]
        self.assertEqual({p["project"]["orgIdentifier"] for p in d["content"]}, {"payments"})
        p = self.sb.ok("GET", "/ng/api/projects/checkout", query={"orgIdentifier": "payments"})
        self.assertEqual(set(p["data"]), {"project", "createdAt", "lastModifiedAt"})

    def test_v1_orgs_and_projects_are_not_in_the_table(self):
        for path in ("/v1/orgs", "/v1/orgs/default", "/v1/orgs/payments/projects",
                     "/v1/orgs/payments/projects/checkout", "/v1/projects"):
            status, body = self.sb.json("GET", path)
            self.assertEqual(status, 404, path)
            self.assertEqual(set(body), {"code", "message", "correlationId"})

    def test_big_project_pipeline_paging_is_fast(self):
        t0 = time.time()
        seen = 0
        page = 0
        while True:
            d = self.sb.ok("POST", "/pipeline/api/pipelines/list",
                           query=dict(self.project("default", "big"), page=page, size=1000),
                           body={"filterType": "PipelineSetup"})["data"]
            seen += d["numberOfElements"]
            self.assertEqual(d["number"], page)
            if d["last"]:
                break
            page += 1
        self.assertEqual(seen, 10000)
        self.assertEqual(d["totalElements"], 10000)
        self.assertEqual(d["totalPages"], 10)
        self.assertLess(time.time() - t0, 5)

    def test_pipeline_page_size_default_and_search(self):
        d = self.sb.ok("POST", "/pipeline/api/pipelines/list", query=self.project(),
                       body={"filterType": "PipelineSetup"})["data"]
        self.assertEqual(d["size"], 25)
        self.assertIn("hello_world", [p["identifier"] for p in d["content"]])
        d = self.sb.ok("POST", "/pipeline/api/pipelines/list",
                       query=dict(self.project(), searchTerm="smoke"))["data"]
        self.assertEqual([p["identifier"] for p in d["content"]], ["smoke_tests_fail"])

    def test_pipeline_scope_required(self):
        status, body = self.sb.json("POST", "/pipeline/api/pipelines/list",
                                    query={"orgIdentifier": "default"}, body={})
        self.assertEqual(status, 400)
        self.assertEqual(body["errors"][0]["fieldId"], "projectIdentifier")

    def test_cf_paging(self):
        q = dict(self.project("payments", "checkout"), environmentIdentifier="prod", pageSize=5)
        seen = []
        page = 0
        while True:
            status, headers, data = self.sb.request("GET", "/cf/admin/features",
                                                    query=dict(q, pageNumber=page))
            d = json.loads(data)
            self.assertEqual(set(d), {"features", "itemCount", "pageCount", "pageIndex",
                                      "pageSize", "version"})
            self.assertEqual((d["pageIndex"], d["pageSize"]), (page, 5))
            seen += [f["identifier"] for f in d["features"]]
            page += 1
            if page >= d["pageCount"]:
                break
        self.assertEqual(len(seen), d["itemCount"])
        self.assertEqual(len(seen), 12)

    def test_v1_paging(self):
        path = "/v1/orgs/default/projects/big/notification-channels"
        seen, page = [], 0
        while True:
            status, headers, data = self.sb.request("GET", path, query={"page": page, "limit": 100})
            self.assertEqual(status, 200, data)
            items = json.loads(data)
            self.assertIsInstance(items, list)
            self.assertEqual(headers["x-total-elements"], "250")
            self.assertEqual(headers["x-page-number"], str(page))
            self.assertEqual(headers["x-page-size"], "100")
            # Link is built with page_size and offers next only after a full page
            self.assertEqual("rel=\"next\"" in headers["link"], len(items) == 100)
            seen += [c["identifier"] for c in items]
            page += 1
            if not items or len(seen) >= 250:
                break
        self.assertEqual(len(set(seen)), 250)
        status, headers, data = self.sb.request("GET", "/v1/notification-channels")
        self.assertEqual(len(json.loads(data)), 4)
        status, body = self.sb.json("GET", "/v1/orgs/platform/notification-channels/infra_slack")
        self.assertEqual((status, body["name"]), (200, "#infra"))

    def test_gzip_when_asked(self):
        status, headers, data = self.sb.request("GET", "/ng/api/projects",
                                                headers={"Accept-Encoding": "gzip"})
        self.assertEqual(headers.get("content-encoding"), "gzip")
        self.assertEqual(json.loads(gzip.decompress(data))["status"], "SUCCESS")
        status, headers, data = self.sb.request("GET", "/ng/api/projects")
        self.assertNotIn("content-encoding", headers)

    def test_users_and_audits(self):
        d = self.sb.ok("POST", "/ng/api/user/aggregate", body={})["data"]
        self.assertEqual(d["totalItems"], 12)
        self.assertIn("email", d["content"][0]["user"])
        # Harness has these only as POST (and POST /ng/api/user/users adds users)
        self.assertEqual(self.sb.request("GET", "/ng/api/user/users")[0], 404)
        self.assertEqual(self.sb.request("GET", "/ng/api/user/aggregate")[0], 404)
        d = self.sb.ok("POST", "/audit/api/audits/list", query={"pageSize": 10},
                       body={"filterType": "Audit", "startTime": 0,
                             "endTime": int(time.time() * 1000)})["data"]
        self.assertEqual(d["pageItemCount"], 10)
        self.assertIn("resource", d["content"][0])


class StateTest(SandboxTestCase):
    ARGS = ("--execution-seconds", "1")

    def test_pipeline_crud(self):
        q = self.project()
        ident = "crud_%d" % int(time.time() * 1000)
        # a type the operation does not consume is refused
        status, body = self.sb.json("POST", "/pipeline/api/pipelines/v2", query=q,
                                    body=YAML.format(name="X", ident=ident),
                                    headers={"Content-Type": "text/plain"})
        self.assertEqual(status, 415)
        body = self.sb.ok("POST", "/pipeline/api/pipelines/v2", query=q,
                          body=YAML.format(name="Crud", ident=ident), headers=YAML_CT)
        self.assertEqual(body["data"]["identifier"], ident)
        status, body = self.sb.json("POST", "/pipeline/api/pipelines/v2", query=q,
                                    body=YAML.format(name="Crud", ident=ident), headers=YAML_CT)
        self.assertEqual(status, 400)
        got = self.sb.ok("GET", "/pipeline/api/pipelines/" + ident, query=q)["data"]
        self.assertIn("identifier: " + ident, got["yamlPipeline"])
        self.sb.ok("PUT", "/pipeline/api/pipelines/v2/" + ident, query=q,
                   body=YAML.format(name="Crud Renamed", ident=ident), headers=YAML_CT)
        got = self.sb.ok("GET", "/pipeline/api/pipelines/" + ident, query=q)["data"]
        self.assertIn("name: Crud Renamed", got["yamlPipeline"])
        listed = self.sb.ok("POST", "/pipeline/api/pipelines/list",
                            query=dict(q, searchTerm=ident), body={})["data"]["content"]
        self.assertEqual(listed[0]["name"], "Crud Renamed")
        status, body = self.sb.json("PUT", "/pipeline/api/pipelines/v2/" + ident, query=q,
                                    body=YAML.format(name="x", ident="other"), headers=YAML_CT)
        self.assertEqual(status, 400)
        self.assertEqual(self.sb.ok("DELETE", "/pipeline/api/pipelines/" + ident, query=q)["data"],
                         True)
        status, body = self.sb.json("GET", "/pipeline/api/pipelines/" + ident, query=q)
        self.assertEqual(status, 404)
        self.assertEqual(body["code"], "ENTITY_NOT_FOUND")

    def test_invalid_yaml(self):
        status, body = self.sb.json("POST", "/pipeline/api/pipelines/v2", query=self.project(),
                                    body="stages: []\n", headers=YAML_CT)
        self.assertEqual(status, 400)
        self.assertEqual(body["status"], "ERROR")

    def test_execution_progress(self):
        q = self.project()
        outcomes = {}
        for pid in ("hello_world", "smoke_tests_fail"):
            d = self.sb.ok("POST", "/pipeline/api/pipeline/execute/" + pid,
                           query=dict(q, moduleType="cd"))["data"]
            self.assertEqual(d["planExecution"]["metadata"]["moduleType"], "cd")
            self.assertEqual(d["planExecution"]["status"], "RUNNING")
            eid = d["planExecution"]["uuid"]
            s = self.sb.ok("GET", "/pipeline/api/pipelines/execution/v2/" + eid, query=q)
            self.assertEqual(s["data"]["pipelineExecutionSummary"]["status"], "Running")
            outcomes[pid] = eid
        time.sleep(1.2)
        for pid, want in (("hello_world", "Success"), ("smoke_tests_fail", "Failed")):
            s = self.sb.ok("GET", "/pipeline/api/pipelines/execution/v2/" + outcomes[pid], query=q)
            summary = s["data"]["pipelineExecutionSummary"]
            self.assertEqual(summary["status"], want)
            self.assertEqual(summary["pipelineIdentifier"], pid)
            self.assertIsNotNone(summary["endTs"])
        lst = self.sb.ok("POST", "/pipeline/api/pipelines/execution/summary",
                         query=dict(q, pipelineIdentifier="hello_world", size=3),
                         body={"filterType": "PipelineExecution"})["data"]
        self.assertEqual(lst["content"][0]["planExecutionId"], outcomes["hello_world"])
        self.assertEqual(lst["size"], 3)

    def test_execute_with_inputs_needs_yaml(self):
        q = dict(self.project(), moduleType="ci")
        for ctype in ("text/plain", "application/json", "application/x-www-form-urlencoded"):
            status, body = self.sb.json("POST", "/pipeline/api/pipeline/execute/build_and_test",
                                        query=q, body="pipeline: {}",
                                        headers={"Content-Type": ctype})
            self.assertEqual((status, body["code"]), (415, "UNSUPPORTED_MEDIA_TYPE"), ctype)
        self.sb.ok("POST", "/pipeline/api/pipeline/execute/build_and_test", query=q,
                   body="pipeline:\n  identifier: build_and_test\n", headers=YAML_CT)

    def test_abort(self):
        q = self.project()
        eid = self.sb.ok("POST", "/pipeline/api/pipeline/execute/hello_world",
                         query=dict(q, moduleType="pms"))["data"]["planExecution"]["uuid"]
        self.sb.ok("PUT", "/pipeline/api/pipeline/execute/interrupt/" + eid,
                   query=dict(q, interruptType="AbortAll"))
        s = self.sb.ok("GET", "/pipeline/api/pipelines/execution/v2/" + eid, query=q)
        self.assertEqual(s["data"]["pipelineExecutionSummary"]["status"], "Aborted")

    def test_tokens_listing(self):
        d = self.sb.ok("GET", "/ng/api/token/aggregate",
                       query={"apiKeyType": "USER", "parentIdentifier": self.sb.info["user_id"],
                              "apiKeyIdentifier": "hlua_automation"})["data"]
        tokens = {t["token"]["identifier"]: t for t in d["content"]}
        self.assertIn("hlua_dev", tokens)
        tok = tokens["hlua_dev"]["token"]
        for f in ("identifier", "name", "validFrom", "validTo", "scheduledExpireTime", "valid",
                  "accountIdentifier", "apiKeyIdentifier", "parentIdentifier", "apiKeyType"):
            self.assertIn(f, tok)
        self.assertTrue(tok["valid"])
        self.assertFalse(tokens["old_laptop"]["token"]["valid"])
        sa = self.sb.ok("GET", "/ng/api/serviceaccount/aggregate")["data"]
        self.assertIn("deploy_bot", [s["serviceAccount"]["identifier"] for s in sa["content"]])
        keys = self.sb.ok("GET", "/ng/api/apikey/aggregate",
                          query={"apiKeyType": "SERVICE_ACCOUNT",
                                 "parentIdentifier": "deploy_bot"})["data"]
        self.assertEqual(keys["content"][0]["apiKey"]["identifier"], "deploy_key")
        self.assertEqual(keys["content"][0]["tokensCount"], 2)
        one = self.sb.ok("GET", "/ng/api/apikey", query={
            "apiKeyType": "USER", "parentIdentifier": self.sb.info["user_id"]})["data"]
        self.assertEqual({a["identifier"] for a in one}, {"hlua_automation", "personal"})

    def test_token_create_use_delete(self):
        uid = self.sb.info["user_id"]
        key = self.sb.ok("POST", "/ng/api/token", body={
            "identifier": "made_%d" % int(time.time() * 1000), "name": "Made",
            "apiKeyType": "USER", "parentIdentifier": uid,
            "apiKeyIdentifier": "personal", "accountIdentifier": self.sb.account})["data"]
        self.assertTrue(key.startswith("pat.%s." % self.sb.account))
        self.sb.ok("GET", "/ng/api/user/currentUser", key=key)
        ident = None
        listed = self.sb.ok("GET", "/ng/api/token/aggregate", query={
            "apiKeyType": "USER", "parentIdentifier": uid,
            "apiKeyIdentifier": "personal"})["data"]["content"]
        for t in listed:
            if t["token"]["identifier"].startswith("made_"):
                ident = t["token"]["identifier"]
        self.sb.ok("DELETE", "/ng/api/token/" + ident,
                   query={"apiKeyType": "USER", "parentIdentifier": uid,
                          "apiKeyIdentifier": "personal"})
        status, body = self.sb.json("GET", "/ng/api/user/currentUser", key=key)
        self.assertEqual(status, 401)

    def test_token_rotation(self):
        uid = self.sb.info["user_id"]
        scope = {"apiKeyType": "USER", "parentIdentifier": uid, "apiKeyIdentifier": "personal"}
        old = self.sb.ok("POST", "/ng/api/token", body=dict(scope, identifier="rot", name="Rot"))["data"]
        later = int(time.time() * 1000) + 1500
        new = self.sb.ok("POST", "/ng/api/token/rotate/rot",
                         query=dict(scope, rotateTimestamp=later))["data"]
        self.assertNotEqual(new, old)
        self.assertTrue(new.startswith("pat.%s." % self.sb.account))
        self.sb.ok("GET", "/ng/api/user/currentUser", key=new)
        self.sb.ok("GET", "/ng/api/user/currentUser", key=old)
        listed = self.sb.ok("GET", "/ng/api/token/aggregate", query=scope)["data"]["content"]
        idents = [t["token"]["identifier"] for t in listed]
        self.assertIn("rot", idents)
        rotated = [i for i in idents if i != "rot" and i.startswith("rotated_")]
        self.assertEqual(len(rotated), 1, idents)
        self.assertRegex(rotated[0], r"^rotated_[A-Za-z]{15}$")
        time.sleep(1.6)
        status, body = self.sb.json("GET", "/ng/api/user/currentUser", key=old)
        self.assertEqual(status, 401)
        self.assertEqual(body["code"], "EXPIRED_TOKEN")
        self.sb.ok("GET", "/ng/api/user/currentUser", key=new)

    def test_secret_values_never_returned(self):
        value = "s3cr3t-value-%d" % time.time()
        q = self.project()
        created = self.sb.ok("POST", "/ng/api/v2/secrets", query=q, body={"secret": {
            "type": "SecretText", "name": "Made", "identifier": "made_secret",
            "orgIdentifier": "default", "projectIdentifier": "default_project",
            "spec": {"secretManagerIdentifier": "harnessSecretManager",
                     "valueType": "Inline", "value": value}}})
        self.assertNotIn(value, json.dumps(created))
        got = self.sb.ok("GET", "/ng/api/v2/secrets/made_secret", query=q)
        self.assertIsNone(got["data"]["secret"]["spec"]["value"])
        for method, path, body in (("GET", "/ng/api/v2/secrets", None),
                                   ("POST", "/ng/api/v2/secrets/list", {"filterType": "Secret"})):
            d = self.sb.ok(method, path, query=q, body=body)["data"]
            self.assertNotIn(value, json.dumps(d))
            self.assertIn("made_secret", [s["secret"]["identifier"] for s in d["content"]])
        # POST list: the filters are in the body; the query has none
        d = self.sb.ok("POST", "/ng/api/v2/secrets/list", query={"searchTerm": "github"},
                       body={"filterType": "Secret"})["data"]
        self.assertEqual(d["totalItems"], 6)
        d = self.sb.ok("POST", "/ng/api/v2/secrets/list",
                       body={"filterType": "Secret", "searchTerm": "github"})["data"]
        self.assertEqual([s["secret"]["identifier"] for s in d["content"]], ["github_pat"])
        acct = self.sb.ok("GET", "/ng/api/v2/secrets")["data"]
        self.assertIn("github_pat", [s["secret"]["identifier"] for s in acct["content"]])
        self.sb.ok("DELETE", "/ng/api/v2/secrets/made_secret", query=q)

    def test_connectors(self):
        d = self.sb.ok("POST", "/ng/api/connectors/listV2",
                       query=self.project("payments", "checkout"),
                       body={"filterType": "Connector", "types": ["K8sCluster"]})["data"]
        self.assertEqual({c["connector"]["type"] for c in d["content"]}, {"K8sCluster"})
        c = self.sb.ok("GET", "/ng/api/connectors/docker_hub")["data"]
        self.assertEqual(c["connector"]["type"], "DockerRegistry")
        self.assertEqual(c["status"]["status"], "SUCCESS")

    def test_toggle_flag(self):
        q = dict(self.project("payments", "checkout"), environmentIdentifier="staging")
        before = self.sb.ok("GET", "/cf/admin/features/dark_mode", query=q)
        want = "off" if before["envProperties"]["state"] == "on" else "on"
        after = self.sb.ok("PATCH", "/cf/admin/features/dark_mode", query=q, body={
            "instructions": [{"kind": "setFeatureFlagState", "parameters": {"state": want}}]})
        self.assertEqual(after["envProperties"]["state"], want)
        again = self.sb.ok("GET", "/cf/admin/features/dark_mode", query=q)
        self.assertEqual(again["envProperties"]["state"], want)
        other_env = self.sb.ok("GET", "/cf/admin/features/dark_mode",
                               query=dict(q, environmentIdentifier="dev"))
        self.assertIn(other_env["envProperties"]["state"], ("on", "off"))
        status, body = self.sb.json("PATCH", "/cf/admin/features/dark_mode", query=q,
                                    body={"instructions": [{"kind": "nope"}]})
        self.assertEqual(status, 400)
        self.assertEqual(set(body), {"code", "message", "details"})

    def test_reset_reseeds_state(self):
        q = self.project()
        self.sb.ok("DELETE", "/pipeline/api/pipelines/hello_world", query=q)
        self.sb.reset(state=True)
        self.sb.ok("GET", "/pipeline/api/pipelines/hello_world", query=q)

    def test_size_control(self):
        self.sb.control("POST", "size", {"kind": "pipelines", "org": "default", "project": "big",
                                         "count": 123})
        d = self.sb.ok("POST", "/pipeline/api/pipelines/list",
                       query=dict(self.project("default", "big"), size=1), body={})["data"]
        self.assertEqual(d["totalElements"], 123)
        self.sb.control("POST", "size", {"count": 10000})


if __name__ == "__main__":
    unittest.main()
