-- tests/bench/json_gen.lua: writes deterministic JSON documents shaped like
-- Harness API responses, one per shape:
--   page     ~24 MB paged pipeline list (tags, short YAML, timestamps...)
--   yaml     ~8 MB pipeline list whose yamlPipeline is a long multi-line YAML
--            body (newlines, tabs, quotes, backslashes: heavy escaping) with
--            names in several scripts and unicode tags
--   unicode  ~6 MB users and projects named in many scripts (é, ü, 日本,
--            emoji...): mostly multi-byte UTF-8, few escapes
--   metrics  ~5 MB execution statistics: computed floats (rates, averages,
--            percentiles) and timestamps
-- The text is built by hand, not by any of the encoders under test.
--   lua tests/bench/json_gen.lua [path] [items] [shape]
--     (defaults: build/json_bench.json, the shape's item count, page)
-- As a module: dofile returns generate(path [, items [, shape]]) and the
-- table of shapes (with their default item counts).

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

-- Words in many scripts, for the shapes heavy with non-ASCII text.
local intl = { "Zürich", "Müller", "Ångström", "français", "élève", "日本",
  "東京", "開発チーム", "デプロイ", "서울", "배포", "Москва", "развёртывание",
  "Αθήνα", "מפתח", "مطور", "हिन्दी", "ภาษาไทย", "中文", "版本发布", "🚀", "✅",
  "🔥", "👩‍💻", "Łódź", "İstanbul", "Nguyễn", "São Paulo", "Kraków", "naïve" }

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

local function phrase(r, n, list)
  list = list or words
  local t = {}
  for i = 1, n do t[i] = list[r(#list) + 1] end
  return table.concat(t, " ")
end

-- {======================================================================
-- page: the paged pipeline list
-- ======================================================================

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

local function page_item(r, i)
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

-- The envelope of a Harness paged response around the items.
local function envelope(items, out)
  return string.format(
    '{"status":"SUCCESS","data":{"totalPages":1,"totalItems":%d,"pageItemCount":%d,' ..
    '"pageSize":%d,"content":[%s],"pageIndex":0,"empty":false},"metaData":null,' ..
    '"correlationId":"6f1f5c1e-8d2b-4f7a-9e43-1b2c3d4e5f60"}',
    items, items, items, table.concat(out, ","))
end

-- }======================================================================

-- {======================================================================
-- yaml: pipelines with long YAML bodies
-- ======================================================================

local commands = {
  'echo "Building \\"${SERVICE}\\" for <+env.name>"',
  'if [ -f "C:\\\\build\\\\out\\\\app.exe" ]; then',
  '\tgrep -E \'^\\s+"key":\\s*"[^"]*"\' config.json | tee "out/ключи.txt"',
  '\tsed -i \'s/\\t/    /g; s/"//g\' values.yaml',
  'fi',
  'kubectl rollout status deploy/"$APP" -n "$NS" --timeout=300s',
  'printf "%s\\t%s\\n" "名前" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"',
  'jq -r \'.items[] | "\\(.name)\\t\\(.status)"\' result.json',
  'curl -sf -H "Authorization: Bearer $TOKEN" "https://app.harness.io/ng/api/…"',
  'echo \'{"text": "Déploiement terminé ✅ — \\"prod\\""}\' > message.json',
}

local function yaml_step(r, n)
  local lines = {}
  for i = 1, 2 + r(5) do lines[i] = "                      " .. commands[r(#commands) + 1] end
  return string.format(
    "              - step:\n" ..
    "                  type: Run\n" ..
    "                  name: \"%s\"\n" ..
    "                  identifier: step_%d\n" ..
    "                  spec:\n" ..
    "                    shell: Bash\n" ..
    "                    envVariables:\n" ..
    "                      GREETING: \"Grüße aus %s\"\n" ..
    "                      PATTERN: '^[a-z]+\\t\\d+$'\n" ..
    "                    command: |-\n%s\n",
    phrase(r, 2, intl), n, phrase(r, 1, intl), table.concat(lines, "\n"))
end

local function long_yaml(r, id, name)
  local stages = {}
  for s = 1, 2 + r(3) do
    local steps = {}
    for k = 1, 1 + r(3) do steps[k] = yaml_step(r, k) end
    stages[s] = string.format(
      "    - stage:\n" ..
      "        name: \"%s\"\n" ..
      "        identifier: stage_%d\n" ..
      "        description: \"%s\"\n" ..
      "        type: CI\n" ..
      "        spec:\n" ..
      "          cloneCodebase: true\n" ..
      "          execution:\n" ..
      "            steps:\n%s",
      phrase(r, 2, intl), s, phrase(r, 4), table.concat(steps))
  end
  return string.format(
    "pipeline:\n  name: \"%s\"\n  identifier: %s\n  projectIdentifier: platform\n" ..
    "  orgIdentifier: default\n  tags:\n    team: \"%s\"\n    \"région\": eu\n" ..
    "  stages:\n%s",
    name, id, phrase(r, 1, intl), table.concat(stages))
end

local function yaml_item(r, i)
  local id = string.format("pipeline_%05d", i)
  local name = phrase(r, 3, intl)
  local ts = 1700000000000 + i * 60000 + r(60000)
  local tags = {}
  for t = 1, 1 + r(4) do
    tags[#tags + 1] = string.format('%s:%s', str(phrase(r, 1, intl)), str(phrase(r, 2, intl)))
  end
  return string.format(
    '{"identifier":%s,"name":%s,"description":%s,"orgIdentifier":"default",' ..
    '"projectIdentifier":"platform","tags":{%s},"yamlPipeline":%s,' ..
    '"createdAt":%d,"lastUpdatedAt":%d,"storeType":"INLINE","stageCount":%d,' ..
    '"modules":["ci","cd"],"valid":%s}',
    str(id), str(name), str(phrase(r, 6, intl)), table.concat(tags, ","),
    str(long_yaml(r, id, name)), ts, ts + r(86400000), 2 + r(3), tostring(r(10) ~= 0))
end

-- }======================================================================

-- {======================================================================
-- unicode: users and projects named in many scripts
-- ======================================================================

local function unicode_item(r, i)
  local roles = {}
  for k = 1, 1 + r(3) do
    roles[k] = string.format('{"role":%s,"resourceGroup":%s,"scope":%s}',
      str(phrase(r, 1, intl)), str(phrase(r, 2, intl)), str(phrase(r, 3, intl)))
  end
  local tags = {}
  for t = 1, 1 + r(4) do
    tags[#tags + 1] = string.format('%s:%s', str(phrase(r, 1, intl)), str(phrase(r, 1, intl)))
  end
  return string.format(
    '{"uuid":"u%07d","name":%s,"email":"user%d@example.com","displayName":%s,' ..
    '"locked":%s,"disabled":false,"externallyManaged":false,' ..
    '"project":{"identifier":"p%d","name":%s,"description":%s,"tags":{%s}},' ..
    '"roleAssignments":[%s],"lastLogin":%d}',
    i, str(phrase(r, 2, intl)), i, str(phrase(r, 3, intl)), tostring(r(20) == 0),
    r(500), str(phrase(r, 2, intl)), str(phrase(r, 8, intl)), table.concat(tags, ","),
    table.concat(roles, ","), 1700000000000 + r(1000000000))
end

-- }======================================================================

-- {======================================================================
-- metrics: execution statistics, floats computed as a service would
-- ======================================================================

local function metrics_item(r, i)
  local n = 20 + r(200)
  local durations, total = {}, 0
  for k = 1, 8 do
    local d = (r(6000000) + 1) / 1000   -- seconds with milliseconds
    durations[k] = tostring(d)
    total = total + d
  end
  local points = {}
  for k = 1, 6 do
    -- A rate as a service computes it: full double precision.
    points[k] = string.format('{"ts":%d,"value":%.17g,"count":%d}',
      1700000000000 + k * 3600000, r(1000000) / (r(999) + 1), r(10000))
  end
  return string.format(
    '{"pipelineIdentifier":"pipeline_%05d","executions":%d,"successRate":%.17g,' ..
    '"avgDurationSeconds":%.17g,"p50":%s,"p90":%s,"p99":%s,"costPerRun":%.17g,' ..
    '"durations":[%s],"series":[%s],"cpuSeconds":%s,"memoryGiB":%s}',
    i, n, r(n + 1) / n, total / 8, durations[1], durations[2], durations[3],
    r(100000) / 3, table.concat(durations, ","), table.concat(points, ","),
    tostring(r(1000000) / 100), tostring(r(64000) / 1000))
end

-- }======================================================================

local shapes = {
  page = { items = 20000, item = page_item, seed = 20240604 },
  yaml = { items = 1500, item = yaml_item, seed = 20250101 },
  unicode = { items = 12000, item = unicode_item, seed = 20250202 },
  metrics = { items = 6000, item = metrics_item, seed = 20250303 },
}

local function generate(path, items, shape)
  local sh = assert(shapes[shape or "page"], "unknown shape")
  local r = generator(sh.seed)
  local out = {}
  items = items or sh.items
  for i = 1, items do out[i] = sh.item(r, i) end
  local doc = envelope(items, out)
  local f = assert(io.open(path, "wb"))
  f:write(doc)
  f:close()
  return #doc
end

if arg and arg[0] and arg[0]:match("json_gen%.lua$") then
  local path, items, shape = arg[1] or "build/json_bench.json", tonumber(arg[2]), arg[3]
  print(string.format("%s: %d bytes", path, generate(path, items, shape)))
end
return generate, shapes
