-- harness.paginate and harness.collect: the page logic over fake servers of
-- each style, then end to end against the sandbox.
local h = require "tests.support.helper"
local paging = require "harness.paging"

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
    if style == "ng" then
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

describe("paging logic", function()
  for _, case in ipairs{
    {"ng", "/ng/api/organizations"},
    {"pipeline", "/pipeline/api/pipelines/list"},
    {"cf", "/cf/admin/features"},
    {"v1", "/v1/orgs"},
  } do
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
      print(n("/v1/orgs", {page_size = 3}))
      print(n("/ng/api/projects", {page_size = 2}))
      print(n("/v1/projects", {page_size = 4}))
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
    assert.equal(9, lines[4])
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
      local a = harness.spawn(function() return #harness.collect(harness.paginate("/v1/orgs", {page_size = 1})) end)
      local b = harness.spawn(function() return #harness.collect(harness.paginate("/ng/api/organizations", {page_size = 1})) end)
      print(#harness.collect(harness.paginate("/v1/orgs/platform/projects")), a:wait(), b:wait())
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
