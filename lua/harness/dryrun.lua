-- harness.dryrun: dry runs (hlua --dry-run, HARNESS_DRY_RUN=1). Reads go
-- to the server as usual; a request that would change something is not
-- sent: it is printed on stderr as one block (method, URL, body pretty-
-- printed, the key masked) and answered with a placeholder marked dry_run,
-- so that the script goes on. At the end hlua says how many changes were
-- held back (and exits 2 when there were some).
--
-- Which requests are reads follows the API, not only the method: Harness
-- lists and searches with POST. A request is a read when its method is GET,
-- HEAD or OPTIONS, or when it is a POST whose operation in the Harness API table
-- is named as a read (Get..., List..., Search..., Find..., Fetch...,
-- Count..., Filter..., Query..., Evaluate..., Download...) and not as a
-- change (...Create..., ...Update..., ...Delete..., ...Save...,
-- ...Upsert...). Everything else (PUT, PATCH, DELETE, other POSTs, and any
-- write to a path the table does not have) is a change.
--
-- Like harness.record, a wrapper around the transport: the request
-- policy runs the same over it.
local config = require "harness.config"
local json = require "harness.json"
local url = require "harness.url"

local M = {}

M.held = 0 -- changes held back so far

local READ_NAMES = {"Get", "List", "Search", "Find", "Fetch", "Count", "Filter", "Query", "Evaluate",
                    "Download"}
local CHANGE_WORDS = {"Create", "Update", "Delete", "Save", "Upsert"}

-- The segments of a path, without the slashes.
local function segments(path)
  local out = {}
  for seg in path:gmatch("[^/]+") do out[#out + 1] = seg end
  return out
end

-- The table's operations by method and number of path segments, each with
-- its template's segments: made once, at the first request a dry run asks
-- about.
local by_shape

-- The operation of the Harness API table a method and path are, or nil.
-- The path is matched against the table's templates ({param} matches one
-- segment), with the endpoint's own prefix (/gateway) removed.
local function operation_of(method, path)
  if not by_shape then
    local api = require "harness.api"
    by_shape = {}
    for _, name in ipairs(api.names()) do
      local op = api.find(name)
      local tsegs = segments(op.path)
      local key = op.method .. " " .. #tsegs
      by_shape[key] = by_shape[key] or {}
      table.insert(by_shape[key], {op = op, segs = tsegs})
    end
  end
  local segs = segments(path)
  for _, t in ipairs(by_shape[method .. " " .. #segs] or {}) do
    local same = true
    for i = 1, #segs do
      if t.segs[i]:sub(1, 1) ~= "{" and t.segs[i] ~= segs[i] then same = false break end
    end
    if same then return t.op end
  end
end

--- Is a request a read (see the file comment)? 'path' is the URL's path,
--- without the endpoint's prefix.
function M.is_read(method, path)
  if method == "GET" or method == "HEAD" or method == "OPTIONS" then return true end
  if method ~= "POST" then return false end
  local op = operation_of(method, path)
  if not op then return false end
  local name = op.name
  for _, w in ipairs(CHANGE_WORDS) do
    if name:find(w, 1, true) then return false end
  end
  for _, prefix in ipairs(READ_NAMES) do
    if name:sub(1, #prefix) == prefix then return true end
  end
  return false
end

-- The body of a request as the block shows it: JSON pretty-printed, other
-- text as it is, indented; redacted either way.
local function show_body(body, content_type)
  if not body or body == "" then return "" end
  local text = body
  if (content_type or ""):find("json", 1, true) then
    local ok, v = pcall(json.decode, body)
    if ok then text = json.encode(v, {indent = 2, sort_keys = true}) end
  end
  return "\n" .. config.redact(text):gsub("\n+$", ""):gsub("[^\n]+", "    %0")
end

--- Holds back one change: prints its block on stderr and counts it.
--- 'what' is the block's first line after "not sent: " (e.g. "POST https://...").
function M.hold(what, details)
  M.held = M.held + 1
  io.stderr:write(("hlua: dry run, not sent: %s%s\n"):format(config.redact(what), details or ""))
end

-- The answer to a change held back: a success whose body is the dry run's
-- placeholder (see harness.response).
local function placeholder(req)
  return {status = 200, url = req.url, elapsed = 0, sent = false, dry_run = true,
          headers = {["content-type"] = "application/json"},
          body = '{"status":"SUCCESS","dry_run":true}'}
end

-- The header a request carries, or nil.
local function header(req, name)
  for _, line in ipairs(req.headers or {}) do
    local n, v = line:match("^([^:]+):%s*(.*)$")
    if n and n:lower() == name then return v end
  end
end

--- The transport wrapped: reads go through, changes are held back when the
--- configuration asks for a dry run.
function M.around(transfer)
  return function(req)
    local s = config.settings()
    if not s.dry_run then return transfer(req) end
    local u = url.parse(req.url)
    local path = u and u.rest:gsub("[?#].*$", "") or req.url
    local prefix = url.parse(s.endpoint).rest
    if prefix ~= "" and path:sub(1, #prefix) == prefix then path = path:sub(#prefix + 1) end
    if M.is_read(req.method, path) then return transfer(req) end
    local ct = header(req, "content-type")
    M.hold(("%s %s"):format(req.method, req.url),
      (ct and ct ~= "" and ("\n  Content-Type: " .. ct) or "") .. show_body(req.body, ct))
    return placeholder(req)
  end
end

--- The last line of a dry run: how many changes were held back; returns
--- that count.
function M.summary()
  if M.held > 0 then
    io.stderr:write(("hlua: dry run: %d change%s held back, nothing changed\n"):format(
      M.held, M.held == 1 and "" or "s"))
  else
    io.stderr:write("hlua: dry run: no change to hold back\n")
  end
  return M.held
end

return M
