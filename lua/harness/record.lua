-- harness.record: recorded fixtures. Wraps the transport (a
-- transfer(req) -> result function) so that request.lua's policy (retries,
-- redirects, errors) runs the same over a recording as over the network:
--   HARNESS_RECORD=DIR  every exchange is also written to DIR, one readable
--                       JSON file per request (0001-GET-ng-api-projects.json):
--                       the request without the key, the response's status,
--                       headers and body, every key-shaped string masked;
--   HARNESS_REPLAY=DIR  the answers come from those files, without a
--                       network: each request takes the first exchange not
--                       replayed yet that has its method, path, query and
--                       body; one that the recording does not hold fails
--                       with an error naming the first difference.
-- Under either, the wall clock (os.time() and os.date() without a time) is
-- the recording's, so that a script that sends or prints the time replays
-- as it was recorded.
local host = require "hlua.host"
local json = require "harness.json"
local config = require "harness.config"
local url = require "harness.url"
local trace = require "harness.trace"

local M = {}

local FORMAT = 1 -- the version of the files' layout
local NAME = "^(%d+)%-.*%.json$"

local function q(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function fail(kind, message)
  error(host.error({kind = kind, message = message}), 0)
end

-- ---------- the files of a recording ----------

-- The exchange files of DIR, sorted by sequence number: a list of
-- {seq, name}. nil, message when DIR cannot be listed.
local function list(dir)
  local p = io.popen("ls -1A -- " .. q(dir) .. " 2>/dev/null")
  local out = p and p:read("a") or ""
  local ok = p and p:close()
  if not ok then return nil, "no such folder" end
  local files = {}
  for name in out:gmatch("[^\n]+") do
    local seq = name:match(NAME)
    if seq then files[#files + 1] = {seq = tonumber(seq), name = name} end
  end
  table.sort(files, function(a, b) return a.seq < b.seq end)
  return files
end

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  f:write(text)
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then os.remove(tmp) return nil, rerr end
  return true
end

-- The exchanges of the recording in DIR, in order; raises a replay error
-- when DIR holds none or a file is not an exchange.
local cache = {}
local function load(dir)
  if cache[dir] then return cache[dir] end
  local files, err = list(dir)
  if not files then fail("replay", ("HARNESS_REPLAY=%s: %s"):format(dir, err)) end
  if #files == 0 then fail("replay", ("HARNESS_REPLAY=%s holds no recorded exchange"):format(dir)) end
  local exchanges = {}
  for i, f in ipairs(files) do
    local text, rerr = read(dir .. "/" .. f.name)
    local ok, x = pcall(json.decode, text or "")
    if not text or not ok or type(x) ~= "table" or type(x.request) ~= "table"
        or type(x.response) ~= "table" or type(x.request.method) ~= "string" then
      fail("replay", ("HARNESS_REPLAY=%s: %s is not a recorded exchange%s"):format(dir, f.name,
        not text and (": " .. tostring(rerr)) or (not ok and (": " .. tostring(x.message or x)) or "")))
    end
    x.name = f.name
    exchanges[i] = x
  end
  cache[dir] = exchanges
  return exchanges
end

--- The exchanges of the recording in DIR, in order (as their files hold
--- them, with 'name', the file's name).
M.exchanges = function(dir) return load(dir) end

--- The account a recording's requests went to (for the configuration,
--- which needs no key nor account under HARNESS_REPLAY).
function M.recorded_account(dir)
  for _, x in ipairs(load(dir)) do
    if type(x.account) == "string" then return x.account end
  end
  return nil
end

-- ---------- what is kept ----------

-- Text as kept in a fixture: the key and every key-shaped string masked.
local redact = function(s) return config.redact_keys(s) end

local function unescape(s)
  return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- The parts of a request that replay compares: method, path (with the
-- origin when it is not the endpoint's), query (name -> value, or a list
-- of values for a repeated name), and the body (decoded when JSON).
local function shape(req, origin)
  local u = url.parse(req.url)
  local rest = u and u.rest or req.url
  local path, query = rest:match("^([^?#]*)%??([^#]*)")
  if url.origin(req.url) ~= origin then path = (url.origin(req.url) or "") .. path end
  local params
  for pair in query:gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    k, v = unescape(k), redact(unescape(v))
    params = params or json.object{}
    local had = params[k]
    if had == nil then params[k] = v
    elseif type(had) == "table" then had[#had + 1] = v
    else params[k] = json.array{had, v} end
  end
  local s = {method = req.method, path = path ~= "" and path or "/", query = params}
  if req.body and #req.body > 0 then
    local body = redact(req.body)
    local ok, v = pcall(json.decode, body)
    if ok and type(v) == "table" then s.json = v else s.body = body end
  end
  return s
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  return (s:gsub("..?.?", function(c)
    local a, b, d = c:byte(1, 3)
    local n = (a << 16) | ((b or 0) << 8) | (d or 0)
    local out = {}
    for i = 1, 4 do
      local k = (n >> (6 * (4 - i))) & 63
      out[i] = B64:sub(k + 1, k + 1)
    end
    if not b then out[3], out[4] = "=", "=" elseif not d then out[4] = "=" end
    return table.concat(out)
  end))
end

local function unbase64(s)
  s = s:gsub("[^%w+/]", "")
  return (s:gsub("..?.?.?", function(c)
    local n, bits = 0, 0
    for i = 1, #c do
      n = (n << 6) | (B64:find(c:sub(i, i), 1, true) - 1)
      bits = bits + 6
    end
    local out = {}
    while bits >= 8 do
      bits = bits - 8
      out[#out + 1] = string.char((n >> bits) & 255)
    end
    return table.concat(out)
  end))
end

-- A body as kept: "json" (decoded, for reading), "body" (text) or
-- "body_base64" (bytes that are not UTF-8).
local function keep_body(t, body)
  if body == nil or body == "" then return end
  body = redact(body)
  local ok, v = pcall(json.decode, body)
  if ok and type(v) == "table" then t.json = v return end
  if pcall(json.encode, body) then t.body = body else t.body_base64 = base64(body) end
end

local function kept_body(t)
  if t.json ~= nil then return json.encode(t.json, {sort_keys = true}) end
  if t.body_base64 then return unbase64(t.body_base64) end
  return t.body or ""
end

-- Headers a fixture leaves out: the key, and the credentials a trace never shows.
local function secret_header(name)
  name = name:lower()
  return name == "x-api-key" or trace.CREDENTIAL_HEADERS[name]
end

-- ---------- the clock ----------
-- The script reads the recording's time as of the last exchange that ended
-- (when it started plus how long it took, as its file keeps them) plus the
-- whole seconds since. What a script reads between two requests then
-- depends on the recording only, not on how fast the replay runs, as long
-- as it spends under a second there.

local os_time, os_date = os.time, os.date
local installed  -- os.time and os.date read this clock
local started    -- host.clock() when the clock started (nil: not yet)
local epoch      -- the wall clock then (a replay's: the recording's)
local offset     -- seconds from epoch to the end of the last exchange
local anchor     -- host.clock() when that exchange ended

-- The clock starts at the script's first read of the time or first
-- exchange, whichever comes first.
local function begin()
  if started then return end
  started = host.clock()
  offset, anchor = 0, started
  local dir = config.env("HARNESS_REPLAY")
  local ok, xs = pcall(load, dir or "")
  local first = dir and ok and xs[1] and xs[1].clock
  epoch = type(first) == "table" and math.tointeger(first.start) or os_time()
end

local function now()
  begin()
  return epoch + math.floor(offset) + math.floor(host.clock() - anchor)
end

-- An exchange of the recording ended: 'x' as its file keeps it.
local function ended(x)
  local c, res = x.clock, x.response
  local at = type(c) == "table" and tonumber(c.at)
  if not at then return end -- a hand-written fixture without a clock
  at = at + (type(res) == "table" and tonumber(res.elapsed) or 0)
  begin()
  if at >= offset then offset, anchor = at, host.clock() end
end

--- Makes os.time() and os.date() without a time read the recorded clock
--- (the real time when recording; the recording's when replaying).
--- Called when the harness table is first used, before a script reads the
--- time.
function M.start_clock()
  if installed then return end
  installed = true
  os.time = function(t)
    if t ~= nil then return os_time(t) end
    return now()
  end
  os.date = function(format, t)
    return os_date(format or "%c", t == nil and now() or t)
  end
end

-- ---------- recording ----------

local recording -- {dir, seq}: the recording under way

local function slug(path)
  local s = path:gsub("^%a[%w+.-]*://", ""):gsub("[^%w]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return s:sub(1, 60):gsub("%-+$", "")
end

local function start_recording(dir)
  local files = list(dir)
  if not files then
    os.execute("mkdir -p -- " .. q(dir))
    files = list(dir)
    if not files then fail("record", ("HARNESS_RECORD=%s: cannot make that folder"):format(dir)) end
  end
  if #files > 0 then
    fail("record", ("HARNESS_RECORD=%s already holds a recording (%d exchanges): remove it, " ..
      "or record into an empty folder"):format(dir, #files))
  end
  return {dir = dir, seq = 0}
end

-- The exchange as kept: request and response, redacted.
local function exchange(seq, req, r, s, at)
  local x = {hlua = FORMAT, seq = seq, account = s.account,
    clock = {start = epoch, at = math.floor((at - started) * 1000 + 0.5) / 1000}}
  x.request = shape(req, s.origin)
  x.request.url = redact(req.url)
  local headers = {}
  for _, line in ipairs(req.headers or {}) do
    local name = line:match("^([^:]+):")
    if name and not secret_header(name) then headers[#headers + 1] = redact(line) end
  end
  x.request.headers = json.array(headers)
  local res = {status = r.status, elapsed = r.elapsed and math.floor(r.elapsed * 1000 + 0.5) / 1000}
  if r.error then
    res.error, res.error_kind, res.curl_code, res.sent = redact(r.error), r.error_kind, r.curl_code, r.sent
  else
    local h = json.object{}
    for k, v in pairs(r.headers or {}) do
      if not secret_header(k) then h[k] = redact(v) end
    end
    res.headers = h
    keep_body(res, r.body)
  end
  x.response = res
  return x
end

local function record(transfer, req, s)
  if not recording or recording.dir ~= s.record then
    local ok, rec = pcall(start_recording, s.record)
    if not ok then
      return {status = 0, error = tostring(rec.message or rec), error_kind = "record", sent = false}
    end
    recording = rec
  end
  M.start_clock()
  begin() -- the clock's start, kept in each exchange
  local rec = recording
  rec.seq = rec.seq + 1
  local seq, at = rec.seq, host.clock()
  local r = transfer(req)
  if r.error_kind == "interrupted" or r.error_kind == "cancelled" then return r end
  local x = exchange(seq, req, r, s, at)
  ended(x)
  local name = ("%04d-%s-%s.json"):format(seq, req.method, slug(x.request.path))
  local ok, err = write(rec.dir .. "/" .. name, json.encode(x, {indent = 2, sort_keys = true}) .. "\n")
  if not ok then
    return {status = 0, error = ("HARNESS_RECORD: cannot write %s: %s"):format(name, tostring(err)),
      error_kind = "record", sent = true}
  end
  return r
end

-- ---------- replaying ----------

local replaying -- {dir, exchanges, used, served}

local function show(v)
  if v == nil then return "absent" end
  local s = json.encode(v)
  if #s > 60 then s = s:sub(1, 57) .. "..." end
  return s
end

-- The first difference between two decoded JSON values, as "where is A,
-- recorded B", or nil when they are equal.
local function differ(where, a, b)
  if type(a) == "table" and type(b) == "table" then
    local keys, seen = {}, {}
    for k in pairs(a) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
    for k in pairs(b) do if not seen[k] then seen[k] = true keys[#keys + 1] = k end end
    table.sort(keys, function(x, y)
      if type(x) == type(y) then return x < y end
      return type(x) == "number"
    end)
    for _, k in ipairs(keys) do
      local sub = math.type(k) == "integer" and ("%s[%d]"):format(where, k) or
        (tostring(k):match("^[%a_][%w_]*$") and (where .. "." .. k) or ("%s[%q]"):format(where, k))
      local d = differ(sub, a[k], b[k])
      if d then return d end
    end
    return nil
  end
  if a == b then return nil end
  return ("%s is %s, recorded %s"):format(where, show(a), show(b))
end

-- The first difference between a request and a recorded one, in the
-- order method, path, query, body; with how many of those agreed.
local function compare(live, rec)
  if live.method ~= rec.method then
    return 0, ("method %s, recorded %s"):format(live.method, rec.method)
  end
  if live.path ~= rec.path then return 1, ("path %s, recorded %s"):format(live.path, rec.path) end
  local d = differ("query", live.query or json.object{}, rec.query or json.object{})
  if d then return 2, d end
  if rec.json ~= nil or live.json ~= nil then
    d = differ("body", live.json, rec.json)
    if d and (live.json == nil or rec.json == nil) then
      d = ("body %s, recorded %s"):format(live.json and "JSON" or show(live.body),
        rec.json and "JSON" or show(rec.body))
    end
  elseif (live.body or "") ~= (rec.body or "") then
    local a, b = live.body or "", rec.body or ""
    local i = 1
    while a:byte(i) == b:byte(i) do i = i + 1 end
    d = ("body differs at byte %d: %s, recorded %s"):format(i, show(a:sub(i, i + 20)), show(b:sub(i, i + 20)))
  end
  if d then return 3, d end
  return 4, nil
end

local function result(x, req)
  local res = x.response
  if res.error then
    return {status = 0, error = res.error, error_kind = res.error_kind, curl_code = res.curl_code,
      sent = res.sent, headers = {}, body = "", url = req.url, elapsed = 0}
  end
  local headers = {}
  for k, v in pairs(res.headers or {}) do headers[k] = v end
  -- a redirect within the recorded origin stays within the replay's
  local loc, recorded = headers.location, x.request.url
  if type(loc) == "string" and type(recorded) == "string" and url.is_absolute(loc)
      and url.origin(loc) == url.origin(recorded) then
    headers.location = req.url:match("^%a[%w+.-]*://[^/?#]*") .. loc:match("^%a[%w+.-]*://[^/?#]*(.*)$")
  end
  return {status = math.tointeger(res.status) or 0, headers = headers, body = kept_body(res),
    url = req.url, elapsed = 0, sent = true}
end

local function replay(req, s)
  if not replaying or replaying.dir ~= s.replay then
    local ok, xs = pcall(load, s.replay)
    if not ok then return {status = 0, error = tostring(xs.message or xs), error_kind = "replay"} end
    replaying = {dir = s.replay, exchanges = xs, used = {}, served = {}}
  end
  M.start_clock()
  local rp = replaying
  local live = shape(req, s.origin)
  local best, best_score, best_diff
  for i, x in ipairs(rp.exchanges) do
    if not rp.used[i] then
      local score, diff = compare(live, x.request)
      if not diff then
        rp.used[i] = true
        rp.served[#rp.served + 1] = {n = #rp.served + 1, method = live.method, path = live.path,
          query = live.query, fixture = x.name, status = x.response.status}
        ended(x)
        return result(x, req)
      end
      if not best or score > best_score then best, best_score, best_diff = x, score, diff end
    end
  end
  local msg
  if best then
    msg = ("not in the recording: %s (nearest: %s)"):format(best_diff, best.name)
  else
    msg = ("not in the recording: all %d exchanges of %s were replayed already")
      :format(#rp.exchanges, rp.dir)
  end
  return {status = 0, error = msg, error_kind = "replay", sent = false}
end

--- The exchanges replayed since the replay started (or was rewound): a
--- list of {n, method, path, query, fixture, status}.
function M.replayed()
  return replaying and replaying.served or {}
end

--- Starts the replay over: every exchange can be replayed again (and the
--- files are read afresh).
function M.rewind()
  replaying = nil
  cache = {}
  started = nil -- the clock starts again, at the next read or exchange
end

--- The transfer function that records or replays around 'transfer' (the
--- real one) as the configuration says (HARNESS_RECORD, HARNESS_REPLAY),
--- and passes requests through otherwise.
function M.around(transfer)
  return function(req)
    local s = config.settings()
    if s.replay then return replay(req, s) end
    if s.record then return record(transfer, req, s) end
    return transfer(req)
  end
end

return M
