-- harness.check: argument checks for the public functions, so that every
-- misuse reads the same way:
--   bad argument #1 to 'harness.spawn' (function expected, got number)
--   bad argument 'org' to 'harness.pipelines.list' (no org: ...)
-- A position names a positional argument, a string names an option (a
-- field of an options table). The error is raised where the script called
-- hlua's library: at the first function up the stack that is not the
-- library's, however deep in it the check ran.
local M = {}

-- The chunk name of every file of hlua's library starts with this one's
-- folder ("@.../harness/").
local LIBRARY = debug.getinfo(1, "S").source:match("^(@.*/)[^/]*$")

-- The level (as error counts it from the function that calls this) of the
-- first function outside the library. When that is a C function (pcall),
-- the message has no place, as lua's own argument errors then have none.
local function caller_level()
  local level = 3
  while true do
    local ar = debug.getinfo(level, "S")
    if not ar then return 2 end
    if ar.source:sub(1, #LIBRARY) ~= LIBRARY then return level - 1 end
    level = level + 1
  end
end

-- The "got ..." part of a message.
local function got(v)
  if v == "" then return "got an empty string" end
  return "got " .. type(v)
end
M.got = got

--- Raises "bad argument <arg> to 'harness.<fname>' (<what>)".
function M.argerror(fname, arg, what)
  local which = math.type(arg) == "integer" and ("#" .. arg) or ("'" .. tostring(arg) .. "'")
  error(("bad argument %s to 'harness.%s' (%s)"):format(which, fname, what), caller_level())
end

--- Checks that v is a non-empty string; returns it.
function M.string(fname, arg, v)
  if type(v) ~= "string" or v == "" then
    M.argerror(fname, arg, "non-empty string expected, " .. got(v))
  end
  return v
end

--- Checks that v is callable (a function, or a table with __call).
function M.callable(fname, arg, v)
  local mt = getmetatable(v)
  if type(v) ~= "function" and not (type(mt) == "table" and mt.__call) then
    M.argerror(fname, arg, "function expected, " .. got(v))
  end
  return v
end

--- Checks that v is a table; returns it.
function M.table(fname, arg, v)
  if type(v) ~= "table" then M.argerror(fname, arg, "table expected, " .. got(v)) end
  return v
end

--- Checks an options argument: nil (then {} is returned) or a table.
function M.opts(fname, opts, pos)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    M.argerror(fname, pos or 1, "table of options expected, " .. got(opts))
  end
  return opts
end

--- Checks an options table against the names the function knows ('known',
--- a list): nil (then {}) or a table with no other key. A typo must never
--- quietly fall back to a default (and act on the configured scope).
function M.options(fname, opts, known, pos)
  opts = M.opts(fname, opts, pos)
  for k in pairs(opts) do
    local ok = false
    for _, name in ipairs(known) do
      if k == name then ok = true break end
    end
    if not ok then
      M.argerror(fname, type(k) == "string" and k or ("[" .. tostring(k) .. "]"), "unknown option; " ..
        (#known > 0 and ("known: " .. table.concat(known, ", ")) or "it takes none"))
    end
  end
  return opts
end

return M
