-- What the resource modules share: argument checks that name the argument,
-- scope from the call or the configuration, and small conversions.
local M = {}

local null = harness.json.null

-- Raises "bad argument 'name' to 'harness.mod.fn' (what)" at the caller of
-- the public function (level 3 from here: check -> public fn -> user).
function M.argerror(fname, arg, what, level)
  error(("bad argument '%s' to 'harness.%s' (%s)"):format(arg, fname, what), (level or 2) + 1)
end

-- Checks that v is a non-empty string; returns it.
function M.need_string(fname, arg, v)
  if type(v) ~= "string" or v == "" then
    M.argerror(fname, arg, "non-empty string expected, got " ..
      (v == "" and "an empty string" or type(v)), 3)
  end
  return v
end

-- Checks that opts is nil or a table; returns a table. 'depth' counts the
-- helpers between the public function and this one (default 0).
function M.opts(fname, opts, pos, depth)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("bad argument #%d to 'harness.%s' (table of options expected, got %s)")
      :format(pos or 1, fname, type(opts)), 3 + (depth or 0))
  end
  return opts
end

-- The org and project a call works in: opts.org / opts.project, else the
-- configuration's. 'need' is "org", "project" or nil (account scope
-- allowed). Returns org, project (either may be nil when not needed).
-- 'depth' as for M.opts.
function M.scope(fname, opts, need, depth)
  local lv = 3 + (depth or 0)
  local cfg = harness.config()
  local org, project = opts.org, opts.project
  if org == nil then org = cfg.org end
  if project == nil and opts.org == nil then project = cfg.project end
  if org == false then org = nil end
  if project == false then project = nil end
  if project ~= nil and org == nil then
    M.argerror(fname, "org", "the project '" .. tostring(project) .. "' needs its org", lv)
  end
  if (need == "org" or need == "project") and org == nil then
    M.argerror(fname, "org", "no org: pass org = \"...\" or set HARNESS_ORG_ID / --org", lv)
  end
  if need == "project" and project == nil then
    M.argerror(fname, "project",
      "no project: pass project = \"...\" or set HARNESS_PROJECT_ID / --project", lv)
  end
  return org, project
end

-- The query for a scope, merged into 'extra'.
function M.scope_query(org, project, extra)
  local q = {}
  for k, v in pairs(extra or {}) do q[k] = v end
  q.orgIdentifier = org
  q.projectIdentifier = project
  return q
end

-- Escapes an identifier for a path segment.
function M.seg(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- v, or nil when it is the JSON null.
function M.value(v)
  if v == null then return nil end
  return v
end

-- Maps a list through fn into a JSON array.
function M.map(list, fn)
  local out = {}
  for i, v in ipairs(list or {}) do out[i] = fn(v) end
  return harness.json.array(out)
end

-- Collects a paginated list, unwrapping each item with fn (when given).
function M.collect(path, opts, fn)
  local out, n = {}, 0
  for item in harness.paginate(path, opts) do
    n = n + 1
    out[n] = fn and fn(item) or item
  end
  return harness.json.array(out)
end

-- Current time in milliseconds since the epoch.
function M.now_ms()
  return os.time() * 1000
end

return M
