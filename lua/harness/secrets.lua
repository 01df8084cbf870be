-- harness.secrets: secrets of the account, an org or a project. Harness
-- never returns a secret's value; these calls never print one either.
-- Scope: opts.org and opts.project, by default the configured ones;
-- org = false asks for the account's own secrets.
local u = require "harness._util"

local M = {}

local function unwrap(item) return item.secret or item end

--- Secrets in the scope: {identifier, name, type, description, tags,
--- orgIdentifier, projectIdentifier, spec}. opts: org, project, type
--- ("SecretText", "SecretFile", "SSHKey", ...), search, max_items.
function M.list(opts)
  opts = u.opts("secrets.list", opts)
  local org, project = u.scope("secrets.list", opts)
  return u.collect("/ng/api/v2/secrets", {query = u.scope_query(org, project,
    {type = opts.type, searchTerm = opts.search}), max_items = opts.max_items}, unwrap)
end

--- One secret (without its value).
function M.get(id, opts)
  u.need_string("secrets.get", "id", id)
  opts = u.opts("secrets.get", opts, 2)
  local org, project = u.scope("secrets.get", opts)
  return unwrap(harness.get("/ng/api/v2/secrets/" .. u.seg(id),
    {query = u.scope_query(org, project)}).data)
end

--- Creates a text secret: s = {identifier, value, name?, description?,
--- tags?, secret_manager? (default "harnessSecretManager"), org?, project?}.
function M.create(s)
  if type(s) ~= "table" then u.argerror("secrets.create", "secret", "table expected, got " .. type(s)) end
  u.need_string("secrets.create", "identifier", s.identifier)
  u.need_string("secrets.create", "value", s.value)
  local org, project = u.scope("secrets.create", s)
  local body = {secret = {type = "SecretText", identifier = s.identifier,
    name = s.name or s.identifier, description = s.description, tags = s.tags,
    orgIdentifier = org, projectIdentifier = project,
    spec = {secretManagerIdentifier = s.secret_manager or "harnessSecretManager",
      valueType = "Inline", value = s.value}}}
  return unwrap(harness.post("/ng/api/v2/secrets", {query = u.scope_query(org, project),
    json = body}).data)
end

--- Deletes a secret.
function M.delete(id, opts)
  u.need_string("secrets.delete", "id", id)
  opts = u.opts("secrets.delete", opts, 2)
  local org, project = u.scope("secrets.delete", opts)
  harness.delete("/ng/api/v2/secrets/" .. u.seg(id), {query = u.scope_query(org, project)})
  return true
end

return M
