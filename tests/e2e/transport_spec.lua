-- Where the key may go, TLS, redirects and the trace.
local t = require "tests.support.http_helper"

describe("transport", function()
  before_each(function() t.reset() end)

  it("never sends the key to another origin on a redirect", function()
    local out, err, code = t.run([[
      local r = harness.request("GET", "/_sandbox/redirect", {query = {origin = "other", to = "/steal"}})
      print(r.status, r.headers.location ~= nil)
      harness.get("/_sandbox/redirect", {query = {origin = "other", to = "/steal"}})]])
    assert.are.equal(1, code)
    assert.are.equal("302\ttrue\n", out)
    assert.matches("302: redirect to http://127.0.0.1:%d+/steal not followed", err)
    assert.are.equal(0, t.stats().other_origin_requests)
  end)

  it("sends no key to an absolute URL elsewhere", function()
    local out, err, code = t.run(('print(harness.get(%q).data.origin)'):format(
      t.info.other_origin_url .. "/somewhere"))
    assert.are.equal(0, code, err)
    assert.are.equal("other\n", out)
    local log = t.ctl("GET", "/_sandbox/other-origin/log")
    assert.are.equal(1, log.total)
    assert.are.equal(0, log.with_api_key)
  end)

  it("follows redirects within the origin, with the key", function()
    local out, err, code = t.run([[
      local e = harness.get("/_sandbox/redirect", {query = {to = "/_sandbox/echo?x=1", status = 307}})
      print(e.target, e.headers["x-api-key"] ~= nil)]])
    assert.are.equal(0, code, err)
    assert.are.equal("/_sandbox/echo?x=1\ttrue\n", out)
  end)

  it("stops after 5 redirects", function()
    local _, err, code = t.run([[
      local to = "/_sandbox/echo"
      for _ = 1, 6 do
        to = "/_sandbox/redirect?to=" .. to:gsub("[?=&%%]", function(c) return ("%%%02X"):format(c:byte()) end)
      end
      harness.get(to)]], {HARNESS_TRACE = "1"})
    assert.are.equal(1, code)
    assert.are.equal(6, select(2, err:gsub("%-> 302", "")))
    assert.matches("302: redirect to .* not followed", err)
  end)

  it("refuses plain http to a host that is not loopback", function()
    local _, err, code = t.run('harness.get("/x")', {HARNESS_ENDPOINT = "http://example.com"})
    assert.are.equal(1, code)
    assert.matches("refusing plain http://", err, 1, true)
  end)

  it("verifies TLS: the right CA passes, a wrong one fails and is not retried", function()
    local out, err, code = t.run('print(harness.whoami().email)',
      {HARNESS_ENDPOINT = t.info.tls_url, HARNESS_CA_BUNDLE = t.info.ca_file})
    assert.are.equal(0, code, err)
    assert.are.equal(t.info.user_email .. "\n", out)
    t.reset()
    local _, err2, code2 = t.run('harness.whoami()', {HARNESS_ENDPOINT = t.info.tls_url,
      HARNESS_CA_BUNDLE = t.info.wrong_ca_file, HARNESS_TRACE = "1"})
    assert.are.equal(1, code2)
    assert.matches("HARNESS_CA_BUNDLE", err2, 1, true)
    local tries = select(2, err2:gsub("%-> tls: ", ""))
    assert.are.equal(1, tries)
    local s = t.stats()
    assert.are.equal(0, s.by_listener.tls or 0)
  end)

  it("takes SSL_CERT_FILE too", function()
    local out, err, code = t.run('print(harness.whoami().email)',
      {HARNESS_ENDPOINT = t.info.tls_url, SSL_CERT_FILE = t.info.ca_file})
    assert.are.equal(0, code, err)
    assert.are.equal(t.info.user_email .. "\n", out)
  end)

  it("traces one line per exchange", function()
    local _, err, code = t.run('harness.whoami()', {}, "--trace")
    assert.are.equal(0, code, err)
    assert.matches("^hlua: GET http://127%.0%.0%.1:%d+/ng/api/user/currentUser%?accountIdentifier=%w+ " ..
      "%-> 200, %d+ bytes, %d+ ms, 0 retries\n$", err)
  end)

  it("keeps the key out of everything at HARNESS_TRACE=2", function()
    t.fault({fault = "429", path = "/ng/api/user/currentUser", count = 1})
    local out, err, code = t.run([[
      print(harness.json.encode(harness.config()))
      harness.whoami()
      harness.get("/_sandbox/echo")
      local ok, e = pcall(harness.get, "/_sandbox/status/401")
      print(tostring(e), harness.json.encode(e.body))]], {HARNESS_TRACE = "2"})
    assert.are.equal(0, code, err)
    assert.matches("> x%-api%-key: pat%.%w+%.%w+%.%*%*%*%*", err)
    assert.matches("< content-type: application/json", err, 1, true)
    assert.is_nil(err:find(t.info.api_key, 1, true))
    assert.is_nil(out:find(t.info.api_key, 1, true))
    local secret = t.info.api_key:match("([^.]+)$")
    assert.is_nil((out .. err):find(secret, 1, true))
  end)
end)
