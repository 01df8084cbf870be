-- harness.core: the names the harness module defines in Lua.
-- (In this branch only the concurrency block; the HTTP branch's core.lua,
-- which defines request, get, paginate..., carries the same block.)

-- ---------- concurrency (lua/harness/sched.lua) ----------
local sched = require("harness.sched")
harness.spawn = sched.spawn
harness.all = sched.all
harness.map = sched.map
harness.sleep = sched.sleep
-- ---------- end of concurrency ----------

return true
