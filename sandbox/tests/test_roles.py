"""Roles (the account admin's key, a member's key, a service account's key) and
service accounts scoped to an org or a project."""

import time
import unittest

from sbtest import SandboxTestCase

TOKENS = "/ng/api/token/aggregate"
DAY_MS = 86400 * 1000


class RolesTest(SandboxTestCase):
    def setUp(self):
        self.sb.reset(state=True)  # the tests change tokens
        self.admin = self.sb.key
        self.member = self.sb.info["user_key"]
        self.sat = self.sb.info["sat_key"]
        self.ada = self.sb.info["user_id"]
        self.grace = self.sb.info["member_id"]

    def status(self, key, method, path, query=None, body=None):
        status, body = self.sb.json(method, path, key=key, query=query, body=body)
        if status == 403:
            self.assertEqual(body["code"], "ACCESS_DENIED")
            self.assertEqual(body["status"], "ERROR")
        return status

    def user_keys(self, uid, apikey):
        return {"apiKeyType": "USER", "parentIdentifier": uid, "apiKeyIdentifier": apikey}

    def sa_keys(self, sa, apikey):
        return {"apiKeyType": "SERVICE_ACCOUNT", "parentIdentifier": sa, "apiKeyIdentifier": apikey}

    def test_info_and_current_user(self):
        info = self.sb.info
        self.assertTrue(self.member.startswith("pat.%s." % self.sb.account))
        self.assertNotEqual(self.member, self.admin)
        me = self.sb.ok("GET", "/ng/api/user/currentUser", key=self.member)["data"]
        self.assertEqual((me["email"], me["uuid"], me["admin"]),
                         (info["member_email"], info["member_id"], False))
        me = self.sb.ok("GET", "/ng/api/user/currentUser")["data"]
        self.assertEqual((me["email"], me["admin"]), (info["user_email"], True))
        # a service account has no current user, as in Harness
        status, body = self.sb.json("GET", "/ng/api/user/currentUser", key=self.sat)
        self.assertEqual((status, body["code"]), (400, "INVALID_REQUEST"))
        users = self.sb.ok("POST", "/ng/api/user/aggregate", body={})["data"]["content"]
        roles = {u["user"]["email"]: u["roleAssignmentMetadata"][0]["roleIdentifier"]
                 for u in users}
        self.assertEqual(roles[info["user_email"]], "_account_admin")
        self.assertEqual(roles[info["member_email"]], "_account_viewer")

    def test_listing_tokens_of_others_needs_admin(self):
        ada = self.user_keys(self.ada, "hlua_automation")
        grace = self.user_keys(self.grace, "grace_cli")
        deploy = self.sa_keys("deploy_bot", "deploy_key")
        reporting = self.sa_keys("reporting", "reporting_key")
        for key, query, want in (
                (self.admin, ada, 200), (self.admin, grace, 200), (self.admin, deploy, 200),
                (self.member, grace, 200), (self.member, ada, 403), (self.member, deploy, 403),
                (self.sat, deploy, 200), (self.sat, reporting, 403), (self.sat, ada, 403),
                (self.sat, grace, 403)):
            self.assertEqual(self.status(key, "GET", TOKENS, query), want, (key[:12], query))
        mine = self.sb.ok("GET", TOKENS, key=self.member, query=grace)["data"]["content"]
        self.assertEqual([t["token"]["identifier"] for t in mine], ["grace_token"])
        # without a parent: the table's 400, whoever asks
        for key in (self.admin, self.member, self.sat):
            status, body = self.sb.json("GET", TOKENS, key=key, query={"apiKeyType": "USER",
                                                                      "apiKeyIdentifier": "x"})
            self.assertEqual(status, 400)
            self.assertIn("parentIdentifier", body["message"])

    def test_listing_api_keys_of_others_needs_admin(self):
        for path in ("/ng/api/apikey", "/ng/api/apikey/aggregate"):
            for key, typ, parent, want in (
                    (self.admin, "USER", self.grace, 200), (self.member, "USER", self.grace, 200),
                    (self.member, "USER", self.ada, 403),
                    (self.member, "SERVICE_ACCOUNT", "deploy_bot", 403),
                    (self.sat, "SERVICE_ACCOUNT", "deploy_bot", 200),
                    (self.sat, "SERVICE_ACCOUNT", "terraform", 403),
                    (self.sat, "USER", self.ada, 403)):
                q = {"apiKeyType": typ, "parentIdentifier": parent}
                self.assertEqual(self.status(key, "GET", path, q), want, (path, key[:12], q))
        q = {"apiKeyType": "USER", "parentIdentifier": self.ada}
        self.assertEqual(self.status(self.member, "GET", "/ng/api/apikey/aggregate/personal", q),
                         403)
        self.assertEqual(self.status(self.admin, "GET", "/ng/api/apikey/aggregate/personal", q),
                         200)

    def test_service_accounts_need_admin(self):
        for path in ("/ng/api/serviceaccount", "/ng/api/serviceaccount/aggregate",
                     "/ng/api/serviceaccount/aggregate/terraform"):
            self.assertEqual(self.status(self.admin, "GET", path), 200, path)
            self.assertEqual(self.status(self.member, "GET", path), 403, path)
            self.assertEqual(self.status(self.sat, "GET", path), 403, path)
        # a service account sees itself
        me = self.sb.ok("GET", "/ng/api/serviceaccount/aggregate/deploy_bot", key=self.sat)
        self.assertEqual(me["data"]["serviceAccount"]["identifier"], "deploy_bot")
        body = {"identifier": "new_sa", "name": "New", "email": "new@service.harness.io"}
        self.assertEqual(self.status(self.member, "POST", "/ng/api/serviceaccount", body=body), 403)
        self.assertEqual(self.status(self.sat, "POST", "/ng/api/serviceaccount", body=body), 403)
        self.assertEqual(self.status(self.sat, "DELETE", "/ng/api/serviceaccount/terraform"), 403)
        self.assertEqual(self.status(self.admin, "POST", "/ng/api/serviceaccount", body=body), 200)
        self.assertEqual(self.status(self.admin, "DELETE", "/ng/api/serviceaccount/new_sa"), 200)

    def test_changing_tokens_of_others_needs_admin(self):
        ada = self.user_keys(self.ada, "personal")
        grace = self.user_keys(self.grace, "grace_cli")
        new = dict(ada, identifier="by_grace", name="By Grace")
        self.assertEqual(self.status(self.member, "POST", "/ng/api/token", body=new), 403)
        self.assertEqual(self.status(self.member, "POST", "/ng/api/token/rotate/scratch", ada), 403)
        self.assertEqual(self.status(self.member, "DELETE", "/ng/api/token/scratch", ada), 403)
        self.assertEqual(self.status(self.member, "PUT", "/ng/api/token/scratch",
                                     body=dict(ada, identifier="scratch", name="x")), 403)
        self.assertEqual(self.status(self.sat, "POST", "/ng/api/token/rotate/scratch", ada), 403)
        self.assertEqual(self.status(self.member, "POST", "/ng/api/apikey", body={
            "identifier": "k", "name": "k", "apiKeyType": "USER",
            "parentIdentifier": self.ada}), 403)
        self.assertEqual(self.status(self.member, "DELETE", "/ng/api/apikey/personal", {
            "apiKeyType": "USER", "parentIdentifier": self.ada}), 403)
        # their own, they may
        mine = dict(grace, identifier="own_%d" % time.time(), name="Own")
        key = self.sb.ok("POST", "/ng/api/token", key=self.member, body=mine)["data"]
        self.assertTrue(key.startswith("pat."))
        self.sb.ok("POST", "/ng/api/token/rotate/" + mine["identifier"], key=self.member,
                   query=grace)
        self.sb.ok("DELETE", "/ng/api/token/" + mine["identifier"], key=self.member, query=grace)
        sat_own = dict(self.sa_keys("deploy_bot", "deploy_key"), identifier="sat_own", name="x")
        self.sb.ok("POST", "/ng/api/token", key=self.sat, body=sat_own)
        # and the admin reaches everyone's
        self.sb.ok("POST", "/ng/api/token", body=dict(grace, identifier="by_ada", name="By Ada"))
        self.sb.ok("DELETE", "/ng/api/token/by_ada", query=grace)

    def test_roles_leave_other_calls_alone(self):
        for key in (self.member, self.sat):
            self.sb.ok("GET", "/ng/api/organizations", key=key)
            self.sb.ok("POST", "/pipeline/api/pipelines/list", key=key, body={},
                       query=self.project())


class ScopedServiceAccountTest(SandboxTestCase):
    ORG = {"orgIdentifier": "platform"}
    PROJECT = {"orgIdentifier": "payments", "projectIdentifier": "checkout"}

    def sa_ids(self, query=None):
        d = self.sb.ok("GET", "/ng/api/serviceaccount/aggregate", query=query)["data"]
        return {a["serviceAccount"]["identifier"] for a in d["content"]}

    def test_listed_only_in_their_scope(self):
        account = self.sa_ids()
        self.assertIn("deploy_bot", account)
        self.assertNotIn("platform_ci", account)
        self.assertNotIn("checkout_deployer", account)
        self.assertEqual(self.sa_ids(self.ORG), {"platform_ci"})
        self.assertEqual(self.sa_ids(self.PROJECT), {"checkout_deployer"})
        plain = self.sb.ok("GET", "/ng/api/serviceaccount", query=self.ORG)["data"]
        self.assertEqual([(a["identifier"], a["orgIdentifier"], a["projectIdentifier"])
                          for a in plain], [("platform_ci", "platform", None)])
        status, body = self.sb.json("GET", "/ng/api/serviceaccount/aggregate/platform_ci")
        self.assertEqual(status, 404)
        one = self.sb.ok("GET", "/ng/api/serviceaccount/aggregate/platform_ci",
                         query=self.ORG)["data"]
        self.assertEqual(one["tokensCount"], 1)

    def check_scoped(self, sa, apikey, token, scope, within_days):
        keys_q = {"apiKeyType": "SERVICE_ACCOUNT", "parentIdentifier": sa}
        # without the scope: nothing (the keys and tokens live elsewhere)
        self.assertEqual(self.sb.ok("GET", "/ng/api/apikey", query=keys_q)["data"], [])
        tok_q = dict(keys_q, apiKeyIdentifier=apikey)
        self.assertEqual(self.sb.ok("GET", TOKENS, query=tok_q)["data"]["content"], [])
        # with it
        keys = self.sb.ok("GET", "/ng/api/apikey", query=dict(keys_q, **scope))["data"]
        self.assertEqual([k["identifier"] for k in keys], [apikey])
        self.assertEqual(keys[0]["orgIdentifier"], scope["orgIdentifier"])
        self.assertEqual(keys[0]["projectIdentifier"], scope.get("projectIdentifier"))
        toks = self.sb.ok("GET", TOKENS, query=dict(tok_q, **scope))["data"]["content"]
        self.assertEqual([t["token"]["identifier"] for t in toks], [token])
        t = toks[0]
        self.assertTrue(t["token"]["valid"])
        left = t["expiryAt"] - time.time() * 1000
        self.assertTrue(0 < left < within_days * DAY_MS, left / DAY_MS)

    def test_org_scoped_keys_and_tokens(self):
        self.check_scoped("platform_ci", "platform_ci_key", "platform_ci_token", self.ORG, 3)

    def test_project_scoped_keys_and_tokens(self):
        self.check_scoped("checkout_deployer", "checkout_key", "checkout_token", self.PROJECT, 5)

    def test_rotation_stays_in_scope(self):
        q = dict(self.PROJECT, apiKeyType="SERVICE_ACCOUNT", parentIdentifier="checkout_deployer",
                 apiKeyIdentifier="checkout_key")
        new = self.sb.ok("POST", "/ng/api/token/rotate/checkout_token", query=q)["data"]
        self.assertTrue(new.startswith("sat.%s." % self.sb.account))
        # the new key works; a scoped service account is not an admin
        self.sb.ok("GET", "/ng/api/organizations", key=new)
        self.assertEqual(self.sb.json("GET", "/ng/api/serviceaccount", key=new)[0], 403)
        # and it may list its own tokens, in its scope
        toks = self.sb.ok("GET", TOKENS, key=new, query=q)["data"]["content"]
        self.assertEqual(len(toks), 2)
        self.sb.reset(state=True)

    def test_a_new_token_takes_its_scope_from_its_body(self):
        # CreateToken has no scope parameters: the query's are not read
        body = {"apiKeyType": "SERVICE_ACCOUNT", "parentIdentifier": "platform_ci",
                "apiKeyIdentifier": "platform_ci_key", "identifier": "t", "name": "t"}
        status, resp = self.sb.json("POST", "/ng/api/token", query=self.ORG, body=body)
        self.assertEqual(status, 404, resp)
        self.sb.ok("POST", "/ng/api/token", body=dict(body, **self.ORG))
        self.sb.reset(state=True)

    def test_scoped_token_key_reaches_only_itself(self):
        q = dict(self.ORG, apiKeyType="SERVICE_ACCOUNT", parentIdentifier="platform_ci",
                 apiKeyIdentifier="platform_ci_key")
        key = self.sb.ok("POST", "/ng/api/token", body=dict(q, identifier="mine", name="Mine"))
        key = key["data"]
        self.sb.ok("GET", TOKENS, key=key, query=q)
        # the same parent at account scope is another principal
        q_account = {k: v for k, v in q.items() if k != "orgIdentifier"}
        self.assertEqual(self.sb.json("GET", TOKENS, key=key, query=q_account)[0], 403)


if __name__ == "__main__":
    unittest.main()
