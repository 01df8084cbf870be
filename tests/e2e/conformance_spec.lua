-- Conformance: every function of every module of the Harness library and
-- every ready script, run against the sandbox, sends only requests that
-- the Harness API table (src/api/operations.tsv) accepts: the sandbox
-- matches each to its operation and checks its required parameters and
-- content type. A library function without a row here fails the suite,
-- and README's list of the operations each function uses must be what the
-- functions do.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

local P = '{org = "default", project = "default_project"}'
local CHECKOUT = '{org = "payments", project = "checkout", environment = "dev"}'

-- "module.function" -> the chunk that calls it (in a fresh hlua), or
-- {setup, call}: what the setup sends is not the function's.
local CALLS = {
  ["orgs.list"] = 'harness.orgs.list()',
  ["orgs.get"] = 'harness.orgs.get("platform")',
  ["projects.list"] = 'harness.projects.list{all = true}',
  ["projects.get"] = 'harness.projects.get("infra", {org = "platform"})',
  ["users.list"] = 'harness.users.list()',
  ["users.current"] = 'harness.users.current()',
  ["users.find"] = 'harness.users.find("grace.hopper@acme-robotics.example")',
  ["pipelines.list"] = 'harness.pipelines.list' .. P,
  ["pipelines.each"] = 'for _ in harness.pipelines.each' .. P .. ' do end',
  ["pipelines.get"] = 'harness.pipelines.get("hello_world", ' .. P .. ')',
  ["pipelines.yaml"] = 'harness.pipelines.yaml("hello_world", ' .. P .. ')',
  ["pipelines.create"] = {'y = harness.pipelines.yaml("hello_world", ' .. P .. ')',
    'harness.pipelines.create(y:gsub("identifier: hello_world", "identifier: conf_created"), ' .. P .. ')'},
  ["pipelines.update"] = {'y = harness.pipelines.yaml("hello_world", ' .. P .. ')',
    'harness.pipelines.update("hello_world", y, ' .. P .. ')'},
  ["pipelines.edit"] = 'harness.pipelines.edit("hello_world", function(doc) ' ..
    'doc.pipeline.description = "conformance" end, ' .. P .. ')',
  ["pipelines.delete"] = 'harness.pipelines.delete("nightly_cleanup", ' .. P .. ')',
  ["pipelines.run"] = 'harness.pipelines.run("hello_world", ' .. P .. ')',
  ["pipelines.execution"] = {'r = harness.pipelines.run("hello_world", ' .. P .. ')',
    'harness.pipelines.execution(r.uuid, ' .. P .. ')'},
  ["pipelines.executions"] = 'harness.pipelines.executions{org = "default", project = "default_project", ' ..
    'status = {"Success", "Failed"}, max_items = 5}',
  ["pipelines.wait"] = {'r = harness.pipelines.run("hello_world", ' .. P .. ')',
    'harness.pipelines.wait(r.uuid, {org = "default", project = "default_project", interval = 0.1, progress = false})'},
  ["pipelines.abort"] = {'r = harness.pipelines.run("hello_world", ' .. P .. ')',
    'harness.pipelines.abort(r.uuid, ' .. P .. ')'},
  ["tokens.list"] = 'harness.tokens.list() harness.tokens.list{type = "SERVICE_ACCOUNT", parent = "deploy_bot"}',
  ["tokens.get"] = 'harness.tokens.get("hlua_dev")',
  ["tokens.create"] = 'harness.tokens.create{identifier = "conf_tok", apikey = "personal"}',
  ["tokens.rotate"] = 'harness.tokens.rotate("scratch")',
  ["tokens.delete"] = {'harness.tokens.create{identifier = "conf_del", apikey = "personal"}',
    'harness.tokens.delete("conf_del")'},
  ["tokens.expiring"] = 'harness.tokens.expiring()',
  ["apikeys.list"] = 'harness.apikeys.list() harness.apikeys.list{type = "SERVICE_ACCOUNT", parent = "platform_ci", org = "platform"}',
  ["apikeys.create"] = 'harness.apikeys.create{identifier = "conf_key"}',
  ["apikeys.delete"] = {'harness.apikeys.create{identifier = "conf_key2"}', 'harness.apikeys.delete("conf_key2")'},
  ["apikeys.tokens"] = 'harness.apikeys.tokens("personal")',
  ["apikeys.rotate"] = 'harness.apikeys.rotate("scratch")',
  ["apikeys.expiring"] = 'harness.apikeys.expiring{type = "USER"}',
  ["service_accounts.list"] = 'harness.service_accounts.list() harness.service_accounts.list{org = "platform"}',
  ["service_accounts.get"] = 'harness.service_accounts.get("deploy_bot")',
  ["service_accounts.create"] = 'harness.service_accounts.create{identifier = "conf_sa"}',
  ["service_accounts.delete"] = {'harness.service_accounts.create{identifier = "conf_sa2"}',
    'harness.service_accounts.delete("conf_sa2")'},
  ["secrets.list"] = 'harness.secrets.list{org = false}',
  ["secrets.get"] = 'harness.secrets.get("github_pat", {org = false})',
  ["secrets.create"] = 'harness.secrets.create{identifier = "conf_secret", value = "s3cr3t", org = false}',
  ["secrets.update"] = 'harness.secrets.update{identifier = "github_pat", value = "n3w", org = false}',
  ["secrets.delete"] = 'harness.secrets.delete("slack_webhook", {org = false})',
  ["connectors.list"] = 'harness.connectors.list{org = false} harness.connectors.list{org = false, type = {"Github"}}',
  ["connectors.get"] = 'harness.connectors.get("account_github", {org = false})',
  ["feature_flags.list"] = 'harness.feature_flags.list' .. CHECKOUT,
  ["feature_flags.get"] = 'harness.feature_flags.get("dark_mode", ' .. CHECKOUT .. ')',
  ["feature_flags.state"] = 'harness.feature_flags.state("dark_mode", ' .. CHECKOUT .. ')',
  ["feature_flags.toggle"] = 'harness.feature_flags.toggle("dark_mode", true, ' .. CHECKOUT .. ')',
}

-- Library functions that send no request at all.
local NO_REQUEST = {
  ["pipelines.url"] = 'print(harness.pipelines.url("hello_world", "x1", ' .. P .. '))',
}

-- The ready scripts and their arguments ("DIR": a temporary folder).
local SCRIPTS = {
  ["whoami"] = "",
  ["list-projects"] = "--all",
  ["run-pipeline"] = "--org default --project default_project --interval 0.1 -q hello_world",
  ["export-pipelines"] = "--org payments --project checkout DIR",
  ["token-expiry-report"] = "",
  ["rotate-token"] = "scratch",
  ["ff-toggle"] = "--org payments --project checkout --environment dev dark_mode on",
  ["demo"] = "",
}

-- The library's modules: the public names that are a module of the
-- Harness library.
local LIBRARY = {"orgs", "projects", "users", "pipelines", "tokens", "apikeys", "service_accounts",
                 "secrets", "connectors", "feature_flags"}

-- The operations the sandbox saw since the last reset, each checked.
local function operations_seen(what)
  local ops, seen = {}, {}
  for _, r in ipairs(t.api_requests()) do
    assert.is_true(r.shape_ok, ("%s: %s %s refused by the table's checks (%s)"):format(
      what, r.method, r.target, tostring(r.code)))
    if not seen[r.operation] then
      seen[r.operation] = true
      ops[#ops + 1] = r.operation
    end
  end
  table.sort(ops)
  return ops
end

-- README's list of the operations of each library function.
local function readme_block()
  local f = assert(io.open("README.md"))
  local text = f:read("a")
  f:close()
  return text:match("<!%-%- library operations: begin %-%->\n(.-)<!%-%- library operations: end %-%->")
end

-- The list as it must read: a row per function, its operations sorted.
local function expected_block(observed)
  local fns = {}
  for fn in pairs(observed) do fns[#fns + 1] = fn end
  table.sort(fns)
  local rows = {"| function | Harness operations |", "|---|---|"}
  for _, fn in ipairs(fns) do
    local ops = {}
    for i, op in ipairs(observed[fn]) do ops[i] = "`" .. op .. "`" end
    rows[#rows + 1] = ("| `harness.%s` | %s |"):format(fn, table.concat(ops, ", "))
  end
  return table.concat(rows, "\n") .. "\n"
end

describe_sandbox("conformance with the Harness API table", function()
  local observed = {}
  before_each(function()
    t.ctl("POST", "/_sandbox/reset", {state = true})
    t.ctl("POST", "/_sandbox/config", {execution_seconds = 0.2})
  end)
  teardown(function()
    t.ctl("POST", "/_sandbox/reset", {state = true})
    t.ctl("POST", "/_sandbox/config", {execution_seconds = 3})
  end)

  it("has a row for every function of every library module", function()
    local out, err, code = t.run([[
      for _, m in ipairs{]] .. '"' .. table.concat(LIBRARY, '","') .. '"' .. [[} do
        local names = {}
        for k, v in pairs(harness[m]) do
          if type(v) == "function" then names[#names + 1] = m .. "." .. k end
        end
        table.sort(names)
        print(table.concat(names, "\n"))
      end]])
    assert.equal(0, code, err)
    for fn in out:gmatch("[^\n]+") do
      assert.is_truthy(CALLS[fn] or NO_REQUEST[fn], fn .. " has no row in tests/e2e/conformance_spec.lua")
    end
  end)

  local names = {}
  for fn in pairs(CALLS) do names[#names + 1] = fn end
  table.sort(names)
  for _, fn in ipairs(names) do
    it("harness." .. fn .. " sends what the table accepts", function()
      local row = CALLS[fn]
      local chunk = type(row) == "table" and (row[1] .. ' harness.request("POST", "/_sandbox/reset", ' ..
        '{account = false}) ' .. row[2]) or row
      local _, err, code = t.run(chunk)
      assert.equal(0, code, err)
      observed[fn] = operations_seen(fn)
      assert.is_true(#observed[fn] > 0, fn .. " sent no request")
    end)
  end

  for fn, chunk in pairs(NO_REQUEST) do
    it("harness." .. fn .. " sends no request", function()
      local _, err, code = t.run(chunk)
      assert.equal(0, code, err)
      assert.same({}, operations_seen(fn))
    end)
  end

  local scripts = {}
  for s in pairs(SCRIPTS) do scripts[#scripts + 1] = s end
  table.sort(scripts)
  for _, s in ipairs(scripts) do
    it("the script " .. s .. " sends what the table accepts", function()
      local dir = t.home()
      local args = SCRIPTS[s]:gsub("DIR", dir)
      local _, err, code = h.run(("scripts/%s.lua %s"):format(s, args), nil, t.env())
      os.execute("rm -rf " .. h.q(dir))
      assert.equal(0, code, err)
      assert.is_true(#operations_seen(s) > 0, s .. " sent no request")
    end)
  end

  it("README lists the operations each library function uses", function()
    local want = expected_block(observed)
    assert.equal(want, readme_block(), "README's list between the <!-- library operations --> marks")
  end)
end)
