-- tests/unit/json_conformance_spec.lua: harness.json.decode against the corpus
-- in tests/support/json/corpus.lua (valid, invalid and implementation-defined).

local json = harness.json

local cases = dofile("tests/support/json/corpus.lua")

local function show(s)
  s = s:gsub("[%c\128-\255]", function(c) return string.format("\\%d", c:byte()) end)
  return #s > 60 and s:sub(1, 60) .. "..." or s
end

local function accepts(input, expected)
  local ok, v = pcall(json.decode, input)
  assert(ok, "rejected: " .. tostring(v))
  assert.are.equal(expected, json.encode(v, { sort_keys = true }))
end

local function rejects(input, fragment)
  local ok, e = pcall(json.decode, input)
  assert.is_false(ok, "accepted")
  assert.are.equal("table", type(e))
  assert.are.equal("json", e.kind)
  assert.truthy(e.message:find(fragment, 1, true),
    "message '" .. e.message .. "' lacks '" .. fragment .. "'")
  assert.truthy(e.message:find(" at line %d+ column %d+ near '"), e.message)
end

describe("harness.json conformance", function()
  for n, case in ipairs(cases) do
    local kind, input, expected, note = case[1], case[2], case[3], case[4]
    local name = string.format("%s%03d %s%s", kind, n, show(input), note and " (" .. note .. ")" or "")
    it(name, function()
      if kind == "n" then rejects(input, expected)
      elseif type(expected) == "table" then rejects(input, expected.error)
      else accepts(input, expected) end
    end)
  end

  it("has well over 200 cases", function()
    assert.is_true(#cases > 300)
  end)
end)
