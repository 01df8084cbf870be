-- harness.tokens: API tokens of users and service accounts. A token lives
-- under an API key (apikey), which lives under a parent: a user (type
-- "USER", parent = the user's uuid) or a service account (type
-- "SERVICE_ACCOUNT", parent = its identifier), in the parent's scope (the
-- account, an org or a project: opts.org, opts.project).
--
-- Harness lists tokens only by API key (type, parent and API key are all
-- required), and a key that is not an admin's may list only its own. So a
-- token is found by walking its parent's API keys, the caller's own by
-- default, and the report of expiring tokens walks every service account
-- of every scope the key can see, saying what it could not see.
local api = require "harness.api"
local check = require "harness.check"
local config = require "harness.config"
local host = require "hlua.host"
local r = require "harness.resource"
local sched = require "harness.sched"
local json = require "harness.json"

---@class harness.tokens
local M = {}

local DAY_MS = 24 * 3600 * 1000

-- A token of the aggregate list, with its expiry beside its fields.
local function unwrap(item)
  local t = item.token or item
  t.expiryAt = r.nonnull(item.expiryAt) or r.nonnull(t.scheduledExpireTime) or r.nonnull(t.validTo)
  return t
end

-- The parameters naming a parent (and its API key) in its scope.
local function owner_params(typ, parent, org, project, extra)
  local p = r.params(org, project, extra)
  p.apiKeyType, p.parentIdentifier = typ, parent
  return p
end

-- The identifiers of the parent's API keys.
local function apikeys_of(typ, parent, org, project)
  local ids = {}
  for i, k in ipairs(r.data(api.ApiKey.ListApiKeys, owner_params(typ, parent, org, project))) do
    ids[i] = k.identifier
  end
  return ids
end

-- The tokens of one API key (params as for ListAggregatedTokens), through
-- unwrap.
local function tokens_of(params, opts)
  return r.list(api.Token.ListAggregatedTokens, params, opts or {}, unwrap)
end

--- Tokens of a parent, each a TokenDTO (identifier, name,
--- apiKeyIdentifier, parentIdentifier, apiKeyType, validFrom, validTo,
--- valid, ...) with expiryAt (ms). opts: type (default "USER"), parent
--- (default: the current user), apikey (only that key's; default: all the
--- parent's keys), org, project (the parent's scope), search, max_items,
--- page_size.
---@param opts? harness.TokenWhere|{search?: string, max_items?: integer}
---@return harness.Token[]
function M.list(opts)
  opts = check.options("tokens.list", opts, r.known({"type", "parent", "apikey", "org", "project", "search"}, true))
  local typ, parent = r.owner("tokens.list", opts)
  local keys = opts.apikey and {opts.apikey} or apikeys_of(typ, parent, opts.org, opts.project)
  local out = {}
  for _, key in ipairs(keys) do
    for _, t in ipairs(tokens_of(owner_params(typ, parent, opts.org, opts.project,
        {apiKeyIdentifier = key, searchTerm = opts.search}), opts)) do
      out[#out + 1] = t
      if opts.max_items and #out >= opts.max_items then return json.array(out) end
    end
  end
  return json.array(out)
end

--- One token by identifier, among its parent's API keys. opts: type,
--- parent (the current user by default), apikey, org, project.
---@param id string
---@param opts? harness.TokenWhere
---@return harness.Token
function M.get(id, opts)
  check.string("tokens.get", 1, id)
  opts = check.options("tokens.get", opts, {"type", "parent", "apikey", "org", "project"}, 2)
  local typ, parent = r.owner("tokens.get", opts)
  local keys = opts.apikey and {opts.apikey} or apikeys_of(typ, parent, opts.org, opts.project)
  for _, key in ipairs(keys) do
    for _, t in ipairs(tokens_of(owner_params(typ, parent, opts.org, opts.project,
        {apiKeyIdentifier = key, identifiers = {id}}))) do
      if t.identifier == id then return t end
    end
  end
  error(host.error{kind = "http", status = 404, code = "RESOURCE_NOT_FOUND",
    message = ("no token '%s' under the API keys of %s %s"):format(id, typ:lower(), parent)}, 2)
end

--- Creates a token under an API key and returns the token string (shown
--- only this once). t: identifier, apikey, name?, type? (default "USER"),
--- parent? (default: the current user), valid_days? (default 30) or
--- valid_to (ms), description?, tags?, org?, project?.
---@param t {identifier: string, apikey: string, name?: string, type?: harness.KeyType, parent?: string, valid_days?: number, valid_to?: integer, description?: string, tags?: table}
---@return string token
function M.create(t)
  t = check.options("tokens.create", check.table("tokens.create", 1, t), {"identifier", "apikey", "name",
    "type", "parent", "valid_days", "valid_to", "description", "tags", "org", "project"})
  check.string("tokens.create", "identifier", t.identifier)
  check.string("tokens.create", "apikey", t.apikey)
  local typ, parent = r.owner("tokens.create", t)
  local now = r.now_ms()
  local valid_to = t.valid_to or now + math.floor((t.valid_days or 30) * DAY_MS)
  return r.data(api.Token.CreateToken, {body = {
    identifier = t.identifier, name = t.name or t.identifier, apiKeyIdentifier = t.apikey,
    parentIdentifier = parent, apiKeyType = typ, accountIdentifier = config.account(),
    orgIdentifier = t.org, projectIdentifier = t.project,
    validFrom = now, validTo = valid_to, description = t.description, tags = t.tags}})
end

-- Where a token is: its API key, parent and type, from opts when they are
-- all given, else from the token found among the parent's keys.
local function locate(fname, id, opts)
  local typ = r.check_type(fname, opts.type)
  if opts.apikey and opts.parent and typ then return typ, opts.parent, opts.apikey end
  local t = M.get(id, {type = typ, parent = opts.parent, apikey = opts.apikey, org = opts.org,
    project = opts.project})
  return t.apiKeyType, t.parentIdentifier, t.apiKeyIdentifier
end

--- Rotates a token: returns the new token string. The old one keeps
--- working until opts.at (ms since the epoch; default now). opts: type,
--- parent, apikey (found among the parent's keys when not given), org,
--- project, at.
---@param id string
---@param opts? harness.TokenWhere|{at?: integer}
---@return string token   the new token
function M.rotate(id, opts)
  check.string("tokens.rotate", 1, id)
  opts = check.options("tokens.rotate", opts, {"type", "parent", "apikey", "org", "project", "at"}, 2)
  local typ, parent, key = locate("tokens.rotate", id, opts)
  return r.data(api.Token.RotateToken, owner_params(typ, parent, opts.org, opts.project, {
    identifier = id, apiKeyIdentifier = key, rotateTimestamp = math.floor(opts.at or r.now_ms())}))
end

--- Deletes a token. opts as for rotate (but at).
---@param id string
---@param opts? harness.TokenWhere
---@return true
function M.delete(id, opts)
  check.string("tokens.delete", 1, id)
  opts = check.options("tokens.delete", opts, {"type", "parent", "apikey", "org", "project"}, 2)
  local typ, parent, key = locate("tokens.delete", id, opts)
  api.Token.DeleteToken(owner_params(typ, parent, opts.org, opts.project,
    {identifier = id, apiKeyIdentifier = key}))
  return true
end

-- The scope's name, for what the report could not see.
local function scope_name(s)
  if s.project then return ("project %s/%s"):format(s.org, s.project) end
  if s.org then return "org " .. s.org end
  return "the account"
end

-- The tokens of the parents to look at, in their scopes: the current
-- user's (unless only service accounts are asked for), then every service
-- account of every scope the key can see (unless only users are). Returns
-- the tokens and what could not be seen ({what, error, status, code}),
-- walking the parents concurrently.
local function walk(typ)
  local parents, unseen = {}, {}
  local function try(what, fn, ...)
    local ok, v = pcall(fn, ...)
    if ok then return v end
    if not host.is_error(v) or v.kind ~= "http" or (v.status ~= 403 and v.status ~= 401) then error(v, 0) end
    unseen[#unseen + 1] = {what = what, error = tostring(v), status = v.status, code = v.code}
  end
  if typ ~= "SERVICE_ACCOUNT" then
    parents[1] = {type = "USER", parent = require("harness.users").current().uuid}
  end
  if typ ~= "USER" then
    local scopes = r.scopes()
    local lists = sched.map(scopes, function(s)
      return try("the service accounts of " .. scope_name(s), r.data, api.ServiceAccount.ListServiceAccount,
        r.params(s.org, s.project)) or {}
    end)
    for i, list in ipairs(lists) do
      for _, a in ipairs(list) do
        parents[#parents + 1] = {type = "SERVICE_ACCOUNT", parent = a.identifier,
          org = scopes[i].org, project = scopes[i].project}
      end
    end
  end
  local found = sched.map(parents, function(p)
    local who = p.type == "USER" and "your own API keys" or ("service account " .. p.parent)
    local keys = try("the API keys of " .. who, apikeys_of, p.type, p.parent, p.org, p.project) or {}
    local out = {}
    for _, key in ipairs(keys) do
      local list = try(("the tokens of API key %s of %s"):format(key, who), tokens_of,
        owner_params(p.type, p.parent, p.org, p.project, {apiKeyIdentifier = key})) or {}
      for _, t in ipairs(list) do out[#out + 1] = t end
    end
    return out
  end)
  local tokens = {}
  for _, list in ipairs(found) do
    for _, t in ipairs(list) do tokens[#tokens + 1] = t end
  end
  return tokens, unseen
end

--- Tokens that expire within opts.within_days days (default 30), soonest
--- first; each has days_left (negative once expired). Looks at the current
--- user's tokens and those of every service account in every scope the key
--- can see. opts: within_days, expired (also those already expired,
--- default false), type (only "USER" or only "SERVICE_ACCOUNT"). Returns
--- the tokens, and a list of what the key could not see ({what, error,
--- status, code}: the key lacks a permission there).
---@param opts? harness.ExpiringOpts
---@return harness.Token[]
function M.expiring(opts)
  opts = check.options("tokens.expiring", opts, {"within_days", "expired", "type"})
  local days = opts.within_days or 30
  if type(days) ~= "number" or days < 0 then
    check.argerror("tokens.expiring", "within_days", "non-negative number expected, got " .. tostring(days))
  end
  r.check_type("tokens.expiring", opts.type)
  local now = r.now_ms()
  local limit = now + days * DAY_MS
  local all, unseen = walk(opts.type)
  local out = {}
  for _, t in ipairs(all) do
    local at = t.expiryAt
    if at and at <= limit and (opts.expired or at > now) then
      t.days_left = math.floor((at - now) / DAY_MS * 10) / 10
      out[#out + 1] = t
    end
  end
  table.sort(out, function(a, b) return a.expiryAt < b.expiryAt end)
  return json.array(out), json.array(unseen)
end

return M
