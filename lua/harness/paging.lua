-- harness.paginate and harness.collect: walk every page of a Harness list
-- endpoint and hand out its items one at a time.
--
-- Harness has four ways of paging (see the styles below). The path gives a
-- first guess; the first response settles it: if the body has the shape of
-- another style, that style's parameters are used from then on and the first
-- page is asked for again with them. Only the current page is held, so
-- memory stays flat however many items there are. Requests go through
-- harness.request, so paging yields inside tasks like any other request.
local host = require "hlua.host"
local json = require "harness.json"
local check = require "harness.check"
local response = require "harness.response"

local M = {}

local DEFAULT_PAGE_SIZE = 100

-- A style knows its query parameters, where the items of a decoded body
-- are, and whether another page follows. 'more' gets the body, the
-- response, the number of items on this page and the page state
-- {index, size, seen}.
local styles = {}

-- NextGen: ?pageIndex=0&pageSize=100 -> data.content, data.totalPages.
styles.ng = {
  index = "pageIndex", size = "pageSize", first = 0,
  items = function(body) return body.data.content end,
  more = function(body, _, n, st)
    local d = body.data
    if type(d.totalPages) == "number" then return st.index + 1 < d.totalPages end
    if type(d.totalItems) == "number" then return st.seen < d.totalItems end
    return n >= st.size
  end,
}

-- Pipeline service: ?page=0&size=100 -> data.content in a Spring page
-- (totalPages, totalElements, last, number).
styles.pipeline = {
  index = "page", size = "size", first = 0,
  items = function(body) return body.data.content end,
  more = function(body, _, n, st)
    local d = body.data
    if type(d.last) == "boolean" then return not d.last end
    if type(d.totalPages) == "number" then return st.index + 1 < d.totalPages end
    if type(d.totalElements) == "number" then return st.seen < d.totalElements end
    return n >= st.size
  end,
}

-- The array holding a feature-flag page's items: the one named by
-- opts.items, or the only array among the top-level fields.
local function cf_items_key(body, opts)
  if opts.items then return opts.items end
  for k, v in pairs(body) do
    if type(v) == "table" and (v[1] ~= nil or next(v) == nil) and k ~= "errors" then
      return k
    end
  end
end

-- Feature flags: ?pageNumber=0&pageSize=100 -> e.g. features, with
-- itemCount and pageCount beside it.
styles.cf = {
  index = "pageNumber", size = "pageSize", first = 0,
  items = function(body, opts) local k = cf_items_key(body, opts); return k and body[k] end,
  more = function(body, _, n, st)
    if type(body.pageCount) == "number" then return st.index + 1 < body.pageCount end
    if type(body.itemCount) == "number" then return st.seen < body.itemCount end
    return n >= st.size
  end,
}

-- v1: ?page=0&limit=100 -> a bare array, with X-Total-Elements,
-- X-Page-Number and X-Page-Size. The Link header is not trusted: it is
-- built with the wrong parameter and only offered after a full page.
styles.v1 = {
  index = "page", size = "limit", first = 0,
  items = function(body) return body end,
  more = function(_, res, n, st)
    local total = tonumber(res.headers and res.headers["x-total-elements"])
    if total then return st.seen < total and n > 0 end
    return n >= st.size
  end,
}

M.styles = styles

-- The style a path most likely pages with: a first guess only.
function M.guess_style(path)
  local p = path:gsub("[?#].*", "")
  if p:find("/pipeline/api/", 1, true) then return "pipeline" end
  if p:find("/cf/", 1, true) then return "cf" end
  if p:find("^/v1/") or p:find("^https?://[^/]+/v1/") or p:find("/gateway/v1/", 1, true) then
    return "v1"
  end
  return "ng"
end

-- The style a decoded body has, or nil when it has none of them.
function M.detect_style(body, opts)
  if type(body) ~= "table" then return nil end
  if body[1] ~= nil then return "v1" end
  local d = body.data
  if type(d) == "table" and type(d.content) == "table" then
    if d.pageIndex ~= nil or d.pageItemCount ~= nil or d.totalItems ~= nil then return "ng" end
    if d.number ~= nil or d.totalElements ~= nil or d.pageable ~= nil or d.last ~= nil then
      return "pipeline"
    end
    return nil -- content but no way to tell: keep the guess
  end
  if d == nil and (body.pageCount ~= nil or body.itemCount ~= nil) and cf_items_key(body, opts) then
    return "cf"
  end
  if next(body) == nil then return "v1" end -- an empty array decodes to {}
  return nil
end

-- Checks paginate's arguments (level: the functions between the public
-- one and this); returns the options.
local function check_opts(path, opts, level)
  if type(path) ~= "string" or path == "" then
    check.argerror("paginate", 1, "path expected, " .. check.got(path), level + 1)
  end
  opts = check.opts("paginate", opts, 2, level + 1)
  if opts.style ~= nil and not styles[opts.style] then
    check.argerror("paginate", "style", "one of ng, pipeline, cf, v1 expected, got "
      .. tostring(opts.style), level + 1)
  end
  for _, k in ipairs{"page_size", "max_items"} do
    local v = opts[k]
    if v ~= nil and (math.type(v) ~= "integer" and not (type(v) == "number" and v % 1 == 0) or v < 1) then
      check.argerror("paginate", k, "positive integer expected, got " .. tostring(v), level + 1)
    end
  end
  return opts
end

-- The iterator over items, fetching pages with 'request' (harness.request's
-- signature). Exposed for tests that page over a fake server.
function M.paginate_with(request, path, opts, level)
  opts = check_opts(path, opts, level or 0)
  local method = (opts.method or "GET"):upper()
  local style = opts.style or M.guess_style(path)
  local fixed = opts.style ~= nil
  local size = math.tointeger(opts.page_size) or DEFAULT_PAGE_SIZE
  local max = math.tointeger(opts.max_items)
  if max and max < size then size = max end
  local st = {index = 0, size = size, seen = 0}
  local items, pos, done, yielded = nil, 0, false, 0
  local restarted = false

  local function fetch()
    local s = styles[style]
    local query = {}
    for k, v in pairs(opts.query or {}) do query[k] = v end
    query[s.index] = s.first + st.index
    query[s.size] = st.size
    local res, err = request(method, path, {
      query = query, json = opts.json, headers = opts.headers, body = opts.body,
      content_type = opts.content_type, timeout = opts.timeout, retries = opts.retries,
    })
    if not res then error(err, 0) end
    res.method, res.path = method, path
    local body = response.body(res, 0) -- raises as the verbs do
    local found = M.detect_style(body, opts)
    if found and found ~= style and not fixed and not restarted and st.index == 0 then
      -- the guess was wrong: ask for the first page again, the right way
      style, restarted = found, true
      return fetch()
    end
    s = styles[style]
    local ok, list = pcall(s.items, body, opts)
    if not ok or type(list) ~= "table" then
      error(host.error{
        kind = "paging", method = method, path = path, url = res.url, status = res.status,
        message = "the response is not a " .. style .. "-style page (set opts.style or opts.items)",
      }, 0)
    end
    local n = #list
    st.seen = st.seen + n
    done = n == 0 or not s.more(body, res, n, st)
    st.index = st.index + 1
    return list
  end

  return function()
    if max and yielded >= max then return nil end
    while items == nil or pos >= #items do
      if done then items = nil; return nil end
      items, pos = nil, 0 -- let the previous page go before fetching the next
      items = fetch()
    end
    pos = pos + 1
    yielded = yielded + 1
    local item = items[pos]
    items[pos] = false -- the caller holds it now; the page need not
    return item
  end
end

--- Iterates over every item of a paged list endpoint.
function M.paginate(path, opts)
  return M.paginate_with(require("harness.client").request, path, opts, 1)
end

--- Gathers what an iterator yields into an array, each item through 'fn'
--- when given: harness.collect(harness.paginate(...) [, fn]). With a path
--- (and paginate's options) instead of an iterator, pages through it.
function M.collect(iter, fn)
  if type(iter) == "string" then iter, fn = M.paginate(iter, fn), nil end
  if type(iter) ~= "function" then
    check.argerror("collect", 1, "iterator or path expected, " .. check.got(iter))
  end
  if fn ~= nil then check.callable("collect", 2, fn) end
  local all, n = {}, 0
  for item in iter do
    n = n + 1
    if fn then item = fn(item) end
    all[n] = item
  end
  return json.array(all)
end

return M
