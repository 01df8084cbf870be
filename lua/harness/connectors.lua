-- harness.connectors: connectors of the account, an org or a project.
-- Scope: opts.org and opts.project, by default the configured ones;
-- org = false asks for the account's own.
local u = require "harness._util"

local M = {}

-- The connector, with the last connectivity check as 'connectivity'.
local function unwrap(item)
  local c = item.connector or item
  c.connectivity = u.value(item.status)
  return c
end

--- Connectors in the scope: {identifier, name, type, spec, ...,
--- connectivity}. opts: org, project, type (e.g. "Github", or a list),
--- search, max_items.
function M.list(opts)
  opts = u.opts("connectors.list", opts)
  local org, project = u.scope("connectors.list", opts)
  if opts.type then
    local types = type(opts.type) == "table" and opts.type or {opts.type}
    return u.collect("/ng/api/connectors/listV2", {method = "POST",
      json = {filterType = "Connector", types = types},
      query = u.scope_query(org, project, {searchTerm = opts.search}),
      max_items = opts.max_items}, unwrap)
  end
  return u.collect("/ng/api/connectors", {query = u.scope_query(org, project,
    {searchTerm = opts.search}), max_items = opts.max_items}, unwrap)
end

--- One connector.
function M.get(id, opts)
  u.need_string("connectors.get", "id", id)
  opts = u.opts("connectors.get", opts, 2)
  local org, project = u.scope("connectors.get", opts)
  return unwrap(harness.get("/ng/api/connectors/" .. u.seg(id),
    {query = u.scope_query(org, project)}).data)
end

return M
