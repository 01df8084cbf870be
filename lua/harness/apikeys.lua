-- harness.apikeys: API keys of users and service accounts; each holds
-- tokens (harness.tokens). rotate and expiring are the tokens' own.
local u = require "harness._util"
local tokens = require "harness.tokens"

local M = {}

local function owner(fname, opts)
  local typ = opts.type or "USER"
  if typ ~= "USER" and typ ~= "SERVICE_ACCOUNT" then
    u.argerror(fname, "type", "\"USER\" or \"SERVICE_ACCOUNT\" expected, got " .. tostring(typ), 3)
  end
  local parent = opts.parent
  if parent == nil then
    if typ ~= "USER" then u.argerror(fname, "parent", "the service account's identifier expected", 3) end
    parent = harness.whoami().uuid
  end
  return typ, parent
end

--- API keys of a parent: opts.type ("USER", default, or
--- "SERVICE_ACCOUNT") and opts.parent (default: the current user). Each is
--- {identifier, name, apiKeyType, parentIdentifier,
--- defaultTimeToExpireToken, ...}.
function M.list(opts)
  opts = u.opts("apikeys.list", opts)
  local typ, parent = owner("apikeys.list", opts)
  return u.map(harness.get("/ng/api/apikey", {query = {apiKeyType = typ,
    parentIdentifier = parent}}).data, function(k) return k end)
end

--- Creates an API key: k = {identifier, name?, type?, parent?,
--- token_days? (default lifetime of its tokens), description?, tags?}.
function M.create(k)
  if type(k) ~= "table" then u.argerror("apikeys.create", "apikey", "table expected, got " .. type(k)) end
  u.need_string("apikeys.create", "identifier", k.identifier)
  local typ, parent = owner("apikeys.create", k)
  return harness.post("/ng/api/apikey", {json = {identifier = k.identifier,
    name = k.name or k.identifier, apiKeyType = typ, parentIdentifier = parent,
    accountIdentifier = harness.config().account, description = k.description, tags = k.tags,
    defaultTimeToExpireToken = k.token_days and math.floor(k.token_days * 86400000) or nil}}).data
end

--- Deletes an API key and its tokens; opts: type, parent.
function M.delete(id, opts)
  u.need_string("apikeys.delete", "id", id)
  opts = u.opts("apikeys.delete", opts, 2)
  local typ, parent = owner("apikeys.delete", opts)
  harness.delete("/ng/api/apikey/" .. u.seg(id), {query = {apiKeyType = typ, parentIdentifier = parent}})
  return true
end

--- The tokens of an API key; opts: type, parent.
function M.tokens(id, opts)
  u.need_string("apikeys.tokens", "id", id)
  opts = u.opts("apikeys.tokens", opts, 2)
  local typ, parent = owner("apikeys.tokens", opts)
  return tokens.list{type = typ, parent = parent, apikey = id}
end

M.rotate = tokens.rotate
M.expiring = tokens.expiring

return M
