-- Shared by the HTTP specs: the sandbox's control API (through curl, so a
-- broken hlua cannot hide its own bugs) and a clean environment for hlua.
local h = require "tests.support.helper"
local M = {}

M.info = h.sandbox()

-- Calls the sandbox control API; returns the decoded answer.
function M.ctl(method, path, body)
  local cmd = ("curl -s -X %s %s"):format(method, h.q(M.info.url .. path))
  if body ~= nil then
    cmd = cmd .. " -H 'Content-Type: application/json' --data " .. h.q(harness.json.encode(body))
  end
  local out = h.sh(cmd)
  return harness.json.decode(out)
end

function M.reset() return M.ctl("POST", "/_sandbox/reset") end
function M.fault(spec) return M.ctl("POST", "/_sandbox/faults", spec) end
function M.stats() return M.ctl("GET", "/_sandbox/stats") end

-- The sandbox's log entries of the API requests (not its own /_sandbox/
-- ones) made since the last reset, in order.
function M.api_requests()
  local out = {}
  for _, r in ipairs(M.ctl("GET", "/_sandbox/requests?since=0").requests) do
    if r.path:sub(1, 10) ~= "/_sandbox/" then out[#out + 1] = r end
  end
  return out
end

local HARNESS_VARS = {"HARNESS_API_KEY", "HARNESS_PLATFORM_API_KEY", "HARNESS_API_KEY_FILE",
  "HARNESS_ENDPOINT", "HARNESS_ACCOUNT_ID", "HARNESS_ORG_ID", "HARNESS_PROJECT_ID",
  "HARNESS_PROFILE", "HARNESS_TRACE", "HARNESS_LOG", "HARNESS_RETRIES", "HARNESS_CA_BUNDLE",
  "SSL_CERT_FILE", "HARNESS_TIMEOUT", "HARNESS_MAX_SIZE", "LUA_INIT", "LUA_INIT_5_4"}

-- A fresh empty home directory, so no real configuration is read.
function M.home()
  local dir = h.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. h.q(dir)))
  return dir
end

-- An environment prefix for h.run: a clean home, the sandbox as endpoint
-- with its key, fast retries; 'vars' adds or overrides (false removes).
function M.env(vars)
  local v = {HOME = M.home(), HARNESS_ENDPOINT = M.info.url, HARNESS_API_KEY = M.info.api_key,
             HARNESS_RETRY_BASE = "0.01"}
  v.XDG_CONFIG_HOME = v.HOME .. "/.config"
  for k, x in pairs(vars or {}) do v[k] = x or nil end
  local parts = {"env"}
  for _, name in ipairs(HARNESS_VARS) do parts[#parts + 1] = "-u " .. name end
  local names = {}
  for k in pairs(v) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do parts[#parts + 1] = k .. "=" .. h.q(v[k]) end
  return table.concat(parts, " ")
end

-- Runs a Lua chunk in hlua with M.env(vars); returns stdout, stderr, code.
function M.run(chunk, vars, args)
  return h.run((args or "") .. " -e " .. h.q(chunk), nil, M.env(vars))
end

return M
