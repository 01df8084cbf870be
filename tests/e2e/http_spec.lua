-- harness.request and the verbs, end to end through build/hlua against the
-- sandbox (lua/harness/request.lua, response.lua, src/http.c).
local t = require "tests.support.http_helper"

describe("harness.request", function()
  before_each(function() t.reset() end)

  it("gets the current user with the verb", function()
    local out, err, code = t.run('print(harness.whoami().email)')
    assert.are.equal(t.info.user_email .. "\n", out, err)
    assert.are.equal(0, code)
  end)

  it("returns a response table for any status", function()
    local out, err, code = t.run([[
      local r = assert(harness.request("GET", "/ng/api/user/currentUser"))
      print(r.status, r.ok, r.headers["content-type"], r:json().data.email == r:json().data.email,
            r.url:match("^http://127") ~= nil, type(r.elapsed))
      local e = assert(harness.request("GET", "/_sandbox/status/404"))
      print(e.status, e.ok, e:json().code)]])
    assert.are.equal(0, code, err)
    assert.are.equal("200\ttrue\tapplication/json\ttrue\ttrue\tnumber\n" ..
      "404\tfalse\tSANDBOX_STATUS\n", out)
  end)

  it("adds the account, the key and the query; keeps a query in the path", function()
    local out, err, code = t.run([[
      local e = harness.get("/_sandbox/echo?x=1", {query = {tag = {"a b", "c"}, n = 5}})
      print(e.target)
      print(e.headers["harness-account"], e.headers["x-api-key"] ~= nil)
      e = harness.get("/_sandbox/echo", {account = false})
      print(e.target, e.headers["harness-account"], e.headers["x-api-key"] ~= nil)]])
    assert.are.equal(0, code, err)
    assert.are.equal("/_sandbox/echo?x=1&accountIdentifier=" .. t.info.account ..
      "&n=5&tag=a%20b&tag=c\n" .. t.info.account .. "\ttrue\n" ..
      "/_sandbox/echo\tnil\ttrue\n", out)
  end)

  it("sends JSON and string bodies with their content type", function()
    local out, err, code = t.run([[
      local e = harness.post("/_sandbox/echo", {json = {name = "x"}})
      print(e.method, e.headers["content-type"], e.body)
      e = harness.put("/_sandbox/echo", {body = "a: 1", content_type = "application/yaml"})
      print(e.method, e.headers["content-type"], e.body)
      e = harness.patch("/_sandbox/echo", {json = {}})
      print(e.method)
      e = harness.delete("/_sandbox/echo")
      print(e.method, e.body_bytes == 0)]])
    assert.are.equal(0, code, err)
    assert.are.equal('POST\tapplication/json\t{"name":"x"}\nPUT\tapplication/yaml\ta: 1\n' ..
      "PATCH\nDELETE\ttrue\n", out)
  end)

  it("works with a /gateway prefix in the endpoint", function()
    local out, err, code = t.run('print(harness.whoami().email)',
      {HARNESS_ENDPOINT = t.info.url .. "/gateway/"})
    assert.are.equal(0, code, err)
    assert.are.equal(t.info.user_email .. "\n", out)
  end)

  it("gives nil for a 204 with no body", function()
    local out, err, code = t.run('print(harness.get("/_sandbox/status/204"))' ..
      ' print(harness.request("GET", "/_sandbox/status/204").body == "")')
    assert.are.equal(0, code, err)
    assert.are.equal("nil\ntrue\n", out)
  end)

  it("returns the raw string for a body that is not JSON", function()
    local out, err, code = t.run('print(harness.get("/_sandbox/bytes", {query = {n = 5, type = "text/plain"}}))')
    assert.are.equal(0, code, err)
    assert.are.equal("01234\n", out)
  end)

  it("decompresses gzip bodies", function()
    local out, err, code = t.run([[
      local r = harness.request("GET", "/_sandbox/bytes", {query = {n = 100000, type = "application/json"}})
      print(r.headers["content-encoding"], #r.body, r.body:sub(1, 20))]])
    assert.are.equal(0, code, err)
    assert.are.equal("gzip\t100000\t0123456789abcdef0123\n", out)
  end)

  it("makes 100 sequential requests over one connection", function()
    local _, err, code = t.run([[
      for i = 1, 100 do harness.get("/ng/api/user/currentUser") end]])
    assert.are.equal(0, code, err)
    local s = t.stats()
    assert.are.equal(100, s.requests)
    -- the stats request itself came on a connection of its own
    assert.are.equal(1, s.connections.http - 1)
  end)

  it("refuses misuse with a Lua error", function()
    local _, err, code = t.run('harness.request(5, "/x")')
    assert.are.equal(1, code)
    assert.matches("bad argument #1 to 'harness.request'", err)
    _, err = t.run('harness.get("/x", {headers = {"X-A: 1\\r\\nX-B: 2"}})')
    assert.matches("line break", err)
  end)

  it("prints results with -p and never the key", function()
    local h = require "tests.support.helper"
    local out, err, code = h.run("-p 'harness.config()' -p 'harness.whoami().email'", nil, t.env())
    assert.are.equal(0, code, err)
    assert.is_nil(out:find(t.info.api_key, 1, true))
    assert.truthy(out:find(t.info.user_email, 1, true))
  end)
end)
