-- harness.orgs: the account's organizations.
local u = require "harness._util"

local M = {}

local function unwrap(item) return item.organization or item end

--- Every organization: {identifier, name, description, tags}.
--- opts: search (a search term), max_items.
function M.list(opts)
  opts = u.opts("orgs.list", opts)
  return u.collect("/ng/api/organizations", {
    query = {searchTerm = opts.search}, max_items = opts.max_items}, unwrap)
end

--- One organization by identifier.
function M.get(id)
  u.need_string("orgs.get", "id", id)
  return unwrap(harness.get("/ng/api/organizations/" .. u.seg(id)).data)
end

return M
