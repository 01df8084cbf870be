-- harness.core: requests (contract §3.1, §4) and the small things (§3.5).
-- The host requires it once, on the first access to a harness field it
-- does not know; it fills the harness table. The transfers themselves are
-- hlua_http's (C); every wait goes through harness.sched so that requests
-- inside tasks yield.
local harness = harness
local config = require "harness.config"
local sched = require "harness.sched"

local client -- the one hlua_http client: one connection cache for all

local function get_client()
  if not client then client = require("hlua_http").client() end
  return client
end

local IDEMPOTENT = {GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true}
local RETRY_STATUS = {[429] = true, [502] = true, [503] = true, [504] = true}
local REDIRECT = {[301] = true, [302] = true, [303] = true, [307] = true, [308] = true}
local MAX_REDIRECTS = 5
local BODY_IN_ERROR = 4096
local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [409] = "Conflict", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}

-- ---------- logging ----------

local LEVELS = {debug = 1, info = 2, warn = 3, error = 4}

local log = {}
local function log_level()
  return LEVELS[(os.getenv("HARNESS_LOG") or "info"):lower()] or LEVELS.info
end
for name, n in pairs(LEVELS) do
  log[name] = function(fmt, ...)
    if n < log_level() then return end
    local msg = select("#", ...) > 0 and tostring(fmt):format(...) or tostring(fmt)
    io.stderr:write(("[%s] %s\n"):format(name, config.redact(msg)))
  end
end

-- ---------- URLs ----------

local function urlencode(s)
  return (tostring(s):gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- Appends opts.query (sorted keys; array values repeat the key) to 'url'.
local function add_query(url, query)
  local keys = {}
  for k in pairs(query) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = query[k]
    if v == nil then v = query[tonumber(k)] end
    if type(v) == "table" then
      for _, item in ipairs(v) do parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(item) end
    elseif v ~= false and v ~= harness.json.null then
      parts[#parts + 1] = urlencode(k) .. "=" .. urlencode(v)
    end
  end
  if #parts == 0 then return url end
  local frag = url:match("#.*$") or ""
  url = url:gsub("#.*$", "")
  local sep = url:find("?", 1, true) and (url:match("[?&]$") and "" or "&") or "?"
  return url .. sep .. table.concat(parts, "&") .. frag
end

local function has_param(url, query, name)
  if query and query[name] ~= nil then return true end
  return url:match("[?&]" .. name .. "=") ~= nil
end

-- Resolves a Location header against the URL it came from.
local function resolve_location(base, loc)
  if loc:match("^%a[%w+.-]*://") then return loc end
  local u = config.parse_url(base)
  local prefix = base:match("^(%a[%w+.-]*://[^/?#]*)")
  if loc:sub(1, 2) == "//" then return u.scheme .. ":" .. loc end
  if loc:sub(1, 1) == "/" then return prefix .. loc end
  local dir = base:match("^([^?#]*/)") or (prefix .. "/")
  return dir .. loc
end

-- ---------- headers ----------

-- Normalizes opts.headers (map or "Name: value" lines) into a list of
-- {name, value}, refusing line breaks (header injection).
local function user_headers(h)
  local list = {}
  if h == nil then return list end
  if type(h) ~= "table" then error("opts.headers must be a table", 3) end
  for k, v in pairs(h) do
    local name, value
    if math.type(k) == "integer" then
      name, value = tostring(v):match("^([^:]+):%s*(.*)$")
      if not name then error(("header %q is not \"Name: value\""):format(tostring(v)), 3) end
    else
      name, value = tostring(k), tostring(v)
    end
    if (name .. value):find("[\r\n]") then error("header " .. name .. " holds a line break", 3) end
    list[#list + 1] = {name, value}
  end
  return list
end

local function find_header(list, name)
  name = name:lower()
  for _, h in ipairs(list) do
    if h[1]:lower() == name then return h end
  end
end

local function header_lines(list)
  local lines = {}
  for i, h in ipairs(list) do lines[i] = h[1] .. ": " .. h[2] end
  return lines
end

-- ---------- trace ----------

local function cut(s, n)
  if #s <= n then return s end
  return s:sub(1, n) .. ("... (%d bytes)"):format(#s)
end

local function trace_exchange(level, req, r, retries)
  local out = io.stderr
  local status = r.error and (r.error_kind .. ": " .. r.error) or tostring(r.status)
  out:write(config.redact(("hlua: %s %s -> %s, %d bytes, %.0f ms, %d %s\n"):format(
    req.method, req.url, status, #(r.body or ""), (r.elapsed or 0) * 1000, retries,
    retries == 1 and "retry" or "retries")))
  if level < 2 then return end
  for _, h in ipairs(req.trace_headers) do
    local v = h[1]:lower() == "x-api-key" and config.mask(h[2]) or h[2]
    out:write(("  > %s: %s\n"):format(h[1], v))
  end
  if req.body and #req.body > 0 then out:write("  > ", config.redact(cut(req.body, 2048)), "\n") end
  local names = {}
  for k in pairs(r.headers or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    out:write(config.redact(("  < %s: %s\n"):format(k, r.headers[k])))
  end
  if r.body and #r.body > 0 then out:write("  < ", config.redact(cut(r.body, 2048)), "\n") end
end

-- ---------- retries ----------

-- Seconds a Retry-After header asks for (seconds or an HTTP date), or nil.
local function retry_after(value)
  if not value then return nil end
  local n = tonumber(value)
  if n then return math.max(0, n) end
  local months = {Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8,
                  Sep = 9, Oct = 10, Nov = 11, Dec = 12}
  local d, mon, y, hh, mm, ss = value:match("%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT")
  if not d or not months[mon] then return nil end
  -- os.time reads a local time: shift by the zone offset to read UTC
  local now = os.time()
  local utc_now = os.time(os.date("!*t", now))
  local t = os.time({year = tonumber(y), month = months[mon], day = tonumber(d),
                     hour = tonumber(hh), min = tonumber(mm), sec = tonumber(ss)})
  return math.max(0, t + (now - utc_now) - now)
end

-- Whether a result may be retried (contract §4.3).
local function should_retry(method, r)
  if r.error then
    local kind = r.error_kind
    if kind == "timeout" then return IDEMPOTENT[method] or not r.sent end
    if kind == "transport" then return IDEMPOTENT[method] or not r.sent end
    return false -- tls, too_large, interrupted, cancelled
  end
  if r.status == 429 then return true end
  return RETRY_STATUS[r.status] and IDEMPOTENT[method] or false
end

-- Full jitter: a random wait up to base * 2^attempt, capped; Retry-After wins.
local function backoff(s, attempt, r)
  local after = r.headers and retry_after(r.headers["retry-after"])
  if after then return math.min(after, math.max(s.retry_cap, 1) * 10) end
  return math.random() * math.min(s.retry_cap, s.retry_base * 2 ^ (attempt - 1))
end

-- ---------- responses ----------

local Response = {}
Response.__index = Response
Response.__name = "harness.Response"

-- res:json() -> the decoded body (cached); raises a json error when it is not JSON.
function Response:json()
  if self._json == nil then
    local ok, v = pcall(harness.json.decode, self.body)
    if not ok then
      error(harness._error({kind = "json", status = self.status, url = self.url,
        message = config.redact("response is not valid JSON: " ..
          tostring(type(v) == "table" and v.message or v)),
        body = config.redact(cut(self.body, BODY_IN_ERROR))}), 2)
    end
    self._json = {v}
  end
  return self._json[1]
end

local function make_response(r, retries)
  return setmetatable({
    status = r.status, headers = r.headers, body = r.body, url = r.url,
    ok = r.status >= 200 and r.status < 300, elapsed = r.elapsed, retries = retries,
  }, Response)
end

-- ---------- the request ----------

-- Builds the URL and tells whether it is relative to the endpoint.
local function build_url(s, path, opts)
  local url, relative
  if path:match("^%a[%w+.-]*://") then
    url, relative = path, false
    if not config.parse_url(url) then error(("not an http(s) URL: %s"):format(path), 3) end
  else
    if path:sub(1, 1) ~= "/" then path = "/" .. path end
    url, relative = s.endpoint .. path, true
  end
  local query = opts.query
  if query ~= nil and type(query) ~= "table" then error("opts.query must be a table", 3) end
  if relative and opts.account ~= false and not has_param(url, query, "accountIdentifier") then
    local merged = {}
    for k, v in pairs(query or {}) do merged[k] = v end
    merged.accountIdentifier = config.account()
    query = merged
  end
  if query then url = add_query(url, query) end
  return url, relative
end

-- The headers for one hop: the user's, Accept, Content-Type, and the key
-- and account only on the endpoint's origin.
local function hop_headers(base, url, relative, account)
  local list = {}
  for i, h in ipairs(base) do list[i] = h end
  local key = config.key_for(url)
  if key and not find_header(list, "x-api-key") then list[#list + 1] = {"x-api-key", key} end
  if key and relative and account and not find_header(list, "harness-account") then
    list[#list + 1] = {"Harness-Account", account}
  end
  return list
end

local function transport_error(method, path, url, r, retries)
  local msg = r.error
  if r.error_kind == "tls" then
    msg = msg .. " (a private CA? set HARNESS_CA_BUNDLE)"
  elseif r.error_kind == "timeout" then
    msg = "timed out: " .. msg
  end
  return harness._error({kind = r.error_kind, message = config.redact(msg), method = method,
    path = path, url = url, retries = retries, curl_code = r.curl_code})
end

-- harness.request(method, path_or_url, opts) -> response | nil, err
local function request(method, path, opts)
  if type(method) ~= "string" then error("bad argument #1 to 'request' (method expected)", 2) end
  if type(path) ~= "string" then error("bad argument #2 to 'request' (path or URL expected)", 2) end
  if opts ~= nil and type(opts) ~= "table" then error("bad argument #3 to 'request' (table expected)", 2) end
  opts = opts or {}
  method = method:upper()
  local s = config.settings()
  if sched.max_in_flight == nil then sched.max_in_flight = s.max_in_flight end -- a profile's cap
  if not path:match("^%a[%w+.-]*://") then config.key_for(s.endpoint) end -- no key: say so first
  local url, relative = build_url(s, path, opts)
  local account = relative and opts.account ~= false and config.account() or nil
  local base = user_headers(opts.headers)
  local body = opts.body
  if opts.json ~= nil then
    body = harness.json.encode(opts.json)
    if not find_header(base, "content-type") then base[#base + 1] = {"Content-Type", "application/json"} end
  elseif body ~= nil then
    if type(body) ~= "string" then error("opts.body must be a string", 2) end
    if opts.content_type and not find_header(base, "content-type") then
      base[#base + 1] = {"Content-Type", opts.content_type}
    end
  end
  if not find_header(base, "accept") then base[#base + 1] = {"Accept", "application/json"} end
  local max_retries = opts.retries or s.retries
  local timeout = opts.timeout or s.timeout
  local retries, hops = 0, 0
  while true do
    local headers = hop_headers(base, url, relative, account)
    local req = {method = method, url = url, headers = header_lines(headers), body = body,
                 timeout = timeout, connect_timeout = s.connect_timeout,
                 max_size = opts.max_size or s.max_size, ca_bundle = s.ca_bundle}
    local r = sched.transfer(get_client(), req)
    if s.trace > 0 then
      req.trace_headers = headers
      trace_exchange(s.trace, req, r, retries)
    end
    if r.error_kind == "interrupted" then
      error(transport_error(method, path, url, r, retries), 0)
    end
    if should_retry(method, r) and retries < max_retries then
      retries = retries + 1
      sched.sleep(backoff(s, retries, r))
    elseif r.error then
      return nil, transport_error(method, path, url, r, retries)
    elseif REDIRECT[r.status] and r.headers.location and hops < MAX_REDIRECTS
        and config.origin(resolve_location(url, r.headers.location)) == config.origin(url) then
      hops = hops + 1
      url = resolve_location(url, r.headers.location)
      if r.status == 303 or ((r.status == 301 or r.status == 302) and method == "POST") then
        method, body = "GET", nil
      end
    else
      local res = make_response(r, retries)
      res.method, res.path = method, path
      return res
    end
  end
end

-- ---------- the verbs ----------

local function looks_json(res)
  local ct = res.headers["content-type"] or ""
  return ct:find("json", 1, true) or res.body:match("^%s*[{%[]")
end

-- Text for an error from a non-JSON body: an HTML page's title or text.
local function excerpt(body)
  local title = body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>(.-)</")
  local text = title or body:gsub("<[^>]*>", " ")
  text = text:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  return cut(text, 200)
end

-- A harness.Error for a response that is not a success.
local function http_error(method, path, res, decoded)
  local e = {kind = "http", status = res.status, method = method, path = path, url = res.url,
             body = config.redact(cut(res.body, BODY_IN_ERROR)), retries = res.retries,
             headers = res.headers}
  if type(decoded) == "table" then
    e.code = decoded.code
    e.message = decoded.message or decoded.detailedMessage or decoded.error
    e.correlation_id = decoded.correlationId
  end
  if e.message == nil or e.message == harness.json.null then
    if #res.body > 0 and not looks_json(res) then
      e.message = excerpt(res.body)
    else
      e.message = REASONS[res.status] or ("HTTP " .. res.status)
    end
  end
  if REDIRECT[res.status] then
    e.message = ("redirect to %s not followed (another origin, or too many)"):format(
      tostring(res.headers.location))
  end
  for k, v in pairs(e) do if v == harness.json.null then e[k] = nil end end
  e.message = tostring(e.message)
  for k, v in pairs(e) do -- a server may echo the key in any field
    if type(v) == "string" then e[k] = config.redact(v) end
  end
  return harness._error(e)
end

-- The decoded body of a response (raw string when not JSON, nil when
-- empty), or a raised harness.Error for a failure: what the verbs return,
-- and what paging reads each page with.
local function body_of(method, path, res, level)
  local decoded, bad
  if #res.body > 0 and looks_json(res) then
    local ok, v = pcall(harness.json.decode, res.body)
    if ok then decoded = v else bad = v end
  end
  if not res.ok then error(http_error(method, path, res, decoded), level) end
  if bad then
    error(harness._error({kind = "json", status = res.status, method = method, path = path,
      url = res.url, body = config.redact(cut(res.body, BODY_IN_ERROR)),
      message = config.redact("response is not valid JSON: " ..
        tostring(type(bad) == "table" and bad.message or bad))}), level)
  end
  if type(decoded) == "table" and (decoded.status == "ERROR" or decoded.status == "FAILURE") then
    error(http_error(method, path, res, decoded), level)
  end
  if decoded ~= nil then return decoded end
  if #res.body == 0 then return nil end
  return res.body
end

-- The verbs: request, then body_of; raise where the script called them.
local function verb(method)
  return function(path, opts)
    local res, err = request(method, path, opts)
    if not res then error(err, 2) end
    return body_of(method, path, res, 3)
  end
end

-- ---------- filling the harness table ----------

harness.request = request
harness.get = verb("GET")
harness.post = verb("POST")
harness.put = verb("PUT")
harness.patch = verb("PATCH")
harness.delete = verb("DELETE")
harness.log = log
harness.config = config.public
harness.whoami = function()
  local body = harness.get("/ng/api/user/currentUser")
  return type(body) == "table" and body.data or body
end
harness.env = function(name, default)
  if type(name) ~= "string" then error("bad argument #1 to 'env' (string expected)", 2) end
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end
harness._http_client = get_client -- for the scheduler and tests
harness._body = function(method, path, res) return body_of(method, path, res, 0) end -- for paging
for _, name in ipairs({"spawn", "all", "map", "sleep"}) do
  if sched[name] ~= nil then harness[name] = sched[name] end
end

return harness
