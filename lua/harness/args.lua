-- harness.args: one command-line style for every shared script.
--
--   local a = harness.args{
--     summary = "Runs a pipeline and waits for it.",
--     usage = "[options] PIPELINE",
--     options = {
--       {"--org ID", "organization (default: configured)"},
--       {"--timeout SECONDS", "give up after this long", default = 3600, number = true},
--       {"-q, --quiet", "no progress line"},
--     },
--     arguments = {{"PIPELINE", "the pipeline's identifier"}},
--     exit_codes = {{0, "the run succeeded"}, {1, "it failed"}},
--     permissions = "Pipelines: view, execute",
--   }
--   a.org, a.timeout, a.quiet, a.pipeline, a[1]
--
-- Options are --name VALUE or --name=VALUE, flags are --name; "--" ends
-- them. -h/--help prints the help and exits 0; a mistake prints one line
-- and exits 2. Results are named after the option (--dry-run: a.dry_run)
-- or the argument's metavar in lower case (PIPELINE: a.pipeline); the
-- values are as typed, never changed; a[1], a[2], ... are the positional
-- arguments in order.
local check = require "harness.check"

---@class harness.args
---@overload fun(spec: harness.ArgsSpec): table<string, any>
local M = {}

-- Parses "-q, --quiet" or "--org ID" into {name=, short=, metavar=}.
local function parse_spec(s)
  local short, long, metavar = s:match("^%-(%w),%s*%-%-([%w%-]+)%s*(%S*)$")
  if not short then long, metavar = s:match("^%-%-([%w%-]+)%s*(%S*)$") end
  if not long then error("harness.args: bad option spec '" .. tostring(s) .. "'", 3) end
  return {long = long, short = short, metavar = metavar ~= "" and metavar or nil,
    key = long:gsub("%-", "_")}
end

local function prog_name()
  local a0 = arg and arg[0] or "script"
  return (a0:match("[^/]+$") or a0)
end

-- The help text.
local function help(spec, opts)
  local out = {}
  local prog = spec.name or prog_name()
  out[#out + 1] = ("usage: %s %s"):format(prog, spec.usage or "[options]")
  if spec.summary then out[#out + 1] = "\n" .. spec.summary end
  local function section(title, rows)
    if #rows == 0 then return end
    out[#out + 1] = "\n" .. title .. ":"
    local w = 0
    for _, r in ipairs(rows) do w = math.max(w, #r[1]) end
    for _, r in ipairs(rows) do
      out[#out + 1] = ("  %-" .. w .. "s  %s"):format(r[1], r[2])
    end
  end
  local rows = {}
  for _, a in ipairs(spec.arguments or {}) do
    rows[#rows + 1] = {a[1], (a[2] or "") .. (a.optional and " (optional)" or "")}
  end
  section("arguments", rows)
  rows = {}
  for _, o in ipairs(opts) do
    local left = (o.short and ("-" .. o.short .. ", ") or "    ") .. "--" .. o.long ..
      (o.metavar and (" " .. o.metavar) or "")
    local right = o.help or ""
    if o.default ~= nil then right = right .. " (default " .. tostring(o.default) .. ")" end
    rows[#rows + 1] = {left, right}
  end
  rows[#rows + 1] = {"-h, --help", "show this help and exit"}
  section("options", rows)
  rows = {}
  for _, e in ipairs(spec.exit_codes or {}) do rows[#rows + 1] = {tostring(e[1]), e[2]} end
  section("exit codes", rows)
  if spec.permissions then
    out[#out + 1] = "\nHarness permissions the key needs: " .. spec.permissions
  end
  if spec.epilog then out[#out + 1] = "\n" .. spec.epilog end
  out[#out + 1] = "\nConnection settings come from hlua's configuration: HARNESS_API_KEY,\n" ..
    "HARNESS_ENDPOINT, HARNESS_ACCOUNT_ID, ... or hlua --profile/--org/--project\n" ..
    "before the script name (see hlua --help)."
  return table.concat(out, "\n") .. "\n"
end

-- Ends the script with a usage error.
local function usage_error(spec, msg)
  io.stderr:write(("%s: %s (try --help)\n"):format(spec.name or prog_name(), msg))
  os.exit(2)
end

-- Parses the arguments by spec (see M.parse).
local function parse(spec)
  local opts, by = {}, {}
  for _, o in ipairs(spec.options or {}) do
    local p = parse_spec(o[1])
    p.help, p.default, p.number, p.multiple = o[2], o.default, o.number, o.multiple
    opts[#opts + 1] = p
    by["--" .. p.long] = p
    if p.short then by["-" .. p.short] = p end
  end
  local argv = spec.argv or arg or {}
  local res, pos = {}, {}
  local i, n = 1, #argv
  while i <= n do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, n do pos[#pos + 1] = argv[j] end
      break
    elseif a == "-h" or a == "--help" then
      io.stdout:write(help(spec, opts))
      os.exit(0)
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local name, value = a:match("^(%-%-[^=]+)=(.*)$")
      name = name or a
      local o = by[name]
      if not o then usage_error(spec, "unknown option " .. name) end
      if o.metavar then
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then usage_error(spec, "option " .. name .. " needs a value (" .. o.metavar .. ")") end
        end
        if o.number then
          local v = tonumber(value)
          if not v then usage_error(spec, "option " .. name .. " needs a number, not '" .. value .. "'") end
          value = v
        end
        if o.multiple then
          res[o.key] = res[o.key] or {}
          table.insert(res[o.key], value)
        else
          res[o.key] = value
        end
      else
        if value ~= nil then usage_error(spec, "option " .. name .. " takes no value") end
        res[o.key] = true
      end
    else
      pos[#pos + 1] = a
    end
    i = i + 1
  end
  for _, o in ipairs(opts) do
    if res[o.key] == nil and o.default ~= nil then res[o.key] = o.default end
  end
  local specs = spec.arguments or {}
  for k, a in ipairs(specs) do
    local key = a[1]:lower():gsub("[^%w]+", "_"):gsub("^_+", ""):gsub("_+$", "")
    if pos[k] == nil and not a.optional then
      usage_error(spec, "missing " .. a[1])
    end
    res[key] = pos[k]
  end
  if #pos > #specs and not spec.rest then
    usage_error(spec, "unexpected argument '" .. pos[#specs + 1] .. "'")
  end
  for k, v in ipairs(pos) do res[k] = v end
  return res
end

--- Parses the script's arguments (spec.argv or the global arg) by spec;
--- returns a table of option values (by long name, dashes as
--- underscores), named positional arguments and the positional list.
--- harness.args(spec) is the same.
---@param spec harness.ArgsSpec
---@return table<string, any>
function M.parse(spec)
  check.table("args", 1, spec)
  return parse(spec)
end

--- The help text a spec gives (for tests and docs).
---@param spec harness.ArgsSpec
---@return string
function M.help(spec)
  local opts = {}
  for _, o in ipairs(spec.options or {}) do
    local p = parse_spec(o[1])
    p.help, p.default = o[2], o.default
    opts[#opts + 1] = p
  end
  return help(spec, opts)
end

return setmetatable(M, {__call = function(_, spec)
  check.table("args", 1, spec)
  return parse(spec)
end})
