-- harness.feature_flags: feature flags of a project and their state in its
-- environments. Scope: opts.org and opts.project, by default the
-- configured ones; opts.environment names the environment.
local check = require "harness.check"
local client = require "harness.client"
local r = require "harness.resource"
local url = require "harness.url"

local M = {}

-- The options of a call and the query of its scope (org, project and
-- environment, which 'need_env' makes required); 'pos' is the position of
-- the options argument.
local function scope(fname, opts, pos, need_env)
  opts = check.opts("feature_flags." .. fname, opts, pos, 1)
  local org, project = r.scope("feature_flags." .. fname, opts, "project", 1)
  local env = opts.environment
  if env ~= nil and (type(env) ~= "string" or env == "") then
    check.argerror("feature_flags." .. fname, "environment", "environment identifier expected", 1)
  end
  if need_env and env == nil then
    check.argerror("feature_flags." .. fname, "environment",
      "which environment? pass environment = \"prod\" (or dev, staging, ...)", 1)
  end
  return opts, r.query(org, project, {environmentIdentifier = env})
end

--- Flags of the project: {identifier, name, kind, description, archived,
--- variations, ...}; with opts.environment also envProperties.state ("on"
--- or "off") and the served evaluation. opts: org, project, environment,
--- search, max_items.
function M.list(opts)
  local query
  opts, query = scope("list", opts, 1)
  query.name = opts.search
  return r.list("/cf/admin/features", {style = "cf", items = "features", query = query,
    max_items = opts.max_items})
end

--- One flag; opts as for list.
function M.get(id, opts)
  check.string("feature_flags.get", 1, id)
  local query
  opts, query = scope("get", opts, 2)
  return client.get("/cf/admin/features/" .. url.escape(id), {query = query})
end

--- The flag's state ("on" or "off") in opts.environment.
function M.state(id, opts)
  check.string("feature_flags.state", 1, id)
  scope("state", opts, 2, true)
  local f = M.get(id, opts)
  return f.envProperties and f.envProperties.state
end

--- Turns a flag on or off in opts.environment: state is true/false or
--- "on"/"off". Returns the flag as it is now.
function M.toggle(id, state, opts)
  check.string("feature_flags.toggle", 1, id)
  if state == true then state = "on" elseif state == false then state = "off" end
  if state ~= "on" and state ~= "off" then
    check.argerror("feature_flags.toggle", 2, "true, false, \"on\" or \"off\" expected, got " .. tostring(state))
  end
  local query
  opts, query = scope("toggle", opts, 3, true)
  return client.patch("/cf/admin/features/" .. url.escape(id), {query = query, json = {
    instructions = {{kind = "setFeatureFlagState", parameters = {state = state}}}}})
end

return M
