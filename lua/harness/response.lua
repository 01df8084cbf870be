-- harness.response: what a transfer's result becomes for scripts. A
-- harness.Response (status, headers, body, res:json()) for any HTTP
-- answer; a harness.Error for a failure: a transport error, or (for the
-- verbs, which return the decoded body) a status outside 2xx or a Harness
-- body saying ERROR/FAILURE. Pure functions of their arguments: the
-- request layer calls them, and tests call them on made-up results.
local host = require "hlua.host"
local json = require "harness.json"
local config = require "harness.config"
local trace = require "harness.trace"

local M = {}

-- How an API response's JSON is read (the null rule): a member whose value
-- is null is left out, so that it reads as nil and `if x then` and
-- `x or default` do the right thing; a null inside an array stays
-- harness.json.null (positions are kept). harness.json.decode alone keeps
-- every null.
local API_JSON = {omit_nulls = true}

local BODY_IN_ERROR = 4096 -- bytes of a body kept in an error
local EXCERPT = 200        -- characters of an HTML page in a message
local PAGE_HEAD = 8192     -- bytes of a page looked at for its title or text
local REDECODE_MAX = 1024 * 1024 -- bytes of a body decoded again, redacted, for an error
M.REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [409] = "Conflict", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}
M.REDIRECT = {[301] = true, [302] = true, [303] = true, [307] = true, [308] = true}

-- The body as an error keeps it: redacted, then cut.
local function error_body(body)
  return trace.cut(body, BODY_IN_ERROR)
end

-- Decodes a body: true and the value, or false and the json error. Any
-- other error (Ctrl-C, memory) is not the body's fault: raised again as it is.
local function decode(body)
  local ok, v = pcall(json.decode, body, API_JSON)
  if not ok and not (host.is_error(v) and v.kind == "json") then error(v, 0) end
  return ok, v
end

-- A json error for a body that does not decode ('err': the decoder's). Its
-- message quotes 24 bytes either side of the error, and redacting the
-- message afterwards would miss a key that this excerpt cuts. So when some
-- form of the key is near the error, the message comes from decoding the
-- redacted body (a small one: the redaction copies it), or goes without
-- the excerpt.
local function json_error(fields, body, err)
  local msg = err.message
  local at, reach = math.tointeger(err.offset) or 1, config.redact_reach() + 32
  local near = body:sub(math.max(1, at - reach), at + reach)
  if config.redact(near) ~= near then
    local ok, again = true, nil
    if #body <= REDECODE_MAX then ok, again = decode(config.redact(body)) end
    msg = ok and msg:gsub(" near '.*$", "") or again.message
  end
  fields.kind = "json"
  fields.body = error_body(body)
  fields.message = config.redact("response is not valid JSON: " .. msg)
  return host.error(fields)
end

---@class harness.Response
local Response = {}
Response.__index = Response
Response.__name = "harness.Response"

--- res:json() -> the decoded body (cached), by the null rule of API
--- responses; raises a json error when it is not JSON.
function Response:json()
  if self._json == nil then
    local ok, v = decode(self.body)
    if not ok then error(json_error({status = self.status, url = self.url}, self.body, v), 2) end
    self._json = {v}
  end
  return self._json[1]
end

--- The Response for a transfer's result 'r' (status, headers, body, url,
--- elapsed) of the request method/path, after 'retries' retries. A change
--- held back by a dry run has dry_run = true.
function M.new(r, method, path, retries)
  return setmetatable({
    status = r.status, headers = r.headers, body = r.body, url = r.url,
    ok = r.status >= 200 and r.status < 300, elapsed = r.elapsed, retries = retries,
    method = method, path = path, dry_run = r.dry_run,
  }, Response)
end

-- What the verbs return for a change a dry run held back: a placeholder
-- whose every named field is itself (so that res.data.planExecution.uuid
-- reads without failing), dry_run = true, and "(dry run)" as text. It has
-- no items, so that ipairs over it ends.
local DryRun = {__name = "harness.DryRun", __tostring = function() return "(dry run)" end}
function DryRun.__index(t, k)
  if k == "dry_run" then return true end
  if type(k) ~= "string" then return nil end
  return t
end
M.DRY_RUN = setmetatable({}, DryRun)

--- The harness.Error for a transfer that got no answer (r.error_kind:
--- transport, timeout, tls, too_large, interrupted, cancelled).
function M.transport_error(method, path, target, r, retries)
  local msg = r.error
  if r.error_kind == "tls" then
    msg = msg .. " (a private CA? set HARNESS_CA_BUNDLE)"
  elseif r.error_kind == "timeout" then
    msg = "timed out: " .. msg
  end
  if retries > 0 then msg = ("%s (after %d attempts)"):format(msg, retries + 1) end
  return host.error({kind = r.error_kind, message = config.redact(msg), method = method,
    path = path, url = target, retries = retries, curl_code = r.curl_code})
end

local function looks_json(res)
  local ct = res.headers["content-type"] or ""
  return ct:find("json", 1, true) or res.body:match("^%s*[{%[]")
end

-- Text for an error from a body that is not JSON: an HTML page's title,
-- or its text; nil when there is none. Linear, and only the page's head
-- (redacted before it is cut): a page is whatever the server made it.
local function excerpt(body)
  local head = config.redact_head(body, PAGE_HEAD)
  local lower, text = head:lower(), nil
  local open = lower:find("<title", 1, true)
  local gt = open and lower:find(">", open + 6, true)
  local close = gt and lower:find("</", gt + 1, true)
  if close then
    text = head:sub(gt + 1, close - 1)
  else
    text = head:gsub("<[^<>]*>", " ") -- [^<>]: each '<' scans to the next one at most
  end
  text = text:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if text == "" then return nil end
  return trace.cut(text, EXCERPT)
end

-- A server's code, message or correlationId as one line of text: numbers
-- and booleans as they print, objects and arrays as JSON, nil for null.
local function as_text(v)
  if v == nil or v == json.null then return nil end
  if type(v) ~= "table" then return tostring(v) end
  local ok, s = pcall(json.encode, v)
  return ok and s or nil
end

-- The response headers as an error keeps them: a server may echo the key
-- in any of them, and cookies are credentials of their own.
local function error_headers(headers)
  local copy = {}
  for k, v in pairs(headers or {}) do copy[config.redact(k)] = trace.header_value(k, v) end
  return copy
end

--- The harness.Error for a response that is not a success; 'decoded' is
--- its decoded body when it is JSON.
function M.http_error(res, decoded)
  local e = {kind = "http", status = res.status, method = res.method, path = res.path,
             url = res.url, body = error_body(res.body), retries = res.retries,
             headers = error_headers(res.headers)}
  if type(decoded) == "table" then
    e.code = as_text(decoded.code)
    e.message = as_text(decoded.message) or as_text(decoded.detailedMessage) or as_text(decoded.error)
    e.correlation_id = as_text(decoded.correlationId)
  end
  if e.message == nil and #res.body > 0 and not looks_json(res) then e.message = excerpt(res.body) end
  if e.message == nil then e.message = M.REASONS[res.status] or ("HTTP " .. res.status) end
  if M.REDIRECT[res.status] then
    e.message = ("redirect to %s not followed (another origin, or too many)"):format(
      tostring(res.headers.location))
  end
  -- feature flags' errors give the status again as their code: once is enough
  if e.code == tostring(res.status) then e.code = nil end
  if (res.retries or 0) > 0 then e.message = ("%s (after %d attempts)"):format(e.message, res.retries + 1) end
  for k, v in pairs(e) do -- a server may echo the key in any field
    if type(v) == "string" then e[k] = config.redact(v) end
  end
  return host.error(e)
end

--- What a verb returns for a response: its decoded body (the raw string
--- when it is not JSON, nil when empty); raises a harness.Error at 'level'
--- for a failure.
function M.body(res, level)
  if res.dry_run then return M.DRY_RUN end
  local decoded, bad
  if #res.body > 0 and looks_json(res) then
    local ok, v = decode(res.body)
    if ok then decoded = v else bad = v end
  end
  if not res.ok then error(M.http_error(res, decoded), level) end
  if bad then
    error(json_error({status = res.status, method = res.method, path = res.path, url = res.url},
      res.body, bad), level)
  end
  if type(decoded) == "table" and (decoded.status == "ERROR" or decoded.status == "FAILURE") then
    error(M.http_error(res, decoded), level)
  end
  if decoded ~= nil then return decoded end
  if #res.body == 0 then return nil end
  return res.body
end

return M
