-- harness.yaml through the real build/hlua binary: the module loads on
-- first use (hlua_yaml.so found through package.cpath), each feature works
-- from a script, and a malformed document ends the script with one line
-- and exit code 1.
local h = require "tests.support.helper"

local CORPUS = "tests/support/yaml/corpus/"

-- Runs a chunk with -e; returns stdout, stderr, exit code.
local function run(chunk, stdin)
  return h.run("-e " .. h.q(chunk), stdin)
end

describe("harness.yaml from the hlua binary", function()
  it("decodes a pipeline read from stdin, keeping key order", function()
    local out, err, code = run([[
local p = harness.yaml.decode(io.read("a")).pipeline
print(table.concat(harness.yaml.keys(p), ","))
print(p.stages[1].stage.spec.execution.steps[1].step.spec.envVariables.CGO_ENABLED)
print(p.variables[1].value)]], io.open(CORPUS .. "harness_pipeline_ci.yaml"):read("a"))
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.are.equal("name,identifier,projectIdentifier,orgIdentifier,tags,properties,stages,variables\n"
      .. "0\n<+input>.default(yes).allowedValues(yes,no)\n", out)
  end)

  it("decodes a multi-document stream that harness.json writes back", function()
    local out, _, code = h.run("-p " .. h.q('harness.json.encode(harness.yaml.decode_all("a: 1\\n---\\n- on\\n- ~\\n"))'))
    assert.are.equal(0, code)
    assert.are.equal('[{"a":1},["on",null]]\n', out)
  end)

  it("encodes runtime inputs in Harness's style", function()
    local out, err, code = run([[
local y = harness.yaml
io.write(y.encode(y.mapping({pipeline = y.mapping({identifier = "deploy",
  variables = {{name = "tag", type = "String", value = "1.0"}}}, {"identifier", "variables"})})))]])
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.are.equal([[
pipeline:
  identifier: deploy
  variables:
    - name: tag
      type: String
      value: "1.0"
]], out)
  end)

  it("edits a file in place, changing one line", function()
    local src = io.open(CORPUS .. "harness_pipeline_ci.yaml"):read("a")
    local path = h.tempfile(src, ".yaml")
    local _, err, code = run(([[
local f = assert(io.open(%q))
local s = f:read("a")
f:close()
local out = harness.yaml.edit(s, function(doc)
  doc.pipeline.stages[1].stage.spec.execution.steps[1].step.spec.image = "golang:1.22"
end)
f = assert(io.open(%q, "w"))
f:write(out)
f:close()]]):format(path, path))
    assert.are.equal("", err)
    assert.are.equal(0, code)
    local got = io.open(path):read("a")
    os.remove(path)
    local want = src:gsub("image: golang:1%.21   # pinned", "image: golang:1.22   # pinned")
    assert.are.equal(want, got)
  end)

  it("ends a script on malformed YAML with one line and exit 1", function()
    local out, err, code = run('harness.yaml.decode("a:\\n\\tb: 1\\n")')
    assert.are.equal("", out)
    assert.are.equal(1, code)
    assert.matches("^" .. h.prog .. ": yaml: .* at line 2 column 1", err)
    local _, nl = err:gsub("\n", "")
    assert.is_true(nl <= 4)   -- the message, then at most a short traceback
  end)

  it("reports errors as harness.Error of kind yaml", function()
    local out, _, code = run([[
local ok, e = pcall(harness.yaml.decode, "a: [1, 2\n")
print(harness.is_error(e), e.kind, e.line, e.column ~= nil)
ok, e = pcall(harness.yaml.encode, {a = {b = print}})
print(harness.is_error(e), e.kind, e.path)]])
    assert.are.equal(0, code)
    assert.are.equal("true\tyaml\t2\ttrue\ntrue\tyaml\t$.a.b\n", out)
  end)

  it("refuses an alias bomb quickly", function()
    local chunk = [[
local lines = {"a: &a [x, x, x, x, x, x, x, x, x, x]"}
local prev = "a"
for i = 2, 12 do
  local n = "n" .. i
  lines[#lines + 1] = ("%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]"):format(
    n, n, prev, prev, prev, prev, prev, prev, prev, prev, prev, prev)
  prev = n
end
print(pcall(harness.yaml.decode, table.concat(lines, "\n")))]]
    local out, _, code = run(chunk)
    assert.are.equal(0, code)
    assert.matches("^false\tyaml: aliases expand too much", out)
  end)

  it("loads libyaml only when harness.yaml is used", function()
    local out, _, code = run([[
local f = io.open("/proc/self/maps")
local before = f:read("a"):find("libyaml", 1, true) ~= nil
f:close()
local _ = harness.yaml.decode("a: 1")
f = io.open("/proc/self/maps")
local after = f:read("a"):find("libyaml", 1, true) ~= nil
f:close()
print(before, after)]])
    assert.are.equal(0, code)
    assert.are.equal("false\ttrue\n", out)
  end)
end)
