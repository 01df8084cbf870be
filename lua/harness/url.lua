-- harness.url: URLs as hlua builds and checks them: escaping, query
-- strings, origins (what decides where the key may go) and redirects'
-- Location headers.
local null = require("harness.json").null

local M = {}

--- Percent-encodes everything but RFC 3986's unreserved characters: for a
--- path segment or a query key or value.
function M.escape(s)
  return (tostring(s):gsub("[^%w%-._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- Appends a query table to 'url' (sorted keys, so the same query makes
--- the same URL; array values repeat the key; false and nil values are
--- left out, as is the JSON null); keeps a query already in the URL and a
--- fragment.
function M.add_query(url, query)
  local keys = {}
  for k in pairs(query) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = query[k]
    if v == nil then v = query[tonumber(k)] end
    if type(v) == "table" then
      for _, item in ipairs(v) do parts[#parts + 1] = M.escape(k) .. "=" .. M.escape(item) end
    elseif v ~= false and v ~= null then
      parts[#parts + 1] = M.escape(k) .. "=" .. M.escape(v)
    end
  end
  if #parts == 0 then return url end
  local frag = url:match("#.*$") or ""
  url = url:gsub("#.*$", "")
  local sep = url:find("?", 1, true) and (url:match("[?&]$") and "" or "&") or "?"
  return url .. sep .. table.concat(parts, "&") .. frag
end

--- Does the URL's query (or the query table) already hold 'name'?
function M.has_param(url, query, name)
  if query and query[name] ~= nil then return true end
  return url:match("[?&]" .. name .. "=") ~= nil
end

--- Is 's' an absolute URL (it has a scheme)?
function M.is_absolute(s)
  return s:match("^%a[%w+.-]*://") ~= nil
end

--- Splits an http(s) URL into scheme, host (lower case, IPv6 in
--- brackets), port and the rest; nil when it is not one.
function M.parse(url)
  local scheme, authority, rest = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then return nil end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil end
  authority = authority:gsub("^.*@", "")
  local host, port = authority:match("^(%[[^%]]*%]):?(%d*)$")
  if not host then host, port = authority:match("^([^:]*):?(%d*)$") end
  if not host or host == "" then return nil end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return {scheme = scheme, host = host:lower(), port = port, rest = rest}
end

--- "scheme://host:port", or nil when url is not an http(s) URL.
function M.origin(url)
  local u = M.parse(url)
  return u and ("%s://%s:%d"):format(u.scheme, u.host, u.port)
end

function M.is_loopback(host)
  return host == "localhost" or host == "[::1]" or host:match("^127%.%d+%.%d+%.%d+$") ~= nil
end

--- Resolves a Location header against the URL it came from.
function M.resolve(base, loc)
  if M.is_absolute(loc) then return loc end
  local u = M.parse(base)
  local prefix = base:match("^(%a[%w+.-]*://[^/?#]*)")
  if loc:sub(1, 2) == "//" then return u.scheme .. ":" .. loc end
  if loc:sub(1, 1) == "/" then return prefix .. loc end
  local dir = base:match("^([^?#]*/)") or (prefix .. "/")
  return dir .. loc
end

return M
