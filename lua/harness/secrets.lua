-- harness.secrets: secrets of the account, an org or a project. Harness
-- never returns a secret's value; these calls never print one either.
-- Scope: opts.org and opts.project, by default the configured ones;
-- org = false asks for the account's own secrets.
local api = require "harness.api"
local check = require "harness.check"
local r = require "harness.resource"

---@class harness.secrets
local M = {}

local function unwrap(item) return item.secret or item end

--- Secrets in the scope: {identifier, name, type, description, tags,
--- orgIdentifier, projectIdentifier, spec}. opts: org, project, type
--- ("SecretText", "SecretFile", "SSHKey", ...), search, max_items, page_size.
---@param opts? harness.Scope|{type?: string, search?: string, max_items?: integer}
---@return {identifier: string, name: string, type: string}[]
function M.list(opts)
  opts = check.options("secrets.list", opts, r.known({"org", "project", "type", "search"}, true))
  local org, project = r.scope("secrets.list", opts)
  return r.list(api.Secrets.ListSecretsV2, r.params(org, project,
    {type = opts.type, searchTerm = opts.search}), opts, unwrap)
end

--- One secret (without its value). opts: org, project.
---@param id string
---@param opts? harness.Scope
---@return {identifier: string, name: string, type: string}
function M.get(id, opts)
  check.string("secrets.get", 1, id)
  local org, project = r.scope("secrets.get", check.options("secrets.get", opts, {"org", "project"}, 2))
  return r.data(api.Secrets.GetSecretV2, r.params(org, project, {identifier = id}), unwrap)
end

-- The body of a text secret: s as for create.
local function text_secret(s, org, project)
  return {secret = {type = "SecretText", identifier = s.identifier,
    name = s.name or s.identifier, description = s.description, tags = s.tags,
    orgIdentifier = org, projectIdentifier = project,
    spec = {secretManagerIdentifier = s.secret_manager or "harnessSecretManager",
      valueType = "Inline", value = s.value}}}
end

local SECRET_FIELDS = {"identifier", "value", "name", "description", "tags", "secret_manager",
                       "org", "project"}

--- Creates a text secret: s = {identifier, value, name?, description?,
--- tags?, secret_manager? (default "harnessSecretManager"), org?, project?}.
---@param s {identifier: string, value: string, name?: string, description?: string, tags?: table, secret_manager?: string, org?: string|false, project?: string|false}
function M.create(s)
  s = check.options("secrets.create", check.table("secrets.create", 1, s), SECRET_FIELDS)
  check.string("secrets.create", "identifier", s.identifier)
  check.string("secrets.create", "value", s.value)
  local org, project = r.scope("secrets.create", s)
  return r.data(api.Secrets.PostSecret, r.params(org, project, {body = text_secret(s, org, project)}), unwrap)
end

--- Replaces a text secret's value (and name, description, tags): s as for
--- create.
function M.update(s)
  s = check.options("secrets.update", check.table("secrets.update", 1, s), SECRET_FIELDS)
  check.string("secrets.update", "identifier", s.identifier)
  check.string("secrets.update", "value", s.value)
  local org, project = r.scope("secrets.update", s)
  return r.data(api.Secrets.PutSecret, r.params(org, project,
    {identifier = s.identifier, body = text_secret(s, org, project)}), unwrap)
end

--- Deletes a secret. opts: org, project.
---@param id string
---@param opts? harness.Scope
---@return true
function M.delete(id, opts)
  check.string("secrets.delete", 1, id)
  local org, project = r.scope("secrets.delete", check.options("secrets.delete", opts, {"org", "project"}, 2))
  api.Secrets.DeleteSecretV2(r.params(org, project, {identifier = id}))
  return true
end

return M
