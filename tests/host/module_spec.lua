-- The harness global: preloaded, lazy, its errors and printing.
local h = require "tests.support.helper"

describe("the harness module", function()
  it("is a global and the same table as require 'harness'", function()
    local out = h.run([[-e 'print(type(harness), require("harness") == harness)']])
    assert.are.equal("table\ttrue\n", out)
  end)

  it("loads no Lua library and no libcurl at start-up", function()
    local out, err = h.run([[-e '
      local libs = {}
      for name in pairs(package.loaded) do
        if name:match("^harness%.") then libs[#libs + 1] = name end
      end
      local maps = io.open("/proc/self/maps"):read("a")
      print(#libs, maps:find("libcurl", 1, true) ~= nil)']])
    assert.are.equal("", err)
    assert.are.equal("0\tfalse\n", out)
  end)

  it("makes harness.json on first use", function()
    local out = h.run([[-e 'print(type(harness.json), type(harness.json.encode), rawget(harness, "json") ~= nil)']])
    assert.are.equal("table\tfunction\ttrue\n", out)
  end)

  it("gives nil for unknown names without loading anything strange", function()
    local out, err = h.run([[-e 'print(harness.no_such_thing, harness["not a name"], harness[1])']])
    assert.are.equal("", err)
    assert.are.equal("nil\tnil\tnil\n", out)
  end)

  it("loads a sub-library from lua/harness/<name>.lua on first access", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/harness"))
    local f = assert(io.open(dir .. "/harness/greeting.lua", "w"))
    f:write('return {text = "hi from a sub-library"}\n')
    f:close()
    local out, err = h.run([[-e 'print(harness.greeting.text, package.loaded["harness.greeting"] == harness.greeting)']],
      nil, "HLUA_PATH=" .. h.q(dir .. "/?.lua"))
    os.execute("rm -rf " .. dir)
    assert.are.equal("", err)
    assert.are.equal("hi from a sub-library\ttrue\n", out)
  end)
end)

describe("harness.Error", function()
  it("prints as one line with method, path, status, code, message and correlation id", function()
    local out = h.run([[-e '
      local e = harness._error{kind = "http", method = "GET", path = "/ng/api/projects/x",
        status = 404, code = "RESOURCE_NOT_FOUND", message = "Project x\nnot found",
        correlation_id = "1b2c3d4e-0000"}
      print(tostring(e))']])
    assert.are.equal("GET /ng/api/projects/x: 404 RESOURCE_NOT_FOUND: Project x not found (correlationId 1b2c3d4e-0000)\n", out)
  end)

  it("is recognised by is_error, and look-alikes are not", function()
    local out = h.run([[-e '
      local e = harness._error{kind = "json", message = "bad"}
      local fake = setmetatable({kind = "json"}, {__tostring = function() return "x" end})
      print(harness.is_error(e), harness.is_error(fake), harness.is_error("s"), harness.is_error(nil), getmetatable(e))']])
    assert.are.equal("true\tfalse\tfalse\tfalse\tharness.Error\n", out)
  end)

  it("ends a script with its one line on stderr and exit code 1 when uncaught", function()
    local out, err, code = h.run([[-e 'error(harness._error{kind = "http", method = "POST", path = "/x", status = 500, message = "boom"})']])
    assert.are.equal("", out)
    assert.are.equal("hlua: POST /x: 500: boom\n", err)
    assert.are.equal(1, code)
  end)
end)

describe("harness.print", function()
  it("prints like -p: strings raw, the rest as JSON, one per line", function()
    local out = h.run([[-e 'harness.print("a", 1, {x = {true}}, harness.json.null)']])
    assert.are.equal('a\n1\n{"x":[true]}\nnull\n', out)
  end)
end)

describe("harness._sleep and harness._clock", function()
  it("sleep for the time asked on a monotonic clock", function()
    local out = h.run([[-e 'local t = harness._clock(); print(harness._sleep(0.05)); local d = harness._clock() - t; print(d >= 0.05 and d < 1)']])
    assert.are.equal("true\ntrue\n", out)
  end)

  it("a sleep ends at once on Ctrl-C and the script exits 130", function()
    local out, err, code = h.interrupt(h.hlua .. [[ -e 'io.stderr:write("sleeping\n") harness._sleep(20)']],
      "sleeping", 0.1)
    assert.are.equal("", out)
    assert.matches("interrupted", err)
    assert.are.equal(130, code)
  end)
end)
