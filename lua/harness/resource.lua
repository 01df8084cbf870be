-- harness.resource: what the library modules (orgs, projects, pipelines,
-- tokens, ...) share. Every request of theirs is an operation of
-- harness.api (one place knows each request's shape); this file holds how
-- a call finds its scope (org, project) and the owner of API keys and
-- tokens, and the one way to get a resource or a paged list of them.
local check = require "harness.check"
local config = require "harness.config"
local paging = require "harness.paging"
local null = require("harness.json").null

local M = {}

M.TYPES = {USER = true, SERVICE_ACCOUNT = true}
-- The options of every list: how many items at most, how many a page.
M.LIST_OPTIONS = {"max_items", "page_size"}

--- The known options of a function: 'names' plus the list options when
--- 'list' is true.
function M.known(names, list)
  local out = {}
  for _, n in ipairs(names) do out[#out + 1] = n end
  if list then
    for _, n in ipairs(M.LIST_OPTIONS) do out[#out + 1] = n end
  end
  return out
end

--- The org and project a call works in: opts.org / opts.project, else the
--- configured ones (the configured project only with the configured org;
--- false asks for none). 'need' is "org", "project" or nil (account scope
--- allowed). Returns org, project.
function M.scope(fname, opts, need)
  local cfg = config.settings()
  local org, project = opts.org, opts.project
  if org == nil then org = cfg.org end
  if project == nil and opts.org == nil then project = cfg.project end
  if org == false then org = nil end
  if project == false then project = nil end
  if project ~= nil and org == nil then
    check.argerror(fname, "org", "the project '" .. tostring(project) .. "' needs its org")
  end
  if (need == "org" or need == "project") and org == nil then
    check.argerror(fname, "org", "no org: pass org = \"...\" or set HARNESS_ORG_ID / --org")
  end
  if need == "project" and project == nil then
    check.argerror(fname, "project",
      "no project: pass project = \"...\" or set HARNESS_PROJECT_ID / --project")
  end
  return org, project
end

--- An operation's parameters for a scope (none: false, so that harness.api
--- does not fill in the configured one), with 'extra' merged in.
function M.params(org, project, extra)
  local p = {}
  for k, v in pairs(extra or {}) do p[k] = v end
  p.orgIdentifier = org or false
  p.projectIdentifier = project or false
  return p
end

--- Checks an API key type ("USER" or "SERVICE_ACCOUNT", or nil).
function M.check_type(fname, t)
  if t ~= nil and not M.TYPES[t] then
    check.argerror(fname, "type", "\"USER\" or \"SERVICE_ACCOUNT\" expected, got " .. tostring(t))
  end
  return t
end

--- The parent of API keys and tokens: opts.type ("USER", the default, or
--- "SERVICE_ACCOUNT") and opts.parent (default: the current user; a
--- service account must be named). Returns type, parent.
function M.owner(fname, opts)
  local typ = M.check_type(fname, opts.type) or "USER"
  local parent = opts.parent
  if parent == nil then
    if typ ~= "USER" then check.argerror(fname, "parent", "the service account's identifier expected") end
    parent = require("harness.users").current().uuid
  end
  return typ, parent
end

--- Every scope the key can see: the account's ({}), each org's
--- ({org = o}) and each project's ({org = o, project = p}).
function M.scopes()
  local out = {{}}
  for _, o in ipairs(require("harness.orgs").list()) do out[#out + 1] = {org = o.identifier} end
  for _, p in ipairs(require("harness.projects").list{all = true}) do
    out[#out + 1] = {org = p.orgIdentifier, project = p.identifier}
  end
  return out
end

--- The 'data' of an operation's answer, through 'unwrap' when given.
function M.data(op, params, unwrap)
  local data = op(params).data
  if unwrap then return unwrap(data) end
  return data
end

--- Every item of an operation's pages (opts: max_items, page_size), each
--- through 'unwrap'.
function M.list(op, params, opts, unwrap)
  return paging.collect(op:paginate(params, {max_items = opts.max_items, page_size = opts.page_size}),
    unwrap)
end

--- v, or nil when it is the JSON null.
function M.nonnull(v)
  if v == null then return nil end
  return v
end

--- Now, in milliseconds since the epoch (what Harness's times are in).
function M.now_ms()
  return os.time() * 1000
end

return M
