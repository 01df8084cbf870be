-- tests/bench/measure.lua: what the Lua benchmarks (json_bench.lua,
-- yaml_bench.lua) measure with: CPU time of a call, medians, and a child
-- run's peak memory. Loaded with dofile by them.
local M = {}

-- The interpreter the benchmark runs under (it comes first in arg).
function M.interpreter()
  local i = -1
  while arg[i - 1] do i = i - 1 end
  return arg[i]
end

function M.median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

-- CPU seconds of one call f(x), after a full collection; and its result.
function M.timed(f, x)
  collectgarbage("collect")
  local t0 = os.clock()
  local result = f(x)
  return os.clock() - t0, result
end

-- CPU seconds of decoding 'doc' and encoding the result with each of
-- 'impls' ({name, decode, encode, runs}; at most 'runs' times, or impl.runs),
-- interleaved (one decode and one encode of each in turn) so that a busy
-- machine slows every library alike: {[name] = {dec = {...}, enc = {...}}}.
function M.interleaved(impls, doc, runs)
  local times = {}
  for _, impl in ipairs(impls) do times[impl.name] = { dec = {}, enc = {} } end
  for r = 1, runs do
    for _, impl in ipairs(impls) do
      if r <= (impl.runs or runs) then
        local t = times[impl.name]
        local td, v = M.timed(impl.decode, doc)
        t.dec[#t.dec + 1] = td
        t.enc[#t.enc + 1] = M.timed(impl.encode, v)
      end
    end
  end
  return times
end

-- The text of the generated document at 'path'; generate(path) writes it
-- first when it is not there yet.
function M.document(path, generate)
  local f = io.open(path, "rb")
  if not f then
    generate(path)
    f = assert(io.open(path, "rb"))
  end
  local s = f:read("a")
  f:close()
  return s
end

-- Peak RSS (KB) of 'script --rss name' in a child process, under
-- /usr/bin/time -v (package "time").
function M.peak_rss(script, name)
  local cmd = string.format("/usr/bin/time -v %s %s --rss %s 2>&1 >/dev/null",
    M.interpreter(), script, name)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return tonumber(out:match("Maximum resident set size %(kbytes%): (%d+)"))
end

return M
