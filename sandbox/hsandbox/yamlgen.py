"""Real-looking pipeline YAML, and the little YAML reading the sandbox needs
(standard library only, so no YAML parser: pipelines are read by indentation)."""

import re

STAGES = {
    "ci": ["Build"],
    "cd": ["Deploy Staging", "Approve", "Deploy Prod"],
    "custom": ["Run"],
}
DESCRIPTIONS = {
    "ci": "Builds, tests and pushes an image",
    "cd": "Rolling deployment to Kubernetes with an approval gate",
    "custom": "Runs a shell script on the delegate",
}

_CI = """pipeline:
  name: {name}
  identifier: {ident}
  projectIdentifier: {proj}
  orgIdentifier: {org}
  description: {desc}
  tags:
    kind: ci
  properties:
    ci:
      codebase:
        connectorRef: account.account_github
        repoName: acme/{ident}
        build: <+input>
  stages:
    - stage:
        name: Build
        identifier: Build
        type: CI
        spec:
          cloneCodebase: true
          platform:
            os: Linux
            arch: Amd64
          runtime:
            type: Cloud
            spec: {{}}
          execution:
            steps:
              - step:
                  type: Run
                  name: Unit tests
                  identifier: unit_tests
                  spec:
                    shell: Sh
                    command: |-
                      make test
              - step:
                  type: BuildAndPushDockerRegistry
                  name: Build and push
                  identifier: build_and_push
                  spec:
                    connectorRef: account.docker_hub
                    repo: acme/{ident}
                    tags:
                      - <+pipeline.sequenceId>
"""

_CD = """pipeline:
  name: {name}
  identifier: {ident}
  projectIdentifier: {proj}
  orgIdentifier: {org}
  description: {desc}
  tags:
    kind: cd
  variables:
    - name: image_tag
      type: String
      value: <+input>
  stages:
    - stage:
        name: Deploy Staging
        identifier: deploy_staging
        type: Deployment
        spec:
          deploymentType: Kubernetes
          service:
            serviceRef: {ident}_svc
          environment:
            environmentRef: staging
            deployToAll: false
            infrastructureDefinitions:
              - identifier: k8s_staging
          execution:
            steps:
              - step:
                  name: Rollout Deployment
                  identifier: rolloutDeployment
                  type: K8sRollingDeploy
                  timeout: 10m
                  spec:
                    skipDryRun: false
            rollbackSteps:
              - step:
                  name: Rollback Rollout Deployment
                  identifier: rollbackRolloutDeployment
                  type: K8sRollingRollback
                  timeout: 10m
                  spec: {{}}
        failureStrategies:
          - onFailure:
              errors:
                - AllErrors
              action:
                type: StageRollback
    - stage:
        name: Approve
        identifier: approve
        type: Approval
        spec:
          execution:
            steps:
              - step:
                  name: Approve prod
                  identifier: approve_prod
                  type: HarnessApproval
                  timeout: 1d
                  spec:
                    approvalMessage: Promote to production?
                    includePipelineExecutionHistory: true
                    approvers:
                      userGroups:
                        - account._account_all_users
                      minimumCount: 1
                      disallowPipelineExecutor: false
    - stage:
        name: Deploy Prod
        identifier: deploy_prod
        type: Deployment
        spec:
          deploymentType: Kubernetes
          service:
            useFromStage:
              stage: deploy_staging
          environment:
            environmentRef: prod
            deployToAll: false
            infrastructureDefinitions:
              - identifier: k8s_prod
          execution:
            steps:
              - step:
                  name: Rollout Deployment
                  identifier: rolloutDeployment
                  type: K8sRollingDeploy
                  timeout: 10m
                  spec:
                    skipDryRun: false
            rollbackSteps: []
"""

_CUSTOM = """pipeline:
  name: {name}
  identifier: {ident}
  projectIdentifier: {proj}
  orgIdentifier: {org}
  description: {desc}
  tags:
    kind: custom
  stages:
    - stage:
        name: Run
        identifier: run
        type: Custom
        spec:
          execution:
            steps:
              - step:
                  type: ShellScript
                  name: Run script
                  identifier: run_script
                  spec:
                    shell: Bash
                    executionTarget: {{}}
                    source:
                      type: Inline
                      spec:
                        script: |-
                          echo "running {ident}"
                          ./scripts/{ident}.sh
                    environmentVariables: []
                    outputVariables: []
                  timeout: 10m
"""

_TEMPLATES = {"ci": _CI, "cd": _CD, "custom": _CUSTOM}


def pipeline(ident, name, org, proj, kind):
    return _TEMPLATES[kind].format(ident=ident, name=name, org=org, proj=proj,
                                   desc=DESCRIPTIONS[kind])


def connector_spec(typ, ident):
    if typ == "K8sCluster":
        return {"credential": {"type": "InheritFromDelegate", "spec": None},
                "delegateSelectors": [ident.replace("_", "-")]}
    if typ == "Github":
        return {"url": "https://github.com/acme", "validationRepo": "acme/hello",
                "authentication": {"type": "Http", "spec": {"type": "UsernameToken", "spec": {
                    "username": "acme-bot", "usernameRef": None,
                    "tokenRef": "account.github_pat"}}},
                "apiAccess": {"type": "Token", "spec": {"tokenRef": "account.github_pat"}},
                "delegateSelectors": [], "executeOnDelegate": False, "type": "Account"}
    if typ == "DockerRegistry":
        return {"dockerRegistryUrl": "https://index.docker.io/v2/", "providerType": "DockerHub",
                "auth": {"type": "UsernamePassword", "spec": {
                    "username": "acmebot", "usernameRef": None,
                    "passwordRef": "account.docker_hub_password"}},
                "delegateSelectors": [], "executeOnDelegate": False}
    if typ == "Aws":
        return {"credential": {"crossAccountAccess": None, "type": "ManualConfig", "spec": {
                    "accessKey": "AKIAIOSFODNN7EXAMPLE", "accessKeyRef": None,
                    "secretKeyRef": "account.aws_secret_key"}, "region": "us-east-1"},
                "delegateSelectors": [], "executeOnDelegate": False}
    if typ == "Vault":
        return {"authToken": "account.vault_token", "basePath": "harness",
                "vaultUrl": "https://vault.acme-robotics.example:8200", "renewalIntervalMinutes": 10,
                "secretEngineManuallyConfigured": False, "secretEngineName": "secret",
                "secretEngineVersion": 2, "default": False, "readOnly": False,
                "delegateSelectors": []}
    if typ == "Gcp":
        return {"credential": {"type": "ManualConfig", "spec": {
                    "secretKeyRef": "account.gcp_sa_json"}},
                "delegateSelectors": [], "executeOnDelegate": False}
    return {"default": True, "delegateSelectors": []}


class YamlError(ValueError):
    pass


_KEY = re.compile(r"^( *)([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*?))?\s*$")


def read_pipeline(text):
    """Reads the top-level fields of a pipeline document: returns a dict with
    identifier, name, orgIdentifier, projectIdentifier, description and the stage
    names. Raises YamlError for what Harness would reject as invalid YAML."""
    if "\t" in text:
        raise YamlError("Invalid yaml: tabs are not allowed for indentation")
    lines = text.splitlines()
    top = None
    fields = {}
    stage_names = []
    in_pipeline = False
    child_indent = None
    for ln in lines:
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        m = _KEY.match(ln)
        indent = len(ln) - len(ln.lstrip(" "))
        if indent == 0:
            if m is None:
                raise YamlError("Invalid yaml: cannot parse line %r" % ln.strip()[:60])
            in_pipeline = m.group(2) == "pipeline"
            if in_pipeline:
                top = True
            continue
        if not in_pipeline:
            continue
        if child_indent is None:
            child_indent = indent
        if indent == child_indent and m is not None and m.group(3):
            fields.setdefault(m.group(2), _scalar(m.group(3)))
        s = ln.strip()
        if s.startswith("- stage:"):
            stage_names.append(None)
        elif stage_names and stage_names[-1] is None and s.startswith("name:"):
            stage_names[-1] = _scalar(s[5:].strip())
    if not top:
        raise YamlError("Invalid yaml: the document has no 'pipeline' key")
    for req in ("identifier", "name"):
        if not fields.get(req):
            raise YamlError("pipeline.%s: must not be empty" % req)
    if not re.match(r"^[A-Za-z_][0-9A-Za-z_$]{0,127}$", fields["identifier"]):
        raise YamlError("pipeline.identifier: %r is not a valid identifier" % fields["identifier"])
    fields["stageNames"] = [n or "stage" for n in stage_names]
    return fields


def _scalar(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v
