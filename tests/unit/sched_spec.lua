-- lua/harness/sched.lua: tasks, timers, waiting, errors, cancelling, and
-- transfers over a fake client (the real one is in concurrency_spec.lua).
local h = require("tests.support.helper")
local sched = require("harness.sched")
local clock = require("hlua.host").clock

-- A client that finishes each request after req.latency seconds (or the
-- default), counting how many are in flight at once.
local function fake_client(latency)
  local c = {live = {}, n = 0, now = 0, max = 0, started = 0, cancelled = {}}
  function c:start(req)
    if req.bad then error("bad request", 0) end
    self.n = self.n + 1
    self.started = self.started + 1
    self.live[self.n] = {id = self.n, due = clock() + (req.latency or latency), req = req}
    self.now = self.now + 1
    if self.now > self.max then self.max = self.now end
    return self.n
  end
  function c:poll(timeout)
    local deadline = clock() + timeout
    while true do
      local done, now = {}, clock()
      for id, x in pairs(self.live) do
        if x.due <= now then
          done[#done + 1] = {id = id, status = 200, body = x.req.body}
          self.live[id] = nil
          self.now = self.now - 1
        end
      end
      if #done > 0 or now >= deadline then return done end
      require("hlua.host").sleep(math.min(0.002, deadline - now))
    end
  end
  function c:cancel(id)
    if self.live[id] then
      self.live[id] = nil
      self.now = self.now - 1
    end
    self.cancelled[#self.cancelled + 1] = id
  end
  function c:pending() return self.now end
  return c
end

local function elapsed(f)
  local t0 = clock()
  f()
  return clock() - t0
end

describe("harness.spawn and task:wait", function()
  it("runs the function with its arguments and returns all its results", function()
    local t = harness.spawn(function(a, b) return a + b, "x", nil end, 1, 2)
    assert.same({3, "x", nil, n = 3}, table.pack(t:wait()))
    assert.same({3, "x", nil, n = 3}, table.pack(t:wait())) -- again
    assert.is_true(t:done())
  end)

  it("starts tasks only when the spawner waits, in spawn order", function()
    local order = {}
    local ts = {}
    for i = 1, 5 do ts[i] = harness.spawn(function() order[#order + 1] = i end) end
    assert.same({}, order)
    ts[5]:wait()
    assert.same({1, 2, 3, 4, 5}, order)
  end)

  it("interleaves sleeping tasks by wake time", function()
    local order = {}
    local function sleeper(name, s)
      return function() harness.sleep(s) order[#order + 1] = name end
    end
    local t = elapsed(function()
      harness.all({sleeper("a", 0.3), sleeper("b", 0.1), sleeper("c", 0.2)})
    end)
    assert.same({"b", "c", "a"}, order)
    assert.is_true(t >= 0.29 and t < 0.55, "took " .. t)
  end)

  it("keeps tasks running while the main script sleeps", function()
    local ticks = 0
    local t = harness.spawn(function()
      for _ = 1, 5 do harness.sleep(0.02) ticks = ticks + 1 end
    end)
    harness.sleep(0.3)
    assert.equal(5, ticks)
    assert.is_true(t:done())
  end)

  it("lets a task wait for another, and many wait for one", function()
    local slow = harness.spawn(function() harness.sleep(0.05) return "slow" end)
    local waiters = {}
    for i = 1, 3 do
      waiters[i] = harness.spawn(function() return slow:wait() .. i end)
    end
    assert.equal("slow1", waiters[1]:wait())
    assert.equal("slow3", waiters[3]:wait())
    assert.equal("slow2", waiters[2]:wait())
  end)

  it("runs nested spawns", function()
    local function tree(depth)
      if depth == 0 then harness.sleep(0.01) return 1 end
      local a = harness.spawn(tree, depth - 1)
      local b = harness.spawn(tree, depth - 1)
      return a:wait() + b:wait()
    end
    assert.equal(64, harness.spawn(tree, 6):wait())
  end)

  it("re-raises the task's error as it is", function()
    local e = require("hlua.host").error({kind = "http", status = 404, message = "nope"})
    local t = harness.spawn(function() harness.sleep(0.01) error(e) end)
    local ok, got = pcall(t.wait, t)
    assert.is_false(ok)
    assert.equal(e, got)
    local t2 = harness.spawn(function() error("plain") end)
    local ok2, msg = pcall(t2.wait, t2)
    assert.is_false(ok2)
    assert.matches("plain$", msg)
  end)

  it("yields across pcall inside a task", function()
    local t = harness.spawn(function()
      local ok, err = pcall(function()
        harness.sleep(0.01)
        error("caught", 0)
      end)
      harness.sleep(0.01)
      return ok, err, "went on"
    end)
    assert.same({false, "caught", "went on"}, {t:wait()})
  end)

  it("treats a bare coroutine.yield in a task as giving up its turn", function()
    local order = {}
    local a = harness.spawn(function()
      order[#order + 1] = "a1"
      coroutine.yield("ignored")
      order[#order + 1] = "a2"
    end)
    local b = harness.spawn(function() order[#order + 1] = "b" end)
    a:wait()
    b:wait()
    assert.same({"a1", "b", "a2"}, order)
  end)

  it("works where a task cannot yield: foreign coroutines, C boundaries", function()
    local other = 0
    local bg = harness.spawn(function()
      for _ = 1, 3 do harness.sleep(0.01) other = other + 1 end
    end)
    local t = harness.spawn(function()
      local gen = coroutine.wrap(function()
        for i = 1, 3 do harness.sleep(0.01) coroutine.yield(i) end
      end)
      local got = {gen(), gen(), gen()}
      local list = {3, 1, 2}
      table.sort(list, function(x, y) harness.sleep(0.001) return x < y end)
      return got, list
    end)
    local got, list = t:wait()
    assert.same({1, 2, 3}, got)
    assert.same({1, 2, 3}, list)
    bg:wait()
    assert.equal(3, other)
  end)

  it("refuses to wait for itself and reports deadlocks", function()
    local t
    t = harness.spawn(function() return pcall(function() return t:wait() end) end)
    local ok, err = t:wait()
    assert.is_false(ok)
    assert.matches("itself", err)
    local a, b
    a = harness.spawn(function() harness.sleep(0.01) return b:wait() end)
    b = harness.spawn(function() harness.sleep(0.01) return a:wait() end)
    local ok2, err2 = pcall(a.wait, a)
    assert.is_false(ok2)
    assert.matches("deadlock", err2)
    a:cancel()
    b:cancel()
  end)

  it("checks its arguments", function()
    assert.has_error(function() harness.spawn(42) end,
      "bad argument #1 to 'harness.spawn' (function expected, got number)")
    assert.has_error(function() harness.sleep("x") end)
    assert.has_error(function() harness.map({1}, print, {concurrency = 0}) end)
  end)

  it("reports an error nobody waited for when the script ends, and fails the run", function()
    local out, err, code = h.run("-e " .. h.q("harness.spawn(function() error('lost', 0) end) harness.sleep(0.01)"))
    assert.equal(1, code, err)
    assert.equal("", out)
    assert.matches("nobody waited for: lost", err)
  end)
end)

describe("task:cancel", function()
  it("ends a sleeping task and its children; waiting raises 'cancelled'", function()
    local closed, reached, child
    local t = harness.spawn(function()
      local guard <close> = setmetatable({}, {__close = function() closed = true end})
      child = harness.spawn(function() harness.sleep(10) reached = "child" end)
      harness.sleep(10)
      reached = "parent"
    end)
    harness.sleep(0.01)
    t:cancel()
    local ok, err = pcall(t.wait, t)
    assert.is_false(ok)
    assert.is_true(harness.is_error(err))
    assert.equal("cancelled", err.kind)
    assert.is_true(closed)
    assert.is_true(child:done())
    assert.is_nil(reached)
    assert.equal(0, sched._stats().tasks)
  end)

  it("stops a running task that cancels itself at its next wait", function()
    local t
    t = harness.spawn(function()
      t:cancel()
      harness.sleep(0.01)
      return "not here"
    end)
    local ok, err = pcall(t.wait, t)
    assert.is_false(ok)
    assert.equal("cancelled", err.kind)
  end)
end)

describe("harness.all", function()
  it("returns the first result of each function, in order", function()
    local r = harness.all({
      function() harness.sleep(0.03) return "a" end,
      function() return "b", "ignored" end,
      function() harness.sleep(0.01) return "c" end,
    })
    assert.same({"a", "b", "c"}, r)
    assert.same({}, harness.all({}))
  end)

  it("re-raises the first error after cancelling the others", function()
    local finished, closed = false, false
    local t0 = clock()
    local ok, err = pcall(harness.all, {
      function()
        local guard <close> = setmetatable({}, {__close = function() closed = true end})
        harness.sleep(5)
        finished = true
      end,
      function() harness.sleep(0.02) error("first", 0) end,
      function() harness.sleep(0.04) error("second", 0) end,
    })
    assert.is_false(ok)
    assert.equal("first", err)
    assert.is_false(finished)
    assert.is_true(closed)
    assert.is_true(clock() - t0 < 1)
    harness.sleep(0.05) -- the third was cancelled: its error goes nowhere
    assert.equal(0, sched._stats().tasks)
  end)

  it("runs inside tasks too (nested all and map)", function()
    local t = harness.spawn(function()
      return harness.all({
        function() return harness.map({1, 2, 3}, function(x) harness.sleep(0.01) return x * 10 end) end,
        function() return harness.all({function() return "deep" end})[1] end,
      })
    end)
    assert.same({{10, 20, 30}, "deep"}, t:wait())
  end)
end)

describe("harness.map", function()
  it("returns results in input order and passes the index", function()
    local list = {}
    for i = 1, 20 do list[i] = i end
    local r = harness.map(list, function(x, i)
      harness.sleep((20 - x) * 0.002)
      return x * 100 + i
    end)
    for i = 1, 20 do assert.equal(i * 101, r[i]) end
    assert.same({}, harness.map({}, error))
  end)

  it("runs at most 'concurrency' at once (8 by default)", function()
    local now, max = 0, 0
    local function f()
      now = now + 1
      if now > max then max = now end
      harness.sleep(0.01)
      now = now - 1
    end
    local list = {}
    for i = 1, 40 do list[i] = i end
    harness.map(list, f)
    assert.equal(8, max)
    max = 0
    harness.map(list, f, {concurrency = 3})
    assert.equal(3, max)
    max = 0
    local t = elapsed(function() harness.map(list, f, {concurrency = 40}) end)
    assert.equal(32, max) -- capped by max_in_flight (32)
    assert.is_true(t < 0.3)
  end)

  it("stops handing out items after the first error and re-raises it", function()
    local seen = 0
    local list = {}
    for i = 1, 100 do list[i] = i end
    local ok, err = pcall(harness.map, list, function(x)
      seen = seen + 1
      harness.sleep(0.005)
      if x == 10 then error({code = "TEN"}) end
    end, {concurrency = 4})
    assert.is_false(ok)
    assert.same({code = "TEN"}, err)
    assert.is_true(seen < 20, "ran " .. seen)
  end)

  it("draws no progress bar when stderr is not a terminal", function()
    local out, err, code = h.run("-e " .. h.q("harness.map({1,2,3}, function() harness.sleep(0.01) end)"))
    assert.equal(0, code, err)
    assert.equal("", out .. err)
  end)

  it("draws a progress bar on a terminal", function()
    local cmd = ("script -qec %s /dev/null"):format(h.q(h.hlua .. " -e " ..
      h.q("harness.map({1,2,3,4,5}, function() harness.sleep(0.05) end, {concurrency = 1})")))
    local out, err, code = h.sh(cmd)
    assert.equal(0, code, err)
    assert.matches("%[#+%] 5/5 100%%", out)
    assert.matches("\r", out)
    local quiet = ("script -qec %s /dev/null"):format(h.q(h.hlua .. " -e " ..
      h.q("harness.map({1,2}, function() end, {progress = false})")))
    assert.equal("", (h.sh(quiet)))
  end)

  it("formats the progress line", function()
    local fmt = require "harness.fmt"
    assert.equal("[############............] 50/100  50%  25.0/s  ETA 2s",
      fmt.progress(50, 100, 2))
    assert.equal("[........................] 0/10   0%  0.0/s  ETA --",
      fmt.progress(0, 10, 0))
  end)
end)

-- Runs transfers over the fake client c (the real one is put back after).
local function using(c)
  local prev = sched.use_client(c)
  finally(function() sched.use_client(prev) end)
  return c
end

describe("sched.transfer", function()
  local saved
  before_each(function() saved = sched.max_in_flight end)
  after_each(function() sched.max_in_flight = saved end)

  it("waits in the main script and in tasks", function()
    local c = using(fake_client(0.02))
    assert.equal("main", sched.transfer({body = "main"}).body)
    local r = harness.map({"a", "b", "c"}, function(x) return sched.transfer({body = x}).body end)
    assert.same({"a", "b", "c"}, r)
  end)

  it("runs transfers of different tasks at once", function()
    local c = using(fake_client(0.1))
    local list = {}
    for i = 1, 40 do list[i] = i end
    local t = elapsed(function()
      harness.map(list, function() return sched.transfer({}) end, {concurrency = 8})
    end)
    assert.equal(8, c.max)
    assert.is_true(t < 2.0, "took " .. t) -- sequential would be 4 s
  end)

  it("never has more than max_in_flight transfers in flight", function()
    sched.max_in_flight = 3
    local c = using(fake_client(0.01))
    local ts = {}
    for i = 1, 20 do ts[i] = harness.spawn(sched.transfer, {body = i}) end
    assert.equal(5, sched.transfer({body = 5}).body) -- main queues too
    for i = 1, 20 do assert.equal(i, ts[i]:wait().body) end
    assert.equal(3, c.max)
    assert.equal(21, c.started)
    local now, max = 0, 0
    harness.map(ts, function() now = now + 1 max = math.max(max, now) harness.sleep(0.01) now = now - 1 end,
      {concurrency = 10})
    assert.equal(3, max) -- map's concurrency is capped too
    assert.same({tasks = 0, in_flight = 0, pending = 0, timers = 0, ready = 0}, sched._stats())
  end)

  it("cancels the transfer of a cancelled task and frees its slot", function()
    sched.max_in_flight = 1
    local c = using(fake_client(5))
    local t = harness.spawn(sched.transfer, {})
    harness.sleep(0.01)
    t:cancel()
    assert.same({1}, c.cancelled)
    c.live = {}
    sched.use_client(fake_client(0.01)) -- the finally above puts the real one back
    assert.equal("next", sched.transfer({body = "next"}).body)
    assert.equal(0, sched._stats().in_flight)
  end)

  it("takes back a slot handed to a task cancelled before it ran", function()
    sched.max_in_flight = 1
    local c = using(fake_client(5))
    local a = harness.spawn(sched.transfer, {})
    local b = harness.spawn(sched.transfer, {})
    harness.sleep(0.01) -- a in flight, b waiting for a slot
    assert.equal(1, sched._stats().in_flight)
    a:cancel() -- its slot goes to b
    b:cancel()
    assert.equal(0, sched._stats().in_flight)
    assert.equal(1, c.started)
  end)

  it("frees the slot when start raises", function()
    local c = using(fake_client(0.01))
    assert.has_error(function() sched.transfer({bad = true}) end, "bad request")
    assert.equal(0, sched._stats().in_flight)
  end)

  it("takes HARNESS_MAX_IN_FLIGHT and refuses a bad one", function()
    local script = h.q("print(require('harness.sched').map({1,2,3}, function(x) return x end)[3])")
    local out, err, code = h.run("-e " .. script, nil, "HARNESS_MAX_IN_FLIGHT=2")
    assert.equal(0, code, err)
    assert.equal("3\n", out)
    out, err, code = h.run("-e " .. script, nil, "HARNESS_MAX_IN_FLIGHT=lots")
    assert.equal(1, code)
    assert.matches("HARNESS_MAX_IN_FLIGHT must be a positive integer", err)
  end)
end)

describe("many tasks", function()
  it("runs 10,000 sleeping tasks in well under 64 MB", function()
    local script = [[
      local ts = {}
      for i = 1, 10000 do ts[i] = harness.spawn(function() harness.sleep(0.2 + (i % 7) * 0.01) return i end) end
      local sum = 0
      for i = 1, 10000 do sum = sum + ts[i]:wait() end
      local f = io.open("/proc/self/status")
      local kb = f:read("a"):match("VmHWM:%s*(%d+)")
      f:close()
      print(sum, kb)
    ]]
    local out, err, code = h.run("-", script)
    assert.equal(0, code, err)
    local sum, kb = out:match("(%d+)%s+(%d+)")
    assert.equal(50005000, tonumber(sum))
    if not h.wrapped then assert.is_true(tonumber(kb) < 64 * 1024, kb .. " kB") end
  end)
end)

describe("Ctrl-C", function()
  it("during map cancels everything and exits 130", function()
    local script = h.tempfile([[
      local list = {}
      for i = 1, 100 do list[i] = i end
      io.stdout:write("started\n") io.stdout:flush()
      harness.map(list, function() harness.sleep(1) end)
      print("not reached")
    ]], ".lua")
    local out, err, code = h.interrupt(("%s %s"):format(h.hlua, script), "started", 0.3)
    os.remove(script)
    assert.equal(130, code, err)
    assert.equal("started\n", out)
    assert.matches("interrupted", err)
  end)
end)
