-- harness.connectors: connectors of the account, an org or a project.
-- Scope: opts.org and opts.project, by default the configured ones;
-- org = false asks for the account's own.
local check = require "harness.check"
local r = require "harness.resource"
local url = require "harness.url"

local M = {}

-- The connector, with the last connectivity check as 'connectivity'.
local function unwrap(item)
  local c = item.connector or item
  c.connectivity = r.nonnull(item.status)
  return c
end

--- Connectors in the scope: {identifier, name, type, spec, ...,
--- connectivity}. opts: org, project, type (e.g. "Github", or a list),
--- search, max_items.
function M.list(opts)
  opts = check.opts("connectors.list", opts)
  local org, project = r.scope("connectors.list", opts)
  local query = r.query(org, project, {searchTerm = opts.search})
  if opts.type then
    local types = type(opts.type) == "table" and opts.type or {opts.type}
    return r.list("/ng/api/connectors/listV2", {method = "POST",
      json = {filterType = "Connector", types = types}, query = query,
      max_items = opts.max_items}, unwrap)
  end
  return r.list("/ng/api/connectors", {query = query, max_items = opts.max_items}, unwrap)
end

--- One connector.
function M.get(id, opts)
  check.string("connectors.get", 1, id)
  local org, project = r.scope("connectors.get", check.opts("connectors.get", opts, 2))
  return r.get("/ng/api/connectors/" .. url.escape(id), r.query(org, project), unwrap)
end

return M
