-- tests/bench/json_bench.lua: harness.json against lua-cjson and dkjson, side by
-- side in one run, on a generated ~24 MB Harness-like paged response
-- (tests/bench/json_gen.lua). tests/bench/json.sh runs it for make bench.
--   build/hlua tests/bench/json_bench.lua [runs]   (default 5; tests/bench/json.sh uses 7)
-- Throughput is the document's size over the median CPU time (os.clock).
-- Peak memory: each decoder runs once in a child process under
-- /usr/bin/time -v (package "time"); "baseline" only reads the file.
-- Also runs under plain lua5.4 with the test module build/hjson.so.

package.cpath = "build/?.so;" .. package.cpath
local hjson = (harness and harness.json) or require("hjson")
local cjson = require("cjson")
local dkjson = require("dkjson")

local DOC = "build/json_bench.json"
local ITEMS = 20000

local function interpreter()
  local i = -1
  while arg[i - 1] do i = i - 1 end   -- the interpreter comes first
  return arg[i]
end

local function load_doc()
  local f = io.open(DOC, "rb")
  if not f then
    dofile("tests/bench/json_gen.lua")(DOC, ITEMS)
    f = assert(io.open(DOC, "rb"))
  end
  local s = f:read("a")
  f:close()
  return s
end

local impls = {
  { name = "hlua.json", decode = hjson.decode, encode = hjson.encode },
  { name = "lua-cjson", decode = cjson.decode, encode = cjson.encode },
  { name = "dkjson", runs = 1,
    decode = function(s) return dkjson.decode(s, 1, dkjson.null) end,
    encode = function(v) return dkjson.encode(v) end },
}

-- Child process mode: decode once, so that /usr/bin/time sees the peak.
if arg[1] == "--rss" then
  local s = load_doc()
  for _, impl in ipairs(impls) do
    if impl.name == arg[2] then
      local v = impl.decode(s)
      assert(v.data)
    end
  end
  os.exit(0)
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

-- CPU seconds of one call f(x), after a full collection; and its result.
local function timed(f, x)
  collectgarbage("collect")
  local t0 = os.clock()
  local result = f(x)
  return os.clock() - t0, result
end
local function peak_rss(name)
  local cmd = string.format("/usr/bin/time -v %s tests/bench/json_bench.lua --rss %s 2>&1 >/dev/null",
    interpreter(), name)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return tonumber(out:match("Maximum resident set size %(kbytes%): (%d+)"))
end

local runs = tonumber(arg[1]) or 5
local doc = load_doc()
local mb = #doc / 1e6
print(string.format("document: %s, %.1f MB, %d items; median of %d runs (dkjson: 1)",
  DOC, mb, ITEMS, runs))
print(string.format("%-10s %12s %12s %14s", "", "decode MB/s", "encode MB/s", "decode peak KB"))
-- Runs are interleaved (one decode and one encode of each library in turn),
-- so that a busy machine slows every library alike; then medians.
local times = {}
for _, impl in ipairs(impls) do times[impl.name] = { dec = {}, enc = {} } end
for r = 1, runs do
  for _, impl in ipairs(impls) do
    if r <= (impl.runs or runs) then
      local t = times[impl.name]
      local td, v = timed(impl.decode, doc)
      t.dec[#t.dec + 1] = td
      t.enc[#t.enc + 1] = timed(impl.encode, v)
    end
  end
end
local res = {}
for _, impl in ipairs(impls) do
  local t = times[impl.name]
  local r = { dec = mb / median(t.dec), enc = mb / median(t.enc), rss = peak_rss(impl.name) }
  res[impl.name] = r
  print(string.format("%-10s %12.1f %12.1f %14s", impl.name, r.dec, r.enc, r.rss or "?"))
end
print(string.format("%-10s %12s %12s %14s", "baseline", "", "", peak_rss("none") or "?"))
local h, c, d = res["hlua.json"], res["lua-cjson"], res["dkjson"]
print(string.format("hlua.json / lua-cjson: decode %.2fx, encode %.2fx, decode peak RSS %.2fx",
  h.dec / c.dec, h.enc / c.enc, h.rss and c.rss and h.rss / c.rss or 0/0))
print(string.format("hlua.json / dkjson:    decode %.1fx, encode %.1fx",
  h.dec / d.dec, h.enc / d.enc))
-- Rows for tests/bench/run's table (ratio > 1: hlua is better).
local what = string.format("JSON %%s, %.0f MB page", mb)
for _, peer in ipairs { {"lua-cjson", c}, {"dkjson", d} } do
  local p = peer[2]
  print(string.format("row|%s|%.0f MB/s|%s|%.1f MB/s|%.2fx", what:format("decode"), h.dec, peer[1], p.dec, h.dec / p.dec))
  print(string.format("row|%s|%.0f MB/s|%s|%.1f MB/s|%.2fx", what:format("encode"), h.enc, peer[1], p.enc, h.enc / p.enc))
end
if h.rss and c.rss then
  print(string.format("row|%s|%.0f MB|lua-cjson|%.0f MB|%.2fx less", what:format("decode peak RSS"),
    h.rss / 1024, c.rss / 1024, c.rss / h.rss))
end
