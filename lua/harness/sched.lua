-- harness.sched, minimal and blocking: one transfer at a time, sleeps that
-- block. It only exists so that the HTTP core can be built and tested on
-- its own; the scheduler branch replaces this file with the real one
-- (spawn, all, map, and transfers that yield inside tasks).
local M = {}

-- Starts req on client and drives the loop until its result is in.
function M.transfer(client, req)
  local id = client:start(req)
  while true do
    for _, r in ipairs(client:poll(1)) do
      if r.id == id then return r end
    end
  end
end

-- Waits, interruptibly.
function M.sleep(seconds)
  harness._sleep(seconds)
end

return M
