-- harness.sched: tasks as coroutines over the one HTTP client.
--
-- A task is a coroutine that the loop below resumes. When a task waits (for a
-- transfer, a timer, another task or a free request slot) it parks: it records
-- what it waits for and yields PARK to the loop, which resumes it when that
-- thing happens. The main script is not a coroutine: when it waits, it drives
-- the loop itself until what it waits for is done, so spawned tasks run while
-- it waits. The same happens inside a task where yielding is impossible (in a
-- coroutine of the caller's own, or under a C function such as table.sort):
-- the loop runs nested there.
--
-- Everything here is per process: there is one Lua state and one client,
-- given once (M.use_client) by whoever makes it.
local host = require "hlua.host"
local config = require "harness.config"
local check = require "harness.check"
local fmt = require "harness.fmt"

local clock, rawsleep, make_error, interrupted = host.clock, host.sleep, host.error, host.interrupted
-- host.resume is coroutine.resume with Ctrl-C reaching the task's own code
local co_create, co_resume, co_yield = coroutine.create, host.resume, coroutine.yield
local co_running, co_status, co_close = coroutine.running, coroutine.status, coroutine.close
local co_isyieldable = coroutine.isyieldable
local pack, unpack, select, type = table.pack, table.unpack, select, type
local getinfo = debug.getinfo

local M = {}

-- M.max_in_flight: cap on transfers in flight (and on map's concurrency);
-- nil means the configuration's (tests set their own).
M.max_in_flight = nil
local POLL_CAP = 1.0 -- longest single wait in client:poll, in seconds

-- Unique values: what a task yields to park, and what it is parked on when it
-- waits for a timer, a transfer, a request slot, its start or its next turn.
local PARK = setmetatable({}, {__name = "harness.sched.park"})
local TIMER, TRANSFER, SLOT, START, TURN = {}, {}, {}, {}, {}
local WEAK_KEYS = {__mode = "k"}

-- ---------- state ----------

local client        -- the HTTP client (client:start/poll/cancel)
local current       -- the task being resumed, or nil in the main script
local alive = {}    -- task -> true until it finishes
local rq_task, rq_ok, rq_val, rq_head, rq_tail = {}, {}, {}, 1, 0 -- ready queue
local heap, nheap, seq = {}, 0, 0  -- parked timers: tasks ordered by (wake, wseq)
local owner = {}    -- transfer id -> task, or false when a driver waits for it
local npending = 0  -- transfers started and not yet reported
local finished = {} -- transfer id -> result, for drivers
local inflight = 0  -- request slots taken (started, or handed to a task not yet started)
local slotq, sq_head, sq_tail = {}, 1, 0 -- waiting for a slot: tasks or driver tickets
local polling = false -- inside client:poll, where __gc finalizers may run

local function cap()
  return M.max_in_flight or config.max_in_flight()
end

local function new_error(kind, message)
  return make_error({kind = kind, message = message})
end

-- ---------- tasks ----------

---@class harness.Task
local Task = {}
Task.__index = Task
Task.__name = "harness.Task"

-- Tasks that failed and that nobody waited for (weak: the set does not
-- keep them), and how many of those errors were told already.
local orphans = setmetatable({}, WEAK_KEYS)
local orphans_told = 0

-- Says on stderr that task t failed with nobody waiting for it.
local function tell_orphan(t)
  t.unseen = nil
  orphans[t] = nil
  orphans_told = orphans_told + 1
  local ok, msg = pcall(tostring, t.err)
  io.stderr:write("hlua: error in a task that nobody waited for: ", ok and msg or "?", "\n")
end

-- An error nobody waited for would vanish: say so when the task is
-- collected (if hlua did not say so when the script ended).
function Task.__gc(t)
  if t.unseen then tell_orphan(t) end
end

function Task.__tostring(t)
  local state = t.over and (t.ok and "done" or "failed") or (t.parked and "waiting" or "running")
  return ("harness.Task (%s)"):format(state)
end

-- The task running the caller, if the caller can yield to the loop; nil in
-- the main script, in a foreign coroutine or under a C boundary.
local function running_task()
  local t = current
  if t and co_running() == t.co and co_isyieldable() then return t end
  return nil
end

-- Queues task t to be resumed with (ok, v).
local function push(t, ok, v)
  rq_tail = rq_tail + 1
  rq_task[rq_tail], rq_ok[rq_tail], rq_val[rq_tail] = t, ok, v
end

-- Queues parked task t to be resumed with (ok, v), if it is still parked on
-- 'on' (so that a stale wake-up never resumes it for something else).
local function wake(t, on, ok, v)
  if t.parked ~= on or t.over then return end
  t.parked = nil
  push(t, ok, v)
end

-- Parks the running task t on 'on' until something wakes it; returns the
-- value it is woken with, or raises the error it is woken with.
local function park(t, on)
  if t.cancelling then
    t.cancelling = nil
    error(new_error("cancelled", "task cancelled"), 0)
  end
  t.parked = on
  local ok, v = co_yield(PARK)
  if ok then return v end
  error(v, 0)
end

local group_done -- below

-- Records the end of task t: results (or error) kept, waiters woken.
local function finish(t, ok, ...)
  alive[t] = nil
  t.over, t.ok, t.co, t.parked = true, ok, nil, nil
  if ok then
    if select("#", ...) > 0 then t.res = pack(...) end
  else
    t.err = ...
    if not (t.waiters or t.group or t.quiet or interrupted()) then
      t.unseen = true
      orphans[t] = true
    end
  end
  local ws = t.waiters
  if ws then
    t.waiters = nil
    for i = 1, #ws do wake(ws[i], t, true) end
  end
  if t.group then group_done(t.group, t) end
end

-- What comes back from resuming task t: it finished, parked, or yielded
-- something of its own (then it just gives up its turn).
local function after_resume(t, prev, rok, ...)
  current = prev
  if t.over then return end
  if co_status(t.co) == "dead" then
    finish(t, rok, ...)
  elseif (...) ~= PARK then
    push(t, nil)
  end
end

local function step(t, ok, v)
  local prev = current
  current = t
  t.parked = nil
  if ok == START then return after_resume(t, prev, co_resume(t.co, unpack(v, 1, v.n))) end
  if ok == nil then return after_resume(t, prev, co_resume(t.co)) end
  return after_resume(t, prev, co_resume(t.co, ok, v))
end

-- Resumes the tasks that are ready now (not those they make ready: the loop
-- looks at timers and transfers between rounds).
local function run_ready()
  local last = rq_tail
  while rq_head <= last and rq_head <= rq_tail do
    local i = rq_head
    local t, ok, v = rq_task[i], rq_ok[i], rq_val[i]
    rq_task[i], rq_ok[i], rq_val[i] = nil, nil, nil
    rq_head = i + 1
    if not t.over then step(t, ok, v) end
  end
  if rq_head > rq_tail then rq_head, rq_tail = 1, 0 end
end

-- ---------- timers: a binary heap of parked tasks ----------

local function earlier(a, b)
  return a.wake < b.wake or (a.wake == b.wake and a.wseq < b.wseq)
end

local function heap_push(t)
  nheap = nheap + 1
  local i = nheap
  while i > 1 do
    local p = i // 2
    if not earlier(t, heap[p]) then break end
    heap[i] = heap[p]
    i = p
  end
  heap[i] = t
end

local function heap_pop()
  local top, last = heap[1], heap[nheap]
  heap[nheap] = nil
  nheap = nheap - 1
  if nheap > 0 then
    local i = 1
    while true do
      local c = 2 * i
      if c > nheap then break end
      if c < nheap and earlier(heap[c + 1], heap[c]) then c = c + 1 end
      if not earlier(heap[c], last) then break end
      heap[i] = heap[c]
      i = c
    end
    heap[i] = last
  end
  return top
end

-- The next wake time, dropping the timers of tasks that no longer wait.
local function next_wake()
  while nheap > 0 do
    local t = heap[1]
    if t.parked == TIMER and not t.over then return t.wake end
    heap_pop()
  end
  return nil
end

local function fire_timers(now)
  while nheap > 0 and heap[1].wake <= now do
    wake(heap_pop(), TIMER, true)
  end
end

-- ---------- request slots ----------

-- Gives a freed slot to the first live waiter, or returns it.
local function release_slot()
  while sq_head <= sq_tail and inflight <= cap() do
    local w = slotq[sq_head]
    slotq[sq_head] = nil
    sq_head = sq_head + 1
    if getmetatable(w) == Task then
      if w.parked == SLOT and not w.over then
        w.slot = true -- held from now on, even if it is cancelled before it runs
        return wake(w, SLOT, true)
      end
    elseif not w.abandoned then
      w.granted = true
      return
    end
  end
  if sq_head > sq_tail then sq_head, sq_tail = 1, 0 end
  inflight = inflight - 1
end

-- ---------- the loop ----------

local on_interrupt, drop_everything -- below

local function deliver(results)
  for i = 1, #results do
    local r = results[i]
    local o = owner[r.id]
    if o ~= nil then
      owner[r.id] = nil
      npending = npending - 1
      release_slot()
      if o then
        o.xfer = nil
        wake(o, TRANSFER, true, r)
      else
        finished[r.id] = r
      end
    end
  end
end

-- Runs tasks, timers and transfers until cond() is true. 'deadline' (clock
-- time) is when cond will become true by itself, if it will.
local function loop(cond, deadline)
  while not cond() do
    run_ready()
    if cond() then return end
    if interrupted() then on_interrupt() end
    local now, wake_at = clock(), next_wake()
    if deadline and (not wake_at or deadline < wake_at) then wake_at = deadline end
    local timeout -- nil: nothing will ever happen by itself
    if rq_head <= rq_tail then
      timeout = 0
    elseif wake_at then
      timeout = wake_at > now and wake_at - now or 0
    end
    if npending > 0 then
      polling = true
      local ok, results = pcall(client.poll, client, timeout and (timeout < POLL_CAP and timeout or POLL_CAP) or POLL_CAP)
      polling = false
      if not ok then error(results, 0) end
      deliver(results)
    elseif timeout == nil then
      error("harness: deadlock: waiting for a task that waits for something that will never happen", 0)
    elseif timeout > 0 and not rawsleep(timeout) then
      on_interrupt()
    end
    fire_timers(clock())
  end
end

-- Whether the caller runs inside a __gc finalizer (Lua names that call
-- "__gc"), whatever code the collector interrupted to run it.
local function in_finalizer()
  local level = 3
  while true do
    local ar = getinfo(level, "n")
    if not ar then return false end
    if ar.namewhat == "metamethod" and ar.name == "__gc" then return true end
    level = level + 1
  end
end

-- A __gc finalizer can run at any allocation: inside client:poll, or in the
-- middle of the loop's own bookkeeping. Driving the loop from there would
-- run it inside itself, on state it has half updated; so a request or a
-- wait from a finalizer is refused. (Only a caller that cannot yield can
-- be in one: a finalizer never can.)
local function refuse_in_finalizer()
  if polling or (not co_isyieldable() and in_finalizer()) then
    error(new_error("transport", "harness: cannot make a request or wait from a __gc " ..
      "finalizer: do it outside the finalizer"), 0)
  end
end

-- The loop, made safe against whatever it raises: under Ctrl-C (which may
-- raise anywhere in Lua code, through the interpreter's hook) the tasks are
-- dropped, so that none is left half-way for the next chunk.
local function run_until(cond, deadline)
  refuse_in_finalizer()
  local _, ismain = co_running()
  if ismain then current = nil end -- left behind if an error cut a resume short
  local ok, err = pcall(loop, cond, deadline)
  -- Ctrl-C, however it ended the loop (a task it stopped, which may be all
  -- that cond waited for, or the interpreter's hook in this code): one error
  if interrupted() then on_interrupt() end
  if not ok then error(err, 0) end
end

-- Takes a request slot for the caller, waiting for one if all are taken.
local function acquire_slot()
  if inflight < cap() and sq_head > sq_tail then
    inflight = inflight + 1
    return
  end
  sq_tail = sq_tail + 1
  local me = running_task()
  if me then
    slotq[sq_tail] = me
    park(me, SLOT) -- woken holding the slot
  else
    local ticket = {}
    slotq[sq_tail] = ticket
    local ok, err = pcall(run_until, function() return ticket.granted end)
    if not ok then
      if ticket.granted then release_slot() else ticket.abandoned = true end
      error(err, 0)
    end
  end
end

-- ---------- cancelling ----------

local function cancel(t, err)
  if t.over then return end
  if t.children then
    for c in pairs(t.children) do cancel(c, err) end
  end
  if co_status(t.co) ~= "suspended" then -- on the stack now: stop at its next wait
    t.cancelling = true
    return
  end
  if t.xfer then
    owner[t.xfer] = nil
    npending = npending - 1
    client:cancel(t.xfer)
    t.xfer = nil
    release_slot()
  elseif t.slot then
    t.slot = nil
    release_slot()
  end -- a timer or a place in the slot queue is skipped when reached
  t.quiet = true
  co_close(t.co) -- runs its pending to-be-closed variables
  finish(t, false, err)
end

-- Ctrl-C: every task ends and every transfer is dropped.
function drop_everything()
  for t in pairs(alive) do cancel(t, new_error("interrupted", "interrupted")) end
  for id, o in pairs(owner) do
    owner[id] = nil
    client:cancel(id)
  end
  npending, inflight, finished = 0, 0, {}
  slotq, sq_head, sq_tail = {}, 1, 0
  heap, nheap = {}, 0
  rq_task, rq_ok, rq_val, rq_head, rq_tail = {}, {}, {}, 1, 0
end

-- ... and the driver raises.
function on_interrupt()
  drop_everything()
  error(new_error("interrupted", "interrupted"), 0)
end

-- ---------- the interface ----------

-- sched.use_client(c) -> the previous one: the client transfers go
-- through (client:start, poll, cancel, as hlua_http's).
function M.use_client(c)
  local prev = client
  client = c
  return prev
end

-- sched.transfer(req): starts req on the client and returns its result when
-- it is done, letting other tasks run meanwhile.
function M.transfer(req)
  local c = client
  if not c then error("harness.sched: no client (sched.use_client)", 2) end
  refuse_in_finalizer()
  if interrupted() then on_interrupt() end
  acquire_slot()
  local me = running_task()
  if me then me.slot = nil end -- from here on the transfer holds it
  local ok, id = pcall(c.start, c, req)
  if not ok then
    release_slot()
    error(id, 0)
  end
  npending = npending + 1
  if me then
    owner[id] = me
    me.xfer = id
    return park(me, TRANSFER)
  end
  owner[id] = false
  run_until(function() return finished[id] ~= nil end)
  local r = finished[id]
  finished[id] = nil
  return r
end

-- sched.sleep(seconds): waits; other tasks run meanwhile.
---@param seconds number
function M.sleep(seconds)
  local s = tonumber(seconds)
  if not s or s ~= s or s < 0 then
    check.argerror("sleep", 1, "non-negative number of seconds expected, got " ..
      (s ~= s and "nan" or s and tostring(s) or type(seconds)))
  end
  local me = running_task()
  if me then
    if s <= 0 then -- give the others a turn
      push(me, true)
      park(me, TURN)
      return
    end
    seq = seq + 1
    me.wake, me.wseq = clock() + s, seq
    heap_push(me)
    park(me, TIMER)
    return
  end
  local deadline = clock() + s
  run_until(function() return clock() >= deadline end, deadline)
end

-- sched.kick(): runs the tasks that are ready until they wait and sends
-- the requests they started, without waiting for anything. A task spawned
-- by a caller that will be busy for a while (paging's fetches ahead, while
-- the script works through a page) would otherwise start only when the
-- caller next waits. In a task, it gives the others a turn.
function M.kick()
  if running_task() then return M.sleep(0) end
  local ok, err = pcall(function()
    run_ready()
    if npending > 0 then deliver(client:poll(0)) end
  end)
  if not ok then
    if interrupted() then drop_everything() end
    error(err, 0)
  end
end

-- sched.spawn(fn, ...): a new task running fn(...); it starts when the
-- caller next waits (or yields).
---@param fn function
---@param ... any arguments for fn
---@return harness.Task
function M.spawn(fn, ...)
  check.callable("spawn", 1, fn)
  if type(fn) ~= "function" then
    local callable = fn
    fn = function(...) return callable(...) end
  end
  local t = setmetatable({co = co_create(fn), parked = START}, Task)
  alive[t] = true
  local parent = current
  if parent then
    local ch = parent.children
    if not ch then
      ch = setmetatable({}, WEAK_KEYS)
      parent.children = ch
    end
    ch[t] = true
  end
  if select("#", ...) > 0 then
    wake(t, START, START, pack(...))
  else
    wake(t, START, nil)
  end
  return t
end

-- task:wait(): the task's results, or raises its error.
---@return any ...
function Task:wait()
  if getmetatable(self) ~= Task then check.argerror("Task.wait", 1, "task expected, got " .. type(self)) end
  if not self.over then
    if current == self then error("a task cannot wait for itself", 2) end
    local me = running_task()
    if me then
      local ws = self.waiters
      if not ws then
        ws = {}
        self.waiters = ws
      end
      ws[#ws + 1] = me
      park(me, self)
    else
      run_until(function() return self.over end)
    end
  end
  self.unseen = nil
  orphans[self] = nil
  if not self.ok then error(self.err, 0) end
  local r = self.res
  if r then return unpack(r, 1, r.n) end
end

-- task:cancel(): ends the task (and the tasks it spawned) where it waits;
-- waiting for it then raises a "cancelled" error.
function Task:cancel()
  cancel(self, new_error("cancelled", "task cancelled"))
end

-- task:done(): has it finished (returned, failed or been cancelled)?
---@return boolean
function Task:done()
  return self.over == true
end

-- ---------- groups: all and map ----------

function group_done(g, t)
  g.left = g.left - 1
  t.unseen = nil
  if not t.ok and not g.failed then
    g.failed, g.err = true, t.err
  end
  if g.left == 0 or g.failed then
    local w = g.waiter
    if w then
      g.waiter = nil
      wake(w, g, true)
    end
  end
end

-- Waits until every task of g finished or one failed; then cancels the
-- others and raises the first error.
local function wait_group(g, tasks)
  local function settled() return g.left == 0 or g.failed end
  while not settled() do
    local me = running_task()
    if me then
      g.waiter = me
      park(me, g)
    else
      run_until(settled)
    end
  end
  if g.failed then
    local err = new_error("cancelled", "cancelled: another task failed")
    for i = 1, #tasks do cancel(tasks[i], err) end
    error(g.err, 0)
  end
end

-- Runs the tasks of a group; if the caller is itself cancelled or
-- interrupted, the group's tasks go with it.
local function run_group(g, tasks)
  local ok, err = pcall(wait_group, g, tasks)
  if not ok then
    if not g.failed then
      for i = 1, #tasks do cancel(tasks[i], new_error("cancelled", "task cancelled")) end
    end
    error(err, 0)
  end
end

-- sched.all({f1, f2, ...}): runs them together; returns {r1, r2, ...}, the
-- first result of each, in order.
---@param fns function[]
---@return any[]
function M.all(fns)
  check.table("all", 1, fns)
  local n = #fns
  for i = 1, n do check.callable("all", 1, fns[i]) end
  local g, tasks = {left = n}, {}
  for i = 1, n do
    local t = M.spawn(fns[i])
    t.group = g
    tasks[i] = t
  end
  run_group(g, tasks)
  local r = {}
  for i = 1, n do
    local res = tasks[i].res
    r[i] = res and res[1]
  end
  return r
end

-- The progress bar of map: on a terminal only, redrawn in place.
local function progress_bar(total)
  local line = fmt.status_line(true)
  if not line then return nil end
  local start = clock()
  return function(done, final)
    line.show(fmt.progress(done, total, clock() - start), final)
  end
end

-- sched.map(list, fn, opts): fn(item, index) for every item, at most
-- opts.concurrency (default 8, capped by max_in_flight) at a time; returns
-- the first result of each call, in input order. The first error ends the
-- map; with opts.keep_going every item runs, and map returns the results
-- and the errors, each by index (an item that failed has no result).
---@generic T
---@param list T[]
---@param fn fun(item: T, index: integer): any
---@param opts? {concurrency?: integer, progress?: boolean}
---@return any[]
function M.map(list, fn, opts)
  check.table("map", 1, list)
  check.callable("map", 2, fn)
  opts = check.options("map", opts, {"concurrency", "progress", "keep_going"}, 3)
  local conc = opts.concurrency or 8
  if math.type(conc) ~= "integer" or conc < 1 then
    check.argerror("map", "concurrency", "positive integer expected, got " .. tostring(conc))
  end
  local n = #list
  if conc > cap() then conc = cap() end
  if conc > n then conc = n end
  local results, errors = {}, {}
  if n == 0 then return results, opts.keep_going and errors or nil end
  local draw = opts.progress ~= false and progress_bar(n) or nil
  local g, tasks = {left = conc}, {}
  local nexti, ndone = 1, 0
  -- One item: its result, or with keep_going its error kept (but Ctrl-C
  -- and cancelling still end the map).
  local function run_item(i)
    if not opts.keep_going then
      results[i] = (fn(list[i], i))
      return
    end
    local ok, v = pcall(fn, list[i], i)
    if ok then
      results[i] = v
    elseif type(v) == "table" and (v.kind == "interrupted" or v.kind == "cancelled") then
      error(v, 0)
    else
      errors[i] = v
    end
  end
  local function worker()
    while not g.failed do
      local i = nexti
      if i > n then return end
      nexti = i + 1
      run_item(i)
      ndone = ndone + 1
      if draw then draw(ndone) end
    end
  end
  for k = 1, conc do
    local t = M.spawn(worker)
    t.group = g
    tasks[k] = t
  end
  local ok, err = pcall(run_group, g, tasks)
  if draw then draw(ndone, true) end
  if not ok then error(err, 0) end
  if opts.keep_going then return results, errors end
  return results
end

-- sched.drain(): after the script's last chunk, runs the tasks still alive
-- to their end (as Node and asyncio do), then says which failed with
-- nobody waiting for them; returns false when any did.
function M.drain()
  if next(alive) then run_until(function() return next(alive) == nil end) end
  for t in pairs(orphans) do
    if t.unseen then tell_orphan(t) end
  end
  return orphans_told == 0
end

-- For tests and diagnostics: what the scheduler holds now.
function M._stats()
  local n = 0
  for _ in pairs(alive) do n = n + 1 end
  return {tasks = n, in_flight = inflight, pending = npending, timers = nheap,
          ready = rq_tail - rq_head + 1}
end

return M
