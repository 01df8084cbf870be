-- harness.projects: projects of an organization, or of the whole account.
local api = require "harness.api"
local check = require "harness.check"
local config = require "harness.config"
local r = require "harness.resource"

---@class harness.projects
local M = {}

local function unwrap(item) return item.project or item end

--- Projects of opts.org (default: the configured org; the whole account when
--- there is none, or with all = true). Each is {identifier, orgIdentifier,
--- name, description, modules, tags, color}. opts: org, all, search,
--- module (e.g. "CD"), max_items, page_size.
---@param opts? {org?: string, all?: boolean, search?: string, module?: string, max_items?: integer}
---@return harness.Project[]
function M.list(opts)
  opts = check.options("projects.list", opts, r.known({"org", "all", "search", "module"}, true))
  local org = opts.org
  if org == nil and not opts.all then org = config.settings().org end
  return r.list(api.Project.GetProjectList, {orgIdentifier = org or false,
    searchTerm = opts.search, moduleType = opts.module}, opts, unwrap)
end

--- One project by identifier; opts.org defaults to the configured org.
---@param id string
---@param opts? {org?: string}
---@return harness.Project
function M.get(id, opts)
  check.string("projects.get", 1, id)
  local org = r.scope("projects.get", check.options("projects.get", opts, {"org"}, 2), "org")
  return r.data(api.Project.GetProject, {identifier = id, orgIdentifier = org}, unwrap)
end

return M
