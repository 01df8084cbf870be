-- harness.spawn/all/map/sleep with real requests against the sandbox, with
-- latency injected: parallelism is proven by counting (connections the
-- sandbox saw, requests in flight in the script), timing only loosely.
local h = require "tests.support.helper"
local hh = require "tests.support.http_helper"

local describe_sandbox = hh.info and describe or pending

-- Runs chunk in hlua against the sandbox; the chunk's last line prints JSON.
local function run_json(chunk, vars)
  local out, err, code = hh.run(chunk, vars)
  assert.equal(0, code, err)
  return harness.json.decode(out), err
end

describe_sandbox("concurrent requests", function()
  before_each(function() hh.reset() end)
  after_each(function() hh.reset() end)

  it("map: 40 requests of 100 ms, 8 at once, in input order, over 8 connections", function()
    hh.fault({fault = "latency", ms = 100, path = "/_sandbox/echo/conc"})
    local r = run_json([[
      local list = {}
      for i = 1, 40 do list[i] = i end
      local now, max = 0, 0
      local t0 = require("hlua.host").clock()
      local res = harness.map(list, function(i)
        now = now + 1
        if now > max then max = now end
        local body = harness.get("/_sandbox/echo/conc", {query = {i = i}})
        now = now - 1
        return {i = tonumber(body.query.i[1]), conn = body.connection}
      end, {concurrency = 8})
      local conns, n = {}, 0
      for k, x in ipairs(res) do
        assert(x.i == k, "out of order at " .. k)
        if not conns[x.conn] then conns[x.conn] = true n = n + 1 end
      end
      print(harness.json.encode({n = #res, max = max, conns = n, t = require("hlua.host").clock() - t0}))
    ]])
    assert.equal(40, r.n)
    assert.equal(8, r.max)
    assert.is_true(r.conns >= 4 and r.conns <= 8, r.conns .. " connections")
    assert.is_true(r.t < 2.0 * h.slow, "took " .. r.t .. " s; one at a time is 4 s")
  end)

  it("never has more than HARNESS_MAX_IN_FLIGHT requests in flight", function()
    hh.fault({fault = "latency", ms = 50, path = "/_sandbox/echo/cap"})
    local r = run_json([[
      local list = {}
      for i = 1, 24 do list[i] = i end
      local conns, n = {}, 0
      local tasks = {}
      for i = 1, 24 do
        tasks[i] = harness.spawn(function()
          return harness.get("/_sandbox/echo/cap").connection
        end)
      end
      for i = 1, 24 do
        local c = tasks[i]:wait()
        if not conns[c] then conns[c] = true n = n + 1 end
      end
      print(harness.json.encode({conns = n}))
    ]], {HARNESS_MAX_IN_FLIGHT = "3"})
    assert.is_true(r.conns >= 2 and r.conns <= 3, r.conns .. " connections")
  end)

  it("all: re-raises the first HTTP error as a harness.Error, the others cancelled", function()
    hh.fault({fault = "latency", ms = 2000, path = "/_sandbox/echo/slow"})
    local r = run_json([[
      local t0 = require("hlua.host").clock()
      local ok, err = pcall(harness.all, {
        function() return harness.get("/_sandbox/echo/slow") end,
        function() return harness.get("/_sandbox/status/404") end,
        function() harness.sleep(5) end,
      })
      print(harness.json.encode({ok = ok, is_error = harness.is_error(err), kind = err.kind,
        status = err.status, t = require("hlua.host").clock() - t0}))
    ]])
    assert.is_false(r.ok)
    assert.is_true(r.is_error)
    assert.equal("http", r.kind)
    assert.equal(404, r.status)
    assert.is_true(r.t < 1.5 * h.slow, "took " .. r.t)
  end)

  it("a Retry-After wait in one task does not hold up the others", function()
    hh.fault({fault = "429", retry_after = "1", count = 1, path = "/_sandbox/echo/limited"})
    local r = run_json([[
      local order = {}
      local limited = harness.spawn(function()
        harness.get("/_sandbox/echo/limited")
        order[#order + 1] = "limited"
      end)
      local busy = harness.spawn(function()
        for _ = 1, 5 do harness.get("/_sandbox/echo/busy") end
        order[#order + 1] = "busy"
      end)
      limited:wait()
      busy:wait()
      print(harness.json.encode(order))
    ]])
    assert.same({"busy", "limited"}, r)
  end)

  it("requests in the main script and in tasks mix", function()
    hh.fault({fault = "latency", ms = 100, path = "/_sandbox/echo/mix"})
    local r = run_json([[
      local t0 = require("hlua.host").clock()
      local bg = harness.spawn(harness.get, "/_sandbox/echo/mix", {query = {who = "task"}})
      local mine = harness.get("/_sandbox/echo/mix", {query = {who = "main"}})
      local theirs = bg:wait()
      print(harness.json.encode({mine.query.who[1], theirs.query.who[1], require("hlua.host").clock() - t0}))
    ]])
    assert.equal("main", r[1])
    assert.equal("task", r[2])
    assert.is_true(r[3] < 0.19 * h.slow, "took " .. r[3]) -- side by side, not one after the other
  end)

  it("Ctrl-C during map cancels the requests in flight and exits 130", function()
    hh.fault({fault = "latency", ms = 3000, path = "/_sandbox/echo/forever"})
    local chunk = [[
      local list = {}
      for i = 1, 50 do list[i] = i end
      io.stdout:write("started\n") io.stdout:flush()
      harness.map(list, function() return harness.get("/_sandbox/echo/forever") end)
      print("not reached")
    ]]
    local cmd = ("%s %s -e %s"):format(hh.env(), h.hlua, h.q(chunk))
    local t0 = require("hlua.host").clock()
    local out, err, code = h.interrupt(cmd, "started", 0.5)
    assert.equal(130, code, err)
    assert.equal("started\n", out)
    assert.matches("interrupted", err)
    assert.is_true(require("hlua.host").clock() - t0 < 2.5 * h.slow)
  end)
end)
