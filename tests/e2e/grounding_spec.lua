-- The library's requests as Harness accepts them: each of the request
-- shapes the sandbox (checking every request against src/api/operations.tsv)
-- refused before the library was fixed, and the permissions of a key that
-- is not an admin's.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

local api_requests = t.api_requests

local function find(log, operation)
  for _, r in ipairs(log) do
    if r.operation == operation then return r end
  end
end

local function run(chunk, vars)
  local out, err, code = t.run(chunk, vars)
  assert.equal(0, code, err)
  assert.not_matches(t.info.api_key, out .. err, 1, true)
  return out, err
end

describe_sandbox("the library's requests", function()
  before_each(function() t.reset() end)
  after_each(function() t.ctl("POST", "/_sandbox/config", {outcome = harness.json.null, execution_seconds = 3}) end)

  it("rotate a token with a body-less POST that carries no Content-Type", function()
    run([[
      local me = harness.whoami()
      harness.tokens.create{identifier = "g_rot", apikey = "personal"}
      print(harness.tokens.rotate("g_rot", {type = "USER", parent = me.uuid, apikey = "personal"}) ~= nil)]])
    local r = find(api_requests(), "Token.RotateToken")
    assert.is_truthy(r)
    assert.equal(harness.json.null, r.content_type)
    assert.is_true(r.shape_ok)
    assert.equal(200, r.status)
  end)

  it("run a pipeline without inputs as YAML, with a moduleType from the pipeline", function()
    run([[
      local scope = {org = "default", project = "default_project"}
      harness.pipelines.run("build_and_test", scope)
      harness.pipelines.run("hello_world", scope)
      harness.pipelines.run("hello_world", {org = "default", project = "default_project", module = "cd"})]])
    local runs = {}
    for _, r in ipairs(api_requests()) do
      if r.operation == "Execute.PostPipelineExecuteWithInputSetYaml" then runs[#runs + 1] = r end
    end
    assert.equal(3, #runs)
    for _, r in ipairs(runs) do
      assert.equal("application/yaml", r.content_type)
      assert.is_true(r.shape_ok)
      assert.equal(200, r.status)
    end
    assert.matches("moduleType=ci", runs[1].target)
    assert.matches("moduleType=pms", runs[2].target)
    assert.matches("moduleType=cd", runs[3].target)
  end)

  it("find tokens by walking the parent's API keys, never by an unfiltered list", function()
    local out = run([[
      local me = harness.whoami()
      print(harness.tokens.get("hlua_dev").apiKeyIdentifier)
      print(#harness.tokens.list() > 0)
      print(harness.tokens.get("deploy_token", {type = "SERVICE_ACCOUNT", parent = "deploy_bot"}).identifier)
      harness.tokens.create{identifier = "g_del", apikey = "personal"}
      print(harness.tokens.delete("g_del"))]])
    assert.equal("hlua_automation\ntrue\ndeploy_token\ntrue\n", out)
    for _, r in ipairs(api_requests()) do
      assert.is_true(r.shape_ok, r.method .. " " .. r.target .. ": " .. tostring(r.code))
      if r.operation == "Token.ListAggregatedTokens" then
        assert.matches("apiKeyType=", r.target)
        assert.matches("parentIdentifier=", r.target)
        assert.matches("apiKeyIdentifier=", r.target)
      end
    end
  end)

  it("report expiring tokens with a key that is not an admin's: its own, and what it may not see", function()
    local out = run([[
      local list, unseen = harness.tokens.expiring{within_days = 365}
      for _, t in ipairs(list) do print(t.identifier) end
      print(#unseen > 0, unseen[1].status)]], {HARNESS_API_KEY = t.info.user_key})
    assert.equal("grace_token\ntrue\t403\n", out)
    local _, err = run("os.exit(0)")
    local rout, rerr, code = h.run("scripts/token-expiry-report.lua --within 365", nil,
      t.env({HARNESS_API_KEY = t.info.user_key}))
    assert.equal(0, code, rerr)
    assert.matches("grace_token", rout)
    assert.matches("grace.hopper@", rout)
    assert.matches("not listed, the key may not see them %(403 ACCESS_DENIED%)", rerr)
    assert.is_string(err)
  end)

  it("report the tokens of org- and project-scoped service accounts", function()
    local out = run([[
      local list = harness.tokens.expiring{within_days = 30}
      local seen = {}
      for _, t in ipairs(list) do seen[#seen + 1] = t.identifier end
      table.sort(seen)
      print(table.concat(seen, " "))]])
    assert.matches("platform_ci_token", out)
    assert.matches("checkout_token", out)
    local scoped = 0
    for _, r in ipairs(api_requests()) do
      assert.is_true(r.shape_ok, r.method .. " " .. r.target)
      if r.operation == "ApiKey.ListApiKeys" and r.target:find("orgIdentifier=platform", 1, true) then
        scoped = scoped + 1
      end
    end
    assert.is_true(scoped > 0, "the API keys of a service account of org platform were asked in its scope")
  end)

  it("stop waiting for a suspended execution: Harness counts it as ended", function()
    t.ctl("POST", "/_sandbox/config", {outcome = "Suspended", execution_seconds = 0.2})
    local out = run([[
      local scope = {org = "default", project = "default_project"}
      local run = harness.pipelines.run("hello_world", scope)
      local sum = harness.pipelines.wait(run.uuid, {org = "default", project = "default_project",
        interval = 0.1, timeout = 5, progress = false})
      print(sum.status, harness.pipelines.SUCCEEDED[sum.status] == nil)]])
    assert.equal("Suspended\ttrue\n", out)
  end)
end)
