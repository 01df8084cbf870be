-- harness.service_accounts: service accounts (robot users whose API keys
-- and tokens scripts use) of the account, an org or a project. Unlike the
-- other modules, the scope is the account's unless opts.org (and
-- opts.project) name another: that is where service accounts usually live.
local api = require "harness.api"
local check = require "harness.check"
local config = require "harness.config"
local r = require "harness.resource"
local json = require "harness.json"

---@class harness.service_accounts
local M = {}

local SCOPE = {"org", "project"}

-- The scope named by opts (nil: the account's).
local function scope(fname, opts)
  return r.scope(fname, {org = opts.org or false, project = opts.project or false}, nil)
end

--- Service accounts of a scope: {identifier, name, email, description,
--- tags, orgIdentifier, projectIdentifier, ...}. opts: org, project; all =
--- true lists those of every scope the key can see.
---@return {identifier: string, name: string, email: string}[]
function M.list(opts)
  opts = check.options("service_accounts.list", opts, {"org", "project", "all"})
  if opts.all then
    local out = {}
    for _, s in ipairs(r.scopes()) do
      for _, a in ipairs(M.list{org = s.org, project = s.project}) do out[#out + 1] = a end
    end
    return json.array(out)
  end
  local org, project = scope("service_accounts.list", opts)
  return json.array(r.data(api.ServiceAccount.ListServiceAccount, r.params(org, project)))
end

--- One service account, with tokensCount and its role assignments.
--- opts: org, project.
---@param id string
---@return {identifier: string, name: string, email: string, tokensCount: integer}
function M.get(id, opts)
  check.string("service_accounts.get", 1, id)
  local org, project = scope("service_accounts.get", check.options("service_accounts.get", opts, SCOPE, 2))
  local d = r.data(api.ServiceAccount.GetAggregatedServiceAccount, r.params(org, project, {identifier = id}))
  local a = d.serviceAccount or d
  a.tokensCount = r.nonnull(d.tokensCount)
  a.roleAssignments = r.nonnull(d.roleAssignmentsMetadataDTO)
  return a
end

--- Creates a service account: {identifier, name?, email?, description?,
--- tags?, org?, project?}.
---@param a {identifier: string, name?: string, email?: string, description?: string, tags?: table}
function M.create(a)
  a = check.options("service_accounts.create", check.table("service_accounts.create", 1, a),
    {"identifier", "name", "email", "description", "tags", "org", "project"})
  check.string("service_accounts.create", "identifier", a.identifier)
  local org, project = scope("service_accounts.create", a)
  return r.data(api.ServiceAccount.CreateServiceAccount, r.params(org, project, {body = {
    identifier = a.identifier, name = a.name or a.identifier, accountIdentifier = config.account(),
    orgIdentifier = org, projectIdentifier = project,
    email = a.email or (a.identifier .. "@service.harness.io"),
    description = a.description, tags = a.tags}}))
end

--- Deletes a service account. opts: org, project.
---@param id string
---@return true
function M.delete(id, opts)
  check.string("service_accounts.delete", 1, id)
  local org, project = scope("service_accounts.delete", check.options("service_accounts.delete", opts, SCOPE, 2))
  api.ServiceAccount.DeleteServiceAccount(r.params(org, project, {identifier = id}))
  return true
end

return M
