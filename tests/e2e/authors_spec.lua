-- What script authors tripped over, each fixed: typos in options, silent
-- retries, tasks that never ran, secrets on disk, Ctrl-C in the middle of a
-- wait, and the small ones.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

-- How many API requests the sandbox saw since the last reset.
local function api_request_count() return #t.api_requests() end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

describe_sandbox("script authors", function()
  before_each(function() t.reset() end)

  it("get an error naming a mistyped option and the known ones, and nothing is sent", function()
    local out, err, code = t.run([[
      local P = {org = "default", project = "default_project"}
      local function try(f, ...) local ok, e = pcall(function(...) local r = f(...) return r end, ...) print(e) end
      try(harness.pipelines.list, {org = "default", project = "default_project", serach = "ci"})
      try(harness.projects.list, {orgg = "payments"})
      try(harness.pipelines.delete, "hello_world", {org = "default", projct = "x"})
      try(harness.tokens.rotate, "scratch", {aipkey = "personal"})
      try(harness.feature_flags.toggle, "dark_mode", "on", {org = "payments", project = "checkout", enviroment = "prod"})
      try(harness.paginate, "/ng/api/projects", {page_sise = 10})
      try(harness.request, "GET", "/ng/api/projects", {querry = {}})
      try(harness.map, {1}, print, {concurency = 2})]])
    assert.equal(0, code, err)
    local l = lines(out)
    assert.matches("bad argument 'serach' to 'harness.pipelines.list' %(unknown option; known: org, project, search, max_items, page_size%)", l[1])
    assert.matches("bad argument 'orgg' to 'harness.projects.list' %(unknown option; known: org, all, search, module", l[2])
    assert.matches("bad argument 'projct' to 'harness.pipelines.delete'", l[3])
    assert.matches("bad argument 'aipkey' to 'harness.tokens.rotate' %(unknown option; known: type, parent, apikey", l[4])
    assert.matches("bad argument 'enviroment' to 'harness.feature_flags.toggle'", l[5])
    assert.matches("bad argument 'page_sise' to 'harness.paginate'", l[6])
    assert.matches("bad argument 'querry' to 'harness.request'", l[7])
    assert.matches("bad argument 'concurency' to 'harness.map'", l[8])
    for i = 1, 8 do -- each at the script's own line, however deep in hlua the check ran
      assert.matches("^%(command line%):2: bad argument", l[i])
    end
    assert.equal(0, api_request_count(), "a request went out")
  end)

  it("see a bad argument at their own line, with no traceback into hlua's library", function()
    local script = h.tmpname() .. ".lua"
    local f = assert(io.open(script, "w"))
    f:write('local function report()\n  local list = harness.pipelines.list{org = "default", serach = "ci"}\n',
      '  return #list\nend\nreport()\n')
    f:close()
    local _, err, code = h.run(h.q(script), nil, t.env())
    os.remove(script)
    assert.equal(1, code)
    local l = lines(err)
    assert.equal(h.bin .. ": " .. script .. ":2: bad argument 'serach' to 'harness.pipelines.list' " ..
      "(unknown option; known: org, project, search, max_items, page_size)", l[1])
    assert.equal("stack traceback:", l[2])
    assert.matches("^\t" .. script:gsub("%p", "%%%0") .. ":2: in ", l[3])
    assert.not_matches("harness/", err:gsub("harness%.pipelines", ""))
    -- a C function of lua's keeps its own line, as in lua5.4
    _, err = h.run("-e 'string.rep()'")
    assert.matches("\n\t%[C%]: in function 'string.rep'\n", err)
  end)

  it("see each retry on stderr, and how many attempts the final error made", function()
    t.fault({fault = "status", status = 503, count = 0, path = "/ng/api/projects"})
    local _, err, code = t.run('harness.get("/ng/api/projects")', {HARNESS_RETRIES = "2"})
    assert.equal(1, code)
    local l = lines(err)
    assert.matches("^%[warn%] GET /ng/api/projects: 503 Service Unavailable; retrying in [%d.]+ s %(attempt 2 of 3%)$", l[1])
    assert.matches("%(attempt 3 of 3%)$", l[2])
    assert.matches("^" .. h.prog .. ": GET /ng/api/projects: 503 SERVICE_UNAVAILABLE: .* %(after 3 attempts%)", l[3])
    -- quiet when asked
    _, err = t.run('pcall(harness.get, "/ng/api/projects")', {HARNESS_RETRIES = "1", HARNESS_LOG = "error"})
    assert.equal("", err)
  end)

  it("are not kept waiting by retries of a name that does not resolve", function()
    local _, err, code = t.run('harness.get("/ng/api/projects")', {HARNESS_ENDPOINT = "https://nosuch.invalid"})
    assert.equal(1, code)
    assert.not_matches("retrying", err)
    assert.matches("Could not resolve host", err)
  end)

  it("see the tasks they left run to their end, and a failure among them fail the run", function()
    local out, err, code = t.run([[
      harness.spawn(function() harness.sleep(0.05) print("ran", harness.whoami().email) end)]])
    assert.equal(0, code, err)
    assert.equal("ran\t" .. t.info.user_email .. "\n", out)
    out, err, code = t.run([[harness.spawn(function() harness.get("/ng/api/nosuch") end)]])
    assert.equal(1, code)
    assert.matches("error in a task that nobody waited for: .*404", err)
  end)

  it("can run every item of a map and get the errors by index", function()
    local out, err, code = t.run([[
      local ids = {"platform", "nosuch", "data"}
      local names, errors = harness.map(ids, function(id) return harness.orgs.get(id).name end, {keep_going = true})
      print(names[1], names[2], names[3], errors[2].status, errors[1], errors[3])]])
    assert.equal(0, code, err)
    assert.equal("Platform Engineering\tnil\tData Science\t404\tnil\tnil\n", out)
  end)

  it("store a rotated token in a file only they can read, or in a Harness secret, never on stdout", function()
    local dir = t.home()
    local out, err, code = h.run("scripts/rotate-token.lua scratch --out " .. h.q(dir .. "/token"), nil, t.env())
    assert.equal(0, code, err)
    assert.equal("", out)
    assert.equal("600\n", (h.sh("stat -c %a " .. h.q(dir .. "/token"))))
    local f = assert(io.open(dir .. "/token"))
    local token = f:read("l")
    f:close()
    assert.matches("^pat%.", token)
    assert.not_matches(token, err, 1, true)
    out, err, code = h.run("scripts/rotate-token.lua scratch --store-secret rotated_ci_key", nil, t.env())
    assert.equal(0, code, err)
    assert.equal("", out)
    assert.matches("stored in the secret rotated_ci_key", err)
    out = t.run('print(harness.secrets.get("rotated_ci_key", {org = false}).type)')
    assert.equal("SecretText\n", out)
    -- a second rotation updates the secret
    _, err, code = h.run("scripts/rotate-token.lua scratch --store-secret rotated_ci_key", nil, t.env())
    assert.equal(0, code, err)
    h.sh("rm -rf " .. h.q(dir))
  end)

  it("are told, when they stop a wait, that the execution goes on, and where", function()
    t.ctl("POST", "/_sandbox/config", {execution_seconds = 30})
    finally(function() t.ctl("POST", "/_sandbox/config", {execution_seconds = 3}) end)
    local cmd = ("%s %s -e %s"):format(t.env(), h.hlua, h.q([[
      local r = harness.pipelines.run("hello_world", {org = "default", project = "default_project"})
      harness.pipelines.wait(r.uuid, {org = "default", project = "default_project", interval = 0.2})]]))
    local _, err, code = h.interrupt(cmd, "started hello_world", 0.5)
    assert.equal(130, code)
    assert.matches("hlua: started hello_world: http://127%.0%.0%.1:%d+/ng/account/[%w]+/all/orgs/default/projects/default_project/pipelines/hello_world/executions/[%w]+/pipeline", err)
    assert.matches("the execution [%w]+ goes on running in Harness: http", err)
    assert.matches(h.prog .. ": interrupted\n$", err)
  end)

  it("find JSON null falsy in API responses, and can still tell it apart", function()
    local out, err, code = t.run([[
      local me = harness.get("/ng/api/user/currentUser")
      print(me.metaData, me.metaData and me.metaData + 1)
      local p = harness.pipelines.list{org = "default", project = "default_project"}[1]
      print(p.gitDetails.branch or "no branch")
      local res = harness.request("GET", "/ng/api/user/currentUser")
      print(res:json().metaData, harness.json.decode(res.body).metaData == harness.null)
      print(harness.json.decode('{"a":null,"b":[1,null,3]}', {omit_nulls = true}).b[2] == harness.null)]])
    assert.equal(0, code, err)
    assert.equal("nil\tnil\nno branch\nnil\ttrue\ntrue\n", out)
  end)

  it("read feature-flag errors once, not as '404 404'", function()
    local _, err = t.run('harness.feature_flags.get("dark_mode", {org = "payments", project = "checkout", environment = "nosuch"})')
    assert.matches(": 404: environment not found", err)
    assert.not_matches("404 404", err)
  end)
end)

describe("script authors, without a server", function()
  it("are told a malformed key is not a Harness key", function()
    local _, err, code = h.run("-e 'harness.get(\"/x\")'", nil, "HARNESS_API_KEY=hello HARNESS_ENDPOINT=http://127.0.0.1:1")
    assert.equal(1, code)
    assert.matches("is not a Harness API key: they look like pat%.<account>%.<tokenId>%.<secret>", err)
  end)

  it("find every variable in --help, and where HLUA_PATH is searched", function()
    local out = h.run("--help")
    for _, v in ipairs({"HARNESS_TIMEOUT", "HARNESS_RETRIES", "HARNESS_MAX_IN_FLIGHT", "HARNESS_MAX_SIZE", "HARNESS_LOG"}) do
      assert.matches(v, out)
    end
    assert.matches("HLUA_PATH %(where 'require' looks after the script's folder%)", out)
  end)

  it("print what harness.args gives, named and positional fields together", function()
    local out, err, code = h.run("-e " .. h.q([[harness.print(harness.args{argv = {"--json", "p1"},
      options = {{"--json", "j"}}, arguments = {{"PIPELINE", "p"}}})]]))
    assert.equal(0, code, err)
    assert.equal('{"1":"p1","json":true,"pipeline":"p1"}\n', out)
    -- with a table inside that has __tostring: shown as it is without the 1
    out, err, code = h.run("-e " .. h.q([[local b = setmetatable({}, {__tostring = function() return "X" end})
      harness.print({1, a = 1, b = b}, {a = 1, b = b})]]))
    assert.equal(0, code, err)
    assert.equal('{"1":1,"a":1,"b":{}}\n{"a":1,"b":{}}\n', out)
  end)

  it("see UTC in dates and can show nested fields in tables", function()
    local out = h.run("-e " .. h.q([[
      print(harness.fmt.date(0))
      io.write(harness.fmt.table({{a = {b = 1}}, {a = {}}}, {{"B", "a.b"}}))]]))
    assert.equal("1970-01-01 00:00 UTC\nB\n1\n\n", out)
  end)

  it("get the REPL's tables with sorted keys, as -p prints them", function()
    local out = h.run("-i", "({b = 1, a = 2, c = {z = 1, y = 2}})\n")
    assert.matches('{\n  "a": 2,\n  "b": 1,\n  "c": {\n    "y": 2,\n    "z": 1\n  }\n}', out)
  end)

  it("run the suite in a home of its own, with no HARNESS_, LUA_ or proxy variable", function()
    assert.is_nil(os.getenv("HARNESS_API_KEY"))
    assert.is_nil(os.getenv("HARNESS_PROFILE"))
    assert.is_nil(os.getenv("LUA_PATH"))
    assert.is_nil(os.getenv("https_proxy"))
    assert.matches("^/tmp/", os.getenv("HOME"))
  end)
end)
