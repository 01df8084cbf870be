-- The API key's secret never leaves hlua: a broad
-- set of scripts (requests, errors, retries, config(), -p, the REPL, every
-- trace level, logging) runs with HARNESS_TRACE=2 and a known key; every
-- byte they write to stdout, stderr and files (a fresh HOME, XDG dirs and
-- TMPDIR) is scanned for the secret. The other origin must never have
-- received it, and it is on no command line of anything hlua starts (it
-- starts nothing). make secret-scan does the same scan over a capture of
-- the whole suite.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

describe_sandbox("the API key", function()
  local secret = t.info and t.info.api_key:match("([^.]+)$")
  local home = t.info and t.home()
  local outputs = {}

  -- Runs chunk (or the raw arguments 'args') with the shared HOME and
  -- HARNESS_TRACE=2 unless 'vars' says otherwise; keeps what it wrote.
  local function run(what, chunk, vars, args, stdin)
    local v = {HOME = home, XDG_CONFIG_HOME = home .. "/.config", XDG_STATE_HOME = home .. "/state",
               TMPDIR = home .. "/tmp", HARNESS_TRACE = "2"}
    for k, x in pairs(vars or {}) do v[k] = x end
    local cmdline = (args or "") .. (chunk and (" -e " .. h.q(chunk)) or "")
    local out, err, code = h.run(cmdline, stdin, t.env(v))
    outputs[#outputs + 1] = {what = what, text = out .. err}
    return out, err, code
  end

  local function assert_clean(what, text)
    assert.is_nil(text:find(secret, 1, true), what .. " shows the secret")
  end

  setup(function()
    assert(os.execute("mkdir -p " .. h.q(home .. "/tmp") .. " " .. h.q(home .. "/state")))
    t.reset()
  end)
  teardown(function() if home then h.sh("rm -rf " .. h.q(home)) end end)
  before_each(function() t.reset() end)

  it("stays out of requests, retries and their traces", function()
    t.fault({fault = "429", count = 1, path = "/ng/api/user/currentUser"})
    t.fault({fault = "status", status = 503, count = 1, path = "/_sandbox/echo"})
    local _, err, code = run("requests", [[
      print(harness.whoami().email)
      local echo = harness.get("/_sandbox/echo", {query = {q = "x"}, json = {a = 1}})
      harness.post("/_sandbox/echo", {json = {name = "n"}})
      print(#harness.collect(harness.paginate("/ng/api/organizations")))
      print(#harness.map({1, 2, 3}, function(i) return harness.get("/_sandbox/echo/" .. i) end))
      -- the echo holds the request's headers, key included: data, not output
      assert(echo.headers["x-api-key"] ~= nil)]])
    assert.equal(0, code, err)
    assert.matches("x%-api%-key: pat%.%w+%.%w+%.%*%*%*%*", err) -- traced masked
    assert_clean("requests", outputs[#outputs].text)
  end)

  it("stays out of errors of every kind, caught or not", function()
    local _, _, code = run("uncaught 401", 'harness.get("/_sandbox/status/401")')
    assert.equal(1, code)
    run("errors", [[
      local function show(ok, e) print(tostring(e), harness.json.encode(e.body or ""), e.kind) end
      show(pcall(harness.get, "/_sandbox/status/403"))
      show(pcall(harness.get, "/_sandbox/bytes", {query = {n = 100, type = "application/json"}}))
      show(pcall(harness.get, "/_sandbox/echo", {timeout = 0.001, retries = 0}))
      show(pcall(harness.get, "/_sandbox/redirect", {query = {origin = "other", to = "/x"}}))
      local r = harness.request("GET", "/_sandbox/echo")
      show(pcall(r.json, {body = r.body .. "}"}))
      show(pcall(harness.get, "/_sandbox/bytes", {query = {n = 5000}, max_size = 100}))]])
    run("transport error", 'harness.get("/x")', {HARNESS_ENDPOINT = "http://127.0.0.1:1", HARNESS_RETRIES = "1"})
    run("tls error", "harness.whoami()", {HARNESS_ENDPOINT = t.info.tls_url,
      HARNESS_CA_BUNDLE = t.info.wrong_ca_file, HARNESS_RETRIES = "0"})
    for i = #outputs - 3, #outputs do assert_clean(outputs[i].what, outputs[i].text) end
  end)

  it("is masked in config(), -p, harness.print and the REPL", function()
    local out, err, code = run("-p", nil, nil,
      "-p 'harness.config()' -p 'harness.config().api_key' -p 'harness.whoami()' -e 'harness.print(harness.config())'")
    assert.equal(0, code, err)
    assert.matches("pat%.%w+%.%w+%.%*%*%*%*", out)
    assert_clean("-p", out .. err)
    out, err = run("REPL", nil, nil, "-i", "harness.config()\n=harness.config().api_key\nharness.whoami()\n")
    assert.matches("%*%*%*%*", out .. err)
    assert_clean("REPL", out .. err)
  end)

  it("is masked at every trace level and in the log, even when the script logs it", function()
    for _, level in ipairs({"0", "1", "2"}) do
      local _, err, code = run("trace " .. level, [[
        harness.whoami()
        harness.log.error("the key is %s", os.getenv("HARNESS_API_KEY"))
        harness.log.debug(os.getenv("HARNESS_API_KEY"))]], {HARNESS_TRACE = level, HARNESS_LOG = "debug"})
      assert.equal(0, code, err)
      assert.matches("the key is pat%.%w+%.%w+%.%*%*%*%*", err)
      assert_clean("trace " .. level, err)
    end
    local _, err = run("--trace", "harness.whoami()", {HARNESS_TRACE = false}, "--trace")
    assert_clean("--trace", err)
  end)

  it("stays out when it comes from a key file or a profile", function()
    local keyfile = home .. "/.config/hlua/prod.key"
    h.sh("mkdir -p " .. h.q(home .. "/.config/hlua") .. " && chmod 700 " .. h.q(home .. "/.config/hlua"))
    local f = assert(io.open(keyfile, "wb"))
    f:write(t.info.api_key .. "\n")
    f:close()
    f = assert(io.open(home .. "/.config/hlua/config.json", "wb"))
    f:write(harness.json.encode({default_profile = "prod", profiles = {prod = {
      endpoint = t.info.url, api_key_file = keyfile}}}))
    f:close()
    os.execute("chmod 600 " .. h.q(keyfile) .. " " .. h.q(home .. "/.config/hlua/config.json"))
    local out, err, code = run("profile", "print(harness.whoami().email) harness.print(harness.config())",
      {HARNESS_API_KEY = false, HARNESS_ENDPOINT = false})
    assert.equal(0, code, err)
    assert.matches('"api_key":"profile"', out) -- the key came from the profile
    assert.matches('"api_key":"pat%.%w+%.%w+%.%*%*%*%*"', out)
    assert_clean("profile", out .. err)
    out, err, code = run("key file env", "print(harness.whoami().email)",
      {HARNESS_API_KEY = false, HARNESS_API_KEY_FILE = keyfile})
    assert.equal(0, code, err)
    assert_clean("key file env", out .. err)
  end)

  it("stays out of the errors about a broken auth.json or a key ending in a dot", function()
    local dir = t.home()
    h.sh("mkdir -p " .. h.q(dir .. "/.harness"))
    local f = assert(io.open(dir .. "/.harness/auth.json", "wb"))
    f:write('{"base_url": "' .. t.info.url .. '", "token": "' .. t.info.api_key .. '" "account_id": 1}')
    f:close()
    local _, err, code = t.run("harness.whoami()", {HOME = dir, HARNESS_API_KEY = false})
    assert.equal(1, code)
    assert.matches("auth.json is not valid JSON: .* at line 1 column %d+\n$", err)
    assert_clean("broken auth.json", err)
    f = assert(io.open(dir .. "/.harness/auth.json", "wb"))
    f:write('{"base_url": "' .. t.info.url .. '", "token": "' .. t.info.api_key .. '", "org_id": 7}')
    f:close()
    _, err, code = t.run("harness.whoami()", {HOME = dir, HARNESS_API_KEY = false})
    assert.equal(1, code)
    assert.matches("auth.json: org_id must be a string, not number\n$", err)
    h.sh("rm -rf " .. h.q(dir))
    -- a stray dot: not a key of Harness's shape, said without showing it
    local out
    out, err, code = t.run("print(harness.config().api_key)", {HARNESS_API_KEY = t.info.api_key .. "."})
    assert.equal(1, code, err)
    assert.equal("", out)
    assert.matches("is not a Harness API key: they look like pat%.<account>%.<tokenId>%.<secret>\n$", err)
    assert_clean("a key ending in a dot", err)
  end)

  it("never reached the other origin, and is in no file hlua wrote", function()
    run("other origin", ([[
      harness.get(%q)
      pcall(harness.get, "/_sandbox/redirect", {query = {origin = "other", to = "/steal"}})
      pcall(harness.post, "/_sandbox/redirect", {query = {origin = "other", to = "/steal", status = 307}})]])
      :format(t.info.other_origin_url .. "/abs"))
    local log = t.ctl("GET", "/_sandbox/other-origin/log")
    assert.is_true(log.total >= 1)
    assert.equal(0, log.with_api_key)
    assert.is_nil(harness.json.encode(log):find(secret, 1, true))
    -- every file under HOME (config, state, history, TMPDIR) but the key file we wrote
    local files = h.sh("find " .. h.q(home) .. " -type f ! -name prod.key")
    for path in files:gmatch("[^\n]+") do
      local fh = assert(io.open(path, "rb"))
      assert_clean(path, fh:read("a"))
      fh:close()
    end
    for _, o in ipairs(outputs) do assert_clean(o.what, o.text) end
  end)

  it("is on no command line: hlua starts no process while it works", function()
    t.fault({fault = "latency", ms = 1500, count = 0, path = "/_sandbox/echo"})
    local cmd = ("%s %s -e %s"):format(t.env({HOME = home}), h.hlua, h.q(
      'io.stderr:write("started\\n") harness.get("/_sandbox/echo")'))
    local probe = h.tempfile("")
    -- the marker comes before the request: look while the request is in flight
    local script = ([[%s >/dev/null 2>%s & pid=$!
n=0; until grep -q started %s || [ $n -ge 400 ]; do sleep 0.05; n=$((n+1)); done
sleep 0.5
tr '\0' ' ' </proc/$pid/cmdline; echo
echo "children:$(cat /proc/$pid/task/*/children 2>/dev/null | tr -d ' \n')"
wait $pid]]):format(cmd, probe, probe)
    local out = h.sh(script)
    os.remove(probe)
    assert.matches("\nchildren:\n", out)
    assert.is_nil(out:find(secret, 1, true))
  end)
end)
