-- harness.api end to end: a sample of the table's operations across every
-- service called against the sandbox, each request checked as it arrived
-- (the sandbox matches it to the table itself: method, path, required
-- parameters, content type); the checks made before anything is sent; the
-- defaults from the configuration; paging.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

-- The requests the sandbox logged since the 'n'-th.
local function requests_since(n)
  return t.ctl("GET", "/_sandbox/requests?since=" .. n).requests
end

local function last_request_number()
  local log = t.ctl("GET", "/_sandbox/requests?since=0").requests
  return #log > 0 and log[#log].n or 0
end

-- Runs a chunk that prints one JSON value; returns it decoded.
local function run_json(chunk, vars)
  local out, err, code = t.run(chunk, vars)
  assert.equal(0, code, err)
  return harness.json.decode(out)
end

describe_sandbox("harness.api", function()
  before_each(function() t.reset() end)

  it("calls a sample of at least 200 operations of every service, each as the table says", function()
    -- In hlua: every 4th operation and the first of each service, called
    -- with a made-up value for every required parameter and body (but the
    -- few that share their method and path with another: on the wire they
    -- are the same request).
    local calls = run_json([[
      local api = harness.api
      local VALUES = {string = "v-x", integer = 7, number = 1.5, boolean = true, array = {"a", "b"}, any = "v-any"}
      local seen, out, lines = {}, {}, {}
      for _, name in ipairs(api.names()) do
        local op = api.find(name)
        local line = op.method .. " " .. op.path
        lines[line] = (lines[line] or 0) + 1
      end
      for i, name in ipairs(api.names()) do
        local op = api.find(name)
        if (i % 4 == 0 or not seen[op.service]) and lines[op.method .. " " .. op.path] == 1 then
          seen[op.service] = true
          local params = {}
          for _, p in ipairs(op.params) do
            if p.required and p.name ~= "x-api-key" and p.name ~= "Harness-Account"
                and p.name ~= "accountIdentifier" then
              params[p.name] = p.where == "path" and ("p-" .. p.name:gsub("%W", "_")) or VALUES[p.type]
            end
          end
          local body
          if op.body ~= "-" and op.body ~= "optional" and not op.consumes[1] then body = "text" end
          if op.body ~= "-" and op.body ~= "optional" and op.consumes[1] then
            body = op.consumes[1]:find("json") and {} or "text"
          end
          if op.consumes[1] == "multipart/form-data" then body = nil end
          local okp, why = pcall(op.prepare, op, params, body)
          if okp then
            local ok, e = pcall(op, params, body)
            out[#out + 1] = {op = name, ok = ok, status = not ok and harness.is_error(e) and e.status or 200,
              kind = not ok and harness.is_error(e) and e.kind or nil,
              named = not ok and harness.is_error(e) and tostring(e):find(name, 1, true) ~= nil}
          else
            out[#out + 1] = {op = name, refused = tostring(why)}
          end
        end
      end
      print(harness.json.encode(out))]], {HARNESS_ORG_ID = "default", HARNESS_PROJECT_ID = "default_project"})
    local services, sent = {}, 0
    local log = t.api_requests()
    local by_op = {}
    for _, r in ipairs(log) do by_op[r.operation or "?"] = r end
    local ops = run_json([[
      local out = {}
      for _, name in ipairs(harness.api.names()) do
        local op = harness.api.find(name)
        out[name] = {service = op.service, method = op.method, path = op.path}
      end
      print(harness.json.encode(out))]])
    for _, c in ipairs(calls) do
      if not c.refused then
        sent = sent + 1
        services[ops[c.op].service] = true
        local r = by_op[c.op]
        assert.is_truthy(r, c.op .. " reached the sandbox as that operation")
        assert.equal(ops[c.op].method, r.method, c.op)
        -- the sandbox checked the request against the table: its required
        -- parameters and its content type are what the operation asks
        assert.is_true(r.shape_ok, c.op .. ": refused by the table's checks (" .. tostring(r.code) .. ")")
        if c.status ~= 200 then assert.is_true(c.named, c.op .. ": the error names the operation") end
        -- path parameters in place
        local want = ops[c.op].path:gsub("{([^}]+)}", function(n)
          return n == "accountIdentifier" and t.info.account or ("p-" .. n:gsub("%W", "_")) end)
        assert.equal(want, r.path, c.op)
      end
    end
    assert.is_true(sent >= 200, "only " .. sent .. " operations sent")
    local n = 0
    for _ in pairs(services) do n = n + 1 end
    assert.equal(9, n, "every service")
  end)

  it("checks a call before anything is sent", function()
    local before = last_request_number()
    local out, err, code = t.run([[
      local T = harness.api.Token
      local function try(...) local ok, e = pcall(...) print(ok, e) end
      try(T.ListAggregatedTokens, {apiKeyType = "USER", parentIdentifier = "u", apiKeyIdentifier = "k", serach = "x"})
      try(T.ListAggregatedTokens, {apiKeyType = "USER", apiKeyIdentifier = "k"})
      try(T.ListAggregatedTokens, {apiKeyType = "USER", parentIdentifier = "u", apiKeyIdentifier = "k", pageSize = "ten"})
      try(T.ListAggregatedTokens, {apiKeyType = "USER", parentIdentifier = {}, apiKeyIdentifier = "k"})
      try(T.RotateToken, {identifier = "t", apiKeyType = "USER", parentIdentifier = "u", apiKeyIdentifier = "k", body = "x"})
      try(harness.api.Connectors.GetConnectorListV2, {})
      try(T.ListAggregatedTokens, "not a table")]])
    assert.equal(0, code, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    local op = "'harness.api.Token.ListAggregatedTokens'"
    assert.matches("bad argument 'serach' to " .. op .. " %(no such parameter; did you mean 'searchTerm'; it takes: ", lines[1])
    assert.matches("bad argument 'parentIdentifier' to " .. op .. " %(required query parameter missing%)", lines[2])
    assert.matches("bad argument 'pageSize' to " .. op .. " %(integer expected, got string%)", lines[3])
    assert.matches("bad argument 'parentIdentifier' to " .. op .. " %(string expected, got table%)", lines[4])
    assert.matches("bad argument 'body' to 'harness.api.Token.RotateToken' %(this operation takes no body%)", lines[5])
    assert.matches("bad argument 'body' to 'harness.api.Connectors.GetConnectorListV2' %(a .* body is required%)", lines[6])
    assert.matches("bad argument #1 to " .. op .. " %(table of options expected, got string%)", lines[7])
    assert.equal(before, last_request_number(), "no request sent")
  end)

  it("fills the account and the configured scope, escapes path parameters, repeats array keys", function()
    local out, err, code = t.run([[
      harness.api.Connectors.GetConnector{identifier = "a b/c"}
      local ok = pcall(harness.api.Secrets.ListSecretsV2, {types = {"SecretText", "SSHKey"}, orgIdentifier = false})
      print(ok)]], {HARNESS_ORG_ID = "payments", HARNESS_PROJECT_ID = "checkout"})
    assert.equal(1, code) -- the connector does not exist: a 404 raised
    assert.matches("^" .. h.prog .. ": Connectors.GetConnector: GET /ng/api/connectors/a%%20b%%2Fc: 404", err)
    local log = requests_since(0)
    local get = log[1]
    assert.equal("/ng/api/connectors/a%20b%2Fc", get.target:match("^[^?]+"))
    assert.matches("accountIdentifier=" .. t.info.account, get.target)
    assert.matches("orgIdentifier=payments", get.target)
    assert.matches("projectIdentifier=checkout", get.target)
  end)

  it("leaves an optional scope out when asked, and sends array parameters as repeated keys", function()
    local _, err, code = t.run([[
      harness.api.Secrets.ListSecretsV2{types = {"SecretText", "SSHKey"}, orgIdentifier = false, projectIdentifier = false}]],
      {HARNESS_ORG_ID = "payments", HARNESS_PROJECT_ID = "checkout"})
    assert.equal(0, code, err)
    local target = requests_since(0)[1].target
    assert.matches("types=SecretText&types=SSHKey", target)
    assert.not_matches("orgIdentifier", target)
  end)

  it("sends a table body as JSON and a string as YAML where the operation takes YAML", function()
    local _, err, code = t.run([[
      local yaml = harness.pipelines.yaml("build_and_test", {org = "default", project = "default_project"})
      harness.api.Pipelines.UpdatePipelineV2{pipelineIdentifier = "build_and_test",
        orgIdentifier = "default", projectIdentifier = "default_project", body = yaml}
      harness.api.Connectors.GetConnectorListV2{body = {filterType = "Connector", types = {"Github"}}}]])
    assert.equal(0, code, err)
    local log = requests_since(0)
    local put, list = log[#log - 1], log[#log]
    assert.equal("PUT", put.method)
    assert.equal("application/yaml", put.content_type)
    assert.equal("application/json", list.content_type)
  end)

  it("pages with harness.paginate and harness.collect like the library", function()
    local out, err, code = t.run([[
      local n = 0
      for o in harness.api.Organization.GetOrganizationList:paginate({}, {page_size = 2}) do n = n + 1 end
      local op = harness.api.NotificationChannels.ListNotificationChannels
      local all = harness.collect(harness.paginate(op, {org = "default", project = "big"}, {page_size = 100}))
      print(n, #all, #harness.collect(harness.paginate(op, {org = "default", project = "big"}, {max_items = 30})))]])
    assert.equal(0, code, err)
    assert.equal("4\t250\t30\n", out)
  end)

  it("is loaded only when touched", function()
    local out, err, code = t.run([[
      print(package.loaded["harness.api_operations"] == nil)
      local _ = harness.api.Token
      print(package.loaded["harness.api_operations"] ~= nil)]])
    assert.equal(0, code, err)
    assert.equal("true\ntrue\n", out)
  end)
end)

describe("harness.api's generated files", function()
  it("are what src/api/generate.lua makes of src/api/operations.tsv", function()
    local dir = h.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. h.q(dir .. "/lua/harness") .. " " .. h.q(dir .. "/lua/types")))
    local _, err, code = h.run("src/api/generate.lua " .. h.q(dir))
    assert.equal(0, code, err)
    for _, f in ipairs({"lua/harness/api_operations.lua", "lua/types/harness_api.lua"}) do
      local diff = h.sh("cmp " .. h.q(f) .. " " .. h.q(dir .. "/" .. f) .. " && echo same")
      assert.equal("same\n", diff, f .. " is stale: run build/hlua src/api/generate.lua")
    end
    os.execute("rm -rf " .. h.q(dir))
  end)
end)
