-- harness.config: where the endpoint, account, scope, API key and
-- transport settings come from, resolved once on first use. The one reader
-- of hlua's environment variables and configuration files.
--
-- Order, first found wins: command-line options (package.loaded["hlua.cli"]),
-- environment, the profile in $XDG_CONFIG_HOME/hlua/config.json, the Harness
-- CLI's ~/.harness/auth.json, the token itself (account), defaults.
--
-- The key lives only in this file's closure: settings() hands out a masked
-- copy, and key_for(url) gives it only for URLs on the endpoint's origin.
--
-- What it reads (environment, files, command line) is "the world", real by
-- default; tests and fuzzers hand it another with M.use_world.
local host = require "hlua.host"
local url = require "harness.url"
local null = require("harness.json").null

local M = {}

local DEFAULT_ENDPOINT = "https://app.harness.io"

local DEFAULT_MAX_IN_FLIGHT = 32

local key          -- the API key, never stored anywhere else
local settings     -- the resolved public settings (key masked)
local resolving_error
local max_in_flight -- resolved on its own: the scheduler needs it without a key

-- The real world: the process's environment and files.
local function real_read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s, rerr = f:read("a")
  f:close()
  if not s then return nil, path .. ": " .. tostring(rerr) end
  return s
end

local world = {
  getenv = os.getenv,
  read_file = real_read_file,
  file_mode = host.file_mode,
  cli = function() return package.loaded["hlua.cli"] or {} end,
  warn = function(line) io.stderr:write(line) end,
}

--- Forgets what was resolved and reads 'w' from now on: a table with
--- getenv(name), read_file(path) -> text | nil, err, file_mode(path) ->
--- bits | nil, cli() -> the command line's options, and warn(line) for
--- warnings. Returns the world it replaces. For tests and fuzzers.
function M.use_world(w)
  local prev = world
  world = w
  key, settings, resolving_error, max_in_flight = nil, nil, nil, nil
  return prev
end

local function fail(message)
  error(host.error({kind = "config", message = message}), 0)
end

local function getenv(name)
  local v = world.getenv(name)
  if v == nil or v == "" then return nil end
  return v
end

local function home()
  return getenv("HOME") or "~"
end

local function expand(path)
  if path:sub(1, 2) == "~/" then return home() .. path:sub(2) end
  return path
end

-- Warns (as ssh does) when a file holding a key or settings can be read by
-- group or others.
local function check_mode(path)
  local mode = world.file_mode(path)
  if mode and mode & 0x3f ~= 0 then
    world.warn(("hlua: warning: %s is readable by group or others (chmod 600 %s)\n")
      :format(path, path))
  end
end

-- Reads a JSON file; nil when it does not exist, an error when it is bad.
local function read_json(path)
  local text = world.read_file(path)
  if not text then return nil end
  check_mode(path)
  local ok, v = pcall(require("harness.json").decode, text)
  if not ok then
    -- without the excerpt of the text: these files hold tokens
    local msg = tostring(type(v) == "table" and v.message or v):gsub(" near '.*$", "")
    fail(("%s is not valid JSON: %s"):format(path, msg))
  elseif type(v) ~= "table" then
    fail(("%s does not hold a JSON object"):format(path))
  end
  return v
end

-- Setting 'name' of a table read from the file 'where': a string, or nil
-- when absent, null or empty; any other type is the file's mistake.
local function text_field(t, name, where)
  local v = t[name]
  if v == nil or v == null or v == "" then return nil end
  if type(v) ~= "string" then
    fail(("%s: %s must be a string, not %s"):format(where, name,
      type(v) == "table" and "a list or object" or type(v)))
  end
  return v
end

local function read_key_file(path)
  path = expand(path)
  local text, err = world.read_file(path)
  if not text then fail("cannot read the API key file: " .. tostring(err)) end
  check_mode(path)
  local k = text:match("^%s*(%S+)%s*$")
  if not k then fail(("the API key file %s is empty or holds more than a key"):format(path)) end
  return k
end

-- The key with its secret hidden: pat.<account>.<tokenId>.****. At most
-- the first three parts show, and only when they hide 8 characters or more:
-- "pat.a.t.secret." (a stray dot) once showed the whole secret.
local function mask(k)
  if not k then return nil end
  local parts = {}
  for p in (k .. "."):gmatch("([^.]*)%.") do parts[#parts + 1] = p end
  local shown = math.min(#parts - 1, 3)
  if shown < 2 then return "****" end
  local prefix = table.concat(parts, ".", 1, shown)
  if #k - #prefix - 1 < 8 then return "****" end
  return prefix .. ".****"
end

local function account_from_key(k)
  local kind, acc = k:match("^(%a+)%.([^.]+)%.[^.]+%.[^.]+$")
  if (kind == "pat" or kind == "sat") and acc ~= "" then return acc end
  return nil
end

local function check_endpoint(endpoint)
  local u = url.parse(endpoint)
  if not u then fail(("the endpoint %q is not an http(s) URL"):format(endpoint)) end
  if u.rest:find("[?#]") then fail(("the endpoint %q must not have a query"):format(endpoint)) end
  if u.scheme == "http" and not url.is_loopback(u.host) then
    fail(("refusing plain http:// for %s: the API key would travel unencrypted; use https://")
      :format(endpoint))
  end
  return (endpoint:gsub("/+$", ""))
end

-- The profile: its name, where the name came from, and its table.
local function load_profile(cli)
  local dir = getenv("XDG_CONFIG_HOME") or (home() .. "/.config")
  local path = dir .. "/hlua/config.json"
  local file = read_json(path)
  local name, source = cli.profile, "option"
  if not name then name, source = getenv("HARNESS_PROFILE"), "env" end
  if not name and file then name, source = text_field(file, "default_profile", path), "profile" end
  if not name then return nil end
  local profiles = file and type(file.profiles) == "table" and file.profiles or {}
  local p = profiles[name]
  if type(p) ~= "table" then
    fail(("no profile %q in %s"):format(name, path))
  end
  return name, source, p, ("%s (profile %s)"):format(path, name)
end

-- The cap on requests in flight: HARNESS_MAX_IN_FLIGHT, else the
-- profile's max_in_flight, else DEFAULT_MAX_IN_FLIGHT.
local function resolve_max_in_flight(profile, ppath)
  local cap, where = getenv("HARNESS_MAX_IN_FLIGHT"), "HARNESS_MAX_IN_FLIGHT"
  if cap == nil then cap, where = profile.max_in_flight, ppath and (ppath .. ": max_in_flight") end
  if cap == nil then return DEFAULT_MAX_IN_FLIGHT end
  local n = math.tointeger(tonumber(cap))
  if not n or n < 1 then
    fail(("%s must be a positive integer, not '%s'"):format(where, tostring(cap)))
  end
  return n
end

local function resolve()
  local cli = world.cli()
  local sources = {}
  local pname, psource, profile, ppath = load_profile(cli)
  profile = profile or {}
  sources.profile = pname and psource
  local apath = home() .. "/.harness/auth.json"
  local authfile = read_json(apath) or {}
  local cli_names = {endpoint = "base_url", account = "account_id", org = "org_id",
                     project = "project_id"}
  local env_names = {endpoint = "HARNESS_ENDPOINT", account = "HARNESS_ACCOUNT_ID",
                     org = "HARNESS_ORG_ID", project = "HARNESS_PROJECT_ID"}
  local s = {profile = pname}

  -- the key: environment, profile file, Harness CLI login
  if getenv("HARNESS_API_KEY") or getenv("HARNESS_PLATFORM_API_KEY") then
    key, sources.api_key = getenv("HARNESS_API_KEY") or getenv("HARNESS_PLATFORM_API_KEY"), "env"
  elseif getenv("HARNESS_API_KEY_FILE") then
    key, sources.api_key = read_key_file(getenv("HARNESS_API_KEY_FILE")), "env"
  elseif text_field(profile, "api_key_file", ppath) then
    key, sources.api_key = read_key_file(profile.api_key_file), "profile"
  elseif text_field(authfile, "token", apath) then
    key, sources.api_key = authfile.token, "harness-cli"
  end
  if key and key:find("[%c%s]") then fail("the API key holds spaces or control characters") end
  if key and not (key:match("^[ps]at%.[^.]+%.[^.]+%.[^.]+$") or key:match("^[ps]at%.[^.]+%.[^.]+$")) then
    fail("the API key (from " .. (sources.api_key == "env" and "the environment" or sources.api_key) ..
      ") is not a Harness API key: they look like pat.<account>.<tokenId>.<secret>")
  end

  for name, envname in pairs(env_names) do
    local v, src = cli[name], "option"
    if v == nil then v, src = getenv(envname), "env" end
    if v == nil then v, src = text_field(profile, name, ppath), "profile" end
    if v == nil then v, src = text_field(authfile, cli_names[name], apath), "harness-cli" end
    if v == "" then v = nil end
    if v == nil and name == "account" and key then v, src = account_from_key(key), "token" end
    if v == nil and name == "endpoint" then v, src = DEFAULT_ENDPOINT, "default" end
    s[name] = v
    sources[name] = v ~= nil and src or nil
  end
  -- a dry run (harness.dryrun): changes printed, not sent
  local dry = getenv("HARNESS_DRY_RUN")
  s.dry_run = cli.dry_run or (dry ~= nil and dry ~= "0" and dry:lower() ~= "false" and dry:lower() ~= "no")
  -- recorded fixtures (harness.record): a replay needs no key, and its
  -- account is the recording's
  s.record, s.replay = getenv("HARNESS_RECORD"), getenv("HARNESS_REPLAY")
  if s.record and s.replay then
    fail("HARNESS_RECORD and HARNESS_REPLAY are both set: record or replay, not both")
  end
  if s.replay and not s.account then
    s.account = require("harness.record").recorded_account(s.replay)
    sources.account = s.account and "recording"
  end
  s.endpoint = check_endpoint(s.endpoint)
  s.api_key = mask(key)
  s.sources = sources
  s.origin = url.origin(s.endpoint)

  -- transport knobs (not user-facing in config(), but handy to see)
  s.retries = tonumber(getenv("HARNESS_RETRIES") or profile.retries) or 5
  s.retry_base = tonumber(getenv("HARNESS_RETRY_BASE")) or 0.5
  s.retry_cap = tonumber(getenv("HARNESS_RETRY_CAP")) or 30
  s.timeout = tonumber(getenv("HARNESS_TIMEOUT") or profile.timeout) or 60
  s.connect_timeout = tonumber(getenv("HARNESS_CONNECT_TIMEOUT")) or 10
  s.max_size = math.tointeger(tonumber(getenv("HARNESS_MAX_SIZE"))) or 256 * 1024 * 1024
  s.ca_bundle = getenv("HARNESS_CA_BUNDLE") or getenv("SSL_CERT_FILE")
  s.max_in_flight = resolve_max_in_flight(profile, ppath)
  local trace = getenv("HARNESS_TRACE")
  s.trace = tonumber(trace) or (trace and 1) or (cli.trace and 1) or 0
  if s.trace < 1 and cli.trace then s.trace = 1 end
  return s
end

-- The settings (a fresh copy each time, key masked). Raises a config error
-- (the same one each time) when the configuration is unusable.
function M.settings()
  if resolving_error then error(resolving_error, 0) end
  if not settings then
    local ok, s = pcall(resolve)
    if not ok then
      key = nil
      resolving_error = s
      error(s, 0)
    end
    settings = s
  end
  return settings
end

-- The cap on requests in flight (and on map's concurrency). Resolved on its
-- own when nothing else was: a script that makes no request needs no key.
function M.max_in_flight()
  if not max_in_flight then
    if settings then
      max_in_flight = settings.max_in_flight
    else
      local _, _, profile, ppath = load_profile(world.cli())
      max_in_flight = resolve_max_in_flight(profile or {}, ppath)
    end
  end
  return max_in_flight
end

-- Was a dry run asked for, and did the script get as far as reading the
-- configuration? (hlua then ends with the dry run's summary.)
function M.dry_run_active()
  return settings ~= nil and settings.dry_run == true
end

-- harness.env(name [, default]): an environment variable, or the default
-- when it is unset or empty.
function M.env(name, default)
  if type(name) ~= "string" then
    require("harness.check").argerror("env", 1, "string expected, got " .. type(name))
  end
  return getenv(name) or default
end

-- A copy of the settings for scripts (harness.config()).
function M.public()
  local s = M.settings()
  local copy = {}
  for k, v in pairs(s) do copy[k] = v end
  local sources = {}
  for k, v in pairs(s.sources) do sources[k] = v end
  copy.sources = sources
  return copy
end

-- The key to send to 'target' (a URL): only on the endpoint's origin. Raises when there
-- is no key, saying how to set one.
function M.key_for(target)
  local s = M.settings()
  if url.origin(target) ~= s.origin then return nil end
  if not key then
    if s.replay then return nil end -- no network: no key needed
    fail("no Harness API key: set HARNESS_API_KEY (or HARNESS_API_KEY_FILE), or api_key_file " ..
      "in a profile of $XDG_CONFIG_HOME/hlua/config.json, or log in with the harness CLI")
  end
  return key
end

-- The account for requests, with a clear error when there is none.
function M.account()
  local s = M.settings()
  if not s.account then
    fail("no Harness account id: this key does not carry one; set HARNESS_ACCOUNT_ID or --account")
  end
  return s.account
end

-- Replaces every occurrence of the key in s by its masked form (for text
-- that came back from a server, which could echo it).
function M.redact(s)
  if not settings and not resolving_error then pcall(M.settings) end -- the key, if there is one
  if key and type(s) == "string" and #key >= 8 then
    local i = s:find(key, 1, true)
    while i do
      s = s:sub(1, i - 1) .. mask(key) .. s:sub(i + #key)
      i = s:find(key, i + 1, true)
    end
  end
  return s
end

-- A Harness key anywhere in a text: pat. or sat., then the account, the
-- token's id and the secret (or the older form without the account).
local function mask_key_shape(k)
  local parts = select(2, k:gsub("%.", "")) + 1
  if (parts == 3 or parts == 4) and #k:match("[^.]*$") >= 8 then return mask(k) end
  return k
end

-- Replaces the key and every string shaped like a Harness key (a created
-- or rotated token, another user's key) by its masked form: for text that
-- is kept, such as recorded fixtures.
function M.redact_keys(s)
  s = M.redact(s)
  if type(s) ~= "string" then return s end
  return (s:gsub("%f[%w_%-][ps]at%.[%w_%-][%w_%-%.]*[%w_%-]", mask_key_shape))
end

M.mask = mask
return M
