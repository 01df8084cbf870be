-- harness.paginate fetching ahead, against the sandbox over the real
-- transport: the 10,000 pipelines of default/big behind 100 ms of latency
-- (a fault rule on the list path only), the requests counted in the
-- sandbox's request log.
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

local LIST = "/pipeline/api/pipelines/list"

-- A chunk that walks default/big with paginate's options 'opts' (Lua
-- source), calling body(p, n) for the n-th pipeline p (Lua source with
-- 'p' and 'n'); it checks the order on the way and prints what it counted,
-- the seconds the walk took and the tasks left.
local function walk(opts, body)
  return ([[
    local sched, clock = require "harness.sched", require("hlua.host").clock
    local t0, n = clock(), 0
    for p in harness.paginate(%q, {method = "POST", json = {filterType = "PipelineSetup"},
        query = {orgIdentifier = "default", projectIdentifier = "big"}, %s}) do
      n = n + 1
      assert(p.identifier == ("pipe_%%05d"):format(n - 1), "out of order at " .. n .. ": " .. p.identifier)
      %s
    end
    local s = sched._stats()
    print(n, clock() - t0, s.tasks, s.in_flight)]]):format(LIST, opts, body or "")
end

-- The list requests the sandbox received since the last reset: their page
-- numbers, statuses and arrival times, in arrival order.
local function list_requests()
  local out = {}
  for _, r in ipairs(t.ctl("GET", "/_sandbox/requests").requests) do
    if r.path == LIST then
      out[#out + 1] = {page = tonumber(r.target:match("[?&]page=(%d+)")), status = r.status, time = r.time}
    end
  end
  return out
end

local function numbers(out)
  local n, secs, tasks, in_flight = out:match("^(%d+)\t(%S+)\t(%d+)\t(%d+)\n$")
  return tonumber(n), tonumber(secs), tonumber(tasks), tonumber(in_flight)
end

describe_sandbox("paging fetches ahead", function()
  before_each(function()
    t.reset()
    t.fault({fault = "latency", ms = 100, path = LIST})
  end)
  after_each(function() t.reset() end)

  it("walks 10,000 pipelines at 100 ms of latency with pages asked for together, in order, one request per page", function()
    local out, err, code = t.run(walk("page_size = 100"))
    assert.equal(0, code, err)
    local n, _, tasks, in_flight = numbers(out)
    assert.equal(10000, n)
    assert.equal(0, tasks)
    assert.equal(0, in_flight)
    local reqs = list_requests()
    assert.equal(100, #reqs)
    local seen = {}
    for _, r in ipairs(reqs) do seen[r.page] = (seen[r.page] or 0) + 1 end
    for page = 0, 99 do assert.equal(1, seen[page], "page " .. page) end
    -- page by page, each request would wait for the answer before it (100
    -- ms); fetched ahead, the window of 20 after the first page goes out at once
    local together = 0
    for i = 2, #reqs do
      if reqs[i].time - reqs[i - 1].time < 0.1 then together = together + 1 end
    end
    assert.is_true(together >= 19, together .. " requests sent before the one before was answered")
  end)

  it("cancels the fetches in flight when the loop is left early", function()
    local out, err, code = t.run(walk("page_size = 100", "if n == 150 then break end") ..
      [[ harness.sleep(0.3) print(#harness.collect(harness.paginate("/ng/api/organizations")))]])
    assert.equal(0, code, err)
    local line = out:match("^[^\n]*\n")
    local n, _, tasks, in_flight = numbers(line)
    assert.equal(150, n)
    assert.equal(0, tasks)
    assert.equal(0, in_flight)
    assert.equal("4\n", out:sub(#line + 1)) -- the client still works after the cancels
    -- page 0, the window of 20 after it, and the page after that once page 1 was taken
    assert.is_true(#list_requests() <= 22, #list_requests() .. " requests")
  end)

  it("asks for no page past max_items", function()
    local out, err, code = t.run(walk("page_size = 100, max_items = 250"))
    assert.equal(0, code, err)
    assert.equal(250, (numbers(out)))
    local reqs = list_requests()
    assert.equal(3, #reqs)
    table.sort(reqs, function(a, b) return a.page < b.page end)
    assert.same({0, 1, 2}, {reqs[1].page, reqs[2].page, reqs[3].page})
  end)

  it("raises a failed page where the script reaches it, after every item before it", function()
    -- the sixth list request to arrive fails, whichever page it asks for
    t.fault({fault = "status", status = 500, path = LIST, skip = 5, count = 1})
    local out, err, code = t.run(([[
      local n = 0
      local ok, e = pcall(function()
        %s
      end)
      print(n, ok, e.status, require("harness.sched")._stats().tasks)]]):format(
        walk("page_size = 100"):gsub("local t0, n = clock%(%), 0", "local t0 = clock()")))
    assert.equal(0, code, err)
    local failed
    for _, r in ipairs(list_requests()) do
      if r.status == 500 then failed = r.page end
    end
    assert.is_number(failed)
    assert.equal(("%d\tfalse\t500\t0\n"):format(failed * 100), out)
  end)

  it("pages inside harness.map tasks, three lists at once", function()
    local out, err, code = t.run([[
      local counts = harness.map({100, 50, 25}, function(size)
        local n = 0
        for p in harness.paginate("]] .. LIST .. [[", {method = "POST", json = {filterType = "PipelineSetup"},
            query = {orgIdentifier = "default", projectIdentifier = "big"}, page_size = size, max_items = 1000}) do
          n = n + 1
          assert(p.identifier == ("pipe_%05d"):format(n - 1))
        end
        return n
      end, {progress = false})
      print(table.concat(counts, " "), require("harness.sched")._stats().tasks)]])
    assert.equal(0, code, err)
    assert.equal("1000 1000 1000\t0\n", out)
    assert.equal(10 + 20 + 40, #list_requests())
  end)
end)
