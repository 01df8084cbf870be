"""The data follows Harness's own conventions: rotated token names, the
built-in secret manager, the feature-flag list body."""

import json
import unittest

from sbtest import SandboxTestCase


class ConventionsTest(SandboxTestCase):
    def test_rotated_token_is_renamed_rotated_and_15_letters(self):
        uid = self.sb.info["user_id"]
        q = {"apiKeyType": "USER", "parentIdentifier": uid, "apiKeyIdentifier": "personal"}
        names = set()
        for _ in range(2):
            self.sb.ok("POST", "/ng/api/token/rotate/scratch", query=q)
            listed = self.sb.ok("GET", "/ng/api/token/aggregate", query=q)["data"]["content"]
            names = {t["token"]["identifier"] for t in listed}
        self.assertIn("scratch", names)
        rotated = sorted(n for n in names if n != "scratch")
        self.assertEqual(len(rotated), 2, names)
        for n in rotated:
            self.assertRegex(n, r"^rotated_[A-Za-z]{15}$")
        self.assertNotEqual(rotated[0], rotated[1])
        self.sb.reset(state=True)

    def test_built_in_secret_manager(self):
        c = self.sb.ok("GET", "/ng/api/connectors/harnessSecretManager")["data"]
        self.assertEqual(c["connector"]["identifier"], "harnessSecretManager")
        self.assertEqual(c["connector"]["name"], "Harness Built-in Secret Manager")
        self.assertTrue(c["harnessManaged"])
        ids = [x["connector"]["identifier"] for x in
               self.sb.ok("GET", "/ng/api/connectors")["data"]["content"]]
        self.assertIn("harnessSecretManager", ids)
        self.assertNotIn("harness_secret_manager", ids)
        s = self.sb.ok("GET", "/ng/api/v2/secrets/github_pat")["data"]
        self.assertEqual(s["secret"]["spec"]["secretManagerIdentifier"], "harnessSecretManager")

    def test_feature_flag_list_body(self):
        q = dict(self.project("payments", "checkout"), pageSize=5, pageNumber=1)
        status, headers, data = self.sb.request("GET", "/cf/admin/features", query=q)
        self.assertEqual(status, 200)
        d = json.loads(data)
        self.assertEqual(list(d), ["features", "itemCount", "pageCount", "pageIndex",
                                   "pageSize", "version"])
        self.assertEqual((d["itemCount"], d["pageCount"], d["pageIndex"], d["pageSize"]),
                         (12, 3, 1, 5))
        self.assertEqual(len(d["features"]), 5)
        self.assertIsInstance(d["version"], int)
        # a change to a flag moves the version on
        q2 = dict(self.project("payments", "checkout"), environmentIdentifier="dev")
        self.sb.ok("PATCH", "/cf/admin/features/dark_mode", query=q2, body={
            "instructions": [{"kind": "updateDescription", "parameters": {"description": "x"}}]})
        d2 = json.loads(self.sb.request("GET", "/cf/admin/features", query=q)[2])
        self.assertEqual(d2["version"], d["version"] + 1)
        self.sb.reset(state=True)


if __name__ == "__main__":
    unittest.main()
