-- lua/harness/request.lua and response.lua over a fake transport: the URL,
-- the key's origin, retries and backoff, redirects, and how results become
-- responses and harness.Errors. (Against the real HTTP module and the
-- sandbox: tests/e2e/http_spec.lua, errors_spec.lua, transport_spec.lua.)
local config = require "harness.config"
local request = require "harness.request"
local response = require "harness.response"
local json = require "harness.json"

local KEY = "pat.acc0unt01.t0ken01.S3cretS3cretS3cretAB"
local ENDPOINT = "https://harness.example"

-- A configuration of its own for each test (the real one comes back after).
local function use_config(env)
  local vars = {HARNESS_API_KEY = KEY, HARNESS_ENDPOINT = ENDPOINT, HOME = "/nonexistent"}
  for k, v in pairs(env or {}) do vars[k] = v or nil end
  local prev = config.use_world{
    getenv = function(name) return vars[name] end,
    read_file = function(path) return nil, path .. ": No such file or directory" end,
    file_mode = function() return nil end,
    cli = function() return {} end,
    warn = function() end,
  }
  finally(function() config.use_world(prev) end)
end

-- A transport answering from 'answers' (a list, used in turn; the last one
-- repeats), recording every request and every wait.
local function fake(answers)
  local t = {requests = {}, waits = {}}
  t.transfer = function(req)
    t.requests[#t.requests + 1] = req
    local a = answers[math.min(#t.requests, #answers)]
    if type(a) == "function" then a = a(req) end
    local r = {status = a.status or 200, headers = a.headers or {}, body = a.body or "",
               url = req.url, elapsed = 0.001, sent = a.sent ~= false}
    if a.error_kind then r.status, r.error, r.error_kind = 0, a.error or "failed", a.error_kind end
    return r
  end
  t.sleep = function(s) t.waits[#t.waits + 1] = s end
  t.request = request.new(t)
  return t
end

local function header(req, name)
  for _, line in ipairs(req.headers) do
    local n, v = line:match("^([^:]+):%s*(.*)$")
    if n:lower() == name:lower() then return v end
  end
end

describe("request: the URL and the headers", function()
  it("adds the endpoint, the account and the query (array values repeat the key)", function()
    use_config()
    local t = fake({{body = "{}"}})
    t.request("get", "/ng/api/projects", {query = {b = "x y", a = {"1", "2"}, no = false}})
    local req = t.requests[1]
    assert.equal("GET", req.method)
    assert.equal(ENDPOINT .. "/ng/api/projects?a=1&a=2&accountIdentifier=acc0unt01&b=x%20y", req.url)
    assert.equal(KEY, header(req, "x-api-key"))
    assert.equal("acc0unt01", header(req, "Harness-Account"))
    assert.equal("application/json", header(req, "Accept"))
  end)

  it("sends a JSON body with its content type, and no key to another origin", function()
    use_config()
    local t = fake({{body = "{}"}})
    t.request("POST", "https://elsewhere.example/hook", {json = {a = 1}})
    local req = t.requests[1]
    assert.equal("https://elsewhere.example/hook", req.url)
    assert.equal('{"a":1}', req.body)
    assert.equal("application/json", header(req, "Content-Type"))
    assert.is_nil(header(req, "x-api-key"))
    assert.is_nil(header(req, "Harness-Account"))
  end)

  it("refuses line breaks in headers and names the bad argument", function()
    use_config()
    local t = fake({{}})
    assert.has_error(function() t.request("GET", "/x", {headers = {A = "b\r\nX-Evil: 1"}}) end,
      "bad argument 'headers' to 'harness.request' (header A holds a line break)")
    assert.has_error(function() t.request(1, "/x") end,
      "bad argument #1 to 'harness.request' (method expected, got number)")
    assert.equal(0, #t.requests)
  end)
end)

describe("request: retries", function()
  it("retries 502/503/504 for GET with backoff, and says how many", function()
    use_config()
    local t = fake({{status = 503}, {status = 502}, {status = 200, body = "{}"}})
    local res = t.request("GET", "/x")
    assert.equal(200, res.status)
    assert.equal(2, res.retries)
    assert.equal(2, #t.waits)
    assert.is_true(t.waits[1] >= 0 and t.waits[1] <= 0.5)
    assert.is_true(t.waits[2] >= 0 and t.waits[2] <= 1.0)
  end)

  it("does not retry a POST on 503, but does on 429 and before it was sent", function()
    use_config()
    local t = fake({{status = 503}})
    assert.equal(503, t.request("POST", "/x").status)
    assert.equal(1, #t.requests)
    t = fake({{status = 429}, {status = 201}})
    assert.equal(201, t.request("POST", "/x").status)
    t = fake({{error_kind = "transport", sent = false}, {status = 201}})
    assert.equal(201, t.request("POST", "/x").status)
    t = fake({{error_kind = "transport", sent = true}})
    local res, err = t.request("POST", "/x")
    assert.is_nil(res)
    assert.equal("transport", err.kind)
    assert.equal(1, #t.requests)
  end)

  it("waits as Retry-After says (seconds or a date), capped", function()
    use_config()
    local t = fake({{status = 429, headers = {["retry-after"] = "7"}}, {status = 200}})
    t.request("GET", "/x")
    assert.same({7}, t.waits)
    t = fake({{status = 429, headers = {["retry-after"] = "100000"}}, {status = 200}})
    t.request("GET", "/x")
    assert.same({300}, t.waits)
    assert.equal(0, request.retry_after("Thu, 01 Jan 1970 00:00:00 GMT"))
    assert.is_nil(request.retry_after("soon"))
  end)

  it("gives up after the retries and returns the last answer", function()
    use_config({HARNESS_RETRIES = "2"})
    local t = fake({{status = 503}})
    local res = t.request("GET", "/x")
    assert.equal(503, res.status)
    assert.equal(2, res.retries)
    assert.equal(3, #t.requests)
  end)

  it("never retries TLS failures, and raises on Ctrl-C", function()
    use_config()
    local t = fake({{error_kind = "tls", error = "bad certificate"}})
    local res, err = t.request("GET", "/x")
    assert.is_nil(res)
    assert.equal("tls", err.kind)
    assert.matches("HARNESS_CA_BUNDLE", err.message)
    t = fake({{error_kind = "interrupted", error = "interrupted"}})
    local ok, e = pcall(t.request, "GET", "/x")
    assert.is_false(ok)
    assert.equal("interrupted", e.kind)
  end)
end)

describe("request: redirects", function()
  it("follows redirects within the origin, with the key", function()
    use_config()
    local t = fake({{status = 302, headers = {location = "/moved?x=1"}}, {status = 200, body = "{}"}})
    local res = t.request("GET", "/start")
    assert.equal(200, res.status)
    assert.equal(ENDPOINT .. "/moved?x=1", t.requests[2].url)
    assert.equal(KEY, header(t.requests[2], "x-api-key"))
  end)

  it("turns a POST into a GET without its body on 303", function()
    use_config()
    local t = fake({{status = 303, headers = {location = "/result"}}, {status = 200}})
    t.request("POST", "/start", {json = {a = 1}})
    assert.equal("GET", t.requests[2].method)
    assert.is_nil(t.requests[2].body)
  end)

  it("does not follow a redirect to another origin, nor more than 5", function()
    use_config()
    local t = fake({{status = 302, headers = {location = "https://evil.example/x"}}})
    local res = t.request("GET", "/start")
    assert.equal(302, res.status)
    assert.equal(1, #t.requests)
    t = fake({{status = 302, headers = {location = "/again"}}})
    assert.equal(302, t.request("GET", "/start").status)
    assert.equal(6, #t.requests)
  end)
end)

describe("response: what the verbs return and raise", function()
  local function res(status, body, headers)
    return response.new({status = status, body = body, headers = headers or {}, url = ENDPOINT .. "/x"},
      "GET", "/x", 0)
  end

  it("returns the decoded body, the raw text, or nil when empty", function()
    use_config()
    assert.same({a = 1}, response.body(res(200, '{"a":1}'), 0))
    assert.equal("plain", response.body(res(200, "plain", {["content-type"] = "text/plain"}), 0))
    assert.is_nil(response.body(res(204, ""), 0))
  end)

  it("raises Harness's code, message and correlation id for a failure", function()
    use_config()
    local ok, e = pcall(response.body, res(404, json.encode{status = "ERROR", code = "RESOURCE_NOT_FOUND",
      message = "Project x not found", correlationId = "c-1"}), 0)
    assert.is_false(ok)
    assert.equal("GET /x: 404 RESOURCE_NOT_FOUND: Project x not found (correlationId c-1)", tostring(e))
    ok, e = pcall(response.body, res(200, '{"status":"FAILURE","code":"INVALID_REQUEST","message":"bad"}'), 0)
    assert.equal("INVALID_REQUEST", e.code)
  end)

  it("names an HTML page by its title, and a body that is not JSON", function()
    use_config()
    local _, e = pcall(response.body, res(502, "<html><title>502 Bad Gateway</title></html>",
      {["content-type"] = "text/html"}), 0)
    assert.equal("502 Bad Gateway", e.message)
    _, e = pcall(response.body, res(200, "{oops", {["content-type"] = "application/json"}), 0)
    assert.equal("json", e.kind)
    assert.matches("^response is not valid JSON", e.message)
  end)

  it("redacts the key wherever a server echoes it", function()
    use_config()
    local _, e = pcall(response.body, res(400, json.encode{code = "X", message = "bad key " .. KEY}), 0)
    assert.not_matches(KEY, tostring(e), 1, true)
    assert.is_nil(e.body:find(KEY, 1, true))
    assert.matches("pat.acc0unt01.t0ken01.****", e.message, 1, true)
  end)
end)
