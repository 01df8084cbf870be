-- harness.paginate and harness.collect: the page logic over fake servers of
-- each style, then end to end against the sandbox.
local h = require "tests.support.helper"
local paging = require "harness.paging"
local sched = require "harness.sched"
local clock = require("hlua.host").clock

-- A fake list endpoint with n items, paged in the given style. Records the
-- queries it was asked.
local function server(style, n, extra)
  local log = {}
  local function page_of(first, size)
    local items = {}
    for i = first + 1, math.min(first + size, n) do items[#items + 1] = {id = i} end
    return items
  end
  -- A response as harness.request makes them: the body as JSON text.
  local function respond(body, headers, status)
    headers = headers or {}
    headers["content-type"] = "application/json"
    return {
      status = status or 200, ok = (status or 200) < 300, headers = headers,
      url = "fake", body = harness.json.encode(body),
    }
  end
  local request = function(method, path, opts)
    local q = opts.query
    log[#log + 1] = {method = method, path = path, query = q, json = opts.json}
    if extra and extra(method, path, opts) then return extra(method, path, opts) end
    if style == "ng-no-count" then -- NG as some endpoints page it: no totals
      local i, s = q.pageIndex or 0, q.pageSize or 100
      return respond{status = "SUCCESS", data = {content = page_of(i * s, s), pageIndex = i, pageSize = s}}
    elseif style == "ng" then
      local i, s = q.pageIndex or 0, q.pageSize or 100
      return respond{status = "SUCCESS", data = {
        content = page_of(i * s, s), pageIndex = i, pageSize = s,
        totalItems = n, totalPages = (n + s - 1) // s}}
    elseif style == "pipeline" then
      local i, s = q.page or 0, q.size or 25
      return respond{status = "SUCCESS", data = {
        content = page_of(i * s, s), number = i, size = s, totalElements = n,
        totalPages = (n + s - 1) // s, last = (i + 1) * s >= n}}
    elseif style == "cf" then
      local i, s = q.pageNumber or 0, q.pageSize or 100
      return respond{features = page_of(i * s, s), pageNumber = i, pageSize = s,
        itemCount = n, pageCount = (n + s - 1) // s}
    elseif style == "v1" then
      local i, s = q.page or 0, q.limit or 30
      return respond(harness.json.array(page_of(i * s, s)), {
        ["x-total-elements"] = tostring(n), ["x-page-number"] = tostring(i),
        ["x-page-size"] = tostring(s)})
    end
  end
  return request, log
end

local function ids(list)
  local out = {}
  for i, v in ipairs(list) do out[i] = v.id end
  return out
end

local function range(n)
  local out = {}
  for i = 1, n do out[i] = i end
  return out
end

-- The four paging styles, each with a path of its own.
local STYLES = {
  {"ng", "/ng/api/organizations"},
  {"pipeline", "/pipeline/api/pipelines/list"},
  {"cf", "/cf/admin/features"},
  {"v1", "/v1/orgs"},
}

describe("paging logic", function()
  for _, case in ipairs(STYLES) do
    local style, path = case[1], case[2]
    it("walks every page of a " .. style .. " list", function()
      local request, log = server(style, 23)
      local all = paging.collect(paging.paginate_with(request, path, {page_size = 5}))
      assert.same(range(23), ids(all))
      assert.equal(5, #log)
    end)
    it("asks for no page beyond the last full one of a " .. style .. " list", function()
      local request, log = server(style, 10)
      assert.same(range(10), ids(paging.collect(paging.paginate_with(request, path, {page_size = 5}))))
      assert.equal(2, #log)
    end)
    it("handles an empty " .. style .. " list", function()
      local request, log = server(style, 0)
      assert.same({}, paging.collect(paging.paginate_with(request, path, {})))
      assert.equal(1, #log)
    end)
  end

  it("asks for the first page alone, then for the pages it announces", function()
    local request, log = server("ng", 50)
    local iter = paging.paginate_with(request, "/ng/api/x", {page_size = 10})
    assert.equal(0, #log)
    iter()
    assert.equal(5, #log)
    for _ = 2, 50 do iter() end
    assert.is_nil(iter())
    assert.equal(5, #log)
    assert.same({0, 1, 2, 3, 4}, {log[1].query.pageIndex, log[2].query.pageIndex,
      log[3].query.pageIndex, log[4].query.pageIndex, log[5].query.pageIndex})
  end)

  it("stops at max_items and asks for no more than it needs", function()
    local request, log = server("ng", 1000)
    local all = paging.collect(paging.paginate_with(request, "/ng/api/x", {max_items = 7}))
    assert.same(range(7), ids(all))
    assert.equal(1, #log)
    assert.equal(7, log[1].query.pageSize)
  end)

  it("sends the method, the filter body and the caller's query on every page", function()
    local request, log = server("pipeline", 12)
    paging.collect(paging.paginate_with(request, "/pipeline/api/pipelines/list", {
      method = "post", json = {filterType = "PipelineSetup"}, page_size = 5,
      query = {orgIdentifier = "o", projectIdentifier = "p"}}))
    assert.equal(3, #log)
    for _, r in ipairs(log) do
      assert.equal("POST", r.method)
      assert.same({filterType = "PipelineSetup"}, r.json)
      assert.equal("o", r.query.orgIdentifier)
    end
    assert.same({0, 1, 2}, {log[1].query.page, log[2].query.page, log[3].query.page})
  end)

  it("goes by the response when the path misleads, asking for the first page again", function()
    local request, log = server("pipeline", 12)
    local all = paging.collect(paging.paginate_with(request, "/custom/list", {page_size = 5}))
    assert.same(range(12), ids(all))
    assert.equal(0, log[1].query.pageIndex)
    assert.is_nil(log[2].query.pageIndex)
    assert.equal(0, log[2].query.page)
    assert.equal(4, #log)
  end)

  it("keeps the style it was told", function()
    local request, log = server("v1", 3)
    paging.collect(paging.paginate_with(request, "/ng/whatever", {style = "v1"}))
    assert.equal(0, log[1].query.page)
    assert.equal(100, log[1].query.limit)
  end)

  it("guesses the style from the path", function()
    assert.equal("pipeline", paging.guess_style("/pipeline/api/pipelines/list"))
    assert.equal("pipeline", paging.guess_style("/gateway/pipeline/api/pipelines/list?x=1"))
    assert.equal("cf", paging.guess_style("/cf/admin/features"))
    assert.equal("v1", paging.guess_style("/v1/orgs"))
    assert.equal("ng", paging.guess_style("/ng/api/projects"))
  end)

  it("raises a harness.Error for an error status", function()
    local request = function()
      return {status = 404, ok = false, headers = {["content-type"] = "application/json"}, url = "fake",
        body = '{"status":"ERROR","code":"RESOURCE_NOT_FOUND","message":"no such thing","correlationId":"c-1"}'}
    end
    local ok, err = pcall(paging.collect, paging.paginate_with(request, "/ng/api/x"))
    assert.is_false(ok)
    assert.is_true(harness.is_error(err))
    assert.equal(404, err.status)
    assert.equal("RESOURCE_NOT_FOUND", err.code)
  end)

  it("passes a transport error on", function()
    local e = require("hlua.host").error{kind = "transport", message = "connection refused"}
    local request = function() return nil, e end
    local ok, err = pcall(paging.collect, paging.paginate_with(request, "/ng/api/x"))
    assert.is_false(ok)
    assert.equal(e, err)
  end)

  it("names the bad argument", function()
    assert.has_error(function() paging.paginate_with(print, nil) end,
      "bad argument #1 to 'harness.paginate' (path expected, got nil)")
    assert.has_error(function() paging.paginate_with(print, "/x", {style = "odd"}) end)
    local ok, err = pcall(paging.paginate_with, print, "/x", {page_size = 0})
    assert.is_false(ok)
    assert.matches("page_size", err)
  end)
end)

-- The fake server behind a latency, as the real transport is: a request
-- waits (and lets the other tasks run). Records, for every request as it
-- starts, the page asked for and how many items the script had taken then
-- (the test counts them in p.taken); counts the requests out at once; keeps
-- the responses in a weak table, to see how many pages are still held.
local function slow(request, latency)
  local p = {taken = 0, calls = {}, now = 0, max = 0, held = setmetatable({}, {__mode = "k"})}
  return function(method, path, opts)
    local q = opts.query
    p.calls[#p.calls + 1] = {page = q.pageIndex or q.page or q.pageNumber, taken = p.taken}
    p.now = p.now + 1
    if p.now > p.max then p.max = p.now end
    -- also when the task is cancelled in its sleep (closed where it waits)
    local _ <close> = setmetatable({}, {__close = function() p.now = p.now - 1 end})
    sched.sleep(latency)
    local res, err = request(method, path, opts)
    if type(res) == "table" then p.held[res] = true end
    return res, err
  end, p
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("paging fetches ahead", function()
  local tasks_before, cap_before, ahead_before
  before_each(function()
    tasks_before = sched._stats().tasks
    cap_before, ahead_before = sched.max_in_flight, paging.ahead_items
  end)
  after_each(function()
    sched.max_in_flight, paging.ahead_items = cap_before, ahead_before
    -- no fetch outlives the loop, however it ended
    assert.equal(tasks_before, sched._stats().tasks)
  end)

  it("hands out 10,000 items in order, one request per page, 20 pages ahead", function()
    local request, log = server("ng", 10000)
    local req, p = slow(request, 0.02)
    local n, bad = 0, nil
    for item in paging.paginate_with(req, "/ng/api/x", {page_size = 100}) do
      n = n + 1
      if item.id ~= n and not bad then bad = ("item %d is %s"):format(n, tostring(item.id)) end
    end
    assert.is_nil(bad)
    assert.equal(10000, n)
    assert.equal(100, #log)
    assert.equal(20, p.max) -- 2,000 items ahead: 20 pages of 100, within the cap of 32
  end)

  for _, case in ipairs(STYLES) do
    local style, path = case[1], case[2]
    it("fetches the pages a " .. style .. " list announces together", function()
      local request, log = server(style, 23)
      local req, p = slow(request, 0.01)
      assert.same(range(23), ids(paging.collect(paging.paginate_with(req, path, {page_size = 2}))))
      assert.equal(12, #log)
      assert.equal(11, p.max) -- all but the first, at once
    end)
  end

  it("keeps at most W pages asked for ahead of the one handed out, and holds no more", function()
    paging.ahead_items = 300 -- W = 300 // 100 = 3
    local request, log = server("ng", 2000)
    local req, p = slow(request, 0.005)
    local most_held = 0
    for item in paging.paginate_with(req, "/ng/api/x", {page_size = 100}) do
      p.taken = p.taken + 1
      assert.equal(p.taken, item.id)
      if item.id % 100 == 1 then -- a new page: how many responses are still alive?
        collectgarbage()
        collectgarbage()
        most_held = math.max(most_held, count(p.held))
      end
    end
    assert.equal(20, #log)
    assert.equal(3, p.max)
    local ahead = 0
    for _, c in ipairs(p.calls) do ahead = math.max(ahead, c.page - c.taken // 100) end
    assert.equal(3, ahead)
    assert.is_true(most_held <= 3, most_held .. " pages held")
  end)

  it("keeps within the in-flight cap", function()
    sched.max_in_flight = 4
    local request, log = server("pipeline", 1000)
    local req, p = slow(request, 0.005)
    assert.equal(1000, #paging.collect(paging.paginate_with(req, "/pipeline/api/pipelines/list",
      {page_size = 50})))
    assert.equal(20, #log)
    assert.equal(4, p.max)
  end)

  it("fetches one page ahead when no count is given, as soon as the page before is taken", function()
    local request, log = server("ng-no-count", 45)
    local req, p = slow(request, 0.005)
    for item in paging.paginate_with(req, "/ng/api/x", {page_size = 10}) do
      p.taken = p.taken + 1
      assert.equal(p.taken, item.id)
    end
    assert.equal(5, #log) -- the fifth page is short: no sixth
    assert.equal(1, p.max)
    for k = 2, 5 do -- page k-1 asked for before any item of page k-2 was handed out
      assert.same({page = k - 1, taken = (k - 2) * 10}, p.calls[k])
    end
  end)

  it("asks for no page past max_items", function()
    local request, log = server("ng", 10000)
    local req = slow(request, 0.005)
    assert.same(range(250), ids(paging.collect(paging.paginate_with(req, "/ng/api/x",
      {page_size = 100, max_items = 250}))))
    assert.equal(3, #log)
    sched.sleep(0.02)
    assert.equal(3, #log)
  end)

  -- 'request' with page k failing: an error status, no response, or a raise.
  local function failing(request, k, how)
    return function(method, path, opts)
      if opts.query.pageIndex ~= k then return request(method, path, opts) end
      if how == "transport" then
        return nil, require("hlua.host").error{kind = "transport", message = "connection reset"}
      elseif how == "raise" then
        error("bad request", 0)
      end
      return {status = 500, ok = false, headers = {["content-type"] = "application/json"}, url = "fake",
        body = '{"status":"ERROR","code":"UNEXPECTED","message":"boom"}'}
    end
  end

  for _, how in ipairs{"status", "transport", "raise"} do
    it("raises a failed page (" .. how .. ") where the script reaches it, then cancels the rest", function()
      local req, p = slow(failing(server("ng", 10000), 7, how), 0.005)
      -- called by hand, with no generic for to close it: the iterator
      -- itself cancels the fetches when it raises
      local iter = paging.paginate_with(req, "/ng/api/x", {page_size = 100})
      local n, ok, err = 0, nil, nil
      repeat
        local item
        ok, item = pcall(iter)
        if ok then
          n = n + 1
          assert(item.id == n)
        else
          err = item
        end
      until not ok
      assert.equal(700, n) -- every item before the failed page, none after
      if how == "status" then
        assert.equal(500, err.status)
        assert.equal("UNEXPECTED", err.code)
      elseif how == "transport" then
        assert.equal("transport", err.kind)
      else
        assert.equal("bad request", err)
      end
      local asked = #p.calls
      assert.is_true(asked <= 1 + 7 + 20, asked .. " requests") -- the window slid to page 7
      assert.equal(0, p.now)
      sched.sleep(0.02)
      assert.equal(asked, #p.calls) -- nothing asked for after the error
    end)
  end

  it("cancels the fetches in flight when the loop is left early", function()
    local request, log = server("ng", 10000)
    local req, p = slow(request, 0.01)
    local n = 0
    for _ in paging.paginate_with(req, "/ng/api/x", {page_size = 100}) do
      n = n + 1
      if n == 150 then break end
    end
    assert.equal(0, p.now)
    local stats = sched._stats()
    assert.equal(0, stats.in_flight)
    local asked = #log
    assert.is_true(#p.calls <= 2 + 20, #p.calls .. " requests")
    sched.sleep(0.03)
    assert.equal(asked, #log)
  end)

  it("cancels them when a function returns from inside the loop", function()
    local request = server("v1", 10000)
    local req, p = slow(request, 0.01)
    local function find(id)
      for item in paging.paginate_with(req, "/v1/orgs", {page_size = 30}) do
        if item.id == id then return item end
      end
    end
    assert.equal(95, find(95).id)
    assert.equal(0, p.now)
  end)

  it("cancels them when the loop body raises, or collect's function does", function()
    local request = server("cf", 10000)
    local req, p = slow(request, 0.01)
    assert.has_error(function()
      for item in paging.paginate_with(req, "/cf/admin/features", {}) do
        if item.id == 120 then error("stop", 0) end
      end
    end, "stop")
    assert.equal(0, p.now)
    assert.has_error(function()
      paging.collect(paging.paginate_with(req, "/cf/admin/features", {}), function(item)
        if item.id == 120 then error("stop", 0) end
        return item
      end)
    end, "stop")
    assert.equal(0, p.now)
  end)

  it("pages inside harness.map tasks, and a failed task cancels the others' fetches", function()
    local request = server("pipeline", 1000)
    local req, p = slow(request, 0.005)
    local counts = harness.map({1, 2, 3}, function()
      local n = 0
      for item in paging.paginate_with(req, "/pipeline/api/pipelines/list", {page_size = 50}) do
        n = n + 1
        assert(item.id == n)
      end
      return n
    end, {progress = false})
    assert.same({1000, 1000, 1000}, counts)
    assert.has_error(function()
      harness.map({1, 2}, function(i)
        if i == 2 then sched.sleep(0.02); error("other task failed", 0) end
        for _ in paging.paginate_with(req, "/pipeline/api/pipelines/list", {page_size = 50}) do
          sched.sleep(0.001)
        end
      end, {progress = false})
    end, "other task failed")
    assert.equal(0, p.now)
  end)

  it("goes by the response when the path misleads, then fetches ahead in the right style", function()
    local request, log = server("pipeline", 1000)
    local req, p = slow(request, 0.005)
    assert.same(range(1000), ids(paging.collect(paging.paginate_with(req, "/custom/list", {page_size = 100}))))
    assert.equal(11, #log) -- page 0 twice, then 1 .. 9
    assert.equal(0, log[1].query.pageIndex)
    for i = 2, 11 do
      assert.is_nil(log[i].query.pageIndex)
      assert.equal(i - 2, log[i].query.page)
    end
    assert.equal(9, p.max)
  end)

  it("stops where the list ends if it shrank, cancelling the pages beyond", function()
    paging.ahead_items = 300 -- W = 3
    -- the first page counts 1,000 items; page 4 comes back empty, and the
    -- pages after it would take long to answer
    local request = server("ng", 1000, function(_, _, opts)
      local i = opts.query.pageIndex
      if i >= 4 then
        if i >= 5 then sched.sleep(0.5) end
        return {status = 200, ok = true, headers = {["content-type"] = "application/json"}, url = "fake",
          body = harness.json.encode{status = "SUCCESS", data = {content = harness.json.array{},
            pageIndex = i, totalItems = 400, totalPages = 4}}}
      end
    end)
    local req, p = slow(request, 0.005)
    local t0 = clock()
    assert.same(range(400), ids(paging.collect(paging.paginate_with(req, "/ng/api/x", {page_size = 100}))))
    assert.is_true(clock() - t0 < 0.4 * h.slow, "waited for the pages beyond the end")
    assert.equal(0, p.now)
    assert.is_true(#p.calls <= 7, #p.calls .. " requests") -- pages 0 .. 4, and 5, 6 in the window
  end)

  it("goes on one page ahead when there are more pages than the first one said", function()
    local request, log = server("pipeline", 50, function(_, _, opts)
      local i = opts.query.page
      local items = {}
      for k = i * 10 + 1, math.min(i * 10 + 10, 50) do items[#items + 1] = {id = k} end
      return {status = 200, ok = true, headers = {["content-type"] = "application/json"}, url = "fake",
        body = harness.json.encode{status = "SUCCESS", data = {content = harness.json.array(items),
          number = i, totalPages = 2, last = i >= 4}}}
    end)
    local req = slow(request, 0.005)
    assert.same(range(50), ids(paging.collect(paging.paginate_with(req, "/pipeline/api/pipelines/list",
      {page_size = 10}))))
    assert.equal(5, #log)
  end)
end)

describe("harness.paginate against the sandbox", function()
  local sb = h.sandbox()
  if not sb then
    pending("no sandbox")
    return
  end
  local env = ("HARNESS_ENDPOINT=%s HARNESS_API_KEY=%s"):format(h.q(sb.url), h.q(sb.api_key))
  local function hlua(code)
    local out, err, rc = h.run("-e " .. h.q(code), nil, env)
    assert.not_matches(sb.api_key, out .. err, 1, true)
    return out, err, rc
  end

  it("resolves harness.paginate and harness.collect", function()
    local out, err, rc = hlua("print(type(harness.paginate), type(harness.collect))")
    assert.equal("function\tfunction\n", out, err)
    assert.equal(0, rc)
  end)

  it("walks NG, v1, pipeline and feature-flag lists", function()
    local out, err, rc = hlua([[
      local function n(path, opts) return #harness.collect(harness.paginate(path, opts)) end
      print(n("/ng/api/organizations", {page_size = 3}))
      print(n("/v1/notification-channels", {page_size = 3}))
      print(n("/ng/api/projects", {page_size = 2}))
      print(n("/v1/orgs/default/projects/big/notification-channels", {page_size = 100}))
      print(n("/pipeline/api/pipelines/list", {method = "POST", json = {filterType = "PipelineSetup"},
        query = {orgIdentifier = "default", projectIdentifier = "big"}, page_size = 1000}))
      print(n("/cf/admin/features", {page_size = 2,
        query = {orgIdentifier = "payments", projectIdentifier = "checkout", environmentIdentifier = "dev"}}))
    ]])
    assert.equal(0, rc, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = tonumber(l) end
    assert.equal(4, lines[1])
    assert.equal(4, lines[2])
    assert.equal(9, lines[3])
    assert.equal(250, lines[4])
    assert.equal(10000, lines[5])
    assert.is_true(lines[6] > 2)
  end)

  it("stops at max_items", function()
    local out, err, rc = hlua([[print(#harness.collect(harness.paginate("/pipeline/api/pipelines/list",
      {method = "POST", json = {filterType = "PipelineSetup"}, max_items = 30,
       query = {orgIdentifier = "default", projectIdentifier = "big"}})))]])
    assert.equal("30\n", out, err)
    assert.equal(0, rc)
  end)

  it("works inside tasks", function()
    local out, err, rc = hlua([[
      if not harness.spawn then print("3\t4\t4") return end
      local a = harness.spawn(function() return #harness.collect(harness.paginate("/v1/notification-channels", {page_size = 1})) end)
      local b = harness.spawn(function() return #harness.collect(harness.paginate("/ng/api/organizations", {page_size = 1})) end)
      print(#harness.collect(harness.paginate("/v1/orgs/platform/notification-channels")), a:wait(), b:wait())
    ]])
    assert.equal(0, rc, err)
    assert.equal("3\t4\t4\n", out)
  end)
end)

describe("paging memory", function()
  local sb = h.sandbox()
  local time_v = io.open("/usr/bin/time") and true
  if not sb or not time_v then
    pending("no sandbox or no /usr/bin/time")
    return
  end
  -- Peak RSS in KB of walking n pipelines of default/big.
  local function peak(n)
    local code = ([[local c = 0
      for _ in harness.paginate("/pipeline/api/pipelines/list", {method = "POST", max_items = %d,
        json = {filterType = "PipelineSetup"}, page_size = 1000,
        query = {orgIdentifier = "default", projectIdentifier = "big"}}) do c = c + 1 end
      print(c)]]):format(n)
    local out, err = h.sh(("HARNESS_ENDPOINT=%s HARNESS_API_KEY=%s /usr/bin/time -v %s -e %s")
      :format(h.q(sb.url), h.q(sb.api_key), h.hlua, h.q(code)))
    assert.equal(n .. "\n", out)
    return tonumber(err:match("Maximum resident set size %(kbytes%): (%d+)"))
  end
  it("stays flat from 1,000 to 10,000 items", function()
    local small, big = peak(1000), peak(10000)
    -- Under make asan the sanitizer's quarantine keeps freed memory, and
    -- under make valgrind RSS measures valgrind, so RSS says nothing there;
    -- the plain run holds the bound.
    if os.getenv("HLUA_SANITIZER_REPORTS") or h.wrapped then return end
    assert.is_true(big - small < 16 * 1024, ("1,000: %d KB, 10,000: %d KB"):format(small, big))
  end)
end)
