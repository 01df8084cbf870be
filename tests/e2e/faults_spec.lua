-- Faults injected into the sandbox that errors_spec and transport_spec do
-- not cover yet, one test per fault with its expected outcome (the table
-- in README.md, "When things go wrong"). Already covered there: reset mid-body,
-- truncated body, HTML error pages, timeouts and slow bodies, a redirect
-- to another origin from /_sandbox/redirect, TLS with the wrong CA, Ctrl-C.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

-- Runs chunk with HARNESS_TRACE=1; returns stdout, stderr, exit code and
-- the number of exchanges (attempts) traced.
local function traced(chunk, vars)
  vars = vars or {}
  vars.HARNESS_TRACE = "1"
  local out, err, code = t.run(chunk, vars)
  local n = select(2, err:gsub("hlua: %u+ %S+ %-> ", ""))
  return out, err, code, n
end

local function last_line(s)
  return s:match("([^\n]*)\n?$")
end

describe_sandbox("faults", function()
  before_each(function() t.reset() end)
  after_each(function() t.reset() end)

  it("a 3-second 429 storm with Retry-After: 1 is waited out (default 5 retries)", function()
    t.fault({fault = "429", retry_after = "1", count = 0, path = "/ng/api/user/currentUser"})
    -- the storm ends when the rule goes, 3 s after the first 429 (counting
    -- from then, not from the start: hlua starts slowly under valgrind)
    local cmd = ([[( n=0; until curl -s %s | grep -q '"429": [0-9]' || [ $n -ge 600 ]; do sleep 0.05; n=$((n+1)); done
      sleep 3; curl -s -X DELETE %s >/dev/null ) & %s %s -e %s; rc=$?; wait; exit $rc]])
      :format(h.q(t.info.url .. "/_sandbox/stats"), h.q(t.info.url .. "/_sandbox/faults"),
        t.env({HARNESS_TRACE = "1"}), h.hlua,
        h.q("local t0 = require([[hlua.host]]).clock() print(harness.whoami().email) print(require([[hlua.host]]).clock() - t0)"))
    local out, err, code = h.sh(cmd)
    assert.equal(0, code, err)
    local email, secs = out:match("^(%S+)\n(%S+)\n$")
    assert.equal(t.info.user_email, email)
    local tries = select(2, err:gsub("%-> 429", ""))
    assert.is_true(tries >= 3 and tries <= 5, tries .. " answers 429")
    assert.is_true(tonumber(secs) >= 2.5, "done in " .. secs .. " s")
  end)

  it("a 429 storm longer than the retries: the 429 error, exit 1", function()
    t.fault({fault = "429", retry_after = "1", count = 0, path = "/ng/api/user/currentUser"})
    local _, err, code, n = traced("harness.whoami()", {HARNESS_RETRIES = "2"})
    assert.equal(1, code)
    assert.equal(3, n)
    assert.matches("^" .. h.prog .. ": User.GetCurrentUserInfo: GET /ng/api/user/currentUser: 429 TOO_MANY_REQUESTS", last_line(err))
  end)

  it("503 then success: retried, the script never sees the 503", function()
    t.fault({fault = "status", status = 503, count = 2, path = "/ng/api/user/currentUser"})
    local out, err, code, n = traced("print(harness.whoami().email)")
    assert.equal(0, code, err)
    assert.equal(3, n)
    assert.equal(t.info.user_email .. "\n", out)
  end)

  it("a server that accepts and never answers: a timeout, retried for GET, exit 1", function()
    t.fault({fault = "hang", count = 0, path = "/_sandbox/echo"})
    local _, err, code, n = traced('harness.get("/_sandbox/echo", {timeout = 0.3, retries = 1})')
    assert.equal(1, code)
    assert.equal(2, n)
    assert.matches("^" .. h.prog .. ": GET /_sandbox/echo: timed out", last_line(err))
    _, err, code, n = traced('harness.post("/_sandbox/echo", {timeout = 0.3, retries = 1})')
    assert.equal(1, code)
    assert.equal(1, n) -- sent, so a POST is not sent again
    assert.matches("^" .. h.prog .. ": POST /_sandbox/echo: timed out", last_line(err))
  end)

  it("a connection closed or reset without an answer: retried, then fine", function()
    for _, kind in ipairs({"drop", "reset"}) do
      t.reset()
      t.fault({fault = kind, count = 1, path = "/ng/api/user/currentUser"})
      local out, err, code, n = traced("print(harness.whoami().email)")
      assert.equal(0, code, kind .. ": " .. err)
      assert.equal(2, n, kind)
      assert.equal(t.info.user_email .. "\n", out)
    end
  end)

  it("an API answer redirecting a POST to another origin: not followed, nothing sent there", function()
    t.fault({fault = "redirect_other_origin", status = 307, count = 0, path = "/_sandbox/echo"})
    local _, err, code = t.run('harness.post("/_sandbox/echo", {json = {secret = "body"}})')
    assert.equal(1, code)
    assert.matches("^" .. h.prog .. ": POST /_sandbox/echo: 307: redirect to http://127%.0%.0%.1:%d+/_sandbox/echo", last_line(err))
    local log = t.ctl("GET", "/_sandbox/other-origin/log")
    assert.equal(0, log.total)
    assert.is_nil(err:find(t.info.api_key, 1, true))
  end)
end)
