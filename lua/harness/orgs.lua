-- harness.orgs: the account's organizations.
local check = require "harness.check"
local r = require "harness.resource"
local url = require "harness.url"

local M = {}

local function unwrap(item) return item.organization or item end

--- Every organization: {identifier, name, description, tags}.
--- opts: search (a search term), max_items.
function M.list(opts)
  opts = check.opts("orgs.list", opts)
  return r.list("/ng/api/organizations", {
    query = {searchTerm = opts.search}, max_items = opts.max_items}, unwrap)
end

--- One organization by identifier.
function M.get(id)
  check.string("orgs.get", 1, id)
  return r.get("/ng/api/organizations/" .. url.escape(id), nil, unwrap)
end

return M
