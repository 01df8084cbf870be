"""The Harness API table: loading and matching it, the checks every request
goes through (404, 400, 415, 501 NOT_SIMULATED), and the mapping of the
simulated operations to the table."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from sbtest import SERVE, Sandbox, SandboxTestCase

SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SANDBOX_DIR)

from hsandbox import api, optable  # noqa: E402

TABLE_PATH = os.path.join(SANDBOX_DIR, "..", "src", "api", "operations.tsv")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def table():
    if not hasattr(table, "cached"):
        table.cached = optable.load(optable.default_path(SANDBOX_DIR))
    return table.cached


class TableTest(unittest.TestCase):
    def test_loads_every_operation(self):
        t = table()
        with open(TABLE_PATH, encoding="utf-8") as f:
            rows = [line for line in f.read().split("\n")[1:] if line]
        self.assertEqual(len(t), len(rows))
        self.assertGreater(len(t), 1200)
        op = t.by_name["Token.RotateToken"]
        self.assertEqual((op.method, op.path), ("POST", "/ng/api/token/rotate/{identifier}"))
        self.assertEqual(op.required_query, ("accountIdentifier", "apiKeyType",
                                             "parentIdentifier", "apiKeyIdentifier"))
        self.assertIn("rotateTimestamp", op.optional_query)
        self.assertIsNone(op.consumes)
        self.assertEqual(t.by_name["Execute.PostPipelineExecuteWithInputSetYaml"].consumes,
                         frozenset(["application/yaml"]))

    def test_default_location(self):
        self.assertEqual(os.path.realpath(optable.default_path(SANDBOX_DIR)),
                         os.path.realpath(TABLE_PATH))
        # installed: share/hlua/sandbox beside share/hlua/api
        d = tempfile.mkdtemp()
        os.makedirs(os.path.join(d, "sandbox"))
        os.makedirs(os.path.join(d, "api"))
        with open(os.path.join(d, "api", "operations.tsv"), "w") as f:
            f.write("\t".join(optable.COLUMNS) + "\n")
        self.assertEqual(optable.default_path(os.path.join(d, "sandbox")),
                         os.path.join(d, "api", "operations.tsv"))
        os.makedirs(os.path.join(d, "x", "elsewhere"))
        self.assertIsNone(optable.default_path(os.path.join(d, "x", "elsewhere")))

    def test_literal_segments_beat_parameters(self):
        t = table()
        op, params = t.match("GET", "/ng/api/token/aggregate")
        self.assertEqual(op.name, "Token.ListAggregatedTokens")
        op, params = t.match("DELETE", "/ng/api/token/aggregate")
        self.assertEqual((op.name, params), ("Token.DeleteToken", {"identifier": "aggregate"}))
        op, params = t.match("GET", "/ng/api/apikey/aggregate/k1")
        self.assertEqual((op.name, params), ("ApiKey.GetAggregatedApiKey", {"identifier": "k1"}))
        op, _ = t.match("GET", "/pipeline/api/pipelines/execution/v2/x")
        self.assertEqual(op.name, "ExecutionDetails.GetExecutionDetailV2")
        op, _ = t.match("GET", "/pipeline/api/pipelines/execution/x")
        self.assertEqual(op.name, "ExecutionDetails.GetExecutionDetail")
        # a literal branch that dead-ends falls back to the parameter one
        op, params = t.match("PUT", "/pipeline/api/pipeline/execute/interrupt/abc")
        self.assertEqual((op.name, params), ("Execute.PutHandleInterrupt",
                                             {"planExecutionId": "abc"}))

    def test_no_match(self):
        t = table()
        for method, path in (("GET", "/ng/api/nope"), ("GET", "/v1/orgs"), ("GET", "/"),
                             ("DELETE", "/ng/api/organizations"), ("GET", "/ng/api/token"),
                             ("GET", "/ng/api/organizations//x"), ("BREW", "/ng/api/projects")):
            self.assertEqual(t.match(method, path), (None, None), (method, path))

    def test_head_trailing_slash_and_escapes(self):
        t = table()
        self.assertEqual(t.match("HEAD", "/ng/api/organizations")[0].name,
                         "Organization.GetOrganizationList")
        self.assertEqual(t.match("GET", "/ng/api/organizations/")[0].name,
                         "Organization.GetOrganizationList")
        op, params = t.match("GET", "/ng/api/v2/secrets/a%20b")
        self.assertEqual(params, {"identifier": "a b"})

    def test_content_types(self):
        t = table()
        create = t.by_name["Token.CreateToken"]
        self.assertTrue(create.accepts("application/json"))
        self.assertTrue(create.accepts("Application/JSON; charset=UTF-8"))
        self.assertTrue(create.accepts("text/plain"))
        self.assertFalse(create.accepts("application/x-www-form-urlencoded"))
        self.assertFalse(create.accepts(None))
        rotate = t.by_name["Token.RotateToken"]
        self.assertTrue(rotate.accepts(None))
        self.assertFalse(rotate.accepts("application/json"))
        anything = t.by_name["SourceCodeManager.CreateSourceCodeManager"]
        self.assertTrue(anything.any_type)
        self.assertTrue(anything.accepts("application/octet-stream"))

    def test_malformed_tables_are_refused(self):
        d = tempfile.mkdtemp()
        bad = os.path.join(d, "bad.tsv")
        with open(bad, "w") as f:
            f.write("not\tthe\theader\n")
        with self.assertRaises(optable.TableError):
            optable.load(bad)
        with open(bad, "w") as f:
            f.write("\t".join(optable.COLUMNS) + "\nnextgen\tA.B\tGET\t/x\n")
        with self.assertRaisesRegex(optable.TableError, ":2: 4 columns"):
            optable.load(bad)
        with self.assertRaises(optable.TableError):
            optable.load(os.path.join(d, "missing.tsv"))

    def test_loading_is_fast(self):
        path = optable.default_path(SANDBOX_DIR)
        optable.load(path)
        t0 = time.perf_counter()
        for _ in range(5):
            optable.load(path)
        self.assertLess((time.perf_counter() - t0) / 5, 0.25)
        t = table()
        t0 = time.perf_counter()
        for _ in range(10000):
            t.match("GET", "/pipeline/api/pipelines/execution/v2/abcdef")
        self.assertLess(time.perf_counter() - t0, 1.0)


class MappingTest(unittest.TestCase):
    """SIMULATED names every simulated route's operation; each must be in the
    table with the same method and path."""

    def test_every_simulated_route_is_an_operation_of_the_table(self):
        t = table()
        for name, (method, path, fn, notes) in api.SIMULATED.items():
            op = t.by_name.get(name)
            self.assertIsNotNone(op, "%s is not an operation of the table" % name)
            self.assertEqual((op.method, op.path), (method, path), name)
            self.assertIs(t.match(method, path.replace("{", "x").replace("}", ""))[0], op,
                          "%s %s matches another operation" % (method, path))
            self.assertTrue(callable(fn), name)
        self.assertEqual(len({fn for _, _, fn, _ in api.SIMULATED.values()}),
                         len(api.SIMULATED), "a handler serves two operations")
        self.assertEqual(api.HarnessApi(None, t).unmatched, [])

    def test_readme_lists_the_simulated_operations(self):
        with open(os.path.join(SANDBOX_DIR, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        start = readme.index("<!-- simulated operations: begin -->\n") + \
            len("<!-- simulated operations: begin -->\n")
        end = readme.index("<!-- simulated operations: end -->")
        self.assertEqual(readme[start:end], api.simulated_markdown(),
                         "regenerate it: sandbox/serve --list-simulated")

    def test_list_simulated_flag(self):
        r = subprocess.run([sys.executable, SERVE, "--list-simulated"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, api.simulated_markdown())


class OperationsFlagTest(unittest.TestCase):
    def test_operations_flag(self):
        d = tempfile.mkdtemp()
        small = os.path.join(d, "ops.tsv")
        with open(TABLE_PATH, encoding="utf-8") as f:
            lines = f.read().split("\n")
        keep = [lines[0]] + [line for line in lines[1:] if "\tOrganization." in line]
        with open(small, "w", encoding="utf-8") as f:
            f.write("\n".join(keep) + "\n")
        sb = Sandbox("--operations", small)
        try:
            self.assertEqual(sb.info["operations"], small)
            self.assertEqual(sb.request("GET", "/ng/api/organizations")[0], 200)
            self.assertEqual(sb.request("GET", "/ng/api/projects")[0], 404)
            sb.proc.send_signal(signal.SIGTERM)
            _, err = sb.proc.communicate(timeout=10)
        finally:
            sb.stop()
        # the simulated operations the small table lacks are named
        self.assertIn(b"simulated operations not in", err)
        self.assertIn(b"Project.GetProjectList", err)

    def test_missing_table_stops_start_up(self):
        r = subprocess.run([sys.executable, SERVE, "--operations", "/nonexistent/ops.tsv"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read the Harness API table", r.stderr)


class RequestCheckTest(SandboxTestCase):
    def assertError(self, status, body, want_status, code):
        self.assertEqual((status, body["code"]), (want_status, code), body)
        self.assertTrue(body["message"])
        self.assertIn("correlationId", body)

    def test_made_up_path_is_404(self):
        for method, path in (("GET", "/ng/api/made/up"), ("POST", "/ng/api/organizations/x"),
                             ("GET", "/gateway/ng/api/tokens/aggregate"),
                             ("PATCH", "/pipeline/api/pipelines/x")):
            status, body = self.sb.json(method, path, body={} if method != "GET" else None)
            self.assertError(status, body, 404, "RESOURCE_NOT_FOUND")
            self.assertEqual(body["status"], "ERROR")
        # no key needed to learn that something does not exist
        status, body = self.sb.json("GET", "/ng/api/made/up", key=False)
        self.assertEqual(status, 404)

    def test_missing_required_parameter_is_400_naming_it(self):
        uid = self.sb.info["user_id"]
        full = {"apiKeyType": "USER", "parentIdentifier": uid,
                "apiKeyIdentifier": "hlua_automation"}
        self.sb.ok("GET", "/ng/api/token/aggregate", query=full)
        for missing in ("apiKeyType", "parentIdentifier", "apiKeyIdentifier"):
            q = {k: v for k, v in full.items() if k != missing}
            status, body = self.sb.json("GET", "/ng/api/token/aggregate", query=q)
            self.assertError(status, body, 400, "INVALID_REQUEST")
            self.assertEqual(body["status"], "FAILURE")
            self.assertIn(missing, body["message"])
            self.assertEqual(body["errors"][0]["fieldId"], missing)
        # an empty value is as good as none
        status, body = self.sb.json("GET", "/ng/api/token/aggregate",
                                    query=dict(full, parentIdentifier=""))
        self.assertError(status, body, 400, "INVALID_REQUEST")
        status, body = self.sb.json("POST", "/pipeline/api/pipeline/execute/hello_world",
                                    query=self.project())
        self.assertError(status, body, 400, "INVALID_REQUEST")
        self.assertIn("moduleType", body["message"])
        status, body = self.sb.json("GET", "/cf/admin/features",
                                    query={"orgIdentifier": "payments"})
        self.assertEqual(status, 400)
        self.assertIn("projectIdentifier", body["message"])
        self.assertEqual(set(body), {"code", "message", "details"})

    def test_missing_required_body_is_400(self):
        status, body = self.sb.json("POST", "/ng/api/connectors/listV2", body="",
                                    headers={"Content-Type": "application/json"})
        self.assertError(status, body, 400, "INVALID_REQUEST")
        self.assertIn("body", body["message"])

    def test_wrong_content_type_is_415(self):
        for ctype in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
            status, body = self.sb.json("POST", "/ng/api/v2/secrets",
                                        body='{"secret":{}}', headers={"Content-Type": ctype})
            self.assertError(status, body, 415, "UNSUPPORTED_MEDIA_TYPE")
            self.assertIn("Secrets.PostSecret", body["message"])
        # a body without a Content-Type
        status, body = self.sb.json("POST", "/ng/api/token", body='{"a":1}')
        self.assertError(status, body, 415, "UNSUPPORTED_MEDIA_TYPE")
        # on the media type only, case-insensitively
        status, body = self.sb.json("POST", "/ng/api/connectors/listV2",
                                    body='{"filterType":"Connector"}',
                                    headers={"Content-Type": "Application/JSON; charset=utf-8"})
        self.assertEqual(status, 200, body)
        # checked for operations the sandbox does not simulate too
        status, body = self.sb.json("POST", "/ng/api/organizations", body="x",
                                    headers={"Content-Type": "text/csv"})
        self.assertError(status, body, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_bodyless_post_with_form_type_to_rotate_is_415(self):
        # what libcurl sends for a POST without a body: the form Content-Type
        uid = self.sb.info["user_id"]
        q = {"apiKeyType": "USER", "parentIdentifier": uid, "apiKeyIdentifier": "personal"}
        status, body = self.sb.json("POST", "/ng/api/token/rotate/scratch", query=q,
                                    body="", headers=FORM)
        self.assertError(status, body, 415, "UNSUPPORTED_MEDIA_TYPE")
        self.assertIn("Token.RotateToken", body["message"])
        status, body = self.sb.json("POST", "/ng/api/token/rotate/scratch", query=q,
                                    body="", headers={"Content-Type": "application/json"})
        self.assertEqual(status, 415)
        # nothing refused: no Content-Type and no body
        status, body = self.sb.json("POST", "/ng/api/token/rotate/scratch", query=q)
        self.assertEqual(status, 200, body)
        self.assertTrue(body["data"].startswith("pat."))

    def test_get_with_a_content_type_and_no_body_is_fine(self):
        status, _, _ = self.sb.request("GET", "/ng/api/organizations",
                                       headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)

    def test_operation_in_the_table_but_not_simulated(self):
        status, body = self.sb.json("POST", "/ng/api/organizations",
                                    body={"organization": {"identifier": "x", "name": "x"}})
        self.assertError(status, body, 501, "NOT_SIMULATED")
        self.assertEqual(body["status"], "ERROR")
        self.assertEqual(body["message"], "Organization.PostOrganization (POST "
                         "/ng/api/organizations) is a real Harness operation the sandbox "
                         "does not simulate")
        status, body = self.sb.json("GET", "/ng/api/connectors/catalogue")
        self.assertError(status, body, 501, "NOT_SIMULATED")
        status, body = self.sb.json("GET", "/cf/admin/targets", query={
            "orgIdentifier": "payments", "projectIdentifier": "checkout",
            "environmentIdentifier": "dev"})
        self.assertEqual((status, set(body)), (501, {"code", "message", "details"}))
        self.assertIn("Targets.GetAllTargets", body["message"])
        # the checks come first: key, then required parameters
        status, body = self.sb.json("GET", "/ng/api/connectors/catalogue", key=False)
        self.assertEqual(status, 401)
        status, body = self.sb.json("GET", "/ng/api/connectors/fieldValues")
        self.assertError(status, body, 400, "INVALID_REQUEST")
        self.assertIn("connectorType", body["message"])

    def test_request_log_names_the_operation(self):
        self.sb.request("GET", "/ng/api/organizations")
        self.sb.request("GET", "/ng/api/nope")
        self.sb.request("POST", "/ng/api/organizations", body={})
        self.sb.request("POST", "/ng/api/token/rotate/x", headers=FORM, body="")
        status, log = self.sb.control("GET", "requests")
        got = [(e["operation"], e["status"], e["code"], e["content_type"])
               for e in log["requests"]]
        self.assertEqual(got, [
            ("Organization.GetOrganizationList", 200, None, None),
            (None, 404, "RESOURCE_NOT_FOUND", None),
            ("Organization.PostOrganization", 501, "NOT_SIMULATED", "application/json"),
            ("Token.RotateToken", 415, "UNSUPPORTED_MEDIA_TYPE",
             "application/x-www-form-urlencoded")])


if __name__ == "__main__":
    unittest.main()
