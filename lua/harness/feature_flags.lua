-- harness.feature_flags: feature flags of a project and their state in its
-- environments. Scope: opts.org and opts.project, by default the
-- configured ones; opts.environment names the environment.
local api = require "harness.api"
local check = require "harness.check"
local r = require "harness.resource"

---@class harness.feature_flags
local M = {}

-- The options of a call (checked against 'known', plus org, project and
-- environment, which 'need_env' makes required) and the parameters of its
-- scope; 'pos' is the position of the options argument.
local function scope(fname, opts, known, pos, need_env)
  local names = {"org", "project", "environment"}
  for _, n in ipairs(known or {}) do names[#names + 1] = n end
  opts = check.options("feature_flags." .. fname, opts, names, pos)
  local org, project = r.scope("feature_flags." .. fname, opts, "project")
  local env = opts.environment
  if env ~= nil and (type(env) ~= "string" or env == "") then
    check.argerror("feature_flags." .. fname, "environment", "environment identifier expected")
  end
  if need_env and env == nil then
    check.argerror("feature_flags." .. fname, "environment",
      "which environment? pass environment = \"prod\" (or dev, staging, ...)")
  end
  return opts, r.params(org, project, {environmentIdentifier = env})
end

--- Flags of the project: {identifier, name, kind, description, archived,
--- variations, ...}; with opts.environment also envProperties.state ("on"
--- or "off") and the served evaluation. opts: org, project, environment,
--- search, max_items, page_size.
---@param opts? harness.FlagScope|{search?: string, max_items?: integer}
---@return {identifier: string, name: string, kind: string, envProperties?: {state: "on"|"off"}}[]
function M.list(opts)
  local params
  opts, params = scope("list", opts, r.known({"search"}, true), 1)
  params.name = opts.search
  return r.list(api.FeatureFlags.GetAllFeatures, params, opts)
end

--- One flag; opts: org, project, environment.
---@param id string
---@param opts? harness.FlagScope
function M.get(id, opts)
  check.string("feature_flags.get", 1, id)
  local _, params = scope("get", opts, nil, 2)
  params.identifier = id
  return api.FeatureFlags.GetFeatureFlag(params)
end

--- The flag's state ("on" or "off") in opts.environment.
---@param id string
---@param opts harness.FlagScope   environment required
---@return "on"|"off"
function M.state(id, opts)
  check.string("feature_flags.state", 1, id)
  scope("state", opts, nil, 2, true)
  local f = M.get(id, opts)
  return f.envProperties and f.envProperties.state
end

--- Turns a flag on or off in opts.environment: state is true/false or
--- "on"/"off". Returns the flag as it is now.
---@param id string
---@param state boolean|"on"|"off"
---@param opts harness.FlagScope   environment required
function M.toggle(id, state, opts)
  check.string("feature_flags.toggle", 1, id)
  if state == true then state = "on" elseif state == false then state = "off" end
  if state ~= "on" and state ~= "off" then
    check.argerror("feature_flags.toggle", 2, "true, false, \"on\" or \"off\" expected, got " .. tostring(state))
  end
  local _, params = scope("toggle", opts, nil, 3, true)
  params.identifier = id
  params.body = {instructions = {{kind = "setFeatureFlagState", parameters = {state = state}}}}
  return api.FeatureFlags.PatchFeature(params)
end

return M
