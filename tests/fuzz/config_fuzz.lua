-- config fuzz target (tests/fuzz/lua_fuzz.c): lua/harness/config.lua on
-- arbitrary config.json, auth.json, key file and environment. The input
-- is two bytes of flags (which environment variables are set; file modes)
-- then fields separated by NUL bytes:
--   2 $XDG_CONFIG_HOME/hlua/config.json   3 ~/.harness/auth.json
--   4 the key file (any other path)       5 HARNESS_API_KEY
--   6 HARNESS_PROFILE   7 HARNESS_ENDPOINT   8 HARNESS_ACCOUNT_ID
--   9 HARNESS_API_KEY_FILE   10 HARNESS_RETRIES / HARNESS_TIMEOUT / HARNESS_MAX_SIZE
-- The configuration reads this made-up world (config.use_world): nothing
-- outside is read. Invariants: resolution
-- either succeeds with well-typed settings or raises a harness.Error of
-- kind "config" (never a Lua error from inside config.lua), the same
-- one every time; the key never shows in config(), in errors or in
-- warnings, only masked.
return function(data)
  local flags, modes = data:byte(1) or 0, data:byte(2) or 0
  local f = {""}
  for field in (data:sub(3) .. "\0"):gmatch("([^%z]*)%z") do f[#f + 1] = field end
  local function set(bit, v) if flags & bit ~= 0 then return v end end

  local HOME = "/home/fuzz"
  local env = {
    HOME = HOME, XDG_CONFIG_HOME = set(1, HOME .. "/.config"),
    HARNESS_API_KEY = set(2, f[5]), HARNESS_PROFILE = set(4, f[6]),
    HARNESS_ENDPOINT = set(8, f[7]), HARNESS_ACCOUNT_ID = set(16, f[8]),
    HARNESS_API_KEY_FILE = set(32, f[9]), HARNESS_RETRIES = set(64, f[10]),
    HARNESS_TIMEOUT = set(64, f[10]), HARNESS_MAX_SIZE = set(128, f[10]),
    HARNESS_TRACE = set(128, f[10]),
  }
  local files = {
    [HOME .. "/.config/hlua/config.json"] = f[2] ~= "" and f[2] or nil,
    [HOME .. "/.harness/auth.json"] = f[3] ~= "" and f[3] or nil,
  }
  local function content(path)
    if files[path] then return files[path] end
    if path:find("config.json", 1, true) or path:find("auth.json", 1, true) then return nil end
    return f[4]
  end

  local warnings = {}
  local config = require "harness.config"
  config.use_world{
    getenv = function(name) return env[name] end,
    read_file = function(path)
      assert(type(path) == "string", "read_file of a " .. type(path))
      local s = content(path)
      if s == nil then return nil, path .. ": No such file or directory" end
      return s
    end,
    file_mode = function(path)
      assert(type(path) == "string", "mode of a " .. type(path))
      return modes % 2 == 0 and 384 or 420
    end,
    cli = function() return {} end,
    warn = function(line) warnings[#warnings + 1] = line end,
  }
  local ok, s = pcall(config.settings)
  local function check_error(e)
    assert(harness.is_error(e) and e.kind == "config",
      "config raised something other than a config error: " .. tostring(e))
    assert(not tostring(e):find("[\r\n]"), "a config error of more than one line")
  end
  if not ok then
    check_error(s)
    local ok2, s2 = pcall(config.settings)
    assert(not ok2 and s2 == s, "the configuration error changed on the second call")
    return
  end

  for _, name in ipairs({"endpoint", "account", "org", "project", "profile", "api_key"}) do
    local v = s[name]
    assert(v == nil or type(v) == "string", name .. " is a " .. type(v))
  end
  assert(type(s.endpoint) == "string" and require("harness.url").parse(s.endpoint), "endpoint not http(s)")
  for _, name in ipairs({"retries", "timeout", "connect_timeout", "max_size", "trace"}) do
    assert(type(s[name]) == "number", name .. " is a " .. type(s[name]))
  end
  for k, v in pairs(s.sources) do
    assert(type(k) == "string" and type(v) == "string", "a strange source")
  end

  local okk, key = pcall(config.key_for, s.endpoint)
  if not okk then check_error(key) key = nil end
  local oka, acc = pcall(config.account)
  if not oka then check_error(acc) else assert(type(acc) == "string", "account is a " .. type(acc)) end

  -- the key, if the input holds it once only (else it may show as something else)
  if key and #key >= 8 and select(2, data:gsub(key:gsub("%p", "%%%0"), "")) == 1 then
    local seen = {}
    local pub = config.public()
    for k, v in pairs(pub) do if type(v) == "string" then seen[#seen + 1] = k .. "=" .. v end end
    for _, w in ipairs(warnings) do seen[#seen + 1] = w end
    seen[#seen + 1] = config.redact("x" .. key .. "y" .. key)
    if not oka then seen[#seen + 1] = tostring(acc) end
    for _, text in ipairs(seen) do
      assert(not text:find(key, 1, true), "the key shows in: " .. text)
    end
  end
end
