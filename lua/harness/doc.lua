-- harness.doc: the one-screen reference of a public name, for
-- `hlua --doc NAME` and harness.doc(NAME) in scripts and the REPL. It reads
-- the comments LuaLS reads too, so that there is one source: a library
-- module's own file (lua/harness/<module>.lua: "---" lines above each
-- function), the core's declarations (lua/types/harness.lua), and for
-- harness.api the operation table.
local check = require "harness.check"

local M = {}

-- hlua's lua/ folder: this file is lua/harness/doc.lua.
local LUA_DIR = debug.getinfo(1, "S").source:match("^@(.*)/harness/doc%.lua$") or "."
local TYPES = LUA_DIR .. "/types/harness.lua"

local files = {} -- path -> its lines (read once)

local function lines_of(path)
  if files[path] == nil then
    local f = io.open(path, "rb")
    local t = false
    if f then
      t = {}
      for l in f:lines() do t[#t + 1] = l end
      f:close()
    end
    files[path] = t
  end
  return files[path] or nil
end

-- The "---" comment lines right above line i, in order.
local function comment_above(lines, i)
  local block = {}
  local j = i - 1
  while j >= 1 and lines[j]:match("^%-%-%-") do
    table.insert(block, 1, lines[j])
    j = j - 1
  end
  return block
end

-- The fields of an annotated class, as lines "name: type  note".
local function class_fields(class)
  local lines = lines_of(TYPES) or {}
  local out
  for _, l in ipairs(lines) do
    local c = l:match("^%-%-%-@class ([%w_.]+)")
    if c then
      if out then break end
      if c == class then out = {} end
    elseif out then
      local name, rest = l:match("^%-%-%-@field ([%w_]+%??) (.*)$")
      if not name then break end
      out[#out + 1] = ("%s: %s"):format(name, rest)
    end
  end
  return out
end

-- Renders a function's comment block under its signature.
local function render(signature, block)
  local out = {signature}
  local text, params, returns = {}, {}, {}
  for _, l in ipairs(block) do
    local p = l:match("^%-%-%-@param (.*)$")
    local r = l:match("^%-%-%-@return (.*)$")
    if p then
      params[#params + 1] = p
    elseif r then
      returns[#returns + 1] = r
    elseif not l:match("^%-%-%-@") then
      text[#text + 1] = "  " .. (l:gsub("^%-%-%- ?", ""))
    end
  end
  for _, t in ipairs(text) do out[#out + 1] = t end
  if #params > 0 then
    out[#out + 1] = "parameters:"
    for _, p in ipairs(params) do
      local name, rest = p:match("^(%S+)%s+(.*)$")
      out[#out + 1] = ("  %s: %s"):format(name or p, rest or "")
      for class in (rest or ""):gmatch("harness%.[%w_.]+") do
        for _, f in ipairs(class_fields(class) or {}) do out[#out + 1] = "      " .. f end
      end
    end
  end
  for _, r in ipairs(returns) do out[#out + 1] = "returns: " .. r end
  return table.concat(out, "\n") .. "\n"
end

-- The doc of function 'fn' declared as "function <prefix>fn(...)" in a file.
local function function_doc(path, prefix, fn, name)
  local lines = lines_of(path)
  if not lines then return nil end
  local pat = "^function " .. prefix:gsub("%p", "%%%0") .. fn .. "(%(.-%))"
  for i, l in ipairs(lines) do
    local args = l:match(pat)
    if args then return render(name .. args, comment_above(lines, i)) end
  end
  -- an alias: "M.fn = other.fn" names another module's function
  for _, l in ipairs(lines) do
    local mod, other = l:match("^M%." .. fn .. " = ([%w_]+)%.([%w_]+)$")
    if mod then return M.text("harness." .. mod .. "." .. other) end
  end
end

local SUMMARY = 70 -- characters of a summary in a list

-- The first sentence of some text, cut to SUMMARY characters.
local function first_sentence(s)
  s = s:match("^(.-%.)%s") or s:match("^(.-%.)$") or s
  if #s > SUMMARY then s = s:sub(1, SUMMARY - 3):gsub("%s+%S*$", "") .. "..." end
  return s
end

-- The first sentence of a comment block (for lists).
local function summary(block)
  local text = {}
  for _, l in ipairs(block) do
    if l:match("^%-%-%-@") then break end
    text[#text + 1] = (l:gsub("^%-%-%- ?", ""))
  end
  return first_sentence(table.concat(text, " "))
end

-- A module's header comment: the lines at the top of its file.
local function header(mod)
  local lines = lines_of(LUA_DIR .. "/harness/" .. mod .. ".lua")
  if not lines then return nil end
  local out = {}
  for _, l in ipairs(lines) do
    if not l:match("^%-%-") then break end
    out[#out + 1] = (l:gsub("^%-%- ?", ""))
  end
  return out
end

-- A library module: its header comment, then each function and its summary.
local function module_doc(mod)
  local lines = lines_of(LUA_DIR .. "/harness/" .. mod .. ".lua")
  if not lines then return nil end
  local out = {"harness." .. mod}
  for _, l in ipairs(header(mod)) do out[#out + 1] = "  " .. l end
  out[#out + 1] = "functions (hlua --doc harness." .. mod .. ".NAME for one):"
  for i, l in ipairs(lines) do
    local fn, args = l:match("^function M%.([%w_]+)(%(.-%))")
    if fn then out[#out + 1] = ("  %-32s %s"):format(fn .. args, summary(comment_above(lines, i))) end
    local alias, mod2 = l:match("^M%.([%w_]+) = ([%w_]+)%.")
    if alias then out[#out + 1] = ("  %-32s the same as harness.%s.%s"):format(alias, mod2, alias) end
  end
  return table.concat(out, "\n") .. "\n"
end

-- A module declared in the core's annotations (harness.json): its
-- description, fields and functions.
local function declared_module_doc(mod)
  local lines = lines_of(TYPES) or {}
  local out
  for i, l in ipairs(lines) do
    if l:match("^%-%-%-@class harness%." .. mod .. "$") then
      out = {"harness." .. mod}
      for _, c in ipairs(comment_above(lines, i)) do out[#out + 1] = "  " .. c:gsub("^%-%-%- ?", "") end
      for _, f in ipairs(class_fields("harness." .. mod) or {}) do out[#out + 1] = "  " .. f end
    end
    local fn, args = l:match("^function harness%." .. mod .. "%.([%w_]+)(%(.-%))")
    if fn and out then
      if not out.fns then out.fns = true out[#out + 1] = "functions:" end
      out[#out + 1] = ("  %-32s %s"):format(fn .. args, summary(comment_above(lines, i)))
    end
  end
  return out and (table.concat(out, "\n") .. "\n")
end

-- A plain field of harness, as its class declares it (harness.null).
local function field_doc(name)
  for _, f in ipairs(class_fields("harness") or {}) do
    local n, rest = f:match("^([%w_]+)%??: (.*)$")
    if n == name then return ("harness.%s: %s\n"):format(name, rest) end
  end
end

-- harness.api, a tag of it, or one of its operations.
local function api_doc(rest)
  local api = require "harness.api"
  if rest == "" then
    local tags = {}
    for tag in pairs(getmetatable(api).__names) do tags[#tags + 1] = tag end
    table.sort(tags)
    return "harness.api: every operation of the Harness API, as harness.api.<Tag>.<Operation>(params)\n" ..
      "tags (hlua --doc harness.api.TAG for its operations):\n  " .. table.concat(tags, " ") .. "\n"
  end
  local tag, op = rest:match("^%.([^.]+)%.?(.*)$")
  local t = tag and api[tag]
  if not t then return nil end
  if op ~= "" then
    local o = t[op]
    return o and o:doc()
  end
  local names = {}
  for name in pairs(getmetatable(t).__names) do names[#names + 1] = name end
  table.sort(names)
  local out = {"harness.api." .. tag .. " (hlua --doc harness.api." .. tag .. ".NAME for one):"}
  for _, name in ipairs(names) do
    local o = t[name]
    out[#out + 1] = ("  %-44s %s %s"):format(name, o.method, o.path)
  end
  return table.concat(out, "\n") .. "\n"
end

-- 'harness' itself: every public name.
local function namespace_doc()
  require "harness.namespace"
  local names = {}
  for name in pairs(getmetatable(harness).__names) do names[#names + 1] = name end
  table.sort(names)
  local ns = getmetatable(harness).__names
  local out = {"harness: hlua's module (hlua --doc harness.NAME for one):"}
  for _, name in ipairs(names) do
    local line
    local h = type(ns[name]) == "string" and ns[name]:match("^harness%.(.+)$") and header(ns[name]:sub(9))
    if h then
      line = first_sentence((table.concat(h, " "):gsub("^harness%.[%w_]+: ", "")))
    elseif name == "api" then
      line = "every operation of the Harness API, checked before it is sent."
    elseif name == "json" then
      line = "strict, lossless JSON: decode, encode, null, array, object."
    else
      local lines = lines_of(TYPES) or {}
      for i, l in ipairs(lines) do
        if l:match("^function harness%." .. name .. "%(") or l:match("^harness%." .. name .. " = ") then
          line = summary(comment_above(lines, i))
        end
        if l:match("^%-%-%-@class harness%." .. name .. "$") then line = summary(comment_above(lines, i)) end
      end
    end
    out[#out + 1] = ("  %-17s %s"):format(name, line or "")
  end
  return table.concat(out, "\n") .. "\n"
end

--- The reference text of a public name ("harness.pipelines.run",
--- "harness.pipelines", "harness.api.Token.RotateToken", "harness"), or nil.
function M.text(name)
  check.string("doc", 1, name)
  if name == "harness" then return namespace_doc() end
  if name == "harness.api" or name:match("^harness%.api%.") then return api_doc(name:sub(12)) end
  local mod, fn = name:match("^harness%.([%w_]+)%.([%w_]+)$")
  if mod then
    return function_doc(LUA_DIR .. "/harness/" .. mod .. ".lua", "M.", fn, name)
      or function_doc(TYPES, "harness." .. mod .. ".", fn, name)
  end
  local one = name:match("^harness%.([%w_]+)$")
  if one then
    return function_doc(TYPES, "harness.", one, name) or module_doc(one) or declared_module_doc(one)
      or field_doc(one)
  end
  return nil
end

--- The name a value has in the harness namespace ("harness.pipelines",
--- "harness.pipelines.run"), or nil.
function M.name_of(v)
  require "harness.namespace"
  for name, where in pairs(getmetatable(harness).__names) do
    local mod = type(where) == "string" and package.loaded[where]
    if rawget(harness, name) == v or mod == v then return "harness." .. name end
    if type(mod) == "table" then
      for k, f in pairs(mod) do
        if f == v and type(k) == "string" then return ("harness.%s.%s"):format(name, k) end
      end
    end
  end
  local mt = getmetatable(v)
  if type(v) == "table" and mt and mt.__name == "harness.api.Operation" then
    return "harness.api." .. v.operation
  end
end

--- harness.doc(name_or_value): prints the reference of a public name (or of
--- the function or module given) on stdout; returns false when there is none.
function M.show(what)
  local name = type(what) == "string" and what or M.name_of(what)
  local text = name and M.text(name)
  if not text then
    io.stderr:write(("no reference for %s (try: hlua --doc harness)\n"):format(tostring(name or what)))
    return false
  end
  io.stdout:write(text)
  return true
end

--- For the printers: the text that shows a module, or a table of nothing
--- but functions (which JSON cannot), or nil.
function M.describe(v)
  if type(v) ~= "table" then return nil end
  local name = M.name_of(v)
  local text = name and M.text(name)
  if text then return (text:gsub("\n$", "")) end
  local fns = {}
  for k, f in pairs(v) do
    if type(f) ~= "function" then return nil end
    fns[#fns + 1] = tostring(k) .. "()"
  end
  if #fns == 0 then return nil end
  table.sort(fns)
  return "a table of functions: " .. table.concat(fns, ", ")
end

return M
