-- harness.projects: projects of an organization, or of the whole account.
local check = require "harness.check"
local config = require "harness.config"
local r = require "harness.resource"
local url = require "harness.url"

local M = {}

local function unwrap(item) return item.project or item end

--- Projects of opts.org (default: the configured org; the whole account when
--- there is none, or with all = true). Each is {identifier, orgIdentifier,
--- name, description, modules, tags, color}. opts: org, all, search,
--- module (e.g. "CD"), max_items.
function M.list(opts)
  opts = check.opts("projects.list", opts)
  local org = opts.org
  if org == nil and not opts.all then org = config.settings().org end
  return r.list("/ng/api/projects", {
    query = {orgIdentifier = org or nil, searchTerm = opts.search, moduleType = opts.module},
    max_items = opts.max_items}, unwrap)
end

--- One project by identifier; opts.org defaults to the configured org.
function M.get(id, opts)
  check.string("projects.get", 1, id)
  local org = r.scope("projects.get", check.opts("projects.get", opts, 2), "org")
  return r.get("/ng/api/projects/" .. url.escape(id), {orgIdentifier = org}, unwrap)
end

return M
