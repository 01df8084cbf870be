-- harness.testing: for the busted specs of scripts and team libraries
-- (run with `busted --lua=hlua spec/`). Starts a sandbox (the local
-- Harness simulator, hlua-sandbox) for a spec file, or answers from
-- recorded fixtures instead, and points hlua at it: the specs' own calls
-- (in this process) and the scripts they run (sb:run).
--
--   local testing = require "harness.testing"
--   local sb = testing.sandbox()          -- or {replay = DIR}, {record = DIR}, {fixtures = DIR}
--   before_each(function() sb:reset() end)
--   teardown(function() sb:stop() end)
--   it("...", function()
--     local out, err, code = sb:run("hlua-whoami")
--     assert.equal(1, sb:count("GET /ng/api/user/currentUser"))
--   end)
local host = require "hlua.host"
local check = require "harness.check"
local config = require "harness.config"
local json = require "harness.json"
local record = require "harness.record"

local M = {}

-- busted runs each spec file insulated: the harness.* modules a file
-- loaded are unloaded after it, while the harness table keeps what it
-- looked up (harness.get of the previous file, over the previous file's
-- configuration). Forget those, so that this file's modules are used.
do
  local mt = getmetatable(harness)
  for name in pairs(mt and mt.__names or {}) do rawset(harness, name, nil) end
end

local START_SECONDS = 60 -- how long a sandbox may take to start
-- The settings a sandbox or a replay replaces: none of the developer's
-- own may leak into a spec.
local CLEARED = {"HARNESS_API_KEY", "HARNESS_PLATFORM_API_KEY", "HARNESS_API_KEY_FILE",
  "HARNESS_PROFILE", "HARNESS_ENDPOINT", "HARNESS_ACCOUNT_ID", "HARNESS_ORG_ID",
  "HARNESS_PROJECT_ID", "HARNESS_RECORD", "HARNESS_REPLAY", "HARNESS_CA_BUNDLE"}

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function sh(cmd)
  local ok = os.execute(cmd)
  return ok
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function mktemp_dir()
  local p = assert(io.popen("mktemp -d -t hlua-testing-XXXXXX"))
  local dir = p:read("l")
  p:close()
  return dir
end

local function exists(path)
  return host.file_mode(path) ~= nil
end

-- hlua's library folder (lua/ of a checkout, PREFIX/share/hlua/lua once installed).
local function library_dir()
  local src = debug.getinfo(1, "S").source
  return src:match("^@(.*)/harness/[^/]*$") or "."
end

--- The command that starts a sandbox: $HLUA_SANDBOX, else the one beside
--- hlua's library (a checkout's sandbox/, or the installed one), else
--- hlua-sandbox on PATH.
function M.sandbox_command()
  local env = os.getenv("HLUA_SANDBOX")
  if env and env ~= "" then return env end
  local beside = library_dir():gsub("/[^/]+$", "") .. "/sandbox/hlua-sandbox"
  if exists(beside) then return beside end
  return "hlua-sandbox"
end

-- This process's id (the sandbox ends with it, even when a spec crashes).
local function own_pid()
  local f = io.open("/proc/self/stat", "rb")
  if not f then return nil end
  local pid = f:read("n")
  f:close()
  return math.tointeger(pid)
end

-- Is process 'pid' still running (not ended, nor ended and unreaped)?
local function running(pid)
  local p = io.popen("ps -o stat= -p " .. pid .. " 2>/dev/null")
  local stat = p:read("a")
  p:close()
  return stat:match("^%s*[^Z%s]") ~= nil
end

-- The exchange files of a folder (record's naming).
local function recorded(dir)
  local p = io.popen("ls -1A -- " .. q(dir) .. " 2>/dev/null")
  local out = p:read("a")
  p:close()
  local names = {}
  for name in out:gmatch("[^\n]+") do
    if name:match("^%d+%-.*%.json$") then names[#names + 1] = name end
  end
  return names
end

-- Does DIR hold a recording: exchanges of this process, or of a run?
local function has_recording(dir)
  return #recorded(dir) > 0 or exists(dir .. "/run-1")
end

---@class harness.testing.Sandbox
local Sandbox = {}
Sandbox.__index = Sandbox
Sandbox.__name = "harness.testing.Sandbox"

-- Points this process's hlua at the sandbox or the replay: a world whose
-- HARNESS_* settings are only ours, and no configuration files.
function Sandbox:_configure()
  local vars = self._vars
  local real = os.getenv
  self._world_before = config.use_world({
    getenv = function(name)
      if vars[name] ~= nil then return vars[name] end
      if name:match("^HARNESS_") then return nil end
      return real(name)
    end,
    read_file = function(path) return nil, path .. ": not read under harness.testing" end,
    file_mode = function() return nil end,
    cli = function() return {} end,
    warn = function(line) io.stderr:write(line) end,
  })
end

-- A call to the sandbox's control API (never recorded nor replayed).
function Sandbox:_control(method, path, body)
  local client = require "harness.client"
  local res, err = client.direct(method, self.url .. path, {json = body, account = false})
  if not res then error(err, 3) end
  if not res.ok then error(("hlua-sandbox: %s %s: %d %s"):format(method, path, res.status, res.body), 3) end
  return res:json()
end

local function start(sb, opts)
  local cmd = opts.command or M.sandbox_command()
  local info_path = sb._dir .. "/info.json"
  local log = sb._dir .. "/sandbox.log"
  local flags = {}
  for _, f in ipairs(opts.flags or {}) do flags[#flags + 1] = q(f) end
  local pid = own_pid()
  sh(("%s --port 0 --quiet --info-file %s %s %s </dev/null >%s 2>&1 &"):format(q(cmd), q(info_path),
    pid and ("--exit-with " .. pid) or "", table.concat(flags, " "), q(log)))
  local deadline = host.clock() + START_SECONDS
  local text
  while host.clock() < deadline do
    text = read(info_path)
    if text and #text > 0 then break end
    host.sleep(0.05)
  end
  if not text or #text == 0 then
    local why = (read(log) or ""):gsub("%s+$", "")
    sh("rm -rf " .. q(sb._dir))
    error(("harness.testing: the sandbox (%s) did not start%s"):format(cmd,
      why ~= "" and (": " .. why) or ""), 3)
  end
  sb.info = json.decode(text)
  sb.url = sb.info.url
  sb._pid = math.tointeger(sb.info.pid)
end

--- testing.sandbox([opts]) -> a Sandbox, with hlua (this process, and
--- the commands sb:run starts) pointed at it. opts:
---   replay = DIR: no sandbox: answers come from the fixtures in DIR;
---   record = DIR: a sandbox, and every exchange recorded into DIR
---     (replacing what DIR held);
---   fixtures = DIR: replay DIR when it holds a recording, else record it;
---   env = {HARNESS_ORG_ID = "payments", ...}: more settings;
---   flags = {"--latency-ms", "20"}: hlua-sandbox's flags;
---   command = the sandbox's command (default: see sandbox_command).
function M.sandbox(opts)
  opts = check.opts("testing.sandbox", opts)
  for _, k in ipairs{"replay", "record", "fixtures", "command"} do
    if opts[k] ~= nil then check.string("testing.sandbox", k, opts[k]) end
  end
  if opts.env ~= nil then check.table("testing.sandbox", "env", opts.env) end
  if opts.flags ~= nil then check.table("testing.sandbox", "flags", opts.flags) end
  local n = (opts.replay and 1 or 0) + (opts.record and 1 or 0) + (opts.fixtures and 1 or 0)
  if n > 1 then check.argerror("testing.sandbox", "replay", "replay, record and fixtures exclude each other") end
  local replay, rec = opts.replay, opts.record
  if opts.fixtures then
    if has_recording(opts.fixtures) then replay = opts.fixtures else rec = opts.fixtures end
  end
  local dir = mktemp_dir()
  sh("mkdir -p " .. q(dir .. "/home"))
  local sb = setmetatable({_dir = dir, _vars = {}, _runs = 0, _since = 0, _log = {}, _synced = 0,
    replaying = replay, recording = rec}, Sandbox)
  local vars = sb._vars
  for _, k in ipairs(CLEARED) do vars[k] = false end
  if replay then
    if not has_recording(replay) then
      sh("rm -rf " .. q(sb._dir))
      check.argerror("testing.sandbox", "replay", replay .. " holds no recorded exchange")
    end
    vars.HARNESS_REPLAY = replay
  else
    start(sb, opts)
    vars.HARNESS_ENDPOINT = sb.url
    vars.HARNESS_API_KEY = sb.info.api_key
    if rec then
      sh("mkdir -p " .. q(rec))
      for _, name in ipairs(recorded(rec)) do os.remove(rec .. "/" .. name) end
      sh("rm -rf " .. q(rec) .. "/run-*")
      vars.HARNESS_RECORD = rec
    end
  end
  for k, v in pairs(opts.env or {}) do vars[k] = tostring(v) end
  for k, v in pairs(vars) do if v == false then vars[k] = nil end end
  sb:_configure()
  record.rewind()
  if replay or rec then record.start_clock() end
  return sb
end

--- Starts each test afresh: the sandbox's account reseeded, its faults
--- and request log cleared; under a replay, only the request log
--- (sb:requests) starts again (the fixtures go on in order).
function Sandbox:reset()
  if self.replaying then
    self:_sync()
    self._since = #self._log
  else
    self:_control("POST", "/_sandbox/reset", {state = true})
  end
  return self
end

-- Under a replay, the log of requests: what this process replayed, and
-- for each run the exchanges its fixtures hold, in order.
function Sandbox:_sync()
  local all = record.replayed()
  for i = self._synced + 1, #all do self._log[#self._log + 1] = all[i] end
  self._synced = #all
end

-- A filter: "METHOD /path", or {method =, path =, match = pattern}.
local function filter_of(f, fname)
  if f == nil then return {} end
  if type(f) == "string" then
    local method, path = f:match("^(%u+)%s+(%S+)$")
    if not method then check.argerror(fname, 1, "\"METHOD /path\" expected, got \"" .. f .. "\"") end
    return {method = method, path = path}
  end
  return check.table(fname, 1, f)
end

local function query_of(target)
  local qs = (target or ""):match("%?([^#]*)")
  local out = {}
  for pair in (qs or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    local function un(s) return (s:gsub("+", " "):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)) end
    out[un(k)] = un(v)
  end
  return out
end

--- The requests the sandbox answered since the last reset (every process's),
--- or under a replay the exchanges this process replayed: a list of
--- {method, path, query, status, ...} in order. 'filter': "GET /path" or
--- {method =, path =, match = a Lua pattern for the path}.
function Sandbox:requests(filter)
  filter = filter_of(filter, "testing.requests")
  local list = {}
  if self.replaying then
    self:_sync()
    for i = self._since + 1, #self._log do list[#list + 1] = self._log[i] end
  else
    for _, r in ipairs(self:_control("GET", "/_sandbox/requests").requests) do
      r.query = query_of(r.target)
      list[#list + 1] = r
    end
  end
  local out = {}
  for _, r in ipairs(list) do
    if (not filter.method or r.method == filter.method) and (not filter.path or r.path == filter.path)
        and (not filter.match or tostring(r.path):match(filter.match)) then
      out[#out + 1] = r
    end
  end
  return json.array(out)
end

--- How many requests match 'filter' (as for sb:requests).
function Sandbox:count(filter)
  return #self:requests(filter)
end

--- Adds a fault rule (see hlua-sandbox --help): {fault = "429", count = 3, ...}.
function Sandbox:fault(rule)
  check.table("testing.fault", 1, rule)
  if self.replaying then error("harness.testing: no faults under a replay", 2) end
  return self:_control("POST", "/_sandbox/faults", rule)
end

--- The environment for a command line: "NAME=value ..." that points
--- hlua at the sandbox (or the replay) and clears the developer's own
--- settings (HARNESS_* variables; HOME is an empty folder, so no profile
--- nor Harness CLI login applies). 'run': the fixtures' folder of that run, when recording or
--- replaying.
function Sandbox:env(run)
  local parts = {}
  local vars = {}
  for k, v in pairs(self._vars) do vars[k] = v end
  if run and self.recording then vars.HARNESS_RECORD = run end
  if run and self.replaying then vars.HARNESS_REPLAY = run end
  for _, k in ipairs(CLEARED) do
    if vars[k] == nil then parts[#parts + 1] = k .. "=" end
  end
  local names = {}
  for k in pairs(vars) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do parts[#parts + 1] = k .. "=" .. q(vars[k]) end
  -- an empty home: no profile, no Harness CLI login
  parts[#parts + 1] = "HOME=" .. q(self._dir .. "/home")
  parts[#parts + 1] = "XDG_CONFIG_HOME=" .. q(self._dir .. "/home/.config")
  return table.concat(parts, " ")
end

--- Runs a shell command line (a script, hlua-<name>, ...) with hlua
--- pointed at the sandbox; returns its stdout, stderr and exit code.
--- When recording or replaying, each run has its own fixtures: the k-th
--- run of the spec uses DIR/run-k.
function Sandbox:run(cmdline, stdin)
  check.string("testing.run", 1, cmdline)
  local run
  if self.recording or self.replaying then
    self._runs = self._runs + 1
    run = ("%s/run-%d"):format(self.recording or self.replaying, self._runs)
  end
  local out, err, inp = self._dir .. "/out", self._dir .. "/err", self._dir .. "/in"
  local f = assert(io.open(inp, "wb"))
  f:write(stdin or "")
  f:close()
  local _, how, code = os.execute(("%s sh -c %s <%s >%s 2>%s"):format(self:env(run), q(cmdline),
    q(inp), q(out), q(err)))
  if how == "signal" then code = 128 + code end
  if self.replaying then
    self:_sync()
    local ok, xs = pcall(record.exchanges, run)
    for _, x in ipairs(ok and xs or {}) do
      local r = x.request
      self._log[#self._log + 1] = {n = #self._log + 1, method = r.method, path = r.path,
        query = r.query or {}, status = x.response.status, fixture = run .. "/" .. x.name}
    end
  end
  local o, e = read(out) or "", read(err) or ""
  os.remove(inp) os.remove(out) os.remove(err)
  return o, e, code
end

--- Stops the sandbox, and points hlua back where it pointed before.
function Sandbox:stop()
  if self._stopped then return end
  self._stopped = true
  if self._world_before then config.use_world(self._world_before) end
  record.rewind()
  if self._pid then
    sh("kill " .. self._pid .. " 2>/dev/null")
    local deadline = host.clock() + 10
    while running(self._pid) and host.clock() < deadline do host.sleep(0.05) end
  end
  sh("rm -rf " .. q(self._dir))
end

-- A sandbox nobody stopped ends with the Lua state (busted closes it).
Sandbox.__gc = function(self) pcall(Sandbox.stop, self) end

M.Sandbox = Sandbox

return M
