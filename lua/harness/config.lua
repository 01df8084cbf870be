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

local key          -- the API key, never stored outside this file
local forms        -- what redaction looks for while a key is known (see redaction)
local settings     -- the resolved public settings (key masked)
local resolving_error
local max_in_flight -- resolved on its own: the scheduler needs it without a key

-- The real world: the process's environment and files. A directory opens
-- but does not read: its third result says so.
local function real_read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s, rerr = f:read("a")
  f:close()
  if not s then
    local d = io.open(path .. "/.", "rb") -- opens only when path is a directory
    if d then
      d:close()
      return nil, path .. " is a directory", "directory"
    end
    return nil, path .. ": " .. tostring(rerr)
  end
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
--- getenv(name), read_file(path) -> text | nil, err [, "directory"], file_mode(path) ->
--- bits | nil, cli() -> the command line's options, and warn(line) for
--- warnings. Returns the world it replaces. For tests and fuzzers.
function M.use_world(w)
  local prev = world
  world = w
  key, settings, resolving_error, max_in_flight = nil, nil, nil, nil
  M.forget_key()
  return prev
end

local mask_tokens, redact_known -- below

-- Raises a config error. Messages quote what the user set, and a key
-- pasted in the wrong place (an endpoint, a profile name) is set too:
-- anything shaped like a key is masked.
local function fail(message)
  error(host.error({kind = "config", message = redact_known(mask_tokens(message))}), 0)
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
  local text, _, kind = world.read_file(path)
  if kind == "directory" then fail(("%s is a directory"):format(path)) end
  if not text then return nil end
  check_mode(path)
  local ok, v = pcall(require("harness.json").decode, text)
  if not ok and not (host.is_error(v) and v.kind == "json") then
    error(v, 0) -- Ctrl-C or memory: not the file's fault
  elseif not ok then
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
  local text, err, kind = world.read_file(path)
  if kind == "directory" then fail(("the API key file %s is a directory"):format(path)) end
  if not text then fail("cannot read the API key file: " .. (err or path)) end
  check_mode(path)
  -- editors on Windows start UTF-8 files with a byte order mark
  local k = text:gsub("^\239\187\191", ""):match("^%s*(%S+)%s*$")
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

-- s with every word shaped like a key masked: pat. or sat., two more
-- dotted parts at least, the last of 8 characters or more (a file named
-- pat.prod.key is left alone).
function mask_tokens(s)
  return (s:gsub("%f[%w_%-][ps]at%.[%w_%-][%w_%-%.]*[%w_%-]", function(word)
    if word:find("^%a+%.[^.]+%.") and #word:match("[^.]*$") >= 8 then return mask(word) end
  end))
end

local function account_from_key(k)
  local kind, acc = k:match("^(%a+)%.([^.]+)%.[^.]+%.[^.]+$")
  if (kind == "pat" or kind == "sat") and acc ~= "" then return acc end
  return nil
end

-- 'where' names the setting the endpoint came from.
local function check_endpoint(endpoint, where)
  local u = url.parse(endpoint)
  if not u then fail(("the endpoint %q (%s) is not an http(s) URL"):format(endpoint, where)) end
  if u.rest:find("[?#]") then fail(("the endpoint %q (%s) must not have a query"):format(endpoint, where)) end
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

-- How a setting's bad value reads in a message: strings quoted.
local function shown(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

-- A number setting: the environment variable 'envname', else the
-- profile's 'field' (when given), else 'default'. Anything but a number >=
-- 0 (an integer when 'integer') is a config error naming where it came
-- from: a value ignored in silence is a surprise at the worst moment.
local function number_setting(envname, profile, field, ppath, default, integer)
  local v, where = getenv(envname), envname
  if v == nil and field and profile[field] ~= nil and profile[field] ~= null then
    v, where = profile[field], ("%s: %s"):format(ppath, field)
  end
  if v == nil then return default end
  local n = type(v) == "string" and tonumber(v) or (type(v) == "number" and v or nil)
  if integer then n = n and math.tointeger(n) end
  if not n or n ~= n or n < 0 then
    fail(("%s must be %s, not %s"):format(where,
      integer and "an integer >= 0" or "a number of seconds >= 0", shown(v)))
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
  local endpoint_from

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
  M.forget_key()
  if key then M.learn_key(key) end
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
    if name == "endpoint" then
      endpoint_from = ({option = "--endpoint", env = "HARNESS_ENDPOINT", default = "the default",
        profile = ppath and (ppath .. ": endpoint"), ["harness-cli"] = apath .. ": base_url"})[src]
    end
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
  s.endpoint = check_endpoint(s.endpoint, endpoint_from)
  s.api_key = mask(key)
  s.sources = sources
  s.origin = url.origin(s.endpoint)

  -- transport knobs (not user-facing in config(), but handy to see)
  s.retries = number_setting("HARNESS_RETRIES", profile, "retries", ppath, 5, true)
  s.retry_base = number_setting("HARNESS_RETRY_BASE", profile, nil, ppath, 0.5)
  s.retry_cap = number_setting("HARNESS_RETRY_CAP", profile, nil, ppath, 30)
  s.timeout = number_setting("HARNESS_TIMEOUT", profile, "timeout", ppath, 60)
  s.connect_timeout = number_setting("HARNESS_CONNECT_TIMEOUT", profile, nil, ppath, 10)
  s.max_size = number_setting("HARNESS_MAX_SIZE", profile, nil, ppath, 256 * 1024 * 1024, true)
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
      M.forget_key()
      resolving_error = s
      error(s, 0)
    end
    settings = s
    -- from now on hlua's printers (src/display.c) mask the key too
    M.redact_printed = forms and redact_known
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

-- ---------- redaction ----------
-- A server may echo the key in any form: whole, its secret part alone,
-- percent-encoded or as JSON \u escapes (char by char, or mixed with plain
-- characters), or base64 (standalone or inside Basic credentials, at any
-- byte alignment, url-safe or not). Redaction masks the secret part in each
-- of them; 'forms' holds what it looks for, made once when the key is read.

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local ESCAPE_CHUNK = 65536 -- bytes of text mapped at once when escapes spell the secret

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local q = {}
    for k = 1, 4 do
      local v = (n >> (6 * (4 - k))) & 63
      q[k] = B64:sub(v + 1, v + 1)
    end
    if not b then q[3] = "=" end
    if not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

-- The base64 text of 'secret' that does not depend on the bytes around it,
-- for each of the three byte alignments, plain and url-safe: the groups of
-- four that hold only the secret's bytes.
local function base64_cores(secret)
  local cores = {}
  for a = 0, 2 do
    local enc = base64(("\0"):rep(a) .. secret)
    local core = enc:sub(a > 0 and 5 or 1, (a + #secret) // 3 * 4)
    if #core >= 8 then
      cores[#cores + 1] = core
      local url_safe = core:gsub("[+/]", {["+"] = "-", ["/"] = "_"})
      if url_safe ~= core then cores[#cores + 1] = url_safe end
    end
  end
  return cores
end

local function hexchar(x) return string.char(tonumber(x, 16)) end

-- s with %XX and \u00XX escapes decoded.
local function unescape(s)
  return (s:gsub("%%(%x%x)", hexchar):gsub("\\[uU]00(%x%x)", hexchar))
end

-- Does s hold a %XX or \u00XX escape? Plain finds first: a pattern search
-- tries every position, and printers pass whole outputs.
local function has_escape(s)
  for _, lead in ipairs({"%", "\\u00", "\\U00"}) do
    local i = s:find(lead, 1, true)
    while i do
      if s:find("^%x%x", i + #lead) then return true end
      i = s:find(lead, i + 1, true)
    end
  end
  return false
end

-- The pieces of s between 'spans' ({from, to} in order), each span "****".
local function splice(s, spans)
  local out, pos = {}, 1
  for _, sp in ipairs(spans) do
    out[#out + 1] = s:sub(pos, sp[1] - 1)
    out[#out + 1] = "****"
    pos = sp[2] + 1
  end
  out[#out + 1] = s:sub(pos)
  return table.concat(out)
end

-- Masks the secret where escapes spell it (all of it or some characters).
-- Text is mapped (each decoded character to its place in s) a chunk at a
-- time, and only the chunks that hold it: memory stays bounded.
local function redact_escaped(s, secret)
  local reach = 6 * #secret -- the longest the secret can be spelled
  local spans, done = {}, 0
  for p = 1, #s, ESCAPE_CHUNK do
    local window = s:sub(p, p + ESCAPE_CHUNK - 1 + reach)
    if unescape(window):find(secret, 1, true) then
      local chars, from, i = {}, {}, 1
      while i <= #window do
        local c, len = window:sub(i, i), 1
        if c == "%" and window:find("^%x%x", i + 1) then
          c, len = hexchar(window:sub(i + 1, i + 2)), 3
        elseif c == "\\" and window:find("^[uU]00%x%x", i + 1) then
          c, len = hexchar(window:sub(i + 4, i + 5)), 6
        end
        chars[#chars + 1], from[#from + 1] = c, i
        i = i + len
      end
      from[#from + 1] = #window + 1
      local decoded, k = table.concat(chars), 1
      while true do
        local a, b = decoded:find(secret, k, true)
        if not a then break end
        local first, last = p + from[a] - 1, p + from[b + 1] - 2
        if first >= p + ESCAPE_CHUNK then break end -- the next chunk's
        if first > done then
          spans[#spans + 1] = {first, last}
          done = last
        end
        k = b + 1
      end
    end
  end
  return splice(s, spans)
end

-- Masks each base64 'core' of the secret, with the group of four on each
-- side: those mix the secret's first and last bytes with their neighbours.
local function redact_base64(s, core)
  local spans, pos = {}, 1
  local i, j = s:find(core, 1, true)
  while i do
    for _ = 1, 4 do
      if i > pos and s:find("^[%w+/_%-]", i - 1) then i = i - 1 else break end
    end
    for _ = 1, 4 do
      if s:find("^[%w+/_%-=]", j + 1) then j = j + 1 else break end
    end
    spans[#spans + 1] = {i, j}
    pos = j + 1
    i, j = s:find(core, pos, true)
  end
  return splice(s, spans)
end

-- The secret part of key k: what mask hides.
local function secret_of(k)
  local m = mask(k)
  if m == "****" then return k end
  return k:sub(#m - 3) -- m is the shown prefix .. ".****"
end

--- Redaction looks for key k (and its secret) from now on.
function M.learn_key(k)
  if #k < 8 then return end
  local secret = secret_of(k)
  local function literal(x) return (x:gsub("%p", "%%%0")) end
  forms = {key = k, key_pattern = literal(k), masked = mask(k):gsub("%%", "%%%%"), secret = secret,
           secret_pattern = literal(secret), cores = base64_cores(secret)}
end

--- Redaction forgets the key.
function M.forget_key()
  forms = nil
  M.redact_printed = nil
end

-- s with the key's secret masked in every form, by what 'forms' holds now.
function redact_known(s)
  local f = forms
  if not f or type(s) ~= "string" then return s end
  -- each pass only where it has something to do: printers pass whole outputs
  if s:find(f.key, 1, true) then s = s:gsub(f.key_pattern, f.masked) end
  if s:find(f.secret, 1, true) then s = s:gsub(f.secret_pattern, "****") end
  if has_escape(s) and unescape(s):find(f.secret, 1, true) then
    s = redact_escaped(s, f.secret)
  end
  for _, core in ipairs(f.cores) do
    if s:find(core, 1, true) then s = redact_base64(s, core) end
  end
  return s
end

-- s with every form of the key's secret masked (for text that came back
-- from a server, which could echo it). Resolves the configuration first, so
-- that the key is known if there is one.
function M.redact(s)
  if not settings and not resolving_error and not forms then pcall(M.settings) end
  return redact_known(s)
end

-- How many bytes past a cut the redaction must see so that a secret that
-- starts before the cut is masked whole, in any form (0 without a key).
function M.redact_reach()
  return forms and 6 * #forms.secret + 8 or 0
end

-- The first n bytes of s, redacted before the cut: a cut first could split
-- the key, leaving most of its secret where the redaction no longer sees it.
function M.redact_head(s, n)
  if #s <= n then return M.redact(s) end
  M.redact("") -- the key, if there is one
  return redact_known(s:sub(1, n + M.redact_reach())):sub(1, n)
end

-- s redacted, and every string shaped like a Harness key (a created or
-- rotated token, another user's key) masked too: for text that is kept,
-- such as recorded fixtures.
function M.redact_keys(s)
  s = M.redact(s)
  if type(s) ~= "string" then return s end
  return mask_tokens(s)
end

M.mask = mask
return M
