-- The Harness library (lua/harness/<module>.lua), end to end through
-- build/hlua against the sandbox.
local h = require "tests.support.helper"

describe("the Harness library", function()
  local sb = h.sandbox()
  if not sb then
    pending("no sandbox")
    return
  end
  local env = ("HARNESS_ENDPOINT=%s HARNESS_API_KEY=%s"):format(h.q(sb.url), h.q(sb.api_key))
  local function hlua(code, extra_env)
    local out, err, rc = h.run("-e " .. h.q(code), nil, env .. " " .. (extra_env or ""))
    assert.not_matches(sb.api_key, out .. err, 1, true)
    return out, err, rc
  end
  -- Runs code that prints lines; returns them as a list.
  local function lines(code, extra_env)
    local out, err, rc = hlua(code, extra_env)
    assert.equal(0, rc, err)
    local t = {}
    for l in out:gmatch("[^\n]*") do if l ~= "" then t[#t + 1] = l end end
    return t, err
  end

  setup(function() h.execution_seconds(sb, 1) end)
  teardown(function() h.execution_seconds(sb, 3) end)

  it("lists and gets orgs and projects", function()
    assert.same({"4\tData Science", "9\t3\tInfrastructure", "ci_tools,infra,observability"}, lines[[
      print(#harness.orgs.list(), harness.orgs.get("data").name)
      print(#harness.projects.list(), #harness.projects.list{org = "payments"},
        harness.projects.get("infra", {org = "platform"}).name)
      local ids = {}
      for _, p in ipairs(harness.projects.list{org = "platform"}) do ids[#ids + 1] = p.identifier end
      table.sort(ids) print(table.concat(ids, ","))
    ]])
  end)

  it("takes the scope from the configuration", function()
    local got = lines([[
      print(#harness.projects.list())
      print(#harness.pipelines.list())
    ]], "HARNESS_ORG_ID=platform HARNESS_PROJECT_ID=infra")
    assert.same({"3", "5"}, got)
  end)

  it("names the missing or bad argument", function()
    local got = lines([[
      local function e(f, ...) local ok, m = pcall(f, ...) print(ok, m) end
      e(harness.pipelines.list)
      e(harness.pipelines.get, nil, {org = "a", project = "b"})
      e(harness.pipelines.list, {org = "default"})
      e(harness.feature_flags.toggle, "f", "on", {org = "payments", project = "checkout"})
      e(harness.feature_flags.toggle, "f", "maybe", {org = "payments", project = "checkout", environment = "dev"})
      e(harness.tokens.expiring, {within_days = "soon"})
      e(harness.secrets.create, {identifier = "x"})
    ]])
    assert.matches("bad argument 'org' to 'harness.pipelines.list' %(no org", got[1])
    assert.matches("bad argument #1 to 'harness.pipelines.get' %(non%-empty string expected, got nil%)", got[2])
    assert.matches("bad argument 'project' to 'harness.pipelines.list' %(no project", got[3])
    assert.matches("bad argument 'environment' to 'harness.feature_flags.toggle'", got[4])
    assert.matches("bad argument #2 to 'harness.feature_flags.toggle'", got[5])
    assert.matches("bad argument 'within_days'", got[6])
    assert.matches("bad argument 'value' to 'harness.secrets.create'", got[7])
  end)

  it("reads, creates, updates and deletes pipelines from YAML", function()
    local got = lines([[
      local P, s = harness.pipelines, {org = "default", project = "default_project"}
      local y = P.yaml("hello_world", s)
      print(y:match("identifier: (%S+)"))
      local new = y:gsub("hello_world", "hello_copy"):gsub("name: Hello World", "name: Hello Copy")
      P.create(new, s)
      print(P.yaml("hello_copy", s):match("name: ([^\n]+)"))
      P.update("hello_copy", new:gsub("name: Hello Copy", "name: Hello Again"), s)
      print(P.yaml("hello_copy", s):match("name: ([^\n]+)"))
      print(P.delete("hello_copy", s), pcall(P.get, "hello_copy", s))
    ]])
    assert.equal("hello_world", got[1])
    assert.equal("Hello Copy", got[2])
    assert.equal("Hello Again", got[3])
    assert.matches("^true\tfalse\t.*404", got[4])
  end)

  it("runs a pipeline, waits for it with a progress line, and lists executions", function()
    local got, err = lines([[
      local P, s = harness.pipelines, {org = "default", project = "default_project"}
      local run = P.run("smoke_tests_fail", {org = "default", project = "default_project",
        inputs = "pipeline:\n  identifier: smoke_tests_fail\n"})
      print(run.status)
      local sum = P.wait(run.uuid, {org = "default", project = "default_project", interval = 0.2})
      print(sum.status, P.SUCCEEDED[sum.status])
      local ex = P.executions{org = "default", project = "default_project", pipeline = "smoke_tests_fail", max_items = 1}
      print(ex[1].planExecutionId == run.uuid)
    ]])
    assert.same({"RUNNING", "Failed\tnil", "true"}, got)
    assert.matches("smoke_tests_fail #%d+  Running", err)
    assert.matches("smoke_tests_fail #%d+  Failed", err)
  end)

  it("gives up waiting at the timeout with a timeout error", function()
    local got = lines([[
      local run = harness.pipelines.run("hello_world", {org = "default", project = "default_project"})
      local ok, e = pcall(harness.pipelines.wait, run.uuid, {org = "default", project = "default_project",
        interval = 0.1, timeout = 0.2, progress = false})
      print(ok, e.kind)
    ]])
    assert.same({"false\ttimeout"}, got)
  end)

  it("creates and rotates tokens and finds those expiring soon", function()
    local got = lines([[
      local T = harness.tokens
      local key = T.create{identifier = "lib_spec_tok", apikey = "hlua_automation", valid_days = 2}
      print(key:match("^pat%.") ~= nil)
      local new = T.rotate("lib_spec_tok")
      print(new:match("^pat%.") ~= nil, new ~= key)
      local soon = {}
      for _, t in ipairs(harness.apikeys.expiring{within_days = 6}) do soon[t.identifier] = t.apiKeyType end
      print(soon.reporting_token, soon.ci_runner, soon.lib_spec_tok, soon.old_laptop)
      print(#harness.apikeys.list() >= 1, #harness.apikeys.tokens("deploy_key", {type = "SERVICE_ACCOUNT", parent = "deploy_bot"}) >= 1)
      print(T.delete("lib_spec_tok"))
    ]])
    assert.same({"true", "true\ttrue", "SERVICE_ACCOUNT\tUSER\tUSER\tnil", "true\ttrue", "true"}, got)
  end)

  it("lists service accounts, secrets, connectors and users", function()
    local got = lines([[
      print(#harness.service_accounts.list(), harness.service_accounts.get("deploy_bot").identifier)
      harness.secrets.create{identifier = "lib_spec_secret", value = "s3cr3t-value", org = "data", project = "ml_pipelines"}
      local s = harness.secrets.get("lib_spec_secret", {org = "data", project = "ml_pipelines"})
      print(s.type, harness.json.encode(s):find("s3cr3t", 1, true))
      print(harness.secrets.delete("lib_spec_secret", {org = "data", project = "ml_pipelines"}))
      print(#harness.secrets.list{org = false} > 0, #harness.connectors.list{org = false} > 0)
      print(#harness.connectors.list{type = "Github"} >= 1)
      print(#harness.users.list(), harness.users.find(harness.whoami().email).name)
    ]])
    assert.same({"3\tdeploy_bot", "SecretText\tnil", "true", "true\ttrue", "true", "12\tAda Lovelace"}, got)
  end)

  it("lists, reads and toggles feature flags", function()
    local got = lines([[
      local F, s = harness.feature_flags, {org = "payments", project = "checkout", environment = "staging"}
      local flags = F.list(s)
      local id = flags[1].identifier
      local before = F.state(id, s)
      local other = before == "on" and "off" or "on"
      print(#flags, F.toggle(id, other, s).envProperties.state == other, F.state(id, s) == other)
      F.toggle(id, before == "on", s)
      print(F.state(id, s) == before)
    ]])
    assert.same({"12\ttrue\ttrue", "true"}, got)
  end)
end)
