-- harness.paginate and harness.collect: walk every page of a Harness list
-- endpoint and hand out its items one at a time, in order.
--
-- Harness has four ways of paging (see the styles below). The path gives a
-- first guess; the first response settles it: if the body has the shape of
-- another style, that style's parameters are used from then on and the first
-- page is asked for again with them. Requests go through harness.request, so
-- paging yields inside tasks like any other request.
--
-- Fetching ahead. The first page is asked for alone. When it tells how many
-- pages there are (NG's totalPages or totalItems, the pipeline service's
-- totalPages or totalElements, feature flags' pageCount or itemCount, v1's
-- X-Total-Elements), the next pages are fetched concurrently, one task
-- each, in a window that slides as the items are handed out: while the
-- script is on page k, pages k+1 .. k+W are asked for, never one past the
-- last page or past what max_items needs. W is the in-flight cap or as many
-- pages as hold M.ahead_items (2,000) items, whichever is fewer, and at
-- least 1: 20 pages of the default 100 items, 2 of 1,000. A sliding window
-- rather than every page at once, because memory must not grow with the
-- number of pages: it holds the page being handed out, decoded, and at most
-- W pages ahead as raw responses (decoded only when reached, about a third
-- of their decoded size). When no total is known, one page ahead is
-- fetched, and only once the current page says another follows. So, as
-- long as the first page's count is right, the requests are the ones a
-- page-by-page walk makes, asked for in the same order; a list that shrank
-- meanwhile ends where its pages do, and the fetches beyond are cancelled.
--
-- Errors and leaving early. A fetch that failed is kept with its page and
-- raised when the script reaches that page's items, as if the pages had
-- been fetched one by one; the other fetches are cancelled then. Leaving
-- the loop early (break, return, an error in its body) cancels the fetches
-- in flight: like io.lines, paginate returns a to-be-closed fourth value
-- that the generic for closes; collect closes it too. Paging inside a task
-- makes the fetches its children, so cancelling the task cancels them. An
-- iterator called by hand and dropped lets its fetches (at most W) finish.
local host = require "hlua.host"
local json = require "harness.json"
local check = require "harness.check"
local response = require "harness.response"
local sched = require "harness.sched"
local config = require "harness.config"

local M = {}

local DEFAULT_PAGE_SIZE = 100

-- How many items the pages fetched ahead may hold together (see the top).
-- Tests set their own.
M.ahead_items = 2000

-- A style knows its query parameters, where the items of a decoded body
-- are, and whether another page follows. 'more' gets the body, the
-- response, the number of items on this page and the page state
-- {index, size, seen}. 'count' gets the body and the response of the first
-- page and returns the totals it tells, if any: pages, items.
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
  count = function(body) return body.data.totalPages, body.data.totalItems end,
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
  count = function(body) return body.data.totalPages, body.data.totalElements end,
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
  count = function(body) return body.pageCount, body.itemCount end,
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
  count = function(_, res) return nil, tonumber(res.headers and res.headers["x-total-elements"]) end,
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

-- paginate's options: harness.request's, and how to page.
local OPTIONS = {"method", "query", "json", "headers", "body", "content_type", "timeout", "retries",
                 "account", "style", "page_size", "max_items", "items"}

-- Checks paginate's arguments; returns the options.
local function check_opts(path, opts)
  if type(path) ~= "string" or path == "" then
    check.argerror("paginate", 1, "path expected, " .. check.got(path))
  end
  opts = check.options("paginate", opts, OPTIONS, 2)
  if opts.style ~= nil and not styles[opts.style] then
    check.argerror("paginate", "style", "one of ng, pipeline, cf, v1 expected, got "
      .. tostring(opts.style))
  end
  for _, k in ipairs{"page_size", "max_items"} do
    local v = opts[k]
    if v ~= nil and (math.type(v) ~= "integer" and not (type(v) == "number" and v % 1 == 0) or v < 1) then
      check.argerror("paginate", k, "positive integer expected, got " .. tostring(v))
    end
  end
  return opts
end

-- A count is usable if it is a finite number of pages or items.
local function finite(v)
  return type(v) == "number" and v >= 0 and v < math.huge
end

-- How many pages the list has, from the first page's totals (nil when it
-- tells none); 'per' is the items a full page holds.
local function page_count(s, body, res, per)
  local ok, pages, total = pcall(s.count, body, res)
  if not ok then return nil end
  if finite(pages) then return math.ceil(pages) end
  if finite(total) then return math.ceil(total / per) end
  return nil
end

-- How many pages to keep asked for ahead of the one handed out, for pages
-- of 'per' items: as many as hold M.ahead_items, within the in-flight cap
-- (more would only queue for a request slot), at least 1.
local function window(per)
  local w = M.ahead_items // per
  local cap = sched.max_in_flight or config.max_in_flight()
  if w > cap then w = cap end
  if w < 1 then w = 1 end
  return math.tointeger(w)
end

-- What paginate returns as the generic for's closing value: closing it
-- cancels the fetches still out.
local Closing = {__name = "harness.paging"}
function Closing.__close(c) c.stop() end

-- iterator -> its closing value, so that collect can close it too.
local closings = setmetatable({}, {__mode = "k"})

-- The iterator over items, fetching pages with 'request' (harness.request's
-- signature); also returns the closing value (see the top). Exposed for
-- tests that page over a fake server.
function M.paginate_with(request, path, opts)
  opts = check_opts(path, opts)
  local method = (opts.method or "GET"):upper()
  local style = opts.style or M.guess_style(path)
  local fixed = opts.style ~= nil
  local size = math.tointeger(opts.page_size) or DEFAULT_PAGE_SIZE
  local max = math.tointeger(opts.max_items)
  if max and max < size then size = max end
  local st = {index = 0, size = size, seen = 0}
  local items, pos, done, yielded = nil, 0, false, 0
  local restarted = false
  local limit, width -- pages known to be worth asking for, and the window
  local asked = 1    -- the first page not asked for yet (the first call asks for page 0)
  local ahead = {}   -- page index -> {task, and once done ok, res, err}, until the page is reached

  local function ask(index)
    local s = styles[style]
    local query = {}
    for k, v in pairs(opts.query or {}) do query[k] = v end
    query[s.index] = s.first + index
    query[s.size] = st.size
    return request(method, path, {
      query = query, json = opts.json, headers = opts.headers, body = opts.body,
      content_type = opts.content_type, timeout = opts.timeout, retries = opts.retries,
      account = opts.account,
    })
  end

  -- Cancels the fetches still out.
  local function stop()
    for i, slot in pairs(ahead) do
      ahead[i] = nil
      slot.task:cancel()
    end
  end

  -- Asks for the pages before 'last' not asked for yet, each in a task.
  -- What the request gave, error or not, is kept in the page's slot, so
  -- that it is raised where the script reaches the page, not where the task
  -- ran; and in the slot rather than as the task's results because a
  -- finished task (it has a finalizer) outlives one more collection, and
  -- the raw page with it.
  local function ask_upto(last)
    for i = asked, last - 1 do
      local slot = {}
      slot.task = sched.spawn(function()
        slot.ok, slot.res, slot.err = pcall(ask, i)
      end)
      ahead[i] = slot
    end
    if last > asked then
      asked = last
      sched.kick() -- send them now, not when the script next waits
    end
  end

  -- The response for page 'index': from its task, or asked for now.
  local function response_for(index)
    local slot = ahead[index]
    local res, err
    if slot then
      ahead[index] = nil
      slot.task:wait()
      res, err = slot.res, slot.err
      if not slot.ok then res, err = nil, res end
    else
      res, err = ask(index)
    end
    if not res then error(err, 0) end
    res.method, res.path = method, path
    return res
  end

  -- The items of the page at st.index; moves on to the next page and keeps
  -- the window of pages ahead full.
  local function next_page()
    local res = response_for(st.index)
    local body = response.body(res, 0) -- raises as the verbs do
    local found = M.detect_style(body, opts)
    if found and found ~= style and not fixed and not restarted and st.index == 0 then
      -- the guess was wrong: ask for the first page again, the right way
      style, restarted = found, true
      return next_page()
    end
    local s = styles[style]
    local ok, list = pcall(s.items, body, opts)
    if not ok or type(list) ~= "table" then
      error(host.error{
        kind = "paging", method = method, path = path, url = res.url, status = res.status,
        message = "the response is not a " .. style .. "-style page (set opts.style or opts.items)",
      }, 0)
    end
    local n = #list
    st.seen = st.seen + n
    done = n == 0 or not s.more(body, res, n, st) or (max ~= nil and st.seen >= max)
    if st.index == 0 and not done then
      -- a page short of the size asked for, and not the last: the server's cap
      local per = n < st.size and n or st.size
      limit = page_count(s, body, res, per)
      if limit and max then limit = math.min(limit, math.ceil(max / per)) end
      width = window(per)
    end
    st.index = st.index + 1
    if done then
      stop() -- the list ended sooner than its count said
    elseif limit and st.index < limit then
      ask_upto(math.min(limit, st.index + width))
    else
      -- no count, or more pages than it said: one page ahead
      ask_upto(st.index + 1)
    end
    return list
  end

  local function iter()
    if max and yielded >= max then stop(); return nil end
    while items == nil or pos >= #items do
      if done then items = nil; stop(); return nil end
      items, pos = nil, 0 -- let the previous page go before taking the next
      local ok, list = pcall(next_page)
      if not ok then
        stop()
        error(list, 0)
      end
      items = list
    end
    pos = pos + 1
    yielded = yielded + 1
    local item = items[pos]
    items[pos] = false -- the caller holds it now; the page need not
    return item
  end

  local closing = setmetatable({stop = stop}, Closing)
  closings[iter] = closing
  return iter, nil, nil, closing
end

--- Iterates over every item of a paged list endpoint.
-- With a harness.api operation in place of a path, 'opts' are its
-- parameters and 'more' the paging options (page_size, max_items).
function M.paginate(path, opts, more)
  local mt = getmetatable(path)
  if type(path) == "table" and type(mt) == "table" and mt.__name == "harness.api.Operation" then
    return path:paginate(opts, more)
  end
  return M.paginate_with(require("harness.client").request, path, opts)
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
  local _ <close> = closings[iter] -- an error in fn cancels paginate's fetches
  local all, n = {}, 0
  for item in iter do
    n = n + 1
    if fn then item = fn(item) end
    all[n] = item
  end
  return json.array(all)
end

return M
