-- harness.testing: the helper for users' busted specs. A team library in a
-- temporary folder with its specs, run as the README says
-- (busted --lua=hlua spec/), against a sandbox it starts and against
-- recorded fixtures; and the helper's own calls in this process.
local h = require "tests.support.helper"
local q = h.q

local mktemp_dir, write = h.tempdir, h.write

-- The absolute path of the built hlua.
local function abs_hlua()
  return h.bin:sub(1, 1) == "/" and h.bin or (os.getenv("PWD") .. "/" .. h.bin)
end

-- A team library 'acme', a script of it, and a spec using harness.testing
-- (the one the README shows).
local LIBRARY = [[
local M = {}

-- The identifiers of an org's projects, sorted.
function M.project_ids(org)
  local ids = {}
  for _, p in ipairs(harness.projects.list{org = org}) do ids[#ids + 1] = p.identifier end
  table.sort(ids)
  return ids
end

return M
]]

local SCRIPT = [[
local acme = require "acme"
local a = harness.args{summary = "Lists an org's projects.", options = {{"--org ID", "organization"}}}
print(table.concat(acme.project_ids(a.org), " "))
]]

local SPEC = [[
local testing = require "harness.testing"
local acme = require "acme"

describe("acme", function()
  local sb = testing.sandbox(%s)
  before_each(function() sb:reset() end)
  teardown(function() sb:stop() end)

  it("lists an org's projects with one request", function()
    assert.same({"billing", "checkout", "fraud"}, acme.project_ids("payments"))
    assert.equal(1, sb:count("GET /ng/api/projects"))
    assert.equal("payments", sb:requests()[1].query.orgIdentifier)
  end)

  it("runs the team's script", function()
    local out, err, code = sb:run("hlua acme-projects.lua --org platform")
    assert.equal(0, code, err)
    assert.equal("ci_tools infra observability\n", out)
    assert.equal(1, sb:count{method = "GET", match = "^/ng/api/projects"})
  end)
end)
]]

describe("harness.testing", function()
  local tmp
  before_each(function() tmp = mktemp_dir() end)
  after_each(function() h.sh("rm -rf " .. q(tmp)) end)

  local function library(dir, spec_opts)
    write(dir .. "/acme/init.lua", LIBRARY)
    write(dir .. "/acme-projects.lua", SCRIPT)
    write(dir .. "/spec/acme_spec.lua", SPEC:format(spec_opts or ""))
  end

  -- busted --lua=hlua spec/ in the library's folder, with hlua on PATH and
  -- the temporary files of the run in a folder of their own.
  local function busted(dir, env)
    local bin = abs_hlua()
    local tmpdir = dir .. "/.tmp"
    h.sh("mkdir -p " .. q(tmpdir))
    local out, err, rc = h.sh(("cd %s && TMPDIR=%s PATH=%s:\"$PATH\" %s busted --lua=%s spec/")
      :format(q(dir), q(tmpdir), q(bin:match("^(.*)/")), env or "", q(bin)))
    local left = h.sh("ls -A " .. q(tmpdir))
    return out, err, rc, left
  end

  local function sandboxes_of(dir)
    return h.sh("ps -eo args | grep -F -- " .. q(dir) .. " | grep -c '[h]lua-sandbox'"):gsub("%s+", "")
  end

  it("runs a team library's spec with busted --lua=hlua spec/, against a sandbox of its own", function()
    library(tmp)
    local out, err, rc, left = busted(tmp)
    assert.equal(0, rc, out .. err)
    assert.matches("2 successes / 0 failures / 0 errors / 0 pending", out)
    assert.equal("", left) -- the sandbox's folder is gone
    assert.equal("0", sandboxes_of(tmp))
  end)

  it("records fixtures on the first run and replays them, with no sandbox, on the next", function()
    library(tmp, [[{fixtures = "spec/fixtures"}]])
    local out, err, rc = busted(tmp)
    assert.equal(0, rc, out .. err)
    assert.is_truthy(io.open(tmp .. "/spec/fixtures/0001-GET-ng-api-projects.json"))
    assert.is_truthy(io.open(tmp .. "/spec/fixtures/run-1/0001-GET-ng-api-projects.json"))
    -- no sandbox can start now: the replay must not need one
    out, err, rc = busted(tmp, "HLUA_SANDBOX=/nonexistent")
    assert.equal(0, rc, out .. err)
    assert.matches("2 successes / 0 failures", out)
    -- a library that changed fails, naming the difference
    write(tmp .. "/acme/init.lua", (LIBRARY:gsub("{org = org}", "{org = \"data\"}")))
    out, err, rc = busted(tmp, "HLUA_SANDBOX=/nonexistent")
    assert.not_equal(0, rc)
    assert.matches('GET /ng/api/projects: not in the recording: query.orgIdentifier is "data", recorded "payments"', out, 1, true)
    assert.matches('GET /ng/api/projects: not in the recording: query.orgIdentifier is "data", recorded "platform"', out, 1, true)
  end)

  it("works across spec files (busted insulates each file)", function()
    library(tmp)
    write(tmp .. "/spec/other_spec.lua", [[
local testing = require "harness.testing"
describe("another file", function()
  local sb = testing.sandbox{env = {HARNESS_ORG_ID = "data"}}
  teardown(function() sb:stop() end)
  it("has its own sandbox and settings", function()
    assert.same({"ml_pipelines"}, require("acme").project_ids(nil))
    assert.equal(1, sb:count("GET /ng/api/projects"))
  end)
end)
]])
    local out, err, rc, left = busted(tmp)
    assert.equal(0, rc, out .. err)
    assert.matches("3 successes / 0 failures", out)
    assert.equal("", left)
  end)

  it("checks its arguments", function()
    local testing = require "harness.testing"
    local function msg(f, ...)
      local ok, e = pcall(f, ...)
      assert.is_false(ok)
      return tostring(e)
    end
    assert.matches("bad argument 'replay' to 'harness.testing.sandbox' %(non%-empty string expected, got number%)",
      msg(testing.sandbox, {replay = 1}))
    assert.matches("bad argument 'replay' to 'harness.testing.sandbox' %(replay, record and fixtures exclude each other%)",
      msg(testing.sandbox, {replay = "a", record = "b"}))
    assert.matches("bad argument 'replay' to 'harness.testing.sandbox' %(.*/none holds no recorded exchange%)",
      msg(testing.sandbox, {replay = tmp .. "/none"}))
    assert.matches("bad argument #1 to 'harness.testing.sandbox' %(table of options expected, got string%)",
      msg(testing.sandbox, "x"))
  end)

  it("in this process: points hlua at its sandbox, resets it, logs requests, stops", function()
    local testing = require "harness.testing"
    local sb = testing.sandbox{flags = {"--execution-seconds", "1"}}
    local ok, err = pcall(function()
      assert.equal(sb.url, harness.config().endpoint)
      assert.equal(sb.info.user_email, harness.whoami().email)
      harness.tokens.create{identifier = "spec_token", apikey = "hlua_automation"}
      assert.equal(1, sb:count("POST /ng/api/token"))
      sb:reset()
      assert.same({}, sb:requests())
      -- the account was reseeded: the token is gone
      assert.is_false(pcall(harness.tokens.get, "spec_token"))
      sb:fault{fault = "status", status = 503, count = 1, path = "/ng/api/organizations"}
      assert.is_true(#harness.orgs.list() > 0)
      local statuses = {}
      for _, r in ipairs(sb:requests("GET /ng/api/organizations")) do statuses[#statuses + 1] = r.status end
      assert.same({503, 200}, statuses)
      local out, e, code = sb:run(q(abs_hlua()) .. " -p 'harness.config().endpoint'")
      assert.equal(0, code, e)
      assert.equal(sb.url .. "\n", out)
    end)
    local dir, pid = sb._dir, sb._pid
    sb:stop()
    assert(ok, err)
    assert.is_nil(io.open(dir .. "/info.json"))
    assert.equal("", (h.sh("ls -d " .. q(dir) .. " 2>/dev/null")))
    assert.matches("^%s*Z?%s*$", (h.sh("ps -o stat= -p " .. pid))) -- ended (maybe not reaped yet)
  end)
end)
