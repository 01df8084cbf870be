-- harness.connectors: connectors of the account, an org or a project.
-- Scope: opts.org and opts.project, by default the configured ones;
-- org = false asks for the account's own.
local api = require "harness.api"
local check = require "harness.check"
local r = require "harness.resource"

---@class harness.connectors
local M = {}

-- The connector, with the last connectivity check as 'connectivity'.
local function unwrap(item)
  local c = item.connector or item
  c.connectivity = r.nonnull(item.status)
  return c
end

--- Connectors in the scope: {identifier, name, type, spec, ...,
--- connectivity}. opts: org, project, type (e.g. "Github", or a list),
--- search, max_items, page_size.
---@param opts? harness.Scope|{type?: string|string[], search?: string, max_items?: integer}
---@return {identifier: string, name: string, type: string, connectivity?: table}[]
function M.list(opts)
  opts = check.options("connectors.list", opts, r.known({"org", "project", "type", "search"}, true))
  local org, project = r.scope("connectors.list", opts)
  local params = r.params(org, project, {searchTerm = opts.search})
  if type(opts.type) == "table" then
    params.body = {filterType = "Connector", types = opts.type}
    return r.list(api.Connectors.GetConnectorListV2, params, opts, unwrap)
  end
  params.type = opts.type
  return r.list(api.Connectors.GetConnectorList, params, opts, unwrap)
end

--- One connector. opts: org, project.
---@param id string
---@param opts? harness.Scope
function M.get(id, opts)
  check.string("connectors.get", 1, id)
  local org, project = r.scope("connectors.get", check.options("connectors.get", opts, {"org", "project"}, 2))
  return r.data(api.Connectors.GetConnector, r.params(org, project, {identifier = id}), unwrap)
end

return M
