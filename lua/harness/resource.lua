-- harness.resource: what the library modules (orgs, projects, pipelines,
-- tokens, ...) share: how a call finds its scope (org, project) and the
-- owner of API keys and tokens, and the one way to get one resource or a
-- paged list of them.
local check = require "harness.check"
local config = require "harness.config"
local client = require "harness.client"
local paging = require "harness.paging"
local null = require("harness.json").null

local M = {}

M.TYPES = {USER = true, SERVICE_ACCOUNT = true}

--- The org and project a call works in: opts.org / opts.project, else the
--- configured ones (the configured project only with the configured org;
--- false asks for none). 'need' is "org", "project" or nil (account scope
--- allowed). 'level' as for harness.check. Returns org, project.
function M.scope(fname, opts, need, level)
  local lv = (level or 0) + 1
  local cfg = config.settings()
  local org, project = opts.org, opts.project
  if org == nil then org = cfg.org end
  if project == nil and opts.org == nil then project = cfg.project end
  if org == false then org = nil end
  if project == false then project = nil end
  if project ~= nil and org == nil then
    check.argerror(fname, "org", "the project '" .. tostring(project) .. "' needs its org", lv)
  end
  if (need == "org" or need == "project") and org == nil then
    check.argerror(fname, "org", "no org: pass org = \"...\" or set HARNESS_ORG_ID / --org", lv)
  end
  if need == "project" and project == nil then
    check.argerror(fname, "project",
      "no project: pass project = \"...\" or set HARNESS_PROJECT_ID / --project", lv)
  end
  return org, project
end

--- The query of a scope, with 'extra' merged in.
function M.query(org, project, extra)
  local q = {}
  for k, v in pairs(extra or {}) do q[k] = v end
  q.orgIdentifier = org
  q.projectIdentifier = project
  return q
end

--- Checks an API key type ("USER" or "SERVICE_ACCOUNT", or nil).
function M.check_type(fname, t, level)
  if t ~= nil and not M.TYPES[t] then
    check.argerror(fname, "type", "\"USER\" or \"SERVICE_ACCOUNT\" expected, got " .. tostring(t),
      (level or 0) + 1)
  end
  return t
end

--- The parent of API keys and tokens: opts.type ("USER", the default, or
--- "SERVICE_ACCOUNT") and opts.parent (default: the current user; a
--- service account must be named). Returns type, parent.
function M.owner(fname, opts, level)
  local lv = (level or 0) + 1
  local typ = M.check_type(fname, opts.type, lv) or "USER"
  local parent = opts.parent
  if parent == nil then
    if typ ~= "USER" then check.argerror(fname, "parent", "the service account's identifier expected", lv) end
    parent = require("harness.users").current().uuid
  end
  return typ, parent
end

--- The 'data' of a GET, through 'unwrap' when given.
function M.get(path, query, unwrap)
  local data = client.get(path, {query = query}).data
  if unwrap then return unwrap(data) end
  return data
end

--- Every item of a paged list (paginate's options), each through 'unwrap'.
function M.list(path, opts, unwrap)
  return paging.collect(paging.paginate(path, opts), unwrap)
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
