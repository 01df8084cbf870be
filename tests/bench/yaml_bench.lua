-- tests/bench/yaml_bench.lua: harness.yaml against lyaml (Debian's lua-yaml,
-- on libyaml, building values event by event in Lua), side by side in one
-- run, on a generated 1.6 MB Harness pipeline of 2,000 steps
-- (tests/bench/yaml_gen.lua). tests/bench/yaml.sh runs it for make bench.
--   build/hlua tests/bench/yaml_bench.lua [runs]   (default 5)
-- Times are median CPU seconds (os.clock) of one decode and one encode.
-- Peak memory: each library decodes and encodes once in a child process
-- under /usr/bin/time -v (package "time"); "baseline" only reads the file.

local measure = dofile("tests/bench/measure.lua")
local median = measure.median
local hyaml = harness.yaml
local lyaml = require("lyaml")

local DOC = "build/yaml_bench.yaml"
local STEPS = 2000

local function load_doc()
  return measure.document(DOC, function(path) dofile("tests/bench/yaml_gen.lua")(path, STEPS) end)
end

local impls = {
  { name = "harness.yaml", decode = hyaml.decode, encode = hyaml.encode },
  { name = "lyaml", decode = lyaml.load, encode = function(v) return lyaml.dump({v}) end },
}

-- Child process mode: decode and encode once, so that /usr/bin/time sees
-- the peak.
if arg[1] == "--rss" then
  local s = load_doc()
  for _, impl in ipairs(impls) do
    if impl.name == arg[2] then
      local v = impl.decode(s)
      assert(v.pipeline)
      assert(#impl.encode(v) > 1e6)
    end
  end
  os.exit(0)
end

local function peak_rss(name) return measure.peak_rss("tests/bench/yaml_bench.lua", name) end

local runs = tonumber(arg[1]) or 5
local doc = load_doc()
print(string.format("document: %s, %.2f MB, %d steps; median of %d runs",
  DOC, #doc / 1e6, STEPS, runs))
-- Both libraries read the document alike (lyaml's YAML 1.1 booleans aside).
assert(hyaml.decode(doc).pipeline.stages[1].stage.spec.execution.steps[STEPS].step.identifier
  == lyaml.load(doc).pipeline.stages[1].stage.spec.execution.steps[STEPS].step.identifier)
print(string.format("%-13s %10s %10s %16s", "", "decode s", "encode s", "peak RSS KB"))
local times = measure.interleaved(impls, doc, runs)
local res = {}
for _, impl in ipairs(impls) do
  local t = times[impl.name]
  local r = { dec = median(t.dec), enc = median(t.enc), rss = peak_rss(impl.name) }
  res[impl.name] = r
  print(string.format("%-13s %10.3f %10.3f %16s", impl.name, r.dec, r.enc, r.rss or "?"))
end
print(string.format("%-13s %10s %10s %16s", "baseline", "", "", peak_rss("none") or "?"))
local h, l = res["harness.yaml"], res["lyaml"]
print(string.format("harness.yaml / lyaml: decode %.1fx, encode %.1fx faster, peak RSS %.2fx less",
  l.dec / h.dec, l.enc / h.enc, h.rss and l.rss and l.rss / h.rss or 0/0))
-- Rows for tests/bench/run's table (ratio > 1: hlua is better).
local what = string.format("YAML %%s, %.1f MB pipeline", #doc / 1e6)
print(string.format("row|%s|%.3f s|lyaml|%.3f s|%.1fx", what:format("decode"), h.dec, l.dec, l.dec / h.dec))
print(string.format("row|%s|%.3f s|lyaml|%.3f s|%.1fx", what:format("encode"), h.enc, l.enc, l.enc / h.enc))
if h.rss and l.rss then
  print(string.format("row|%s|%.0f MB|lyaml|%.0f MB|%.2fx less", what:format("decode+encode peak RSS"),
    h.rss / 1024, l.rss / 1024, l.rss / h.rss))
end
