-- harness.apikeys: API keys of users and service accounts; each holds
-- tokens (harness.tokens). rotate and expiring are the tokens' own.
local check = require "harness.check"
local client = require "harness.client"
local config = require "harness.config"
local r = require "harness.resource"
local url = require "harness.url"
local json = require "harness.json"
local tokens = require "harness.tokens"

local M = {}

--- API keys of a parent: opts.type ("USER", default, or
--- "SERVICE_ACCOUNT") and opts.parent (default: the current user). Each is
--- {identifier, name, apiKeyType, parentIdentifier,
--- defaultTimeToExpireToken, ...}.
function M.list(opts)
  opts = check.opts("apikeys.list", opts)
  local typ, parent = r.owner("apikeys.list", opts)
  return json.array(r.get("/ng/api/apikey", {apiKeyType = typ, parentIdentifier = parent}))
end

--- Creates an API key: k = {identifier, name?, type?, parent?,
--- token_days? (default lifetime of its tokens), description?, tags?}.
function M.create(k)
  check.table("apikeys.create", 1, k)
  check.string("apikeys.create", "identifier", k.identifier)
  local typ, parent = r.owner("apikeys.create", k)
  return client.post("/ng/api/apikey", {json = {identifier = k.identifier,
    name = k.name or k.identifier, apiKeyType = typ, parentIdentifier = parent,
    accountIdentifier = config.account(), description = k.description, tags = k.tags,
    defaultTimeToExpireToken = k.token_days and math.floor(k.token_days * 86400000) or nil}}).data
end

--- Deletes an API key and its tokens; opts: type, parent.
function M.delete(id, opts)
  check.string("apikeys.delete", 1, id)
  local typ, parent = r.owner("apikeys.delete", check.opts("apikeys.delete", opts, 2))
  client.delete("/ng/api/apikey/" .. url.escape(id), {query = {apiKeyType = typ, parentIdentifier = parent}})
  return true
end

--- The tokens of an API key; opts: type, parent.
function M.tokens(id, opts)
  check.string("apikeys.tokens", 1, id)
  local typ, parent = r.owner("apikeys.tokens", check.opts("apikeys.tokens", opts, 2))
  return tokens.list{type = typ, parent = parent, apikey = id}
end

M.rotate = tokens.rotate
M.expiring = tokens.expiring

return M
