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
M.REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [409] = "Conflict", [429] = "Too Many Requests",
  [500] = "Internal Server Error", [502] = "Bad Gateway", [503] = "Service Unavailable",
  [504] = "Gateway Timeout",
}
M.REDIRECT = {[301] = true, [302] = true, [303] = true, [307] = true, [308] = true}

-- The body as an error keeps it: redacted, cut.
local function error_body(body)
  return config.redact(trace.cut(body, BODY_IN_ERROR))
end

-- A json error for a body that does not decode.
local function json_error(fields, body, err)
  fields.kind = "json"
  fields.body = error_body(body)
  fields.message = config.redact("response is not valid JSON: " ..
    tostring(type(err) == "table" and err.message or err))
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
    local ok, v = pcall(json.decode, self.body, API_JSON)
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
-- whose every field is itself (so that res.data.planExecution.uuid reads
-- without failing), dry_run = true, and "(dry run)" as text.
local DryRun = {__name = "harness.DryRun", __tostring = function() return "(dry run)" end}
function DryRun.__index(t, k)
  if k == "dry_run" then return true end
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
-- or its text.
local function excerpt(body)
  local title = body:match("<[Tt][Ii][Tt][Ll][Ee][^>]*>(.-)</")
  local text = title or body:gsub("<[^>]*>", " ")
  text = text:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  return trace.cut(text, EXCERPT)
end

--- The harness.Error for a response that is not a success; 'decoded' is
--- its decoded body when it is JSON.
function M.http_error(res, decoded)
  local e = {kind = "http", status = res.status, method = res.method, path = res.path,
             url = res.url, body = error_body(res.body), retries = res.retries,
             headers = res.headers}
  if type(decoded) == "table" then
    e.code = decoded.code
    e.message = decoded.message or decoded.detailedMessage or decoded.error
    e.correlation_id = decoded.correlationId
  end
  if e.message == nil or e.message == json.null then
    if #res.body > 0 and not looks_json(res) then
      e.message = excerpt(res.body)
    else
      e.message = M.REASONS[res.status] or ("HTTP " .. res.status)
    end
  end
  if M.REDIRECT[res.status] then
    e.message = ("redirect to %s not followed (another origin, or too many)"):format(
      tostring(res.headers.location))
  end
  for k, v in pairs(e) do if v == json.null then e[k] = nil end end
  -- feature flags' errors give the status again as their code: once is enough
  if tostring(e.code) == tostring(res.status) then e.code = nil end
  e.message = tostring(e.message)
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
    local ok, v = pcall(json.decode, res.body, API_JSON)
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
