"""The Harness API table: loading and matching it."""

import os
import sys
import tempfile
import time
import unittest

SANDBOX_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, SANDBOX_DIR)

from hsandbox import optable  # noqa: E402

TABLE_PATH = os.path.join(SANDBOX_DIR, "..", "src", "api", "operations.tsv")


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


if __name__ == "__main__":
    unittest.main()
