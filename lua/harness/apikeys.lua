-- harness.apikeys: API keys of users and service accounts; each holds
-- tokens (harness.tokens). A key lives under a parent (opts.type and
-- opts.parent: the current user by default) in the parent's scope
-- (opts.org, opts.project: the account's by default). rotate and expiring
-- are the tokens' own.
local api = require "harness.api"
local check = require "harness.check"
local config = require "harness.config"
local r = require "harness.resource"
local json = require "harness.json"
local tokens = require "harness.tokens"

---@class harness.apikeys
local M = {}

local OWNER = {"type", "parent", "org", "project"}

-- The parameters naming the parent in its scope.
local function owner_params(fname, opts, extra)
  local typ, parent = r.owner(fname, opts)
  local p = r.params(opts.org, opts.project, extra)
  p.apiKeyType, p.parentIdentifier = typ, parent
  return p
end

--- API keys of a parent: {identifier, name, apiKeyType, parentIdentifier,
--- defaultTimeToExpireToken, ...}. opts: type ("USER", default, or
--- "SERVICE_ACCOUNT"), parent (default: the current user), org, project.
---@param opts? {type?: harness.KeyType, parent?: string}
---@return {identifier: string, name: string, apiKeyType: string, parentIdentifier: string}[]
function M.list(opts)
  opts = check.options("apikeys.list", opts, OWNER)
  return json.array(r.data(api.ApiKey.ListApiKeys, owner_params("apikeys.list", opts)))
end

--- Creates an API key: k = {identifier, name?, type?, parent?,
--- token_days? (default lifetime of its tokens), description?, tags?,
--- org?, project?}.
---@param k {identifier: string, name?: string, type?: harness.KeyType, parent?: string, token_days?: number, description?: string, tags?: table}
function M.create(k)
  k = check.options("apikeys.create", check.table("apikeys.create", 1, k), {"identifier", "name", "type",
    "parent", "token_days", "description", "tags", "org", "project"})
  check.string("apikeys.create", "identifier", k.identifier)
  local typ, parent = r.owner("apikeys.create", k)
  return r.data(api.ApiKey.CreateApiKey, {body = {identifier = k.identifier,
    name = k.name or k.identifier, apiKeyType = typ, parentIdentifier = parent,
    accountIdentifier = config.account(), orgIdentifier = k.org, projectIdentifier = k.project,
    description = k.description, tags = k.tags,
    defaultTimeToExpireToken = k.token_days and math.floor(k.token_days * 86400000) or nil}})
end

--- Deletes an API key and its tokens; opts: type, parent, org, project.
---@param id string
---@param opts? {type?: harness.KeyType, parent?: string}
---@return true
function M.delete(id, opts)
  check.string("apikeys.delete", 1, id)
  opts = check.options("apikeys.delete", opts, OWNER, 2)
  api.ApiKey.DeleteApiKey(owner_params("apikeys.delete", opts, {identifier = id}))
  return true
end

--- The tokens of an API key; opts: type, parent, org, project.
---@param id string
---@param opts? {type?: harness.KeyType, parent?: string}
---@return harness.Token[]
function M.tokens(id, opts)
  check.string("apikeys.tokens", 1, id)
  opts = check.options("apikeys.tokens", opts, OWNER, 2)
  return tokens.list{type = opts.type, parent = opts.parent, org = opts.org, project = opts.project,
    apikey = id}
end

M.rotate = tokens.rotate
M.expiring = tokens.expiring

return M
