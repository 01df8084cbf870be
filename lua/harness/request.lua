-- harness.request: the policy of one request, from harness.request(method,
-- path, opts) to a harness.Response: the URL (endpoint, account, query),
-- the headers (the key only for the endpoint's origin), retries with
-- backoff, redirects within the origin, and the trace. The transport that
-- moves the bytes is a parameter (see M.new), so that this policy runs the
-- same over the real HTTP module and over a fake one in tests.
local config = require "harness.config"
local url = require "harness.url"
local trace = require "harness.trace"
local log = require "harness.log"
local check = require "harness.check"
local response = require "harness.response"
local json = require "harness.json"

local M = {}

local IDEMPOTENT = {GET = true, HEAD = true, PUT = true, DELETE = true, OPTIONS = true}
local RETRY_STATUS = {[429] = true, [502] = true, [503] = true, [504] = true}
local MAX_REDIRECTS = 5
-- harness.request's options (and the verbs').
local OPTIONS = {"query", "headers", "json", "body", "content_type", "timeout", "retries", "account",
                 "max_size"}
local CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST = 5, 6
local MONTHS = {Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6, Jul = 7, Aug = 8,
                Sep = 9, Oct = 10, Nov = 11, Dec = 12}

-- ---------- headers ----------

-- Normalizes opts.headers (a map, or "Name: value" lines) into a list of
-- {name, value}, refusing line breaks (header injection).
local function user_headers(h)
  local list = {}
  if h == nil then return list end
  if type(h) ~= "table" then check.argerror("request", "headers", "table expected, got " .. type(h)) end
  for k, v in pairs(h) do
    local name, value
    if math.type(k) == "integer" then
      name, value = tostring(v):match("^([^:]+):%s*(.*)$")
      if not name then
        check.argerror("request", "headers", ("%q is not \"Name: value\""):format(tostring(v)))
      end
    else
      name, value = tostring(k), tostring(v)
    end
    if (name .. value):find("[\r\n]") then
      check.argerror("request", "headers", "header " .. name .. " holds a line break")
    end
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

-- "Name: value" lines; an empty value makes "Name:", which tells libcurl
-- to send no such header at all (not even one of its own).
local function header_lines(list)
  local lines = {}
  for i, h in ipairs(list) do lines[i] = h[2] == "" and (h[1] .. ":") or (h[1] .. ": " .. h[2]) end
  return lines
end

-- The headers for one hop: the request's own, and the key and account only
-- on the endpoint's origin.
local function hop_headers(base, target, relative, account)
  local list = {}
  for i, h in ipairs(base) do list[i] = h end
  local key = config.key_for(target)
  if key and not find_header(list, "x-api-key") then list[#list + 1] = {"x-api-key", key} end
  if key and relative and account and not find_header(list, "harness-account") then
    list[#list + 1] = {"Harness-Account", account}
  end
  return list
end

-- ---------- retries ----------

--- Seconds a Retry-After header asks for (seconds or an HTTP date), or nil.
function M.retry_after(value)
  if not value then return nil end
  local n = tonumber(value)
  if n then return math.max(0, n) end
  local d, mon, y, hh, mm, ss = value:match("%a+, (%d+) (%a+) (%d+) (%d+):(%d+):(%d+) GMT")
  if not d or not MONTHS[mon] then return nil end
  -- os.time reads a local time: shift by the zone offset to read UTC
  local now = os.time()
  local utc_now = os.time(os.date("!*t", now))
  -- a date no calendar holds (year 99999999999) is no date: os.time raises
  local ok, t = pcall(os.time, {year = tonumber(y), month = MONTHS[mon], day = tonumber(d),
                                hour = tonumber(hh), min = tonumber(mm), sec = tonumber(ss)})
  if not ok or not t then return nil end
  return math.max(0, t + (now - utc_now) - now)
end

--- May a result be retried? 429, 502-504 and failures to connect; a
--- request that may have reached the server (POST, PATCH) only on 429 and
--- on failures before it was sent.
function M.should_retry(method, r)
  if r.error then
    local kind = r.error_kind
    -- a name that does not resolve will not resolve a second later
    if r.curl_code == CURLE_COULDNT_RESOLVE_HOST or r.curl_code == CURLE_COULDNT_RESOLVE_PROXY then
      return false
    end
    if kind == "timeout" or kind == "transport" then return IDEMPOTENT[method] or not r.sent end
    return false -- tls, too_large, interrupted, cancelled
  end
  if r.status == 429 then return true end
  return RETRY_STATUS[r.status] and IDEMPOTENT[method] or false
end

--- Seconds to wait before retry 'attempt': what Retry-After asks (capped),
--- else full jitter, a random wait up to base * 2^(attempt-1), capped.
function M.backoff(s, attempt, r)
  local after = r.headers and M.retry_after(r.headers["retry-after"])
  if after then return math.min(after, math.max(s.retry_cap, 1) * 10) end
  return math.random() * math.min(s.retry_cap, s.retry_base * 2 ^ (attempt - 1))
end

-- ---------- building the request ----------

-- The URL of a request, and whether it is relative to the endpoint (then
-- it carries the account, unless opts.account is false).
local function build_url(s, path, opts)
  local target, relative
  if url.is_absolute(path) then
    target, relative = path, false
    if not url.parse(target) then
      check.argerror("request", 2, "not an http(s) URL: " .. path)
    end
  else
    if path:sub(1, 1) ~= "/" then path = "/" .. path end
    target, relative = s.endpoint .. path, true
  end
  local query = opts.query
  if query ~= nil and type(query) ~= "table" then
    check.argerror("request", "query", "table expected, got " .. type(query))
  end
  if relative and opts.account ~= false and not url.has_param(target, query, "accountIdentifier") then
    local merged = {}
    for k, v in pairs(query or {}) do merged[k] = v end
    merged.accountIdentifier = config.account()
    query = merged
  end
  if query then target = url.add_query(target, query) end
  return target, relative
end

-- Methods that carry a body, for which libcurl would add a Content-Type
-- of its own (application/x-www-form-urlencoded) when there is none.
local BODY_METHODS = {POST = true, PUT = true, PATCH = true}

-- The body of a request and the headers it implies. A request without a
-- body carries no Content-Type: Harness refuses (415) one that the
-- operation does not consume, as libcurl's default form type.
local function build_body(method, opts, base)
  local body = opts.body
  if opts.json ~= nil then
    body = json.encode(opts.json)
    if not find_header(base, "content-type") then base[#base + 1] = {"Content-Type", "application/json"} end
  elseif body ~= nil then
    if type(body) ~= "string" then check.argerror("request", "body", "string expected, got " .. type(body)) end
    if opts.content_type and not find_header(base, "content-type") then
      base[#base + 1] = {"Content-Type", opts.content_type}
    end
  end
  if (body == nil or body == "") and BODY_METHODS[method] and not find_header(base, "content-type") then
    base[#base + 1] = {"Content-Type", ""}
  end
  if not find_header(base, "accept") then base[#base + 1] = {"Accept", "application/json"} end
  return body
end

--- A request function (harness.request's) over a transport:
---   transport.transfer(req) -> result: req has method, url, headers (a
---     list of "Name: value"), body, timeout, connect_timeout, max_size,
---     ca_bundle, no_replay; the result has status, headers, body, url, elapsed,
---     sent, and error, error_kind, curl_code when no answer came;
---   transport.sleep(seconds): waits between retries.
function M.new(transport)
  local transfer, sleep = transport.transfer, transport.sleep

  -- harness.request(method, path_or_url, opts) -> response | nil, err
  return function(method, path, opts)
    if type(method) ~= "string" then check.argerror("request", 1, "method expected, got " .. type(method)) end
    -- the method goes on the wire as it is: the same rule as header lines
    if method:find("[\r\n]") then check.argerror("request", 1, "method holds a line break") end
    if not method:find("^[%w!#$%%&'*+.^_`|~-]+$") then
      check.argerror("request", 1, ("not an HTTP method: %q"):format(method))
    end
    if type(path) ~= "string" then check.argerror("request", 2, "path or URL expected, got " .. type(path)) end
    opts = check.options("request", opts, OPTIONS, 3)
    method = method:upper()
    if method == "HEAD" and (opts.body ~= nil or opts.json ~= nil) then
      check.argerror("request", opts.json ~= nil and "json" or "body", "HEAD sends no body")
    end
    local s = config.settings()
    if not url.is_absolute(path) then config.key_for(s.endpoint) end -- no key: say so first
    local target, relative = build_url(s, path, opts)
    local account = relative and opts.account ~= false and config.account() or nil
    local base = user_headers(opts.headers)
    local body = build_body(method, opts, base)
    local max_retries = opts.retries or s.retries
    local retries, hops = 0, 0
    while true do
      local headers = hop_headers(base, target, relative, account)
      -- a request that must not run twice is never sent again by libcurl
      -- on its own (it would, unasked, when a reused connection closed
      -- after the server read it): our retry rules decide
      local req = {method = method, url = target, headers = header_lines(headers), body = body,
                   timeout = opts.timeout or s.timeout, connect_timeout = s.connect_timeout,
                   max_size = opts.max_size or s.max_size, ca_bundle = s.ca_bundle,
                   no_replay = not IDEMPOTENT[method]}
      local r = transfer(req)
      if s.trace > 0 then
        req.header_list = headers
        trace.exchange(s.trace, req, r, retries)
      end
      if r.error_kind == "interrupted" then
        error(response.transport_error(method, path, target, r, retries), 0)
      end
      local next_hop = not r.error and response.REDIRECT[r.status] and r.headers.location
        and url.resolve(target, r.headers.location)
      if M.should_retry(method, r) and retries < max_retries then
        retries = retries + 1
        local wait = M.backoff(s, retries, r)
        log.warn("%s %s: %s; retrying in %.1f s (attempt %d of %d)", method, path,
          r.error and r.error or (r.status .. " " .. (response.REASONS[r.status] or "")):gsub(" $", ""),
          wait, retries + 1, max_retries + 1)
        sleep(wait)
      elseif r.error then
        return nil, response.transport_error(method, path, target, r, retries)
      elseif next_hop and hops < MAX_REDIRECTS and url.origin(next_hop) == url.origin(target) then
        hops = hops + 1
        target = next_hop
        if r.status == 303 or ((r.status == 301 or r.status == 302) and method == "POST") then
          method, body = "GET", nil
        end
      else
        return response.new(r, method, path, retries)
      end
    end
  end
end

return M
