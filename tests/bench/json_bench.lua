-- tests/bench/json_bench.lua: harness.json against lua-cjson and dkjson, side by
-- side in one run, on generated Harness-like documents of several shapes
-- (tests/bench/json_gen.lua): the ~24 MB paged response, pipelines with long
-- YAML bodies full of escapes, text in many scripts, float-heavy metrics.
-- tests/bench/json.sh runs it for make bench.
--   build/hlua tests/bench/json_bench.lua [runs [shape...]]
--     (default 5 runs, every shape; tests/bench/json.sh uses 7)
-- Throughput is the document's size over the median CPU time (os.clock),
-- for decode and for encode (of the decoded value) alike.
-- Peak memory (page only): each decoder runs once in a child process under
-- /usr/bin/time -v (package "time"); "baseline" only reads the file.
-- dkjson, 30x slower, runs once and on the page only.

local measure = dofile("tests/bench/measure.lua")
local median = measure.median
local hjson = harness.json
local cjson = require("cjson")
local dkjson = require("dkjson")

local generate, SHAPES = dofile("tests/bench/json_gen.lua")
local ORDER = { "page", "yaml", "unicode", "metrics" }

local function path_of(shape)
  return shape == "page" and "build/json_bench.json" or "build/json_bench_" .. shape .. ".json"
end

local function load_doc(shape)
  return measure.document(path_of(shape), function(path) generate(path, SHAPES[shape].items, shape) end)
end

local impls = {
  { name = "hlua.json", decode = hjson.decode, encode = hjson.encode },
  { name = "lua-cjson", decode = cjson.decode, encode = cjson.encode },
  { name = "dkjson", runs = 1, only = "page",
    decode = function(s) return dkjson.decode(s, 1, dkjson.null) end,
    encode = function(v) return dkjson.encode(v) end },
}

-- Child process mode: decode the page once, so that /usr/bin/time sees the peak.
if arg[1] == "--rss" then
  local s = load_doc("page")
  for _, impl in ipairs(impls) do
    if impl.name == arg[2] then
      local v = impl.decode(s)
      assert(v.data)
    end
  end
  os.exit(0)
end

local function peak_rss(name) return measure.peak_rss("tests/bench/json_bench.lua", name) end

local function row(what, h, peer, p)
  print(string.format("row|%s|%.0f MB/s|%s|%.1f MB/s|%.2fx", what, h, peer, p, h / p))
end

-- Times every library on one shape; prints its table and its rows.
local function bench(shape, runs)
  local doc = load_doc(shape)
  local mb = #doc / 1e6
  print(string.format("\n%s: %s, %.1f MB; median of %d runs", shape, path_of(shape), mb, runs))
  print(string.format("%-10s %12s %12s", "", "decode MB/s", "encode MB/s"))
  local here = {}
  for _, impl in ipairs(impls) do
    if (impl.only or shape) == shape then here[#here + 1] = impl end
  end
  local times = measure.interleaved(here, doc, runs)
  local res = {}
  for _, impl in ipairs(here) do
    local t = times[impl.name]
    local r = { dec = mb / median(t.dec), enc = mb / median(t.enc) }
    res[impl.name] = r
    print(string.format("%-10s %12.1f %12.1f", impl.name, r.dec, r.enc))
  end
  local h, c, d = res["hlua.json"], res["lua-cjson"], res["dkjson"]
  print(string.format("hlua.json / lua-cjson: decode %.2fx, encode %.2fx", h.dec / c.dec, h.enc / c.enc))
  -- Rows for tests/bench/run's table (ratio > 1: hlua is better).
  local what = string.format("JSON %%s, %.0f MB %s", mb, shape)
  row(what:format("decode"), h.dec, "lua-cjson", c.dec)
  row(what:format("encode"), h.enc, "lua-cjson", c.enc)
  if d then
    print(string.format("hlua.json / dkjson:    decode %.1fx, encode %.1fx", h.dec / d.dec, h.enc / d.enc))
    row(what:format("decode"), h.dec, "dkjson", d.dec)
    row(what:format("encode"), h.enc, "dkjson", d.enc)
  end
end

local runs = tonumber(arg[1]) or 5
local shapes = { table.unpack(arg, 2) }
if #shapes == 0 then shapes = ORDER end
for _, shape in ipairs(shapes) do
  assert(SHAPES[shape], "unknown shape " .. shape)
  bench(shape, runs)
end

local with_page = false
for _, shape in ipairs(shapes) do with_page = with_page or shape == "page" end
if with_page then
  local h, c = peak_rss("hlua.json"), peak_rss("lua-cjson")
  print(string.format("\ndecode peak RSS (page): hlua.json %s KB, lua-cjson %s KB, dkjson %s KB, baseline %s KB",
    h or "?", c or "?", peak_rss("dkjson") or "?", peak_rss("none") or "?"))
  if h and c then
    print(string.format("row|JSON decode peak RSS, 24 MB page|%.0f MB|lua-cjson|%.0f MB|%.2fx less",
      h / 1024, c / 1024, c / h))
  end
end
