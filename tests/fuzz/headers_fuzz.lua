-- headers fuzz target (tests/fuzz/lua_fuzz.c, built WITH_HTTP): what the
-- request and response layers (lua/harness/request.lua, response.lua)
-- make of any response. The input is
--   byte 1: the verb, the trace level, retries allowed, a transport error
--   then a raw header block ("HTTP/1.1 503 x\r\nRetry-After: 2\r\n...")
--   up to the first empty line, then the body.
-- "@KEY@" anywhere in it becomes the API key (a server echoing it). The
-- header block goes through the HTTP module's own parser; a fake
-- transport answers every request with it and makes backoff waits
-- instant; the configuration reads a made-up world. Invariants:
-- a verb returns or raises a harness.Error (never another Lua error) that
-- prints as one line; request() returns a response or nil and an error;
-- res:json() returns or raises a json error; backoff waits are finite and
-- capped (Retry-After of any shape); the key never shows in errors or in
-- the HARNESS_TRACE=2 output.
local KEY = "pat.fuzzAccount01.fuzzToken01.FuzzSecretFuzzSecret"
local ERROR_KINDS = {http = true, json = true, transport = true, timeout = true, tls = true,
                     too_large = true}

return function(data)
  local flags = data:byte(1) or 0
  data = data:sub(2):gsub("@KEY@", KEY)
  local head, body = data:match("^(.-\r?\n)\r?\n(.*)$")
  if not head then head, body = data, "" end
  local status, headers = require("hlua_http").parse_head(head)
  local method = ({"GET", "POST", "PUT", "DELETE"})[flags % 4 + 1]
  local trace = (flags >> 2) % 3
  local retries = (flags >> 4) % 3
  local failure = ({nil, "timeout", "transport", "tls"})[(flags >> 6) + 1]

  -- the outside world, made up
  local waits, out = {}, {}
  local env = {HARNESS_API_KEY = KEY, HARNESS_ENDPOINT = "https://app.example",
               HARNESS_TRACE = tostring(trace), HOME = "/nonexistent",
               HARNESS_RETRY_BASE = "0.5"}
  require("harness.config").use_world{
    getenv = function(name) return env[name] end,
    read_file = function(path) return nil, path .. ": No such file or directory" end,
    file_mode = function() return 384 end,
    cli = function() return {} end,
    warn = function(line) out[#out + 1] = line end,
  }
  io.stderr = {write = function(self, ...) -- luacheck: ignore (the trace)
    for _, x in ipairs({...}) do out[#out + 1] = tostring(x) end
    return self
  end}
  local request = require("harness.request").new{
    transfer = function(req)
      assert(type(req.url) == "string" and type(req.method) == "string", "a strange request")
      local r = {status = status, headers = headers, body = body,
                 url = "https://app.example/ng/api/x", elapsed = 0.001, sent = true, curl_code = 0}
      if failure then r.status, r.error, r.error_kind = 0, "fuzz " .. failure, failure end
      return r
    end,
    sleep = function(s) waits[#waits + 1] = s end,
  }
  local response = require "harness.response"

  local function check_error(e, what)
    assert(harness.is_error(e), what .. " raised something not a harness.Error: " .. tostring(e))
    assert(ERROR_KINDS[e.kind], what .. ": an error of kind " .. tostring(e.kind))
    local line = tostring(e)
    assert(not line:find("[\r\n]"), what .. ": an error of more than one line")
    for _, field in ipairs({line, e.message, e.body}) do
      assert(type(field) ~= "string" or not field:find(KEY, 1, true), what .. ": the key shows in the error")
    end
  end

  -- what a verb does: request, then the body
  local ok, v = pcall(function()
    local res, err = request(method, "/ng/api/x", {retries = retries, json = method ~= "GET" and {} or nil})
    if not res then error(err, 0) end
    return response.body(res, 0)
  end)
  if not ok then check_error(v, method) end

  local res, err = request(method, "/ng/api/x", {retries = 0})
  if res then
    assert(res.status == status and type(res.headers) == "table", "a strange response")
    local okj, j = pcall(res.json, res)
    if not okj then check_error(j, "res:json()") end
  else
    check_error(err, "request")
  end

  for _, w in ipairs(waits) do
    assert(w == w and w >= 0 and w <= 300, "a backoff wait of " .. tostring(w) .. " s")
  end
  local trace_text = table.concat(out)
  assert(not trace_text:find(KEY, 1, true), "the key shows in the trace")
end
