-- harness.tokens: API tokens of users and service accounts. A token lives
-- under an API key (apikey), which lives under a parent: a user (type
-- "USER", parent = the user's uuid) or a service account (type
-- "SERVICE_ACCOUNT", parent = its identifier).
local u = require "harness._util"

local M = {}

local DAY_MS = 24 * 3600 * 1000
local TYPES = {USER = true, SERVICE_ACCOUNT = true}

local function check_type(fname, t)
  if t ~= nil and not TYPES[t] then
    u.argerror(fname, "type", "\"USER\" or \"SERVICE_ACCOUNT\" expected, got " .. tostring(t), 3)
  end
  return t
end

-- A token of the aggregate list, with its expiry beside its fields.
local function unwrap(item)
  local t = item.token or item
  t.expiryAt = u.value(item.expiryAt) or u.value(t.scheduledExpireTime) or u.value(t.validTo)
  return t
end

--- Tokens, each a TokenDTO (identifier, name, apiKeyIdentifier,
--- parentIdentifier, apiKeyType, validFrom, validTo, valid, ...) with
--- expiryAt (ms). opts: type, parent, apikey, search, max_items.
--- Without them, every token of the account that the key may see.
function M.list(opts)
  opts = u.opts("tokens.list", opts)
  check_type("tokens.list", opts.type)
  return u.collect("/ng/api/token/aggregate", {
    query = {apiKeyType = opts.type, parentIdentifier = opts.parent,
      apiKeyIdentifier = opts.apikey, searchTerm = opts.search},
    max_items = opts.max_items}, unwrap)
end

--- One token by identifier; opts as for list narrow it down when two
--- API keys hold tokens of the same name.
function M.get(id, opts)
  u.need_string("tokens.get", "id", id)
  opts = u.opts("tokens.get", opts, 2)
  for t in harness.paginate("/ng/api/token/aggregate", {query = {apiKeyType = opts.type,
      parentIdentifier = opts.parent, apiKeyIdentifier = opts.apikey, searchTerm = id}}) do
    if t.token.identifier == id then return unwrap(t) end
  end
  error(harness._error{kind = "http", status = 404, code = "RESOURCE_NOT_FOUND",
    message = "no token '" .. id .. "'"}, 2)
end

-- Type and parent from opts, the current user's when not given.
local function owner(fname, opts)
  local typ = check_type(fname, opts.type) or "USER"
  local parent = opts.parent
  if parent == nil then
    if typ ~= "USER" then u.argerror(fname, "parent", "the service account's identifier expected", 3) end
    parent = harness.whoami().uuid
  end
  return typ, parent
end

--- Creates a token under an API key and returns the token string (shown
--- only this once). t: identifier, name?, apikey, type? (default "USER"),
--- parent? (default: the current user), valid_days? (default 30) or
--- valid_to (ms), description?, tags?.
function M.create(t)
  if type(t) ~= "table" then u.argerror("tokens.create", "token", "table expected, got " .. type(t)) end
  u.need_string("tokens.create", "identifier", t.identifier)
  u.need_string("tokens.create", "apikey", t.apikey)
  local typ, parent = owner("tokens.create", t)
  local now = u.now_ms()
  local valid_to = t.valid_to or now + math.floor((t.valid_days or 30) * DAY_MS)
  return harness.post("/ng/api/token", {json = {
    identifier = t.identifier, name = t.name or t.identifier, apiKeyIdentifier = t.apikey,
    parentIdentifier = parent, apiKeyType = typ, accountIdentifier = harness.config().account,
    validFrom = now, validTo = valid_to, description = t.description, tags = t.tags}}).data
end

-- The token's apikey, parent and type: from opts, else looked up.
local function locate(id, opts)
  if opts.apikey and opts.parent and opts.type then return opts end
  local t = M.get(id, opts)
  return {apikey = t.apiKeyIdentifier, parent = t.parentIdentifier, type = t.apiKeyType}
end

--- Rotates a token: returns the new token string. The old one keeps
--- working until opts.at (ms since the epoch; default now). opts: apikey,
--- parent, type (looked up when not given), at.
function M.rotate(id, opts)
  u.need_string("tokens.rotate", "id", id)
  opts = u.opts("tokens.rotate", opts, 2)
  check_type("tokens.rotate", opts.type)
  local where = locate(id, opts)
  return harness.post("/ng/api/token/rotate/" .. u.seg(id), {query = {
    apiKeyType = where.type, parentIdentifier = where.parent, apiKeyIdentifier = where.apikey,
    rotateTimestamp = math.floor(opts.at or u.now_ms())}}).data
end

--- Deletes a token. opts as for rotate.
function M.delete(id, opts)
  u.need_string("tokens.delete", "id", id)
  opts = u.opts("tokens.delete", opts, 2)
  local where = locate(id, opts)
  harness.delete("/ng/api/token/" .. u.seg(id), {query = {apiKeyType = where.type,
    parentIdentifier = where.parent, apiKeyIdentifier = where.apikey}})
  return true
end

--- Tokens of users and service accounts that expire within
--- opts.within_days days (default 30), soonest first; each has days_left
--- (negative once expired). opts: within_days, expired (also list those
--- already expired, default false), type (only that kind).
function M.expiring(opts)
  opts = u.opts("tokens.expiring", opts)
  local days = opts.within_days or 30
  if type(days) ~= "number" or days < 0 then
    u.argerror("tokens.expiring", "within_days", "non-negative number expected, got " .. tostring(days))
  end
  check_type("tokens.expiring", opts.type)
  local now = u.now_ms()
  local limit = now + days * DAY_MS
  local out = {}
  for _, typ in ipairs(opts.type and {opts.type} or {"USER", "SERVICE_ACCOUNT"}) do
    for item in harness.paginate("/ng/api/token/aggregate", {query = {apiKeyType = typ}}) do
      local t = unwrap(item)
      local at = t.expiryAt
      if at and at <= limit and (opts.expired or at > now) then
        t.days_left = math.floor((at - now) / DAY_MS * 10) / 10
        out[#out + 1] = t
      end
    end
  end
  table.sort(out, function(a, b) return a.expiryAt < b.expiryAt end)
  return harness.json.array(out)
end

return M
