-- tests/bench/json_gen.lua: writes a deterministic ~20 MB JSON document shaped
-- like a Harness paged response (pipelines with tags, YAML, timestamps...).
-- The text is built by hand, not by any of the encoders under test.
--   lua tests/bench/json_gen.lua [path] [items]   (defaults: build/json_bench.json, 20000)
-- As a module: require-less use via dofile returns generate(path, items).

local function generator(seed)
  local state = seed
  -- 31-bit LCG (glibc constants): the same sequence on every platform.
  return function(n)
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n
  end
end

local words = { "deploy", "build", "canary", "rollback", "verify", "approval",
  "terraform", "helm", "k8s", "service", "prod", "staging", "eu-west-1",
  "Übergabe", "déploiement", "リリース", "版本", "🚀", "naïve", "Straße" }

local function esc(s)
  return (s:gsub('[%c"\\]', function(c)
    if c == "\n" then return "\\n" end
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    if c == "\t" then return "\\t" end
    return string.format("\\u%04x", c:byte())
  end))
end

local function str(s) return '"' .. esc(s) .. '"' end

local function phrase(r, n)
  local t = {}
  for i = 1, n do t[i] = words[r(#words) + 1] end
  return table.concat(t, " ")
end

local function yaml(r, id)
  local stages = {}
  for s = 1, r(4) == 0 and 2 or 1 do
    stages[#stages + 1] = string.format(
      "    - stage:\n        name: %s\n        identifier: s%d\n" ..
      "        script: \"echo \\\"%s\\\" && exit 0\"\n",
      phrase(r, 2), s, phrase(r, 3))
  end
  return string.format("pipeline:\n  name: %s\n  identifier: %s\n  tags: {}\n  stages:\n%s",
    phrase(r, 3), id, table.concat(stages))
end

local function item(r, i)
  local id = string.format("pipeline_%05d", i)
  local ts = 1700000000000 + i * 60000 + r(60000)
  local tags = {}
  for t = 1, r(4) do
    tags[#tags + 1] = string.format('"%s":%s', "tag" .. t, str(phrase(r, 1)))
  end
  local execs = {}
  for e = 1, r(2) do
    execs[#execs + 1] = string.format(
      '{"planExecutionId":"exec%08d","status":%s,"startTs":%d,"endTs":%s,' ..
      '"executorInfo":{"triggerType":"MANUAL","username":%s,"email":null}}',
      r(100000000), str(r(4) == 0 and "Failed" or "Success"), ts - e * 3600000,
      r(5) == 0 and "null" or tostring(ts - e * 3600000 + r(900000)), str(phrase(r, 1)))
  end
  return string.format(
    '{"pipeline":{"identifier":%s,"name":%s,"description":%s,' ..
    '"orgIdentifier":"default","projectIdentifier":"platform","tags":{%s},' ..
    '"version":%d,"yaml":%s,"storeType":%s,"isDraft":%s},' ..
    '"createdAt":%d,"lastUpdatedAt":%d,"modules":["cd","ci"],' ..
    '"executionSummaryInfo":{"numOfErrors":[%d,%d,%d],"deployments":[%d,%d,%d,%d],' ..
    '"lastExecutionTs":%d,"lastExecutionStatus":"Success","successRate":%s,' ..
    '"avgDurationSeconds":%s,"costPerRun":%s},' ..
    '"recentExecutionsInfo":[%s],"entityValidityDetails":{"valid":%s,"invalidYaml":null},' ..
    '"gitDetails":{"objectId":null,"branch":null,"repoName":null,"filePath":null},' ..
    '"stageCount":%d,"stageNames":[%s,%s],"allowStageExecutions":%s}',
    str(id), str(phrase(r, 3)), str(phrase(r, 4)), table.concat(tags, ","),
    r(50), str(yaml(r, id)), r(2) == 0 and '"INLINE"' or "null", tostring(r(3) == 0),
    ts, ts + r(86400000), r(3), r(3), r(3), r(9), r(9), r(9), r(9),
    ts + r(1000000), string.format("%.1f", r(1000) / 10),
    string.format("%.3f", r(10000000) / 1000), tostring(r(1000000) / 1024 + 0.5),
    table.concat(execs, ","), tostring(r(10) ~= 0), 2 + r(3),
    str(phrase(r, 1)), str(phrase(r, 1)), tostring(r(2) == 0))
end

local function generate(path, items)
  local r = generator(20240604)
  local out = {}
  for i = 1, items do out[i] = item(r, i) end
  local doc = string.format(
    '{"status":"SUCCESS","data":{"totalPages":1,"totalItems":%d,"pageItemCount":%d,' ..
    '"pageSize":%d,"content":[%s],"pageIndex":0,"empty":false},"metaData":null,' ..
    '"correlationId":"6f1f5c1e-8d2b-4f7a-9e43-1b2c3d4e5f60"}',
    items, items, items, table.concat(out, ","))
  local f = assert(io.open(path, "wb"))
  f:write(doc)
  f:close()
  return #doc
end

if arg and arg[0] and arg[0]:match("json_gen%.lua$") then
  local path, items = arg[1] or "build/json_bench.json", tonumber(arg[2]) or 20000
  print(string.format("%s: %d bytes", path, generate(path, items)))
end
return generate
