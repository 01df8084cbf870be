-- The reference from the command line and the REPL: hlua --doc NAME,
-- harness.doc, and the printers showing a module as its function list.
-- All of it read from the same comments LuaLS reads.
local h = require "tests.support.helper"

local function doc(name)
  return h.run("--doc " .. h.q(name))
end

describe("hlua --doc", function()
  it("shows a harness.api operation: method, path, parameters, body", function()
    local out, err, code = doc("harness.api.Token.ListAggregatedTokens")
    assert.equal(0, code, err)
    assert.matches("^harness%.api%.Token%.ListAggregatedTokens", out)
    assert.matches("GET /ng/api/token/aggregate", out, 1, true)
    assert.matches("apiKeyType%s+string%s+required", out)
    assert.matches("pageIndex%s+integer%s+optional", out)
    assert.matches("accountIdentifier%s+string%s+required, from the configuration", out)
    assert.matches("body: none", out, 1, true)
    assert.matches("paging: ng%-style", out)
  end)

  it("lists a tag's operations, and the tags", function()
    local out, _, code = doc("harness.api.Token")
    assert.equal(0, code)
    assert.matches("RotateToken%s+POST /ng/api/token/rotate/{identifier}", out)
    out = doc("harness.api")
    assert.matches("Token", out)
    assert.matches("Pipelines", out)
  end)

  it("shows a library function with its options and what it returns", function()
    local out, err, code = doc("harness.pipelines.run")
    assert.equal(0, code, err)
    assert.matches("^harness%.pipelines%.run%(id, opts%)", out)
    assert.matches("inputs", out)
    assert.matches("module", out)
    assert.matches("returns:", out)
    out = doc("harness.pipelines.wait")
    assert.matches("interval%?: number", out)
  end)

  it("lists a module's functions, and harness's names", function()
    local out, _, code = doc("harness.pipelines")
    assert.equal(0, code)
    for _, fn in ipairs({"list", "get", "run", "wait", "executions", "abort"}) do
      assert.matches("\n  " .. fn .. "%(", out)
    end
    out = doc("harness")
    for _, name in ipairs({"pipelines", "paginate", "map", "api", "json", "doc"}) do
      assert.matches("\n  " .. name .. " ", out)
    end
  end)

  it("has a reference for every function of every public module", function()
    local out, err, code = h.run([[-e '
      require "harness.namespace"
      local missing = {}
      for name, where in pairs(getmetatable(harness).__names) do
        local v = harness[name]
        local d = require "harness.doc"
        if not d.text("harness." .. name) then missing[#missing + 1] = name end
        if type(where) == "string" and type(v) == "table" and name ~= "api" then
          for k, f in pairs(v) do
            if type(f) == "function" and type(k) == "string" and not d.text("harness." .. name .. "." .. k) then
              missing[#missing + 1] = name .. "." .. k
            end
          end
        end
      end
      table.sort(missing)
      print(table.concat(missing, " "))']])
    assert.equal(0, code, err)
    assert.equal("\n", out)
  end)

  it("says so for a name it does not know, and exits 1", function()
    local out, err, code = doc("harness.nosuch")
    assert.equal("", out)
    assert.matches("no reference for harness.nosuch", err)
    assert.equal(1, code)
  end)
end)

describe("the printers and a module", function()
  it("-p shows a module as its function list", function()
    local out, err, code = h.run("-p harness.projects")
    assert.equal(0, code, err)
    assert.matches("^harness%.projects\n", out)
    assert.matches("list%(opts%)", out)
  end)

  it("harness.doc takes a name or the value itself", function()
    local out, err, code = h.run("-e " .. h.q('harness.doc(harness.tokens.rotate) harness.doc("harness.fmt.date")'))
    assert.equal(0, code, err)
    assert.matches("^harness%.tokens%.rotate%(id, opts%)", out)
    assert.matches("harness%.fmt%.date%(ms%)", out)
  end)

  it("the REPL shows a module as its function list", function()
    local out = h.run("-i", "harness.users\n")
    assert.matches("harness%.users\n", out)
    assert.matches("find%(email%)", out)
  end)
end)
