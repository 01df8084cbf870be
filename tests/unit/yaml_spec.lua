-- tests/unit/yaml_spec.lua: harness.yaml (src/yaml.c, lua/harness/yaml.lua):
-- the corpus against ruamel.yaml's YAML 1.2 reading, round trips through
-- encode, edit's byte-for-byte and line-for-line promises, the API, and
-- one-line errors for malformed and hostile documents.

local h = require("tests.support.helper")
local yaml = harness.yaml
local json = harness.json
local null = json.null
local ARRAY_MT = getmetatable(json.array())

local CORPUS = "tests/support/yaml/corpus/"

local read = h.read

local function corpus_files()
  local names = {}
  local p = assert(io.popen("ls " .. CORPUS))
  for name in p:lines() do
    if name:match("%.yaml$") then names[#names + 1] = name end
  end
  p:close()
  table.sort(names)
  return names
end

-- The harness.Error raised by f(...); fails if f succeeds.
local function failure(f, ...)
  local e = h.failure("yaml", f, ...)
  assert.is_nil(tostring(e):find("\n"), "one line expected: " .. tostring(e))
  return e
end

-- Does decoded value v match fixture value f (decoded from JSON)? Fixture
-- null members stand for absent ones; {"$float": ...} for inf and NaN.
-- Returns true or a message naming the first difference.
local function matches(v, f, path)
  path = path or "$"
  if type(f) == "table" and getmetatable(f) ~= ARRAY_MT and rawget(f, "$float") then
    local want = ({inf = math.huge, ["-inf"] = -math.huge})[f["$float"]]
    if want then return v == want or (path .. ": " .. tostring(v)) end
    return v ~= v or (path .. ": NaN expected")
  end
  if f == null then return v == null or (path .. ": null expected, got " .. tostring(v)) end
  if type(f) ~= type(v) then
    return ("%s: %s expected, got %s (%s)"):format(path, type(f), type(v), tostring(v))
  end
  if type(f) == "number" then
    if math.type(f) ~= math.type(v) or f ~= v then
      return ("%s: %s (%s) expected, got %s (%s)"):format(path, tostring(f), math.type(f),
        tostring(v), math.type(v))
    end
    return true
  end
  if type(f) ~= "table" then return f == v or (path .. ": " .. tostring(f) .. " expected, got " .. tostring(v)) end
  if getmetatable(f) == ARRAY_MT then
    if getmetatable(v) ~= ARRAY_MT then return path .. ": a sequence expected" end
    if #f ~= #v then return ("%s: %d items expected, got %d"):format(path, #f, #v) end
    for i = 1, #f do
      local r = matches(v[i], f[i], path .. "[" .. i .. "]")
      if r ~= true then return r end
    end
    return true
  end
  for k, fv in next, f do
    local vv = rawget(v, k)
    if fv == null then
      if vv ~= nil then return path .. "." .. k .. ": absent expected (null member)" end
    else
      local r = matches(vv, fv, path .. "." .. k)
      if r ~= true then return r end
    end
  end
  for k in next, v do
    if rawget(f, k) == nil then return path .. "." .. tostring(k) .. ": unexpected key" end
  end
  return true
end

-- Deep equality with number kinds (1 is not 1.0) and NaN equal to itself.
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then return false end
    return a == b or (a ~= a and b ~= b)
  end
  if type(a) ~= "table" then return a == b end
  for k, v in next, a do if not same(v, rawget(b, k)) then return false end end
  for k in next, b do if rawget(a, k) == nil then return false end end
  return true
end

-- The lines removed from a and added in b (a longest common subsequence of
-- lines kept), each list in order: what a diff tool would show.
local function line_diff(a, b)
  local function lines(s)
    local t = {}
    for l in (s .. (s:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do t[#t + 1] = l end
    return t
  end
  local x, y = lines(a), lines(b)
  local L = {}
  for i = #x + 1, 1, -1 do
    L[i] = {}
    for j = #y + 1, 1, -1 do
      if i > #x or j > #y then L[i][j] = 0
      elseif x[i] == y[j] then L[i][j] = L[i + 1][j + 1] + 1
      else L[i][j] = math.max(L[i + 1][j], L[i][j + 1]) end
    end
  end
  local removed, added = {}, {}
  local i, j = 1, 1
  while i <= #x or j <= #y do
    if i <= #x and j <= #y and x[i] == y[j] then i, j = i + 1, j + 1
    elseif j > #y or (i <= #x and L[i + 1][j] >= L[i][j + 1]) then removed[#removed + 1] = x[i]; i = i + 1
    else added[#added + 1] = y[j]; j = j + 1 end
  end
  return removed, added
end

describe("harness.yaml", function()

  describe("corpus", function()
    for _, name in ipairs(corpus_files()) do
      local path = CORPUS .. name

      it(name .. " decodes as the YAML 1.2 reference reads it", function()
        local docs = yaml.decode_all(read(path))
        local fixture = json.decode(read((path:gsub("%.yaml$", ".json"))))
        assert.is_true(matches(docs, fixture))
      end)

      it(name .. " round-trips through encode, key order kept", function()
        for _, doc in ipairs(yaml.decode_all(read(path))) do
          local text = yaml.encode(doc)
          local back = yaml.decode(text)
          assert.is_true(same(back, doc), text)
          assert.are.equal(text, yaml.encode(back))
        end
      end)

      it(name .. " comes back byte for byte through edit with no change", function()
        local s = read(path)
        assert.are.equal(s, yaml.edit(s, function() end))
        assert.are.equal(s, yaml.edit(s, function(doc) return doc end))
      end)
    end

    it("has a few dozen documents", function()
      assert.is_true(#corpus_files() >= 30)
    end)
  end)

  describe("decode", function()
    it("reads the YAML 1.2 core schema: only true/false are booleans", function()
      local v = yaml.decode("a: [true, False, on, yes, no, off, y]")
      assert.are.same({true, false, "on", "yes", "no", "off", "y"}, v.a)
    end)

    it("keeps integers exact and tells them from floats", function()
      local v = yaml.decode("[9223372036854775807, -9223372036854775808, 0x1F, 0o17, 0755, 1_000, 1.0, 1e3, -0.0]")
      assert.are.equal(math.maxinteger, v[1])
      assert.are.equal(math.mininteger, v[2])
      assert.are.equal(31, v[3])
      assert.are.equal(15, v[4])
      assert.are.equal(755, v[5])
      assert.are.equal(1000, v[6])
      assert.are.equal("float", math.type(v[7]))
      assert.are.equal(1000.0, v[8])
      assert.are.equal("float", math.type(v[8]))
      assert.are.equal(-math.huge, 1 / v[9])
    end)

    it("reads .inf and .nan", function()
      local v = yaml.decode("[.inf, -.Inf, .nan]")
      assert.are.equal(math.huge, v[1])
      assert.are.equal(-math.huge, v[2])
      assert.is_true(v[3] ~= v[3])
    end)

    it("keeps quoted scalars as strings and dates as text", function()
      local v = yaml.decode([[{a: "1", b: '~', c: 2024-01-31, d: !!str 12, e: !!float 1}]])
      assert.are.same({a = "1", b = "~", c = "2024-01-31", d = "12", e = 1.0}, v)
      assert.are.equal("float", math.type(v.e))
    end)

    it("applies the null rule: null members are absent, null items are json.null", function()
      local v = yaml.decode("a: ~\nb:\nc: null\nd: [1, ~, null]\ne: 1\n")
      assert.is_nil(v.a)
      assert.is_nil(v.b)
      assert.is_nil(v.c)
      assert.are.same({1, null, null}, v.d)
      assert.are.same({"d", "e"}, yaml.keys(v))
      assert.are.equal("d:\n  - 1\n  - null\n  - null\ne: 1\n", yaml.encode(v))
      assert.are.equal(null, yaml.decode("~"))
      assert.is_nil(yaml.decode(""))
      assert.is_nil(yaml.decode("# only a comment\n"))
    end)

    it("remembers key order, for pairs, keys and encode", function()
      local v = yaml.decode("zeta: 1\nalpha: 2\nmid: 3\n")
      local seen = {}
      for k in pairs(v) do seen[#seen + 1] = k end
      assert.are.same({"zeta", "alpha", "mid"}, seen)
      assert.are.same({"zeta", "alpha", "mid"}, yaml.keys(v))
      v.new = 4
      v.alpha = nil
      assert.are.equal("zeta: 1\nmid: 3\nnew: 4\n", yaml.encode(v))
    end)

    it("marks empty mappings and sequences, and decoded mappings encode to JSON", function()
      local v = yaml.decode("a: {}\nb: []\nc: {x: [1, {}]}\n")
      assert.are.equal('{"a":{},"b":[],"c":{"x":[1,{}]}}', json.encode(v, {sort_keys = true}))
      assert.are.equal("a: {}\nb: []\nc:\n  x:\n    - 1\n    - {}\n", yaml.encode(v))
    end)

    it("expands aliases and << merges (explicit keys win, merged ones take the << place)", function()
      local v = yaml.decode([[
base: &b {x: 1, y: 2}
list: &l [1, 2]
m:
  <<: *b
  y: 3
  z: *l
n:
  <<: [{a: 1}, {a: 2, b: 2}]
]])
      assert.are.same({x = 1, y = 3, z = {1, 2}}, v.m)
      assert.are.same({"x", "y", "z"}, yaml.keys(v.m))
      assert.are.same({a = 1, b = 2}, v.n)
      v.m.z[1] = 99   -- aliases are copies: the anchor does not change
      assert.are.equal(1, v.list[1])
    end)

    it("reads multi-document streams with decode_all; decode wants one", function()
      local docs = yaml.decode_all("---\na: 1\n---\n- x\n...\n--- 3\n")
      assert.are.equal(3, #docs)
      assert.are.same({a = 1}, docs[1])
      assert.are.same({"x"}, docs[2])
      assert.are.equal(3, docs[3])
      assert.are.same({}, yaml.decode_all(""))
      local e = failure(yaml.decode, "a: 1\n---\nb: 2\n")
      assert.matches("second document", e.message)
      assert.are.equal(2, e.line)
    end)

    it("validates its arguments", function()
      assert.has_error(function() yaml.decode() end)
      assert.has_error(function() yaml.decode({}) end)
      assert.has_error(function() yaml.decode("a", 5) end)
      assert.has_error(function() yaml.decode("a", {max_depth = 0}) end)
      assert.has_error(function() yaml.keys(5) end)
      assert.has_error(function() yaml.mapping({}, {1}) end)
      assert.has_error(function() yaml.edit("a: 1") end)
      assert.has_error(function() yaml.edit(5, print) end)
    end)
  end)

  describe("encode", function()
    it("writes block style with 2-space indentation, as Harness does", function()
      local doc = yaml.mapping({pipeline = yaml.mapping({
        name = "p", identifier = "p", tags = {},
        stages = {{stage = yaml.mapping({name = "s", spec = {steps = json.array()}}, {"name", "spec"})}},
      }, {"name", "identifier", "tags", "stages"})}, {"pipeline"})
      assert.are.equal([[
pipeline:
  name: p
  identifier: p
  tags: {}
  stages:
    - stage:
        name: s
        spec:
          steps: []
]], yaml.encode(doc))
    end)

    it("quotes strings that would read back as something else", function()
      local v = yaml.mapping({a = "on", b = "1.0", c = "null", d = "0755", e = "", f = "<+input>",
        g = "yes", h = "~", i = "- x", j = "a: b", k = "x #y", l = "12:30", m = "2024-01-31",
        n = "true", o = "1e3", p = "#c", q = " pad", r = "<<"},
        {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r"})
      assert.are.equal([[
a: "on"
b: "1.0"
c: "null"
d: "0755"
e: ""
f: <+input>
g: "yes"
h: "~"
i: "- x"
j: "a: b"
k: "x #y"
l: "12:30"
m: "2024-01-31"
"n": "true"
o: "1e3"
p: "#c"
q: " pad"
r: "<<"
]], yaml.encode(v))
      assert.are.equal('"<<": 1\n', yaml.encode({["<<"] = 1}))
    end)

    it("writes multi-line strings as literal blocks with the right chomping", function()
      assert.are.equal("s: |\n  a\n  b\n", yaml.encode({s = "a\nb\n"}))
      assert.are.equal("s: |-\n  a\n  b\n", yaml.encode({s = "a\nb"}))
      assert.are.equal("s: |+\n  a\n\n", yaml.encode({s = "a\n\n"}))
      assert.are.equal("s: |2-\n   lead\n  x\n", yaml.encode({s = " lead\nx"}))
      assert.are.equal('s: "a\\r\\nb"\n', yaml.encode({s = "a\r\nb"}))
      for _, s in ipairs({"a\nb\n", "a\nb", "a\n\n\n", " lead\nx\n", "\n\nx", "x\n  \ny", "\t\n", "a\n\tb"}) do
        assert.are.equal(s, yaml.decode(yaml.encode({s = s})).s)
        assert.are.equal(s, yaml.decode(yaml.encode({{s}}))[1][1])
      end
    end)

    it("writes numbers so that they read back the same", function()
      local v = {1, -0.0, 0.1, 1e300, 1e20, 2 ^ 53, math.pi, math.huge, -math.huge, math.mininteger}
      local back = yaml.decode(yaml.encode(v))
      assert.is_true(same(v, back), yaml.encode(v))
      assert.are.equal("- 1.0e+20\n", yaml.encode({1e20}))
      assert.are.equal("- .nan\n", yaml.encode({0 / 0}))
      assert.is_true(yaml.decode(yaml.encode({0 / 0}))[1] ~= yaml.decode(yaml.encode({0 / 0}))[1])
    end)

    it("orders the keys of plain tables by bytes, of marked ones as told", function()
      assert.are.equal("a: 1\nb: 2\nc: 3\n", yaml.encode({c = 3, a = 1, b = 2}))
      assert.are.equal("c: 3\na: 1\nb: 2\n", yaml.encode(yaml.mapping({c = 3, a = 1, b = 2}, {"c", "a"})))
    end)

    it("round-trips random values", function()
      math.randomseed(7)
      local pieces = {"", "on", "a: b", "1.5", "x\ny\n", "é", "<+input>", "-", "\t", "'", '"', "#"}
      local function gen(depth)
        local r = math.random(depth > 3 and 5 or 8)
        if r == 1 then return math.random(-1000, 1000) end
        if r == 2 then return math.random() * 10 ^ math.random(-5, 5) end
        if r == 3 then return math.random(2) == 1 end
        if r == 4 then return pieces[math.random(#pieces)] .. pieces[math.random(#pieces)] end
        if r == 5 then return null end
        if r == 6 or r == 7 then
          local t = json.array()
          for i = 1, math.random(0, 4) do t[i] = gen(depth + 1) end
          return t
        end
        local t = {}
        for _ = 1, math.random(0, 4) do t[pieces[math.random(#pieces)] .. math.random(9)] = gen(depth + 1) end
        return t
      end
      local function strip(v)   -- null members are absent once decoded
        if type(v) ~= "table" then return v end
        local arr = getmetatable(v) == ARRAY_MT
        local out = arr and json.array() or {}
        for k, x in pairs(v) do if arr or x ~= null then out[k] = strip(x) end end
        return out
      end
      for _ = 1, 300 do
        local v = {root = gen(0)}
        local text = yaml.encode(v)
        assert.is_true(same(strip(v), yaml.decode(text)), text)
      end
    end)

    it("refuses what YAML cannot hold, naming the path", function()
      local e = failure(yaml.encode, {pipeline = {stages = {{}, {name = print}}}})
      assert.are.equal("$.pipeline.stages[2].name", e.path)
      assert.matches("cannot encode function", e.message)
      local t = {}
      t.self = t
      assert.matches("contains itself at %$%.self", failure(yaml.encode, t).message)
      assert.matches("invalid UTF%-8", failure(yaml.encode, {"\xff"}).message)
      assert.matches("sparse", failure(yaml.encode, {1, nil, 3}).message)
      assert.matches("mixing", failure(yaml.encode, {1, a = 2}).message)
      assert.matches("cannot encode thread at %$%.x", failure(yaml.encode, {x = coroutine.create(print)}).message)
    end)
  end)

  describe("edit", function()
    local doc = [[
# The checkout pipeline.
pipeline:
  name: checkout   # shown in the UI
  identifier: checkout
  tags: {}

  stages:
    - stage:
        name: "Build"
        identifier: build
        spec:
          execution:
            steps:
              # unit tests first
              - step:
                  type: Run
                  name: test
                  spec:
                    image: 'golang:1.21'   # pinned
                    command: |
                      go test ./...
              - step:
                  type: Run
                  name: lint
                  spec:
                    image: golang:1.21
  variables:
    - name: env
      type: String
      value: <+input>.allowedValues(dev,prod)
]]

    local function steps(d) return d.pipeline.stages[1].stage.spec.execution.steps end

    it("changes a value on its own line, keeping comments and quoting", function()
      local out = yaml.edit(doc, function(d) steps(d)[1].step.spec.image = "golang:1.22" end)
      local removed, added = line_diff(doc, out)
      assert.are.same({"                    image: 'golang:1.21'   # pinned"}, removed)
      assert.are.same({"                    image: 'golang:1.22'   # pinned"}, added)
    end)

    it("quotes a new value that needs it and unquotes none", function()
      local out = yaml.edit(doc, function(d) d.pipeline.name = "on"; d.pipeline.stages[1].stage.name = "Compile" end)
      local removed, added = line_diff(doc, out)
      assert.are.same({"  name: checkout   # shown in the UI", '        name: "Build"'}, removed)
      assert.are.same({'  name: "on"   # shown in the UI', '        name: "Compile"'}, added)
    end)

    it("adds a step with the indentation of its siblings", function()
      local out = yaml.edit(doc, function(d)
        local s = steps(d)
        s[#s + 1] = {step = yaml.mapping({type = "Run", name = "vet", spec = {command = "go vet ./...\n"}},
                                         {"type", "name", "spec"})}
      end)
      local removed, added = line_diff(doc, out)
      assert.are.same({}, removed)
      assert.are.same({
        "              - step:",
        "                  type: Run",
        "                  name: vet",
        "                  spec:",
        "                    command: |",
        "                      go vet ./...",
      }, added)
      assert.are.equal("vet", steps(yaml.decode(out))[3].step.name)
    end)

    it("adds a step at the front, above the first one's comment", function()
      local out = yaml.edit(doc, function(d) table.insert(steps(d), 1, {step = {name = "first"}}) end)
      local removed, added = line_diff(doc, out)
      assert.are.same({}, removed)
      assert.are.equal(2, #added)
      assert.matches("            steps:\n              %- step:\n                  name: first\n"
        .. "              # unit tests first\n              %- step:\n", out)
      assert.are.equal("first", steps(yaml.decode(out))[1].step.name)
    end)

    it("deletes a key with its lines, and a step with its lines", function()
      local out = yaml.edit(doc, function(d) d.pipeline.tags = nil end)
      local removed, added = line_diff(doc, out)
      assert.are.same({"  tags: {}"}, removed)
      assert.are.same({}, added)
      out = yaml.edit(doc, function(d) table.remove(steps(d), 2) end)
      removed, added = line_diff(doc, out)
      assert.are.same({
        "              - step:",
        "                  type: Run",
        "                  name: lint",
        "                  spec:",
        "                    image: golang:1.21",
      }, removed)
      assert.are.same({}, added)
    end)

    it("deletes the first key of a sequence item, keeping the '- '", function()
      local out = yaml.edit(doc, function(d) d.pipeline.variables[1].name = nil end)
      local removed, added = line_diff(doc, out)
      assert.are.same({"    - name: env", "      type: String"}, removed)
      assert.are.same({"    - type: String"}, added)
    end)

    it("adds a key after its neighbour in the mapping's order", function()
      local out = yaml.edit(doc, function(d) d.pipeline.description = "Builds checkout" end)
      local removed, added = line_diff(doc, out)
      assert.are.same({}, removed)
      assert.are.same({"  description: Builds checkout"}, added)
      assert.matches("value: <%+input>.allowedValues%(dev,prod%)\n  description: Builds checkout\n$", out)
    end)

    it("rewrites a literal block in place", function()
      local out = yaml.edit(doc, function(d) steps(d)[1].step.spec.command = "go test -race ./...\ngo vet ./...\n" end)
      local removed, added = line_diff(doc, out)
      assert.are.same({"                      go test ./..."}, removed)
      assert.are.same({"                      go test -race ./...", "                      go vet ./..."}, added)
    end)

    it("changes a value's type in place (scalar to block and back)", function()
      local out = yaml.edit(doc, function(d) d.pipeline.tags = {team = "payments"} end)
      local removed, added = line_diff(doc, out)
      assert.are.same({"  tags: {}"}, removed)
      assert.are.same({"  tags:", "    team: payments"}, added)
      out = yaml.edit(doc, function(d) d.pipeline.stages[1].stage.spec = "<+input>" end)
      assert.are.equal("<+input>", yaml.decode(out).pipeline.stages[1].stage.spec)
      assert.matches("# The checkout pipeline", out)
    end)

    it("edits inside flow collections", function()
      local s = "a: {x: 1, y: [1, 2]}  # flow\nb: [p, q]\n"
      assert.are.equal("a: {x: 2, y: [1, 2]}  # flow\nb: [p, q]\n",
        yaml.edit(s, function(d) d.a.x = 2 end))
      assert.are.equal("a: {x: 1, y: [1, 2]}  # flow\nb: [p, q, \"r, s\"]\n",
        yaml.edit(s, function(d) d.b[3] = "r, s" end))
    end)

    it("keeps and deletes null members as asked", function()
      local s = "a: ~   # nothing\nb: 1\n"
      assert.are.equal(s, yaml.edit(s, function(d) d.b = 1 end))
      assert.are.equal("b: 1\n", yaml.edit(s, function(d) d.a = nil end))
      assert.are.equal("a: 5   # nothing\nb: 1\n", yaml.edit(s, function(d) d.a = 5 end))
    end)

    it("replaces the whole document with fn's return value", function()
      local out = yaml.edit("# old\na: 1\n", function() return {b = 2} end)
      assert.are.same({b = 2}, yaml.decode(out))
      assert.are.equal("# old\nb: 2\n", out)
    end)

    it("edits each document of a stream", function()
      local s = "# one\nkind: A\n---\n# two\nkind: B\n"
      local out = yaml.edit(s, function(d, i) if i == 2 then d.kind = "C" end end)
      assert.are.equal("# one\nkind: A\n---\n# two\nkind: C\n", out)
    end)

    it("keeps an alias's meaning when its anchor changes", function()
      local s = "base: &b\n  image: node:18\njob:\n  <<: *b\n  script: test\nother: *b\n"
      local out = yaml.edit(s, function(d) d.base.image = "node:20" end)
      local v = yaml.decode(out)
      assert.are.equal("node:20", v.base.image)
      assert.are.equal("node:18", v.job.image)
      assert.are.equal("node:18", v.other.image)
      out = yaml.edit(s, function(d) d.job.image = "node:21" end)
      local removed, added = line_diff(s, out)
      assert.are.same({}, removed)
      assert.are.same({"  image: node:21"}, added)
      v = yaml.decode(out)
      assert.are.equal("node:21", v.job.image)
      assert.are.equal("node:18", v.base.image)
      assert.matches("<<: %*b", out)
    end)

    it("refuses a document fn made unencodable, naming the path", function()
      local e = failure(yaml.edit, "a: 1\n", function(d) d.a = {f = print} end)
      assert.are.equal("$.a.f", e.path)
    end)

    it("adds to an empty text", function()
      assert.are.equal("a: 1\n", yaml.edit("", function() return {a = 1} end))
      assert.are.equal("# c\na: 1\n", yaml.edit("# c", function() return {a = 1} end))
    end)

    it("splices random changes into every corpus document, never rewriting one whole", function()
      for seed = 1, 12 do
        math.randomseed(seed)
        for _, name in ipairs(corpus_files()) do
          local s = read(CORPUS .. name)
          local want
          local out = yaml.edit(s, function(d)
            if type(d) ~= "table" then return end
            local function walk(t)
              local arr = getmetatable(t) == ARRAY_MT
              local keys = arr and {} or yaml.keys(t)
              if arr then for i = 1, #t do keys[i] = i end end
              for _, k in ipairs(keys) do
                local v, r = t[k], math.random(12)
                if type(v) == "table" and r > 3 then walk(v)
                elseif r == 1 then t[k] = "changed " .. seed
                elseif r == 2 and not arr then t[k] = nil
                elseif r == 3 and not arr then t[k .. "_new"] = {x = 1, y = {"a", "b"}}
                end
              end
              if arr and math.random(4) == 1 then table.insert(t, math.random(#t + 1), {added = seed}) end
              if arr and #t > 1 and math.random(4) == 1 then table.remove(t, math.random(#t)) end
            end
            walk(d)
            want = want or d
          end, {rewrite = false})
          local docs = yaml.decode_all(out)
          if want then assert.is_true(#docs >= 1) end
        end
      end
    end)

    it("validates the documents it writes back against what fn made", function()
      local s = "a: &x [1, 2]\nb: *x\n"
      local out = yaml.edit(s, function(d) d.a[1] = 9 end, {rewrite = false})
      assert.are.same({a = {9, 2}, b = {1, 2}}, yaml.decode(out))
    end)
  end)

  describe("errors", function()
    local cases = {
      {"bad indentation", "a:\n  b: 1\n c: 2\n"},
      {"a tab as indentation", "a:\n\tb: 1\n"},
      {"an unterminated double quote", 'a: "open\nb: 1\n'},
      {"an unterminated single quote", "a: 'open\n"},
      {"an unclosed flow sequence", "a: [1, 2\n"},
      {"a mapping value in a plain scalar", "a: b: c\n"},
      {"invalid UTF-8", "a: \xff\xfe\n"},
      {"a truncated UTF-8 sequence", "a: \xc3"},
      {"a NUL byte", "a: b\0c\n"},
      {"a duplicate key", "a: 1\nb: 2\na: 3\n"},
      {"an unknown alias", "a: *nope\n"},
      {"a recursive alias", "a: &x [*x]\n"},
      {"a complex key", "? [a, b]\n: c\n"},
      {"a bad tag", "a: !!int abc\n"},
      {"UTF-16", "\xff\xfea\0:\0"},
    }
    for _, c in ipairs(cases) do
      it("reports " .. c[1] .. " in one line with line and column", function()
        local e = failure(yaml.decode, c[2])
        assert.matches("^yaml: .* at line %d+ column %d+", e.message)
        assert.is_number(e.line)
        assert.is_number(e.column)
        failure(yaml.decode_all, c[2])
        failure(yaml.edit, c[2], function() end)
      end)
    end

    it("points at the right place", function()
      local e = failure(yaml.decode, "a: 1\nb: [1, 2\nc: 3\n")
      assert.is_true(e.line >= 2)
      e = failure(yaml.decode, "a: 1\nb: 2\na: 3\n")
      assert.are.equal(3, e.line)
      e = failure(yaml.decode, "a: 1\né: \"\\q\"\n")   -- columns count characters
      assert.are.equal(2, e.line)
      assert.are.equal(5, e.column)
      assert.are.equal(11, e.offset)   -- bytes
    end)

    it("refuses a billion-laughs document instead of expanding it", function()
      local lines = {"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"}
      local prev = "a"
      for i = 2, 9 do
        local name = string.char(96 + i)
        lines[#lines + 1] = ("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]"):format(
          name, name, prev, prev, prev, prev, prev, prev, prev, prev, prev)
        prev = name
      end
      local e = failure(yaml.decode, table.concat(lines, "\n"))
      assert.matches("aliases expand too much", e.message)
    end)

    it("refuses 100k-deep nesting, flow and block", function()
      local e = failure(yaml.decode, string.rep("[", 100000) .. string.rep("]", 100000))
      assert.matches("nesting deeper than 1000", e.message)
      failure(yaml.decode, string.rep("- ", 100000) .. "x\n")
      failure(yaml.decode, string.rep("a:\n ", 3000) .. "x\n")
      failure(yaml.decode, string.rep("{a: ", 5000) .. "1" .. string.rep("}", 5000))
      assert.are.equal(1, #yaml.decode("[[1]]", {max_depth = 2})[1])
      failure(yaml.decode, "[[1]]", {max_depth = 1})
    end)

    it("survives random bytes and truncations of the corpus", function()
      math.randomseed(3)
      local s = read(CORPUS .. "harness_pipeline_ci.yaml")
      for _ = 1, 300 do
        local cut = s:sub(1, math.random(#s))
        local pos = math.random(#cut)
        local junk = string.char(math.random(0, 255))
        local t = cut:sub(1, pos - 1) .. junk .. cut:sub(pos + 1)
        local ok, e = pcall(yaml.decode_all, t)
        if not ok then
          assert.are.equal("yaml", e.kind, tostring(e))
          assert.is_nil(tostring(e):find("\n"))
        end
      end
    end)
  end)
end)
