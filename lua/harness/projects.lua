-- harness.projects: projects of an organization, or of the whole account.
local u = require "harness._util"

local M = {}

local function unwrap(item) return item.project or item end

--- Projects of opts.org (default: the configured org; the whole account when
--- there is none, or with all = true). Each is {identifier, orgIdentifier,
--- name, description, modules, tags, color}. opts: org, all, search,
--- module (e.g. "CD"), max_items.
function M.list(opts)
  opts = u.opts("projects.list", opts)
  local org = opts.org
  if org == nil and not opts.all then org = harness.config().org end
  return u.collect("/ng/api/projects", {
    query = {orgIdentifier = org or nil, searchTerm = opts.search, moduleType = opts.module},
    max_items = opts.max_items}, unwrap)
end

--- One project by identifier; opts.org defaults to the configured org.
function M.get(id, opts)
  u.need_string("projects.get", "id", id)
  local org = u.scope("projects.get", u.opts("projects.get", opts, 2), "org")
  return unwrap(harness.get("/ng/api/projects/" .. u.seg(id),
    {query = {orgIdentifier = org}}).data)
end

return M
