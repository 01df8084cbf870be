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

  it("declares its names: internals are not part of it", function()
    local out, err = h.run([[-e 'print(harness.core, harness._util, harness.sched, harness._clock,
      harness._error, harness._http_client, type(harness.pipelines), type(harness.paginate))']])
    assert.are.equal("", err)
    assert.are.equal("nil\tnil\tnil\tnil\tnil\tnil\ttable\tfunction\n", out)
  end)

  it("takes harness.* modules only from hlua's library, never from a script's folder", function()
    local dir = h.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir .. "/harness"))
    local function write(name, text)
      local f = assert(io.open(dir .. "/" .. name, "w"))
      f:write(text)
      f:close()
    end
    write("harness/orgs.lua", 'return {list = function() return "shadowed" end}\n')
    write("harness/greeting.lua", 'return {text = "hi"}\n')
    write("script.lua", [[
      print(harness.orgs.list == require("harness.orgs").list, harness.orgs.list ~= nil)
      print(harness.greeting)
      print(pcall(require, "harness.greeting"))
    ]])
    local out, err = h.run(h.q(dir .. "/script.lua"), nil, "HLUA_PATH=" .. h.q(dir .. "/?.lua"))
    os.execute("rm -rf " .. dir)
    assert.are.equal("", err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal("true\ttrue", lines[1])
    assert.are.equal("nil", lines[2])
    assert.matches("^false\tmodule 'harness.greeting' not found: harness.%* modules come only from hlua's library", lines[3])
    assert.not_matches("shadowed", out)
  end)
end)

describe("the HTTP module", function()
  it("needs nothing of the executable and loads in stock lua5.4", function()
    -- a sanitizer build's module needs the sanitizer's runtime, which
    -- stock lua5.4 has not got
    if os.getenv("HLUA_SANITIZER_REPORTS") then return pending("a sanitizer build") end
    local dir = h.bin:match("^(.*)/[^/]*$") or "."
    local out, err, code = h.sh("lua5.4 -e " .. h.q("package.cpath = '" .. dir .. "/?.so;' .. package.cpath " ..
      "local m = require 'hlua_http' print(type(m.client), m.parse_head('HTTP/1.1 204 x\\r\\nA: b\\r\\n'))"))
    assert.equal(0, code, err)
    assert.matches("^function\t204\ttable", out)
    local undefined = h.sh("nm -D --undefined-only " .. h.q(dir .. "/hlua_http.so") ..
      " | grep -v -e ' curl_' -e ' lua_' -e ' luaL_' -e GLIBC -e ' w '")
    assert.equal("", undefined)
  end)
end)

describe("harness.Error", function()
  it("prints as one line with method, path, status, code, message and correlation id", function()
    local out = h.run([[-e '
      local e = require("hlua.host").error{kind = "http", method = "GET", path = "/ng/api/projects/x",
        status = 404, code = "RESOURCE_NOT_FOUND", message = "Project x\nnot found",
        correlation_id = "1b2c3d4e-0000"}
      print(tostring(e))']])
    assert.are.equal("GET /ng/api/projects/x: 404 RESOURCE_NOT_FOUND: Project x not found (correlationId 1b2c3d4e-0000)\n", out)
  end)

  it("is recognised by is_error, and look-alikes are not", function()
    local out = h.run([[-e '
      local e = require("hlua.host").error{kind = "json", message = "bad"}
      local fake = setmetatable({kind = "json"}, {__tostring = function() return "x" end})
      print(harness.is_error(e), harness.is_error(fake), harness.is_error("s"), harness.is_error(nil), getmetatable(e))']])
    assert.are.equal("true\tfalse\tfalse\tfalse\tharness.Error\n", out)
  end)

  it("ends a script with its one line on stderr and exit code 1 when uncaught", function()
    local out, err, code = h.run([[-e 'error(require("hlua.host").error{kind = "http", method = "POST", path = "/x", status = 500, message = "boom"})']])
    assert.are.equal("", out)
    assert.are.equal(h.bin .. ": POST /x: 500: boom\n", err)
    assert.are.equal(1, code)
  end)
end)

describe("harness.print", function()
  it("prints like -p: strings raw, the rest as JSON, one per line", function()
    local out = h.run([[-e 'harness.print("a", 1, {x = {true}}, harness.json.null)']])
    assert.are.equal('a\n1\n{"x":[true]}\nnull\n', out)
  end)
end)

describe("the host's sleep and clock", function()
  it("sleep for the time asked on a monotonic clock", function()
    local out = h.run([[-e 'local t = require("hlua.host").clock(); print(require("hlua.host").sleep(0.05)); local d = require("hlua.host").clock() - t; print(d >= 0.05 and d < 1)']])
    assert.are.equal("true\ntrue\n", out)
  end)

  it("a sleep ends at once on Ctrl-C and the script exits 130", function()
    local out, err, code = h.interrupt(h.hlua .. [[ -e 'io.stderr:write("sleeping\n") require("hlua.host").sleep(20)']],
      "sleeping", 0.1)
    assert.are.equal("", out)
    assert.matches("interrupted", err)
    assert.are.equal(130, code)
  end)
end)
