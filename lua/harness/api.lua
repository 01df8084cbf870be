-- harness.api: every operation of the Harness API table (src/api/, as
-- generated into harness.api_operations), callable from a script as
--   harness.api.<Tag>.<Operation>(params [, body])
-- params holds the operation's parameters by their wire names (path,
-- query and header alike) and 'body'. Everything is checked before a byte
-- is sent: unknown parameters (a typo must never act on a default scope),
-- missing required ones, values of the wrong type, a body where none is
-- taken or none where one is needed. accountIdentifier and Harness-Account
-- come from the configuration; orgIdentifier and projectIdentifier (org
-- and project in v1 paths) from the configured scope when left out (false
-- leaves an optional one out). The result is what harness.get returns; a
-- failure raises a harness.Error naming the operation.
local check = require "harness.check"
local client = require "harness.client"
local config = require "harness.config"
local host = require "hlua.host"
local json = require "harness.json"
local response = require "harness.response"
local url = require "harness.url"

local DATA = require "harness.api_operations"

local M = {}

local TYPES = {s = "string", i = "integer", n = "number", b = "boolean", a = "array", x = "any"}
local WHERE = {p = "path", q = "query", h = "header"}
-- Parameters filled from the configuration, and where each comes from.
local FROM_SCOPE = {orgIdentifier = "org", projectIdentifier = "project"}
local V1_SCOPE = {org = "org", project = "project"}
-- Content-Types a string body may go as, in order of preference.
local TEXT_TYPES = {"application/yaml", "text/yaml", "text/plain", "application/json", "*/*"}
-- Paging styles by the query parameters an operation has.
local PAGE_STYLES = {{"pageIndex", "ng"}, {"pageNumber", "cf"}, {"limit", "v1"}, {"size", "pipeline"}}

---@class harness.api.Operation
local Operation = {}
Operation.__index = Operation
Operation.__name = "harness.api.Operation"

function Operation.__tostring(op)
  return ("harness.api.%s (%s %s)"):format(op.operation, op.method, op.path)
end

-- Splits 's' at each 'sep' (plain), keeping empty fields.
local function split(s, sep)
  local out, pos = {}, 1
  while true do
    local i = s:find(sep, pos, true)
    if not i then
      out[#out + 1] = s:sub(pos)
      return out
    end
    out[#out + 1] = s:sub(pos, i - 1)
    pos = i + 1
  end
end

-- The operation 'name' of 'tag' from its line of the data (see
-- harness.api_operations): parameters parsed once, by name and in order.
local function new_operation(tag, name, line)
  local f = split(line, "\t")
  local op = setmetatable({
    operation = tag .. "." .. name, tag = tag, name = name, method = f[2], path = f[3],
    params = {}, by_name = {}, body = f[5], consumes = {}, returns = f[7], service = f[8],
  }, Operation)
  op.fname = "api." .. op.operation
  if f[4] ~= "" then
    for _, spec in ipairs(split(f[4], ",")) do
      local p = {name = spec:sub(4), where = WHERE[spec:sub(1, 1)], required = spec:sub(2, 2) == "!",
                 type = TYPES[spec:sub(3, 3)]}
      op.params[#op.params + 1] = p
      op.by_name[p.name] = p
    end
  end
  if f[6] ~= "-" then op.consumes = split(f[6], ",") end
  -- a parameter named 'body' takes the key; the request body is then the
  -- second argument
  op.body_key = not op.by_name.body and "body" or nil
  return op
end

-- The names of 'set' (a table keyed by name), sorted.
local function sorted_keys(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- Edit distance between a and b (a swap of two neighbours is one edit),
-- case ignored.
local function distance(a, b)
  a, b = a:lower(), b:lower()
  local before, prev = nil, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = {[0] = i}
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if before and j > 1 and a:sub(i, i) == b:sub(j - 1, j - 1) and a:sub(i - 1, i - 1) == b:sub(j, j) then
        cur[j] = math.min(cur[j], before[j - 2] + 1)
      end
    end
    before, prev = prev, cur
  end
  return prev[#b]
end

-- The known name closest to 'bad' (a typo of it, or of its beginning).
local function closest(bad, names)
  local best, best_d = nil, math.max(2, #bad // 3) + 1
  for _, name in ipairs(names) do
    local d = math.min(distance(bad, name), distance(bad, name:sub(1, #bad)) + 1)
    if d < best_d then best, best_d = name, d end
  end
  return best
end

-- Is v a value of parameter type 'ty'? Returns the value to send.
local function typed(ty, v)
  local t = type(v)
  if ty == "string" then return t == "string" and v or nil end
  if ty == "integer" then return math.tointeger(v) end
  if ty == "number" then return t == "number" and v or nil end
  if ty == "boolean" then return t == "boolean" and tostring(v) or nil end
  if ty == "array" or (ty == "any" and t == "table") then
    if t ~= "table" then return nil end
    local out = {}
    for i, item in ipairs(v) do
      if type(item) ~= "string" and type(item) ~= "number" and type(item) ~= "boolean" then return nil end
      out[i] = tostring(item)
    end
    return out
  end
  if t == "string" or t == "number" then return v end -- any
  if t == "boolean" then return tostring(v) end
  return nil
end

-- The value a left-out parameter takes from the configuration, if any.
local function default_of(op, p)
  local name = p.name
  if name == "accountIdentifier" or name == "Harness-Account" then return config.account() end
  local key = FROM_SCOPE[name] or (op.path:find("^/v1/") and p.where == "path" and V1_SCOPE[name])
  if key then return config.settings()[key] end
end

-- The Content-Type a body goes with, and the body as text; raises when
-- the operation cannot take that body.
local function body_of(op, body)
  if type(body) == "table" then
    for _, ct in ipairs(op.consumes) do
      if ct:find("json", 1, true) or ct == "*/*" then return ct == "*/*" and "application/json" or ct, json.encode(body) end
    end
    check.argerror(op.fname, "body", "a table goes as JSON, which this operation does not take (it takes " ..
      table.concat(op.consumes, ", ") .. "): pass the body as a string")
  end
  if type(body) ~= "string" then
    check.argerror(op.fname, "body", "table or string expected, " .. check.got(body))
  end
  if #op.consumes == 0 then return nil, body end
  for _, want in ipairs(TEXT_TYPES) do
    for _, ct in ipairs(op.consumes) do
      if ct == want then return ct == "*/*" and "text/plain" or ct, body end
    end
  end
  check.argerror(op.fname, "body", "this operation takes " .. table.concat(op.consumes, ", ") ..
    ", which harness.api does not send yet (use harness.request)")
end

--- Checks params (and the body) against the operation; returns the method,
--- the path with its parameters in place, and harness.request's options.
function Operation:prepare(params, body)
  params = check.opts(self.fname, params, 1)
  if self.body_key then body = params.body end
  for k in pairs(params) do
    if not (self.by_name[k] or k == self.body_key) then
      local known = sorted_keys(self.by_name)
      if self.body_key and self.body ~= "-" then known[#known + 1] = "body" end
      local near = type(k) == "string" and closest(k, known)
      check.argerror(self.fname, tostring(k), "no such parameter" ..
        (near and ("; did you mean '" .. near .. "'") or "") .. "; it takes: " ..
        (#known > 0 and table.concat(known, ", ") or "nothing"))
    end
  end
  local path = self.path
  local query, headers = {}, {["Harness-Account"] = config.account()}
  for _, p in ipairs(self.params) do
    local v = params[p.name]
    if v == nil then v = default_of(self, p) end
    if v == false and not p.required and p.type ~= "boolean" then v = nil end
    if v == nil and p.name == "x-api-key" then goto continue end -- the transport's
    if v == nil then
      if p.required then
        check.argerror(self.fname, p.name, "required " .. p.where .. " parameter missing" ..
          ((FROM_SCOPE[p.name] or V1_SCOPE[p.name]) and " (or configure one: --org/--project, HARNESS_ORG_ID/HARNESS_PROJECT_ID)" or ""))
      end
      goto continue
    end
    do
      local sent = typed(p.type, v)
      if sent == nil then
        check.argerror(self.fname, p.name, p.type .. " expected, " .. check.got(v))
      end
      if p.where == "path" then
        path = path:gsub("{" .. p.name:gsub("%p", "%%%0") .. "}", (url.escape(sent):gsub("%%", "%%%%")))
      elseif p.where == "query" then
        query[p.name] = sent
      else
        headers[p.name] = tostring(sent)
      end
    end
    ::continue::
  end
  local opts = {query = query, headers = headers, account = false}
  if self.body == "-" and body ~= nil then
    check.argerror(self.fname, "body", "this operation takes no body")
  elseif self.body ~= "-" and self.body ~= "optional" and body == nil then
    check.argerror(self.fname, "body", "a " .. self.body .. " body is required")
  end
  if body ~= nil then opts.content_type, opts.body = body_of(self, body) end
  return self.method, path, opts
end

--- op(params [, body]): the request; returns the decoded body, raises a
--- harness.Error naming the operation.
function Operation:__call(params, body)
  local method, path, opts = self:prepare(params, body)
  local res, err = client.request(method, path, opts)
  if not res then
    err.operation = self.operation
    error(err, 0)
  end
  local ok, v = pcall(response.body, res, 0)
  if not ok then
    if host.is_error(v) then v.operation = self.operation end
    error(v, 0)
  end
  return v
end

--- The paging style of the operation ("ng", "cf", "v1", "pipeline"), or
--- nil when it has no paging parameters.
function Operation:page_style()
  for _, s in ipairs(PAGE_STYLES) do
    local p = self.by_name[s[1]]
    if p and p.where == "query" then return s[2] end
  end
end

--- op:paginate(params [, opts]): the items of every page, as
--- harness.paginate yields them (opts: page_size, max_items).
function Operation:paginate(params, opts)
  local style = self:page_style()
  if not style then check.argerror(self.fname .. ":paginate", 1, "this operation has no paging parameters") end
  local method, path, ropts = self:prepare(params, nil)
  opts = check.opts(self.fname .. ":paginate", opts, 2)
  ropts.method, ropts.style = method, style
  ropts.page_size, ropts.max_items = opts.page_size, opts.max_items
  return require("harness.paging").paginate(path, ropts)
end

--- A one-screen description: method, path, parameters, body, result.
function Operation:doc()
  local lines = {("harness.api.%s  (%s)"):format(self.operation, self.service),
                 ("  %s %s"):format(self.method, self.path)}
  local w = 4
  for _, p in ipairs(self.params) do w = math.max(w, #p.name) end
  for _, where in ipairs({"path", "query", "header"}) do
    local shown = false
    for _, p in ipairs(self.params) do
      if p.where == where then
        if not shown then lines[#lines + 1] = "  " .. where .. " parameters:" shown = true end
        local note = p.required and "required" or "optional"
        if p.name == "accountIdentifier" or p.name == "Harness-Account" then
          note = note .. ", from the configuration"
        elseif FROM_SCOPE[p.name] or (where == "path" and V1_SCOPE[p.name] and self.path:find("^/v1/")) then
          note = note .. ", default: the configured " .. (FROM_SCOPE[p.name] or V1_SCOPE[p.name])
        end
        lines[#lines + 1] = ("    %-" .. w .. "s  %-8s %s"):format(p.name, p.type, note)
      end
    end
  end
  if self.body == "-" then
    lines[#lines + 1] = "  body: none"
  else
    lines[#lines + 1] = ("  body: %s%s (%s)"):format(self.body == "optional" and "optional" or self.body,
      self.body_key and "" or ", the second argument", #self.consumes > 0 and table.concat(self.consumes, ", ") or "no Content-Type")
  end
  lines[#lines + 1] = "  returns: " .. self.returns
  local style = self:page_style()
  if style then
    lines[#lines + 1] = ("  paging: %s-style, harness.paginate(harness.api.%s, params)"):format(style, self.operation)
  end
  return table.concat(lines, "\n") .. "\n"
end

-- A tag's table: its operations, made on first access from its lines of
-- the data (only the names are read until then).
local function new_tag(tag)
  local lines, names = {}, {}
  local text, pos = DATA[tag], 1
  while pos <= #text do
    local nl = text:find("\n", pos, true) or (#text + 1)
    local line = text:sub(pos, nl - 1)
    local name = line:sub(1, line:find("\t", 1, true) - 1)
    lines[name], names[name] = line, true
    pos = nl + 1
  end
  return setmetatable({}, {
    __index = function(t, name)
      local line = lines[name]
      if not line then return nil end
      local op = new_operation(tag, name, line)
      rawset(t, name, op)
      return op
    end,
    __names = names,
    __name = "harness.api." .. tag,
    __tostring = function() return "harness.api." .. tag end,
  })
end

local tag_names = {}
for tag in pairs(DATA) do tag_names[tag] = true end

--- The operation named "Tag.Operation", or nil.
function M.find(name)
  local tag, op = tostring(name):match("^([^.]+)%.(.+)$")
  local t = tag and M[tag]
  return t and t[op]
end

--- Every operation's name ("Tag.Operation"), sorted.
function M.names()
  local out = {}
  for tag in pairs(DATA) do
    for name in pairs(getmetatable(M[tag]).__names) do out[#out + 1] = tag .. "." .. name end
  end
  table.sort(out)
  return out
end

return setmetatable(M, {
  __index = function(t, tag)
    if not DATA[tag] then return nil end
    local tt = new_tag(tag)
    rawset(t, tag, tt)
    return tt
  end,
  __names = tag_names,
})
