-- What goes wrong, end to end: each bad input gives the right retries and
-- one clear line on stderr with the right exit code.
local t = require "tests.support.http_helper"
local h = require "tests.support.helper"

-- Runs chunk with trace on; returns stdout, stderr, code and the number of
-- exchanges traced.
local function traced(chunk, vars)
  vars = vars or {}
  vars.HARNESS_TRACE = vars.HARNESS_TRACE or "1"
  local out, err, code = t.run(chunk, vars)
  local n = 0
  for line in err:gmatch("[^\n]+") do
    if line:match("^hlua: %u+ %S+ %-> ") then n = n + 1 end
  end
  return out, err, code, n
end

-- The last line of stderr (the uncaught error).
local function last_line(s)
  return s:match("([^\n]*)\n?$")
end

describe("failures", function()
  before_each(function() t.reset() end)

  it("refused connection: retried, then one line and exit 1", function()
    local _, err, code, n = traced('harness.get("/ng/api/user/currentUser")',
      {HARNESS_ENDPOINT = "http://127.0.0.1:1", HARNESS_RETRIES = "2"})
    assert.are.equal(1, code)
    assert.are.equal(3, n)
    assert.matches("^" .. h.prog .. ": GET /ng/api/user/currentUser: .*[Cc]ouldn't connect", last_line(err))
  end)

  it("DNS failure: a clear message", function()
    local _, err, code = t.run('harness.get("/x")',
      {HARNESS_ENDPOINT = "https://nohost.invalid", HARNESS_RETRIES = "0"})
    assert.are.equal(1, code)
    assert.matches("Could not resolve host: nohost.invalid", err, 1, true)
    assert.are.equal(1, select(2, err:gsub("\n", "")))
  end)

  it("unreachable host: connect timeout, retried for GET", function()
    -- the sandbox's blackhole: a loopback port whose connects time out
    local _, err, code, n = traced('harness.get("/x")', {HARNESS_ENDPOINT = t.info.blackhole_url,
      HARNESS_CONNECT_TIMEOUT = "0.2", HARNESS_RETRIES = "1"})
    assert.are.equal(1, code)
    assert.are.equal(2, n)
    assert.matches("GET /x: ", last_line(err), 1, true)
  end)

  it("request returns nil, err instead of raising", function()
    local out, err, code = t.run([[
      local r, e = harness.request("GET", "/x")
      print(r, harness.is_error(e), e.kind, e.method, e.path)]],
      {HARNESS_ENDPOINT = "http://127.0.0.1:1", HARNESS_RETRIES = "0"})
    assert.are.equal(0, code, err)
    assert.are.equal("nil\ttrue\ttransport\tGET\t/x\n", out)
  end)

  it("reset mid-body: retried and then fine", function()
    t.fault({fault = "reset_mid_body", path = "/ng/api/user/currentUser", count = 1})
    local out, err, code, n = traced('print(harness.whoami().email)')
    assert.are.equal(0, code, err)
    assert.are.equal(2, n)
    assert.are.equal(t.info.user_email .. "\n", out)
  end)

  it("reset mid-body every time: a transport error after the retries", function()
    t.fault({fault = "reset_mid_body", path = "/ng/api/user/currentUser", count = 0})
    local _, err, code, n = traced('harness.whoami()', {HARNESS_RETRIES = "2"})
    assert.are.equal(1, code)
    assert.are.equal(3, n)
    assert.matches("^" .. h.prog .. ": User.GetCurrentUserInfo: GET /ng/api/user/currentUser: ", last_line(err))
  end)

  it("truncated JSON body: retried for GET, not for POST", function()
    t.fault({fault = "truncate", path = "/ng/api/user/currentUser", count = 1})
    local out, err, code, n = traced('print(harness.whoami().email)')
    assert.are.equal(0, code, err)
    assert.are.equal(2, n)
    assert.are.equal(t.info.user_email .. "\n", out)
    t.fault({fault = "truncate", path = "/_sandbox/echo", count = 1})
    _, err, code, n = traced('harness.post("/_sandbox/echo", {json = {}})')
    assert.are.equal(1, code)
    assert.are.equal(1, n)
    assert.matches("^" .. h.prog .. ": POST /_sandbox/echo: ", last_line(err))
  end)

  it("invalid JSON with status 200: a json error", function()
    local out, err, code = t.run([[
      local ok, e = pcall(harness.get, "/_sandbox/bytes", {query = {n = 20, type = "application/json"}})
      print(e.kind, e.status, e.body)
      error(e)]])
    assert.are.equal(1, code)
    assert.are.equal("json\t200\t0123456789abcdef0123\n", out)
    assert.matches("^" .. h.prog .. ": GET /_sandbox/bytes: 200: response is not valid JSON", last_line(err))
  end)

  it("500 with an HTML page: status and the page's title, not retried", function()
    t.fault({fault = "html", status = 500, path = "/ng/api/user/currentUser", count = 0})
    local _, err, code, n = traced('harness.whoami()')
    assert.are.equal(1, code)
    assert.are.equal(1, n)
    assert.are.equal(h.bin .. ": User.GetCurrentUserInfo: GET /ng/api/user/currentUser: 500: 500 Internal Server Error",
      last_line(err))
  end)

  it("502 with an HTML page: retried", function()
    t.fault({fault = "html", status = 502, path = "/ng/api/user/currentUser", count = 2})
    local out, err, code, n = traced('print(harness.whoami().email)')
    assert.are.equal(0, code, err)
    assert.are.equal(3, n)
    assert.are.equal(t.info.user_email .. "\n", out)
  end)

  it("503 on POST is not retried; 429 on POST is", function()
    t.fault({fault = "status", status = 503, path = "/_sandbox/echo", count = 1})
    local _, err, code, n = traced('harness.post("/_sandbox/echo", {json = {}})')
    assert.are.equal(1, code)
    assert.are.equal(1, n)
    assert.matches("503 SERVICE_UNAVAILABLE", last_line(err))
    t.reset()
    t.fault({fault = "429", path = "/_sandbox/echo", count = 2})
    _, err, code, n = traced('harness.post("/_sandbox/echo", {json = {}})')
    assert.are.equal(0, code, err)
    assert.are.equal(3, n)
  end)

  it("429: retried, honouring Retry-After, and the error after the last retry", function()
    t.fault({fault = "429", path = "/ng/api/user/currentUser", count = 1, retry_after = "1"})
    local out, err, code, n = traced([[
      local t0 = require("hlua.host").clock()
      harness.whoami()
      print(require("hlua.host").clock() - t0 >= 0.95)]])
    assert.are.equal(0, code, err)
    assert.are.equal(2, n)
    assert.are.equal("true\n", out)
    t.fault({fault = "429", path = "/ng/api/user/currentUser", count = 0})
    _, err, code, n = traced('harness.whoami()', {HARNESS_RETRIES = "3"})
    assert.are.equal(1, code)
    assert.are.equal(4, n)
    assert.matches("429 TOO_MANY_REQUESTS: Too many requests", last_line(err))
    assert.matches("correlationId ", last_line(err))
  end)

  it("per-request retries override the default", function()
    t.fault({fault = "status", status = 503, path = "/ng/api/user/currentUser", count = 0})
    local _, _, code, n = traced('harness.get("/ng/api/user/currentUser", {retries = 1})')
    assert.are.equal(1, code)
    assert.are.equal(2, n)
  end)

  it("a body over the size cap: too_large, not retried", function()
    local out, err, code, n = traced([[
      local r, e = harness.request("GET", "/_sandbox/bytes", {query = {n = 5000}})
      print(r, e.kind)
      harness.get("/_sandbox/bytes", {query = {n = 5000}})]], {HARNESS_MAX_SIZE = "1000"})
    assert.are.equal(1, code)
    assert.are.equal(2, n)
    assert.are.equal("nil\ttoo_large\n", out)
    assert.matches("larger than 1000 bytes", last_line(err))
  end)

  it("a server slower than the timeout: timeout, retried for GET only", function()
    t.fault({fault = "latency", ms = 1500, path = "/_sandbox/echo", count = 0})
    local _, err, code, n = traced('harness.get("/_sandbox/echo", {timeout = 0.3, retries = 1})')
    assert.are.equal(1, code)
    assert.are.equal(2, n)
    assert.matches("^" .. h.prog .. ": GET /_sandbox/echo: timed out", last_line(err))
    _, err, code, n = traced('harness.post("/_sandbox/echo", {timeout = 0.3, retries = 1})')
    assert.are.equal(1, code)
    assert.are.equal(1, n)
  end)

  it("a slow body past the timeout", function()
    t.fault({fault = "slow_body", seconds = 3, path = "/ng/api/user/currentUser", count = 0})
    local _, err, code = t.run('harness.get("/ng/api/user/currentUser", {timeout = 0.5, retries = 0})')
    assert.are.equal(1, code)
    assert.matches("timed out", err)
  end)

  it("a wrong key: 401, not retried, no key in the message", function()
    local bad = "pat." .. t.info.account .. ".0123456789abcdef01234567.AAAAAAAAAAAAAAAAAAAA"
    local _, err, code, n = traced('harness.whoami()', {HARNESS_API_KEY = bad})
    assert.are.equal(1, code)
    assert.are.equal(1, n)
    assert.matches("^" .. h.prog .. ": User.GetCurrentUserInfo: GET /ng/api/user/currentUser: 401 ", last_line(err))
    assert.is_nil(err:find(bad, 1, true))
  end)

  it("a key of another account: an error naming the problem", function()
    local _, err, code = t.run('harness.whoami()', {HARNESS_API_KEY = t.info.other_account_key,
      HARNESS_ACCOUNT_ID = t.info.account})
    assert.are.equal(1, code)
    assert.matches("^" .. h.prog .. ": User.GetCurrentUserInfo: GET /ng/api/user/currentUser: 40[13] ", last_line(err))
  end)

  it("an error status inside a 200 envelope is raised", function()
    local _, err, code = t.run('harness.get("/_sandbox/status/404")')
    assert.are.equal(1, code)
    assert.matches("404 SANDBOX_STATUS: status 404 as asked %(correlationId [%w-]+%)$", last_line(err))
  end)

  it("Ctrl-C cancels the transfer and exits 130", function()
    t.fault({fault = "hang", path = "/_sandbox/echo", count = 0})
    local cmd = ("%s %s -e %s"):format(t.env(), h.hlua,
      h.q('io.stderr:write("started\\n") harness.get("/_sandbox/echo")'))
    local t0 = require("hlua.host").clock()
    local _, err, code = h.interrupt(cmd, "started", 0.5)
    assert.are.equal(130, code, err)
    assert.is_true(require("hlua.host").clock() - t0 < 3 * h.slow)
  end)
end)
