-- harness.tokens: API tokens of users and service accounts. A token lives
-- under an API key (apikey), which lives under a parent: a user (type
-- "USER", parent = the user's uuid) or a service account (type
-- "SERVICE_ACCOUNT", parent = its identifier).
local check = require "harness.check"
local client = require "harness.client"
local config = require "harness.config"
local host = require "hlua.host"
local paging = require "harness.paging"
local r = require "harness.resource"
local url = require "harness.url"
local json = require "harness.json"

local M = {}

local DAY_MS = 24 * 3600 * 1000

-- A token of the aggregate list, with its expiry beside its fields.
local function unwrap(item)
  local t = item.token or item
  t.expiryAt = r.nonnull(item.expiryAt) or r.nonnull(t.scheduledExpireTime) or r.nonnull(t.validTo)
  return t
end

--- Tokens, each a TokenDTO (identifier, name, apiKeyIdentifier,
--- parentIdentifier, apiKeyType, validFrom, validTo, valid, ...) with
--- expiryAt (ms). opts: type, parent, apikey, search, max_items.
--- Without them, every token of the account that the key may see.
function M.list(opts)
  opts = check.opts("tokens.list", opts)
  r.check_type("tokens.list", opts.type)
  return r.list("/ng/api/token/aggregate", {
    query = {apiKeyType = opts.type, parentIdentifier = opts.parent,
      apiKeyIdentifier = opts.apikey, searchTerm = opts.search},
    max_items = opts.max_items}, unwrap)
end

--- One token by identifier; opts as for list narrow it down when two
--- API keys hold tokens of the same name.
function M.get(id, opts)
  check.string("tokens.get", 1, id)
  opts = check.opts("tokens.get", opts, 2)
  for t in paging.paginate("/ng/api/token/aggregate", {query = {apiKeyType = opts.type,
      parentIdentifier = opts.parent, apiKeyIdentifier = opts.apikey, searchTerm = id}}) do
    if t.token.identifier == id then return unwrap(t) end
  end
  error(host.error{kind = "http", status = 404, code = "RESOURCE_NOT_FOUND",
    message = "no token '" .. id .. "'"}, 2)
end

--- Creates a token under an API key and returns the token string (shown
--- only this once). t: identifier, name?, apikey, type? (default "USER"),
--- parent? (default: the current user), valid_days? (default 30) or
--- valid_to (ms), description?, tags?.
function M.create(t)
  check.table("tokens.create", 1, t)
  check.string("tokens.create", "identifier", t.identifier)
  check.string("tokens.create", "apikey", t.apikey)
  local typ, parent = r.owner("tokens.create", t)
  local now = r.now_ms()
  local valid_to = t.valid_to or now + math.floor((t.valid_days or 30) * DAY_MS)
  return client.post("/ng/api/token", {json = {
    identifier = t.identifier, name = t.name or t.identifier, apiKeyIdentifier = t.apikey,
    parentIdentifier = parent, apiKeyType = typ, accountIdentifier = config.account(),
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
  check.string("tokens.rotate", 1, id)
  opts = check.opts("tokens.rotate", opts, 2)
  r.check_type("tokens.rotate", opts.type)
  local where = locate(id, opts)
  return client.post("/ng/api/token/rotate/" .. url.escape(id), {query = {
    apiKeyType = where.type, parentIdentifier = where.parent, apiKeyIdentifier = where.apikey,
    rotateTimestamp = math.floor(opts.at or r.now_ms())}}).data
end

--- Deletes a token. opts as for rotate.
function M.delete(id, opts)
  check.string("tokens.delete", 1, id)
  opts = check.opts("tokens.delete", opts, 2)
  local where = locate(id, opts)
  client.delete("/ng/api/token/" .. url.escape(id), {query = {apiKeyType = where.type,
    parentIdentifier = where.parent, apiKeyIdentifier = where.apikey}})
  return true
end

--- Tokens of users and service accounts that expire within
--- opts.within_days days (default 30), soonest first; each has days_left
--- (negative once expired). opts: within_days, expired (also list those
--- already expired, default false), type (only that kind).
function M.expiring(opts)
  opts = check.opts("tokens.expiring", opts)
  local days = opts.within_days or 30
  if type(days) ~= "number" or days < 0 then
    check.argerror("tokens.expiring", "within_days", "non-negative number expected, got " .. tostring(days))
  end
  r.check_type("tokens.expiring", opts.type)
  local now = r.now_ms()
  local limit = now + days * DAY_MS
  local out = {}
  for _, typ in ipairs(opts.type and {opts.type} or {"USER", "SERVICE_ACCOUNT"}) do
    for item in paging.paginate("/ng/api/token/aggregate", {query = {apiKeyType = typ}}) do
      local t = unwrap(item)
      local at = t.expiryAt
      if at and at <= limit and (opts.expired or at > now) then
        t.days_left = math.floor((at - now) / DAY_MS * 10) / 10
        out[#out + 1] = t
      end
    end
  end
  table.sort(out, function(a, b) return a.expiryAt < b.expiryAt end)
  return json.array(out)
end

return M
