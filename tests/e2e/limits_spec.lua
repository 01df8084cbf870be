-- Limits: a 1 GiB response is refused by the size cap
-- without being held in memory, 10,000 tasks run at once, and JSON nested
-- 100,000 deep is an error, not a crash. Bodies come from tests/support/bigbody.py.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending
-- RSS means nothing under valgrind (its own) or ASan (shadow, quarantine)
local measure_rss = not (h.wrapped or os.getenv("HLUA_SANITIZER_REPORTS"))

-- Prints the peak RSS of the script in MiB as the last line.
local PEAK = [[
  local f = io.open("/proc/self/status") local s = f:read("a") f:close()
  print(tonumber(s:match("VmHWM:%s*(%d+)")) // 1024)]]

describe_sandbox("limits", function()
  local pid, port
  setup(function()
    pid, port = h.server("python3 tests/support/bigbody.py")
  end)
  teardown(function()
    if pid then os.execute("kill " .. pid) end
  end)

  local function url(path) return ("http://127.0.0.1:%s%s"):format(port, path) end

  it("refuses a 1 GiB body with a Content-Length at once, allocating nothing", function()
    local out, err, code = t.run(([[
      local t0 = require("hlua.host").clock()
      local r, e = harness.request("GET", %q)
      print(r, e.kind, e.message, require("hlua.host").clock() - t0 < 5)
      ]]):format(url("/length")) .. PEAK)
    assert.equal(0, code, err)
    local kind, msg, fast, mib = out:match("^nil\t(%S+)\t([^\t]+)\t(%S+)\n(%d+)\n$")
    assert.equal("too_large", kind)
    assert.equal("response body larger than 268435456 bytes", msg)
    assert.equal("true", fast)
    if measure_rss then assert.is_true(tonumber(mib) < 48, mib .. " MiB") end
  end)

  it("stops a 1 GiB chunked body at the cap, holding no more than the cap", function()
    local cap = h.wrapped and 16 * 1024 * 1024 or 256 * 1024 * 1024
    local out, err, code = t.run(([[
      local r, e = harness.request("GET", %q)
      print(r, e.kind, e.message)
      ]]):format(url("/chunked")) .. PEAK, {HARNESS_MAX_SIZE = tostring(cap)})
    assert.equal(0, code, err)
    local kind, msg, mib = out:match("^nil\t(%S+)\t([^\n]+)\n(%d+)\n$")
    assert.equal("too_large", kind)
    assert.equal(("response body larger than %d bytes"):format(cap), msg)
    if measure_rss then assert.is_true(tonumber(mib) < 256 + 48, mib .. " MiB") end
  end)

  it("runs 10,000 tasks at once, each with a request", function()
    local out, err, code = t.run([[
      local tasks = {}
      for i = 1, 10000 do
        tasks[i] = harness.spawn(function() return harness.request("GET", "/_sandbox/status/204").status end)
      end
      local n = 0
      for i = 1, 10000 do if tasks[i]:wait() == 204 then n = n + 1 end end
      print(n)
      ]] .. PEAK, {HARNESS_MAX_IN_FLIGHT = "64"})
    assert.equal(0, code, err)
    local n, mib = out:match("^(%d+)\n(%d+)\n$")
    assert.equal("10000", n)
    if measure_rss then assert.is_true(tonumber(mib) < 128, mib .. " MiB") end
  end)

  it("gives a json error for JSON nested 100,000 deep: decoded, fetched, encoded, printed", function()
    local out, err, code = t.run([[
      local s = ("["):rep(100000) .. ("]"):rep(100000)
      local ok, e = pcall(harness.json.decode, s, {max_depth = 10000})
      print(ok, e.kind)
      local deep = {} local cur = deep
      for _ = 1, 100000 do cur[1] = {} cur = cur[1] end
      ok, e = pcall(harness.json.encode, deep)
      print(ok, e.kind)
      ok, e = pcall(harness.print, deep)
      print(ok, e.kind)
      harness.get("]] .. url("/deep") .. [[")]])
    assert.equal(1, code)
    assert.equal("false\tjson\nfalse\tjson\nfalse\tjson\n", out)
    assert.matches("^" .. h.prog .. ": GET http://127%.0%.0%.1:%d+/deep: 200: response is not valid JSON: json: nesting deeper than 1000", err)
    assert.equal(1, select(2, err:gsub("\n", "")))
  end)
end)
