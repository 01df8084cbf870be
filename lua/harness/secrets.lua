-- harness.secrets: secrets of the account, an org or a project. Harness
-- never returns a secret's value; these calls never print one either.
-- Scope: opts.org and opts.project, by default the configured ones;
-- org = false asks for the account's own secrets.
local check = require "harness.check"
local client = require "harness.client"
local r = require "harness.resource"
local url = require "harness.url"

local M = {}

local BASE = "/ng/api/v2/secrets"

local function unwrap(item) return item.secret or item end

--- Secrets in the scope: {identifier, name, type, description, tags,
--- orgIdentifier, projectIdentifier, spec}. opts: org, project, type
--- ("SecretText", "SecretFile", "SSHKey", ...), search, max_items.
function M.list(opts)
  opts = check.opts("secrets.list", opts)
  local org, project = r.scope("secrets.list", opts)
  return r.list(BASE, {query = r.query(org, project, {type = opts.type, searchTerm = opts.search}),
    max_items = opts.max_items}, unwrap)
end

--- One secret (without its value).
function M.get(id, opts)
  check.string("secrets.get", 1, id)
  local org, project = r.scope("secrets.get", check.opts("secrets.get", opts, 2))
  return r.get(BASE .. "/" .. url.escape(id), r.query(org, project), unwrap)
end

--- Creates a text secret: s = {identifier, value, name?, description?,
--- tags?, secret_manager? (default "harnessSecretManager"), org?, project?}.
function M.create(s)
  check.table("secrets.create", 1, s)
  check.string("secrets.create", "identifier", s.identifier)
  check.string("secrets.create", "value", s.value)
  local org, project = r.scope("secrets.create", s)
  local body = {secret = {type = "SecretText", identifier = s.identifier,
    name = s.name or s.identifier, description = s.description, tags = s.tags,
    orgIdentifier = org, projectIdentifier = project,
    spec = {secretManagerIdentifier = s.secret_manager or "harnessSecretManager",
      valueType = "Inline", value = s.value}}}
  return unwrap(client.post(BASE, {query = r.query(org, project), json = body}).data)
end

--- Deletes a secret.
function M.delete(id, opts)
  check.string("secrets.delete", 1, id)
  local org, project = r.scope("secrets.delete", check.opts("secrets.delete", opts, 2))
  client.delete(BASE .. "/" .. url.escape(id), {query = r.query(org, project)})
  return true
end

return M
