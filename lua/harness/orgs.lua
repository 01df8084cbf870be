-- harness.orgs: the account's organizations.
local api = require "harness.api"
local check = require "harness.check"
local r = require "harness.resource"

---@class harness.orgs
local M = {}

local function unwrap(item) return item.organization or item end

--- Every organization: {identifier, name, description, tags}.
--- opts: search (a search term), max_items, page_size.
---@param opts? {search?: string, max_items?: integer}
---@return {identifier: string, name: string, description: string, tags: table}[]
function M.list(opts)
  opts = check.options("orgs.list", opts, r.known({"search"}, true))
  return r.list(api.Organization.GetOrganizationList, {searchTerm = opts.search}, opts, unwrap)
end

--- One organization by identifier.
---@param id string
---@return {identifier: string, name: string, description: string, tags: table}
function M.get(id)
  check.string("orgs.get", 1, id)
  return r.data(api.Organization.GetOrganization, {identifier = id}, unwrap)
end

return M
