"""The simulated account: orgs, projects, pipelines, executions, keys and tokens,
service accounts, secrets, connectors, feature flags, users, audit events.

Everything is seeded deterministically (same ids and key secrets on every start);
changes live as long as the process. All mutation happens under `State.lock`.
"""

import hashlib
import random
import threading
import time

from . import yamlgen

ACCOUNT = "kmpySmUISimoRrJL6NL73w"
ACCOUNT_NAME = "Acme Robotics"
OTHER_ACCOUNT = "Xq8e2Lt0Rk6vUo7pW3sNbA"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ALNUM = LETTERS + "0123456789"
B64 = ALNUM + "-_"
DAY_MS = 86400 * 1000
BIG_PROJECT = ("default", "big")


def now_ms():
    return int(time.time() * 1000)


def secret_for(token_id, generation=0):
    """The 20-alphanumeric secret part of a key: deterministic per token."""
    digest = hashlib.sha256(("hlua-sandbox:%s:%d" % (token_id, generation)).encode()).digest()
    return "".join(ALNUM[b % 62] for b in digest[:20])


class Ids:
    """Deterministic id factory (22-char Harness-style ids, 24-hex object ids)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def uid(self):
        return "".join(self.rng.choice(B64) for _ in range(22))

    def hex24(self):
        return "%024x" % self.rng.getrandbits(96)


USERS = [
    ("Ada Lovelace", "ada.lovelace"), ("Grace Hopper", "grace.hopper"),
    ("Alan Turing", "alan.turing"), ("Katherine Johnson", "katherine.johnson"),
    ("Linus Torvalds", "linus.torvalds"), ("Margaret Hamilton", "margaret.hamilton"),
    ("Dennis Ritchie", "dennis.ritchie"), ("Barbara Liskov", "barbara.liskov"),
    ("Ken Thompson", "ken.thompson"), ("Frances Allen", "frances.allen"),
    ("Edsger Dijkstra", "edsger.dijkstra"), ("Radia Perlman", "radia.perlman"),
]
EMAIL_DOMAIN = "acme-robotics.example"

ORGS = [
    ("default", "Default", "The account's default organization", {}),
    ("platform", "Platform Engineering", "Shared infrastructure and tooling",
     {"cost-center": "cc-1001"}),
    ("payments", "Payments", "Checkout, billing and fraud", {"cost-center": "cc-2040"}),
    ("data", "Data Science", "Models, features and reporting", {"cost-center": "cc-3100"}),
]

PROJECTS = [
    ("default", "default_project", "Default Project", "#0063f7", ["CD", "CI"]),
    ("default", "big", "Big", "#e63535", ["CD"]),
    ("platform", "infra", "Infrastructure", "#4dc952", ["CD", "CI"]),
    ("platform", "observability", "Observability", "#ffbc0f", ["CD"]),
    ("platform", "ci_tools", "CI Tools", "#9872e7", ["CI"]),
    ("payments", "checkout", "Checkout", "#0bc5ea", ["CD", "CI", "CF"]),
    ("payments", "billing", "Billing", "#ff8800", ["CD", "CI"]),
    ("payments", "fraud", "Fraud Detection", "#e43326", ["CD"]),
    ("data", "ml_pipelines", "ML Pipelines", "#1a89bf", ["CI", "CD"]),
]

# (org, project, identifier, name, kind); ids with "fail" always end Failed.
PIPELINES = [
    ("default", "default_project", "hello_world", "Hello World", "custom"),
    ("default", "default_project", "build_and_test", "Build and Test", "ci"),
    ("default", "default_project", "deploy_dev", "Deploy to Dev", "cd"),
    ("default", "default_project", "smoke_tests_fail", "Smoke Tests (always fails)", "custom"),
    ("default", "default_project", "nightly_cleanup", "Nightly Cleanup", "custom"),
    ("platform", "infra", "terraform_plan", "Terraform Plan", "custom"),
    ("platform", "infra", "terraform_apply", "Terraform Apply", "custom"),
    ("platform", "infra", "k8s_cluster_upgrade", "K8s Cluster Upgrade", "cd"),
    ("platform", "infra", "rotate_certificates", "Rotate Certificates", "custom"),
    ("platform", "infra", "drift_check_fail", "Drift Check (failing)", "custom"),
    ("platform", "observability", "deploy_prometheus", "Deploy Prometheus", "cd"),
    ("platform", "observability", "deploy_grafana", "Deploy Grafana", "cd"),
    ("platform", "observability", "alert_rules_sync", "Alert Rules Sync", "custom"),
    ("platform", "ci_tools", "build_runner_image", "Build Runner Image", "ci"),
    ("platform", "ci_tools", "lint_all_repos", "Lint All Repos", "ci"),
    ("platform", "ci_tools", "dependency_audit", "Dependency Audit", "ci"),
    ("payments", "checkout", "checkout_ci", "Checkout CI", "ci"),
    ("payments", "checkout", "checkout_deploy_staging", "Checkout Deploy Staging", "cd"),
    ("payments", "checkout", "checkout_deploy_prod", "Checkout Deploy Prod", "cd"),
    ("payments", "checkout", "checkout_load_test", "Checkout Load Test", "custom"),
    ("payments", "checkout", "checkout_canary_fail", "Checkout Canary (failing)", "cd"),
    ("payments", "billing", "billing_ci", "Billing CI", "ci"),
    ("payments", "billing", "billing_deploy", "Billing Deploy", "cd"),
    ("payments", "billing", "invoice_batch", "Invoice Batch", "custom"),
    ("payments", "billing", "db_migrations", "DB Migrations", "custom"),
    ("payments", "fraud", "fraud_model_deploy", "Fraud Model Deploy", "cd"),
    ("payments", "fraud", "rules_engine_ci", "Rules Engine CI", "ci"),
    ("payments", "fraud", "shadow_traffic_fail", "Shadow Traffic (failing)", "custom"),
    ("data", "ml_pipelines", "train_model", "Train Model", "ci"),
    ("data", "ml_pipelines", "feature_store_sync", "Feature Store Sync", "custom"),
    ("data", "ml_pipelines", "deploy_inference", "Deploy Inference Service", "cd"),
    ("data", "ml_pipelines", "nightly_reports", "Nightly Reports", "custom"),
    ("data", "ml_pipelines", "data_quality_fail", "Data Quality (failing)", "custom"),
]

SECRETS = [
    (None, None, "github_pat", "GitHub PAT", "SecretText"),
    (None, None, "docker_hub_password", "Docker Hub password", "SecretText"),
    (None, None, "slack_webhook", "Slack webhook", "SecretText"),
    (None, None, "aws_secret_key", "AWS secret access key", "SecretText"),
    (None, None, "gcp_sa_json", "GCP service account JSON", "SecretFile"),
    (None, None, "deploy_ssh_key", "Deploy SSH key", "SSHKey"),
    ("default", "default_project", "db_password", "Database password", "SecretText"),
    ("default", "default_project", "api_signing_key", "API signing key", "SecretText"),
    ("payments", "checkout", "stripe_api_key", "Stripe API key", "SecretText"),
    ("payments", "checkout", "kms_key_arn", "KMS key ARN", "SecretText"),
    ("payments", "billing", "ledger_db_password", "Ledger DB password", "SecretText"),
    ("data", "ml_pipelines", "snowflake_password", "Snowflake password", "SecretText"),
]

CONNECTORS = [
    (None, None, "account_github", "GitHub (account)", "Github"),
    (None, None, "docker_hub", "Docker Hub", "DockerRegistry"),
    (None, None, "aws_prod", "AWS Production", "Aws"),
    (None, None, "vault_prod", "HashiCorp Vault", "Vault"),
    (None, None, "harnessSecretManager", "Harness Built-in Secret Manager", "GcpKms"),
    ("default", "default_project", "k8s_dev", "Kubernetes dev cluster", "K8sCluster"),
    ("payments", "checkout", "k8s_prod", "Kubernetes prod cluster", "K8sCluster"),
    ("payments", "checkout", "k8s_staging", "Kubernetes staging cluster", "K8sCluster"),
    ("payments", "checkout", "checkout_repo", "checkout-service repo", "Github"),
    ("platform", "infra", "gcp_infra", "GCP infra", "Gcp"),
]

FLAG_PROJECTS = [("payments", "checkout"), ("default", "default_project")]
ENVIRONMENTS = [("dev", "Development"), ("staging", "Staging"), ("prod", "Production")]
FLAGS = [
    ("new_checkout_flow", "New checkout flow", "Single-page checkout"),
    ("apple_pay", "Apple Pay", "Offer Apple Pay at checkout"),
    ("dark_mode", "Dark mode", "Dark theme for the web app"),
    ("fraud_score_v2", "Fraud score v2", "Use the v2 fraud model"),
    ("faster_search", "Faster search", "New search backend"),
    ("beta_banner", "Beta banner", "Show the beta banner"),
    ("guest_checkout", "Guest checkout", "Allow checkout without an account"),
    ("promo_codes", "Promo codes", "Accept promo codes"),
    ("one_click_reorder", "One-click reorder", "Reorder from order history"),
    ("maintenance_mode", "Maintenance mode", "Kill switch: show the maintenance page"),
    ("price_experiment", "Price experiment", "A/B pricing"),
    ("new_onboarding", "New onboarding", "Redesigned onboarding"),
]


# Notification channels (v1 lists: a bare array with X-Total-Elements), per
# scope: (org, project), None for the account's. default/big has many, for
# paging tests.
CHANNELS = [
    (None, None, "oncall_email", "On-call email", "EMAIL"),
    (None, None, "platform_slack", "#platform", "SLACK"),
    (None, None, "pagerduty", "PagerDuty", "PAGERDUTY"),
    (None, None, "audit_webhook", "Audit webhook", "WEBHOOK"),
    ("platform", None, "infra_slack", "#infra", "SLACK"),
    ("platform", None, "sre_email", "SRE list", "EMAIL"),
    ("platform", None, "sre_pagerduty", "SRE PagerDuty", "PAGERDUTY"),
    ("platform", "infra", "infra_alerts", "#infra-alerts", "SLACK"),
    ("platform", "infra", "infra_msteams", "Infra Teams", "MSTEAMS"),
]
BIG_CHANNELS = 250


class State:
    def __init__(self, big_pipelines=10000, execution_seconds=3.0, seed=7):
        self.lock = threading.RLock()
        self.execution_seconds = float(execution_seconds)
        self.forced_outcome = None  # set: how every new execution ends (e.g. Suspended)
        self.seed(big_pipelines, seed)

    # ------------------------------------------------------------------ seeding

    def seed(self, big_pipelines, seed=7):
        ids = Ids(seed)
        self.ids = ids
        self.exec_rng = random.Random(seed + 1)
        self.rotate_rng = random.Random()
        t0 = now_ms()
        self.t0 = t0
        base = t0 - 400 * DAY_MS
        self.account = {"identifier": ACCOUNT, "name": ACCOUNT_NAME,
                        "companyName": "Acme Robotics Inc."}
        self.users = []
        for i, (name, handle) in enumerate(USERS):
            self.users.append({"uuid": ids.uid(), "name": name,
                               "email": "%s@%s" % (handle, EMAIL_DOMAIN),
                               "locked": False, "disabled": False,
                               "externallyManaged": False,
                               "twoFactorAuthenticationEnabled": i % 3 == 0,
                               "createdAt": base + i * 3 * DAY_MS})
        self.me = self.users[0]          # the key's owner: an account admin
        self.member = self.users[1]      # a non-admin user with a key of her own
        self.admins = {self.me["uuid"]}
        self.orgs = {}
        for i, (ident, name, desc, tags) in enumerate(ORGS):
            self.orgs[ident] = {"identifier": ident, "name": name, "description": desc,
                                "tags": dict(tags), "createdAt": base + i * DAY_MS,
                                "lastModifiedAt": base + (i + 30) * DAY_MS,
                                "harnessManaged": ident == "default"}
        self.projects = {}
        for i, (org, ident, name, color, modules) in enumerate(PROJECTS):
            self.projects[(org, ident)] = {
                "orgIdentifier": org, "identifier": ident, "name": name, "color": color,
                "modules": list(modules), "description": "%s project" % name,
                "tags": {"team": org}, "createdAt": base + (i + 5) * DAY_MS,
                "lastModifiedAt": base + (i + 60) * DAY_MS}
        self.pipelines = {key: {} for key in self.projects}
        for i, (org, proj, ident, name, kind) in enumerate(PIPELINES):
            created = base + (100 + i * 7) * DAY_MS
            p = self._new_pipeline(org, proj, ident, name, kind, None, created)
            p["lastUpdatedAt"] = created + (i % 9) * DAY_MS
            self.pipelines[(org, proj)][ident] = p
        self.resize_pipelines(BIG_PROJECT[0], BIG_PROJECT[1], big_pipelines)
        self.executions = {}
        self.exec_by_project = {key: [] for key in self.projects}
        self.run_seq = {}
        self.last_exec = {}
        self._seed_executions(t0)
        self._seed_keys(ids, base, t0)
        self._seed_channels(base)
        self.secrets = {}
        for i, (org, proj, ident, name, typ) in enumerate(SECRETS):
            self.secrets[(org, proj, ident)] = self._new_secret(
                org, proj, ident, name, typ, "", {}, base + (50 + i) * DAY_MS)
        self.connectors = {}
        for i, (org, proj, ident, name, typ) in enumerate(CONNECTORS):
            self.connectors[(org, proj, ident)] = self._new_connector(
                org, proj, ident, name, typ, base + (40 + i) * DAY_MS, t0)
        self._seed_flags(base)
        self.audits = []
        self._seed_audits(t0)

    def _new_pipeline(self, org, proj, ident, name, kind, yaml_text, created):
        stages = yamlgen.STAGES[kind]
        return {"identifier": ident, "name": name, "orgIdentifier": org,
                "projectIdentifier": proj, "kind": kind, "yaml": yaml_text,
                "description": yamlgen.DESCRIPTIONS[kind], "tags": {"kind": kind},
                "stageNames": list(stages), "createdAt": created,
                "lastUpdatedAt": created, "version": 1}

    def pipeline_yaml(self, p):
        if p["yaml"] is None:
            p["yaml"] = yamlgen.pipeline(p["identifier"], p["name"], p["orgIdentifier"],
                                         p["projectIdentifier"], p["kind"])
        return p["yaml"]

    def _seed_channels(self, base):
        self.channels = {}
        rows = list(CHANNELS) + [("default", "big", "channel_%03d" % i, "Channel %d" % i,
                                  ("EMAIL", "SLACK", "WEBHOOK")[i % 3]) for i in range(BIG_CHANNELS)]
        for i, (org, proj, ident, name, kind) in enumerate(rows):
            self.channels.setdefault((org, proj), []).append({
                "identifier": ident, "name": name, "org": org, "project": proj,
                "notification_channel_type": kind, "status": "ENABLED",
                "created": base + i * 60000, "last_modified": base + i * 60000})

    def resize_pipelines(self, org, proj, count):
        """Makes (org, proj) hold exactly `count` generated pipelines pipe_00000...
        (other pipelines there are kept). Generation is cheap: YAML is lazy."""
        with self.lock:
            key = (org, proj)
            if key not in self.projects:
                raise KeyError(key)
            table = self.pipelines[key]
            gen = {k: v for k, v in table.items() if v.get("generated")}
            keep = {k: v for k, v in table.items() if not v.get("generated")}
            created0 = self.t0 - 200 * DAY_MS
            for n in range(count):
                ident = "pipe_%05d" % n
                p = gen.get(ident)
                if p is None:
                    kind = ("ci", "cd", "custom")[n % 3]
                    p = self._new_pipeline(org, proj, ident, "Pipeline %05d" % n, kind, None,
                                           created0 + n * 1000)
                    p["generated"] = True
                keep[ident] = p
            self.pipelines[key] = keep

    def _seed_executions(self, t0):
        rng = random.Random(11)
        for (org, proj), table in self.pipelines.items():
            if (org, proj) == BIG_PROJECT:
                continue
            for ident, p in table.items():
                for k in range(rng.randint(2, 6)):
                    start = t0 - rng.randint(1, 14 * 24 * 60) * 60000
                    outcome = "Failed" if "fail" in ident else (
                        "Failed" if rng.random() < 0.12 else "Success")
                    self._add_execution(p, start, rng.randint(40, 900), outcome, None,
                                        self.users[rng.randrange(len(self.users))])
        for lst in self.exec_by_project.values():
            lst.sort(key=lambda e: e["startTs"])

    def _add_execution(self, p, start_ms, duration_s, outcome, inputs, user):
        key = (p["orgIdentifier"], p["projectIdentifier"], p["identifier"])
        self.run_seq[key] = self.run_seq.get(key, 0) + 1
        e = {"planExecutionId": self.ids.uid(), "pipeline": p, "startTs": start_ms,
             "duration": duration_s, "outcome": outcome, "inputs": inputs,
             "runSequence": self.run_seq[key], "abortedAt": None, "user": user,
             "planId": self.ids.uid()}
        self.executions[e["planExecutionId"]] = e
        self.exec_by_project.setdefault(key[:2], []).append(e)
        last = self.last_exec.get(key)
        if last is None or last["startTs"] <= start_ms:
            self.last_exec[key] = e
        return e

    def run_pipeline(self, p, inputs, user, module_type=None):
        with self.lock:
            outcome = self.forced_outcome or ("Failed" if "fail" in p["identifier"] else "Success")
            e = self._add_execution(p, now_ms(), self.execution_seconds, outcome, inputs, user)
            e["moduleType"] = module_type
            return e

    def execution_status(self, e, now=None):
        if e["abortedAt"] is not None:
            return "Aborted"
        now = now_ms() if now is None else now
        if now - e["startTs"] < e["duration"] * 1000:
            return "Running"
        return e["outcome"]

    # --------------------------------------------------------------- keys

    def _seed_keys(self, ids, base, t0):
        """API keys and tokens under users and service accounts. The first token of
        the first user is the key the sandbox hands out (`api_key`). Service
        accounts, API keys and tokens live in a scope: (org, project), None for
        the account; platform_ci lives in org platform, checkout_deployer in
        project payments/checkout."""
        self.service_accounts = {}   # (org, project, identifier) -> dict
        self.apikeys = {}   # (org, project, apiKeyType, parent, identifier) -> dict
        self.tokens = {}    # tokenId -> dict
        for i, (org, proj, ident, name, desc) in enumerate([
                (None, None, "deploy_bot", "Deploy Bot", "Runs deployments from CI"),
                (None, None, "reporting", "Reporting", "Reads audit and execution data"),
                (None, None, "terraform", "Terraform", "Terraform provider automation"),
                ("platform", None, "platform_ci", "Platform CI",
                 "CI of the platform org's repositories"),
                ("payments", "checkout", "checkout_deployer", "Checkout Deployer",
                 "Deploys the checkout service")]):
            self.service_accounts[(org, proj, ident)] = {
                "identifier": ident, "name": name,
                "email": "%s@service.harness.io" % ident.replace("_", ""),
                "description": desc, "tags": {}, "accountIdentifier": ACCOUNT,
                "orgIdentifier": org, "projectIdentifier": proj,
                "createdAt": base + (20 + i) * DAY_MS, "lastModifiedAt": base + (21 + i) * DAY_MS}
        me = self.me["uuid"]
        grace = self.member["uuid"]
        specs = [
            # (scope, type, parent, apikey, apikey name,
            #  [(token, name, validFrom days, validTo days)])
            ((None, None), "USER", me, "hlua_automation", "hlua automation",
             [("hlua_dev", "hlua dev", -30, 60), ("ci_runner", "CI runner", -100, 5),
              ("old_laptop", "Old laptop", -400, -10)]),
            ((None, None), "USER", me, "personal", "Personal",
             [("scratch", "Scratch", -3, 27)]),
            ((None, None), "USER", grace, "grace_cli", "Grace CLI",
             [("grace_token", "Grace token", -10, 80)]),
            ((None, None), "SERVICE_ACCOUNT", "deploy_bot", "deploy_key", "Deploy key",
             [("deploy_token", "Deploy token", -60, 20), ("deploy_token_2024", "Deploy token 2024", -500, -130)]),
            ((None, None), "SERVICE_ACCOUNT", "reporting", "reporting_key", "Reporting key",
             [("reporting_token", "Reporting token", -20, 3)]),
            ((None, None), "SERVICE_ACCOUNT", "terraform", "tf_key", "Terraform key",
             [("tf_token", "Terraform token", -90, 275)]),
            (("platform", None), "SERVICE_ACCOUNT", "platform_ci", "platform_ci_key",
             "Platform CI key", [("platform_ci_token", "Platform CI token", -88, 2)]),
            (("payments", "checkout"), "SERVICE_ACCOUNT", "checkout_deployer", "checkout_key",
             "Checkout key", [("checkout_token", "Checkout token", -86, 4)]),
        ]
        for (org, proj), typ, parent, ak, akname, toks in specs:
            self.apikeys[(org, proj, typ, parent, ak)] = {
                "identifier": ak, "name": akname, "description": "", "tags": {},
                "apiKeyType": typ, "parentIdentifier": parent,
                "defaultTimeToExpireToken": 90 * DAY_MS, "accountIdentifier": ACCOUNT,
                "orgIdentifier": org, "projectIdentifier": proj,
                "createdAt": t0 - 120 * DAY_MS, "lastModifiedAt": t0 - 30 * DAY_MS}
            for ident, name, vf, vt in toks:
                self._new_token(ACCOUNT, typ, parent, ak, ident, name,
                                t0 + vf * DAY_MS, t0 + vt * DAY_MS, ids.hex24(), org=org,
                                proj=proj)
        self.main_token = self.find_token("hlua_dev", "hlua_automation", me)
        self.member_token = self.find_token("grace_token", "grace_cli", grace)
        self.sat_token = self.find_token("deploy_token", "deploy_key", "deploy_bot")
        self.expired_token = self.find_token("old_laptop", "hlua_automation", me)
        other = self._new_token(OTHER_ACCOUNT, "USER", "zzOtherUserUuid0000001", "elsewhere",
                                "other_account_token", "Other account token",
                                t0 - DAY_MS, t0 + 365 * DAY_MS, ids.hex24(), listed=False)
        self.other_token = other

    def _new_token(self, account, typ, parent, ak, ident, name, valid_from, valid_to,
                   token_id, listed=True, generation=0, org=None, proj=None):
        t = {"tokenId": token_id, "secret": secret_for(token_id, generation),
             "identifier": ident, "name": name, "validFrom": valid_from,
             "validTo": valid_to, "scheduledExpireTime": valid_to,
             "accountIdentifier": account, "orgIdentifier": org,
             "projectIdentifier": proj, "apiKeyIdentifier": ak,
             "parentIdentifier": parent, "apiKeyType": typ, "description": "",
             "tags": {}, "createdAt": valid_from, "lastModifiedAt": valid_from,
             "listed": listed, "rotateUntil": None}
        self.tokens[token_id] = t
        return t

    # --------------------------------------------------------------- roles

    def principal(self, t):
        """The user (or a user-like dict for a service account) a token belongs to."""
        if t["apiKeyType"] == "USER":
            for u in self.users:
                if u["uuid"] == t["parentIdentifier"]:
                    return u
            return {"uuid": t["parentIdentifier"], "name": "unknown", "email": None}
        sa = self.service_accounts.get((t["orgIdentifier"], t["projectIdentifier"],
                                        t["parentIdentifier"]), {})
        return {"uuid": t["parentIdentifier"], "name": sa.get("name"), "email": sa.get("email")}

    def is_admin(self, t):
        """Account admins are users (Ada Lovelace); service accounts and the
        other users have a non-admin's permissions."""
        return t["apiKeyType"] == "USER" and t["parentIdentifier"] in self.admins

    def find_token(self, ident, ak=None, parent=None):
        for t in self.tokens.values():
            if t["identifier"] == ident and t["listed"] and (ak is None or t["apiKeyIdentifier"] == ak) \
                    and (parent is None or t["parentIdentifier"] == parent):
                return t
        return None

    def key_string(self, t, legacy=False):
        prefix = "sat" if t["apiKeyType"] == "SERVICE_ACCOUNT" else "pat"
        if legacy:
            return "%s.%s.%s" % (prefix, t["tokenId"], t["secret"])
        return "%s.%s.%s.%s" % (prefix, t["accountIdentifier"], t["tokenId"], t["secret"])

    def token_valid(self, t, now=None):
        now = now_ms() if now is None else now
        return t["validFrom"] <= now < t["validTo"] and (
            t["rotateUntil"] is None or now < t["rotateUntil"])

    def authenticate(self, key):
        """Returns (token, None) or (None, error code) for an x-api-key value."""
        parts = key.split(".")
        if len(parts) == 4:
            prefix, account, token_id, secret = parts
        elif len(parts) == 3:
            prefix, token_id, secret = parts
            account = None
        else:
            return None, "INVALID_TOKEN"
        if prefix not in ("pat", "sat"):
            return None, "INVALID_TOKEN"
        with self.lock:
            t = self.tokens.get(token_id)
            if t is None or t["secret"] != secret:
                return None, "INVALID_TOKEN"
            if account is not None and account != t["accountIdentifier"]:
                return None, "INVALID_TOKEN"
            if (prefix == "sat") != (t["apiKeyType"] == "SERVICE_ACCOUNT"):
                return None, "INVALID_TOKEN"
            if not self.token_valid(t):
                return None, "EXPIRED_TOKEN"
            return t, None

    def rotate_token(self, t, rotate_ts):
        """The old token keeps working until rotate_ts and, as in Harness, is
        renamed rotated_<15 random letters>; a new token takes over its
        identifier. Returns the new token."""
        with self.lock:
            now = now_ms()
            ident = t["identifier"]
            t["rotateUntil"] = rotate_ts
            t["scheduledExpireTime"] = rotate_ts
            t["identifier"] = "rotated_" + "".join(self.rotate_rng.choice(LETTERS)
                                                   for _ in range(15))
            t["lastModifiedAt"] = now
            span = max(t["validTo"] - t["validFrom"], DAY_MS)
            new = self._new_token(t["accountIdentifier"], t["apiKeyType"],
                                  t["parentIdentifier"], t["apiKeyIdentifier"], ident,
                                  t["name"], now, now + span, self.ids.hex24(),
                                  listed=t["listed"], org=t["orgIdentifier"],
                                  proj=t["projectIdentifier"])
            new["description"] = t["description"]
            new["tags"] = dict(t["tags"])
            return new

    # ------------------------------------------------------ other seeded things

    def _new_secret(self, org, proj, ident, name, typ, desc, tags, created):
        if typ == "SecretText":
            spec = {"secretManagerIdentifier": "harnessSecretManager",
                    "valueType": "Inline", "value": None, "additionalMetadata": None}
        elif typ == "SecretFile":
            spec = {"secretManagerIdentifier": "harnessSecretManager",
                    "additionalMetadata": None}
        else:
            spec = {"auth": {"type": "SSH", "spec": {"credentialType": "KeyReference",
                    "spec": {"userName": "deploy", "key": "account.deploy_ssh_key_file",
                             "encryptedPassphrase": None}}}, "port": 22}
        return {"secret": {"type": typ, "name": name, "identifier": ident,
                           "orgIdentifier": org, "projectIdentifier": proj,
                           "tags": dict(tags), "description": desc, "spec": spec},
                "createdAt": created, "updatedAt": created, "draft": False}

    def _new_connector(self, org, proj, ident, name, typ, created, t0):
        spec = yamlgen.connector_spec(typ, ident)
        return {"connector": {"name": name, "identifier": ident, "description": "",
                              "orgIdentifier": org, "projectIdentifier": proj,
                              "tags": {}, "type": typ, "spec": spec},
                "createdAt": created, "lastModifiedAt": created,
                "status": {"status": "SUCCESS", "errorSummary": None, "errors": None,
                           "testedAt": t0 - 3600000, "lastTestedAt": t0 - 3600000,
                           "lastConnectedAt": t0 - 3600000},
                "activityDetails": {"lastActivityTime": t0 - 7200000},
                "harnessManaged": ident == "harnessSecretManager",
                "gitDetails": {"objectId": None, "branch": None, "repoIdentifier": None,
                               "rootFolder": None, "filePath": None, "repoName": None,
                               "commitId": None, "fileUrl": None, "repoUrl": None},
                "entityValidityDetails": {"valid": True, "invalidYaml": None},
                "governanceMetadata": None, "isFavorite": False}

    def _seed_flags(self, base):
        self.environments = {}
        self.flags = {}
        self.flag_versions = {}
        rng = random.Random(5)
        for org, proj in FLAG_PROJECTS:
            self.environments[(org, proj)] = [e for e, _ in ENVIRONMENTS]
            table = {}
            for i, (ident, name, desc) in enumerate(FLAGS):
                created = base + (200 + i) * DAY_MS
                table[ident] = {
                    "identifier": ident, "name": name, "description": desc,
                    "kind": "boolean", "archived": False, "permanent": ident == "maintenance_mode",
                    "createdAt": created, "modifiedAt": created,
                    "owner": [self.users[i % 4]["email"]],
                    "tags": [{"identifier": "team", "name": "team"}] if i % 2 else [],
                    "variations": [{"identifier": "true", "name": "True", "value": "true"},
                                   {"identifier": "false", "name": "False", "value": "false"}],
                    "defaultOnVariation": "true", "defaultOffVariation": "false",
                    "env": {env: {"state": "on" if (env != "prod" and rng.random() < 0.6) or
                                  (env == "prod" and rng.random() < 0.3) else "off",
                                  "modifiedAt": created, "version": 1}
                            for env, _ in ENVIRONMENTS},
                }
            self.flags[(org, proj)] = table
            self.flag_versions[(org, proj)] = 1

    def _seed_audits(self, t0):
        rng = random.Random(9)
        actions = [("PIPELINE", "UPDATE", "PMS"), ("PIPELINE", "CREATE", "PMS"),
                   ("SECRET", "UPDATE", "CORE"), ("CONNECTOR", "CREATE", "CORE"),
                   ("TOKEN", "CREATE", "CORE"), ("FEATURE_FLAG", "UPDATE", "CF"),
                   ("PROJECT", "UPDATE", "CORE"), ("USER", "LOGIN", "CORE")]
        pls = [p for (o, pr), tbl in self.pipelines.items() if (o, pr) != BIG_PROJECT
               for p in tbl.values()]
        for i in range(80):
            rtype, action, module = actions[i % len(actions)]
            p = pls[rng.randrange(len(pls))]
            self.add_audit(rtype, p["identifier"] if rtype == "PIPELINE" else "res_%d" % i,
                           action, module, p["orgIdentifier"], p["projectIdentifier"],
                           self.users[rng.randrange(len(self.users))],
                           t0 - rng.randint(1, 30 * 24 * 60) * 60000)
        self.audits.sort(key=lambda a: a["timestamp"])

    def add_audit(self, rtype, ident, action, module, org, proj, user, ts=None):
        with self.lock:
            self.audits.append({
                "auditId": self.ids.hex24(), "insertId": self.ids.uid(),
                "resourceScope": {"accountIdentifier": ACCOUNT, "orgIdentifier": org,
                                  "projectIdentifier": proj},
                "httpRequestInfo": {"requestMethod": {"CREATE": "POST", "UPDATE": "PUT",
                                                      "DELETE": "DELETE"}.get(action, "POST")},
                "requestMetadata": {"clientIP": "203.0.113.%d" % (len(self.audits) % 250 + 1)},
                "timestamp": now_ms() if ts is None else ts,
                "authenticationInfo": {
                    "principal": {"type": "USER", "identifier": user["uuid"],
                                  "email": user.get("email")},
                    "labels": {"userId": user["uuid"], "username": user["name"]}},
                "module": module, "environment": None,
                "resource": {"type": rtype, "identifier": ident,
                             "labels": {"resourceName": ident}},
                "action": action, "yamlDiffRecord": None, "auditEventData": None})
