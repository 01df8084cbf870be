-- The command line: hlua must behave byte for byte like stock lua5.4 for
-- every option they share (with the program name swapped), plus its own.
local h = require "tests.support.helper"
local q = h.q

-- A clean environment for both interpreters: no LUA_INIT unless a case sets it.
local CLEAN = "env -u LUA_INIT -u LUA_INIT_5_4 -u LUA_PATH -u LUA_PATH_5_4 -u HLUA_PATH"

local function both(args, stdin, env)
  env = CLEAN .. " " .. (env or "")
  local lo, le, lc = h.sh(env .. " lua5.4 " .. args, stdin)
  local ho, he, hc = h.sh(env .. " " .. h.hlua .. " " .. args, stdin)
  -- both name themselves after argv[0] (in messages, and arg[-1])
  lo = lo:gsub("lua5%.4", "PROG")
  le = le:gsub("lua5%.4", "PROG")
  ho = ho:gsub(h.prog, "PROG")
  he = he:gsub(h.prog, "PROG")
  return {lo, le, lc}, {ho, he, hc}
end

local cases = {
  {"-e 'print(1+1)'"},
  {"-e 'error(\"x\")'"},
  {"-e 'error({})'"},
  {"-e 'error(nil)'"},
  {"-e 'x='"},
  {"-e"},
  {"-e -x"},
  {"-l"},
  {"-x"},
  {"--x"},
  {"-ix"},
  {"-Ex"},
  {"-v"},
  {"-v -e 'print(2)'"},
  {"-E -e 'print(3)'"},
  {"-W -e 'warn(\"hello\")'"},
  {"-e 'warn(\"quiet\")'"},
  {"-e 'warn(\"@on\") warn(\"a\", \"b\")'"},
  {"-l string -e 'print(type(string))'"},
  {"-l s=string -e 'print(s == string)'"},
  {"-lstring -e 'print(1)'"},
  {"-e 'print(...)' a b"},
  {"-e'print(5)'"},
  {"tests/support/cli/args.lua a b c"},
  {"-e 'x=1' tests/support/cli/args.lua a"},
  {"-- tests/support/cli/args.lua x"},
  {"- a b", "print(...) print(arg[0], arg[-1])"},
  {"-", "print('from stdin')"},
  {"-- -", "print('dash after --')"},
  {"", "print('piped')"},
  {"tests/support/cli/shebang.lua"},
  {"tests/support/cli/syntax.lua"},
  {"tests/support/cli/boom.lua"},
  {"tests/support/cli/exit3.lua"},
  {"tests/support/cli/tostring_err.lua"},
  {"tests/support/cli/nosuch.lua"},
  {"-e 'os.exit(false)'"},
  {"-e 'os.exit(true)'"},
  {"-e 'os.exit(7, true)'"},
  {"-e 'io.write(\"no newline\")'"},
  {"-e 'print(select(\"#\", ...))' -- x"},
  {"-e 'print(1)' -e 'print(2)' -l string"},
  {"-e 'print(x)'", nil, "LUA_INIT='x=10'"},
  {"-e 'print(x)'", nil, "LUA_INIT='x=10' LUA_INIT_5_4='x=54'"},
  {"-E -e 'print(x)'", nil, "LUA_INIT='x=10'"},
  {"-e 'print(1)'", nil, "LUA_INIT='@tests/support/cli/init.lua'"},
  {"-e 'print(1)'", nil, "LUA_INIT='error(\"in init\")'"},
  {"-i", "1+1\n=2*3\nprint('x')\nfor i=1,2 do\nprint(i)\nend\nlocal y = \nerror('e')\n"},
  {"-i tests/support/cli/args.lua q", "arg[1]\n"},
  {"-i -e 'z=9'", "z\nreturn 1, 'two', nil\n"},
  -- Debian's C modules load: the Lua API is exported from the binary
  {"-e 'print(require(\"lfs\")._VERSION)'"},
  {"-l lpeg -e 'print(lpeg.match(lpeg.C(lpeg.R(\"az\")^1), \"hello world\"))'"},
  {"-e 'print(require(\"cjson\").encode({1, 2}))'"},
  -- require's paths are lua's own: hlua finds its library with a searcher
  {"-e 'print(package.path)'"},
  {"-e 'print(package.cpath)'"},
  {"-e 'print(package.path, package.cpath)'", nil, "LUA_PATH='a;;b' LUA_CPATH=xuxu"},
  {"-e 'print(package.path)'", nil, "LUA_PATH_5_4=y LUA_PATH=x"},
  {"-E -e 'print(package.path)'", nil, "LUA_PATH=xxx"},
  -- the REPL prints through the global print, as lua's does
  {"-e 'print=nil' -i", "10\n"},
  {"-i", "x = setmetatable({}, {__tostring = function() return 'shown' end})\nx\n"},
  -- error objects with __tostring, and the program name in messages
  {"-e 'error(setmetatable({}, {__tostring = function() return \"obj\" end}))'"},
}

describe("hlua as lua5.4", function()
  for _, c in ipairs(cases) do
    local args, stdin, env = c[1], c[2], c[3]
    it(("matches lua5.4 for %s%s"):format(env and env .. " " or "", args == "" and "(stdin)" or args), function()
      local lua, hlua = both(args, stdin, env)
      assert.are.same(lua[1], hlua[1], "stdout")
      assert.are.same(lua[2], hlua[2], "stderr")
      assert.are.equal(lua[3], hlua[3], "exit code")
    end)
  end
end)

describe("hlua where it differs from lua5.4 on purpose", function()
  it("exits 1 when a script piped on stdin fails (lua5.4 exits 0)", function()
    local out, err, code = h.run("", "error('piped error')")
    assert.are.equal("", out)
    assert.matches("^" .. h.prog .. ": stdin:1: piped error\n", err)
    assert.are.equal(1, code)
  end)
end)

describe("hlua's own options", function()
  it("-p prints strings raw, numbers plainly, nil as null, tables as compact JSON", function()
    local out, err, code = h.run("-p '\"text\"' -p '1, 2.5, true, nil' -p '{a=1,b={1,2}}'")
    assert.are.equal("", err)
    assert.are.equal(0, code)
    assert.are.equal('text\n1\n2.5\ntrue\nnull\n{"a":1,"b":[1,2]}\n', out)
  end)

  it("-p mixes with -e in order", function()
    local out = h.run("-e 'x = 41' -p 'x + 1' -e 'x = 0' -p x")
    assert.are.equal("42\n0\n", out)
  end)

  it("-p reports errors like -e and exits 1", function()
    local out, err, code = h.run("-p 'nosuch.field'")
    assert.are.equal("", out)
    assert.matches("^" .. h.prog .. ": %(command line%):1: attempt to index a nil value %(global 'nosuch'%)", err)
    assert.are.equal(1, code)
  end)

  it("-p without an expression is a usage error", function()
    local _, err, code = h.run("-p")
    assert.matches("^" .. h.prog .. ": '%-p' needs argument\nusage: " .. h.prog, err)
    assert.are.equal(1, code)
  end)

  it("--help lists every option and the environment, and exits 0", function()
    local out, _, code = h.run("--help")
    assert.are.equal(0, code)
    for _, opt in ipairs {"-e stat", "-p expr", "-l mod", "--profile NAME", "--endpoint URL",
                          "--account ID", "--org ID", "--project ID", "--trace", "--version",
                          "HARNESS_API_KEY", "HARNESS_API_KEY_FILE", "HLUA_PATH", "LUA_INIT"} do
      assert.truthy(out:find(opt, 1, true), opt)
    end
  end)

  it("--version names hlua, Lua, libcurl and cJSON", function()
    local out, _, code = h.run("--version")
    assert.are.equal(0, code)
    assert.matches("^hlua %d+%.%d+%.%d+\nLua 5%.4%.%d+\nlibcurl %d+%.%d+%.%d+\ncJSON %d+%.%d+%.%d+\n$", out)
  end)

  it("stores the configuration options for the harness module", function()
    local out, err = h.run("--profile prod --endpoint=http://127.0.0.1:1 --account acc --org o " ..
      "--project p --trace -e 'local c = package.loaded[\"hlua.cli\"] " ..
      "print(c.profile, c.endpoint, c.account, c.org, c.project, c.trace)'")
    assert.are.equal("", err)
    assert.are.equal("prod\thttp://127.0.0.1:1\tacc\to\tp\ttrue\n", out)
  end)

  it("options before the script do not become script arguments", function()
    local out = h.run("--org o tests/support/cli/args.lua a")
    assert.are.equal("script\ta\ntests/support/cli/args.lua\to\t1\n", out)
  end)

  it("a value option without its value is a usage error", function()
    local _, err, code = h.run("--endpoint")
    assert.matches("^" .. h.prog .. ": '%-%-endpoint' needs argument\n", err)
    assert.are.equal(1, code)
  end)

  it("never takes the API key as an option", function()
    local _, err, code = h.run("--api-key x -e ''")
    assert.matches("^" .. h.prog .. ": unrecognized option '%-%-api%-key'", err)
    assert.are.equal(1, code)
  end)

  it("runs a #! script through env once installed on PATH", function()
    local out, err, code = h.sh("PATH=$(cd $(dirname " .. h.bin .. ") && pwd):$PATH tests/support/cli/shebang.lua")
    assert.are.equal("", err)
    assert.are.equal("shebang ok\n", out)
    assert.are.equal(0, code)
  end)
end)

describe("the REPL on a terminal", function()
  -- script(1) gives hlua a pseudo-terminal, as a person at a keyboard would.
  local function session(keys, state)
    local cmd = "XDG_STATE_HOME=" .. h.q(state) .. " script -q -c " .. h.q(h.hlua) .. " /dev/null"
    if not h.wrapped then return h.sh(cmd, keys) end
    -- under valgrind the REPL is up seconds later, and readline, setting up
    -- the terminal, drops what was typed before: hlua then waits forever
    local keyfile = h.tempfile(keys)
    local out, err, code = h.sh(("{ sleep 5; cat %s; sleep 1; } | %s"):format(h.q(keyfile), cmd))
    os.remove(keyfile)
    return out, err, code
  end

  it("edits lines and recalls them from the history of an earlier session", function()
    local state = h.tmpname()
    os.remove(state)
    session('print("first" .. 1)\n', state)
    local f = assert(io.open(state .. "/hlua/history"))
    assert.matches('print%("first" %.%. 1%)', f:read("a"))
    f:close()
    -- up arrow, then Enter: runs the line typed in the first session
    local out = session("\27[A\n", state)
    os.execute("rm -rf " .. h.q(state))
    assert.truthy(out:find("first1", 1, true))
  end)

  it("completes globals and fields with Tab", function()
    local state = h.tmpname()
    local out = session('string.up\t("tab")\nhar\t._VER\t\n', state)
    os.execute("rm -rf " .. h.q(state))
    assert.truthy(out:find("TAB", 1, true), out)
    assert.truthy(out:find("hlua %d+%.%d+"), out)
  end)

  it("completes the declared names of harness, and harness.api's tags and operations", function()
    local state = h.tmpname()
    local out = session('harness.pipel\t.FINI\t.Suspended\nharness.api.Toke\t.RotateT\t.path\n', state)
    os.execute("rm -rf " .. h.q(state))
    assert.truthy(out:find("harness.pipelines.FINISHED.Suspended", 1, true), out)
    assert.truthy(out:find("/ng/api/token/rotate/{identifier}", 1, true), out)
  end)

  it("prints tables as JSON", function()
    local state = h.tmpname()
    local out = session("{a = {1, 2}}\n", state)
    os.execute("rm -rf " .. h.q(state))
    assert.truthy(out:find('"a": [', 1, true), out)
  end)
end)
