-- Signals and pipes. Ctrl-C (exit 130 and the "interrupted" line) during a
-- transfer, a sleep and a map is in errors_spec, module_spec and
-- sched_spec/concurrency_spec; here: that it leaves no files behind, and
-- that a reader closing the pipe (`hlua -p ... | head -1`) ends hlua
-- quietly, killed by SIGPIPE as cat and grep are (exit 141 in the shell),
-- even when the parent left SIGPIPE ignored.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

-- The names in a directory, as a set (through popen: h.sh would add its
-- own temporary files to what it lists).
local function listing(dir)
  local set = {}
  local p = assert(io.popen("ls -A " .. h.q(dir)))
  for name in p:lines() do set[name] = true end
  p:close()
  return set
end

describe_sandbox("Ctrl-C", function()
  before_each(function() t.reset() end)
  after_each(function() t.reset() end)

  it("during a transfer, a sleep or a map leaves no file in TMPDIR, /tmp or HOME", function()
    t.fault({fault = "hang", count = 0, path = "/_sandbox/echo"})
    local home = t.home()
    local tmpdir = home .. "/tmp"
    assert(os.execute("mkdir -p " .. h.q(tmpdir)))
    local chunks = {
      'io.stderr:write("go\\n") harness.get("/_sandbox/echo")',
      'io.stderr:write("go\\n") harness.sleep(30)',
      [[io.stderr:write("go\n")
        local l = {} for i = 1, 40 do l[i] = i end
        harness.map(l, function(i) if i % 2 == 0 then harness.sleep(30) end
          return harness.get("/_sandbox/echo") end)]],
    }
    for _, chunk in ipairs(chunks) do
      local cmd = ("%s %s -e %s"):format(t.env({HOME = home, TMPDIR = tmpdir}), h.hlua, h.q(chunk))
      local before = listing("/tmp") -- after t.env, which makes a directory there
      local out, err, code = h.interrupt(cmd, "go", 0.3)
      assert.equal(130, code, err)
      assert.equal("", out)
      assert.matches("interrupted", err)
      for name in pairs(listing("/tmp")) do
        assert.is_true(before[name] or false, "left /tmp/" .. name)
      end
      assert.equal("", h.sh("find " .. h.q(home) .. " -mindepth 1 ! -path " .. h.q(tmpdir)))
    end
    h.sh("rm -rf " .. h.q(home))
  end)
end)

describe("a closed pipe", function()
  -- Runs hlua's output into head -1 under bash; returns head's output,
  -- hlua's stderr and hlua's exit code.
  local function piped(args, env, ignore)
    local errf = h.tempfile("")
    local script = ("%s%s %s %s 2>%s | head -1; echo \"rc=${PIPESTATUS[0]}\""):format(
      ignore and "trap '' PIPE; " or "", env or "", h.hlua, args, errf)
    local out = h.sh("bash -c " .. h.q(script))
    local f = assert(io.open(errf, "rb"))
    local err = f:read("a")
    f:close()
    os.remove(errf)
    local first, rc = out:match("^(.-)\nrc=(%d+)\n$")
    return first, err, tonumber(rc)
  end

  it("ends -p quietly, killed by SIGPIPE", function()
    local first, err, rc = piped([[-p 'string.rep("line\n", 200000)']])
    assert.equal("line", first)
    assert.equal("", err)
    assert.equal(141, rc)
  end)

  it("ends a script quietly even when the parent ignores SIGPIPE", function()
    -- with SIGPIPE ignored, every write would fail and assert would report
    -- "Broken pipe"; hlua restores the default at start
    local first, err, rc = piped([[-e 'for i = 1, 1e6 do assert(io.write(i, "\n")) end']], nil, true)
    assert.equal("1", first)
    assert.equal("", err)
    assert.equal(141, rc)
  end)

  it("ends a script printing what it pages through", function()
    if not t.info then return pending("no sandbox") end
    local first, err, rc = piped([[-e 'for p in harness.paginate("/pipeline/api/pipelines/list", {method = "POST",
        json = {filterType = "PipelineSetup"}, query = {orgIdentifier = "default", projectIdentifier = "big"}})
      do print(p.identifier) end']], t.env())
    assert.equal("pipe_00000", first)
    assert.equal("", err)
    assert.equal(141, rc)
  end)
end)

describe("Ctrl-C", function()
  it("ends a script busy in Lua with the one line 'interrupted' and exit 130", function()
    local out, err, code = h.interrupt(h.hlua .. [[ -e 'io.stderr:write("go\n") while true do end']], "go", 0.2)
    assert.equal("", out)
    assert.equal("go\n" .. h.bin .. ": interrupted\n", err)
    assert.equal(130, code)
  end)

  it("at the REPL's prompt drops the line, or the statement being typed, and prompts again", function()
    local state = h.tmpname()
    os.remove(state)
    local s = 0.4 * h.slow
    -- typed with pauses: the prompt must be up before each key, and a
    -- Ctrl-C that came before it would reach hlua still starting
    local keys = ("sleep %g; printf 'x = 1 +'; sleep %g; printf '\\003'; sleep %g; " ..
      "printf 'print(\"after\", x)\\n'; sleep %g; printf 'for i = 1, 2 do\\n'; sleep %g; printf '\\003'; " ..
      "sleep %g; printf 'print(\"again\")\\n'; sleep %g; cat %s/hlua/history >&2; sleep %g"):format(
      3 * s, s, s, s, s, s, s, h.q(state), s)
    local out, err, code = h.sh(("{ %s; } | XDG_STATE_HOME=%s script -q -c %s /dev/null"):format(
      keys, h.q(state), h.q(h.hlua)))
    os.execute("rm -rf " .. h.q(state))
    assert.equal(0, code, err)
    assert.truthy(out:find("after\tnil", 1, true), out) -- x = 1 + was dropped
    assert.truthy(out:find("again", 1, true), out)
    -- each line went to the history file as it was entered
    assert.equal('print("after", x)\nprint("again")\n', err)
  end)
end)
