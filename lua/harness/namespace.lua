-- harness.namespace: every public name of the 'harness' table, declared.
-- The host creates 'harness' empty (start-up stays cheap) and loads this
-- file on the first access to one of its fields. Each name below maps to a
-- module, or to a field of a module; it is loaded on first use and then
-- kept in the table. Anything not listed here is not part of 'harness':
-- the library's internals (sched, config, request, ...) are modules that
-- the library requires, not names scripts see.
local harness = package.loaded.harness

-- name = "module" (the module is the value) or {"module", "field"}
local names = {
  -- requests and paging
  request = {"harness.client", "request"},
  get = {"harness.client", "get"},
  post = {"harness.client", "post"},
  put = {"harness.client", "put"},
  patch = {"harness.client", "patch"},
  delete = {"harness.client", "delete"},
  paginate = {"harness.paging", "paginate"},
  collect = {"harness.paging", "collect"},
  -- concurrency
  spawn = {"harness.sched", "spawn"},
  all = {"harness.sched", "all"},
  map = {"harness.sched", "map"},
  sleep = {"harness.sched", "sleep"},
  -- data
  json = "harness.json",
  null = {"harness.json", "null"},
  yaml = "harness.yaml",
  -- small things scripts need
  log = "harness.log",
  config = {"harness.config", "public"},
  env = {"harness.config", "env"},
  whoami = {"harness.users", "current"},
  print = {"hlua.host", "print"},
  is_error = {"hlua.host", "is_error"},
  write_secret = {"hlua.host", "write_secret"},
  fmt = "harness.fmt",
  doc = {"harness.doc", "show"},
  args = "harness.args",
  -- every operation of the Harness API, and the library built on it
  api = "harness.api",
  orgs = "harness.orgs",
  projects = "harness.projects",
  pipelines = "harness.pipelines",
  tokens = "harness.tokens",
  apikeys = "harness.apikeys",
  service_accounts = "harness.service_accounts",
  secrets = "harness.secrets",
  connectors = "harness.connectors",
  feature_flags = "harness.feature_flags",
  users = "harness.users",
}

-- Loads the value of a declared name.
local function load(where)
  if type(where) == "string" then return require(where) end
  return require(where[1])[where[2]]
end

setmetatable(harness, {
  __index = function(t, name)
    local where = names[name]
    if where == nil then return nil end
    local v = load(where)
    rawset(t, name, v)
    return v
  end,
  __names = names, -- for the REPL's completion
})

-- Recorded fixtures (HARNESS_RECORD, HARNESS_REPLAY) keep the clock of the
-- recording: os.time and os.date read it from here on, before the script
-- reads the time.
local function set(name)
  local v = os.getenv(name)
  return v ~= nil and v ~= ""
end
if set("HARNESS_RECORD") or set("HARNESS_REPLAY") then require("harness.record").start_clock() end

return names
