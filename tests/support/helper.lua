-- Shared by the specs: run a command line and capture what it did, and find
-- the sandbox that tests/run started.
local M = {}

-- The binary, and the command that runs it: under make valgrind every hlua
-- a test starts runs inside $HLUA_WRAPPER.
M.bin = os.getenv("HLUA") or "build/hlua"
M.hlua = os.getenv("HLUA_WRAPPER") and (os.getenv("HLUA_WRAPPER") .. " " .. M.bin) or M.bin
-- A Lua pattern for the program name that starts hlua's error messages:
-- as in lua.c, argv[0] as invoked ("hlua" when run from PATH).
M.prog = M.bin:gsub("%p", "%%%0")

-- Under a wrapper (valgrind) hlua runs tens of times slower: time limits in
-- the specs stretch by M.slow, and its memory use measures the wrapper.
M.wrapped = os.getenv("HLUA_WRAPPER") ~= nil
M.slow = M.wrapped and 20 or 1

-- A new temporary file's name. Under tests/run it is in the run's scratch
-- directory (HLUA_TEST_TMP, removed at the end), so that the suite leaves
-- nothing in /tmp and a spec that checks /tmp sees only hlua's files.
local scratch, made = os.getenv("HLUA_TEST_TMP"), 0
local function own_pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  return pid
end
function M.tmpname()
  if not scratch then return os.tmpname() end
  made = made + 1
  local name = ("%s/%d-%d"):format(scratch, own_pid(), made)
  assert(io.open(name, "w")):close()
  return name
end
local tmpname = M.tmpname

-- Quotes a string for the shell.
function M.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- A new empty directory (in the scratch directory when tests/run gave one).
function M.tempdir()
  local cmd = scratch and ("mktemp -d -p " .. M.q(scratch)) or "mktemp -d"
  return (M.sh(cmd):gsub("%s+$", ""))
end

-- The contents of a file.
function M.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- Writes a file, making its directory first.
function M.write(path, content)
  M.sh("mkdir -p " .. M.q(path:match("^(.*)/")))
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
end

-- The contents of a file, which is removed.
local function slurp(path)
  local s = M.read(path)
  os.remove(path)
  return s
end

-- The harness.Error of 'kind' that f(...) raises; fails if f succeeds.
function M.failure(kind, f, ...)
  local check = require "luassert" -- busted's assert, which specs see as 'assert'
  local ok, e = pcall(f, ...)
  check.is_false(ok, "expected an error")
  check.are.equal("table", type(e), tostring(e))
  check.are.equal(kind, e.kind)
  return e
end

-- Runs a shell command line with optional stdin; returns stdout, stderr and
-- the exit code (128+n for a signal).
function M.sh(cmdline, stdin)
  local out, err, inp = tmpname(), tmpname(), tmpname()
  local f = assert(io.open(inp, "wb"))
  f:write(stdin or "")
  f:close()
  local ok, how, code = os.execute(("( %s ) <%s >%s 2>%s"):format(cmdline, inp, out, err))
  os.remove(inp)
  if how == "signal" then code = 128 + code end
  return slurp(out), slurp(err), code
end

-- Runs hlua with the given argument string (already quoted as needed). A
-- run that hangs is stopped after 5 minutes (exit 124), so that a hang
-- fails its test instead of stopping the suite.
function M.run(args, stdin, env)
  return M.sh(("%s timeout --foreground -k 5 %d %s %s"):format(env or "", 300 * M.slow, M.hlua, args), stdin)
end

-- Starts a command line (one simple command: its pid must be hlua's) in
-- the background, waits until its stdout or stderr holds 'marker' (so a
-- slow start, as under valgrind, never races the signal), waits 'delay'
-- seconds more, then sends SIGINT. Returns stdout, stderr, the exit code.
function M.interrupt(cmdline, marker, delay)
  local out, err = tmpname(), tmpname()
  local script = ([[%s >%s 2>%s </dev/null & pid=$!
n=0
until cat %s %s | grep -qF %s || [ $n -ge 1200 ]; do sleep 0.05; n=$((n+1)); done
sleep %s
kill -INT $pid
wait $pid
echo $?]]):format(cmdline, out, err, out, err, M.q(marker), tostring(delay or 0))
  local p = assert(io.popen("sh -c " .. M.q(script)))
  local code = tonumber(p:read("a"):match("(%d+)%s*$"))
  p:close()
  return slurp(out), slurp(err), code
end

-- Writes a temporary file and returns its path.
function M.tempfile(content, suffix)
  local path = tmpname() .. (suffix or "")
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  return path
end

-- Starts a test server in the background ('command' prints the port it
-- listens on, then serves); returns its pid and port.
function M.server(command)
  local portfile = M.tempfile("")
  local pid = M.sh(("%s >%s 2>/dev/null </dev/null & echo $!"):format(command, portfile)):match("%d+")
  local port
  for _ = 1, 200 do
    local f = io.open(portfile)
    port = f and f:read("l")
    if f then f:close() end
    if port then break end
    os.execute("sleep 0.05")
  end
  os.remove(portfile)
  return pid, assert(port, command .. " did not start")
end

-- The sandbox tests/run started: its info table (url, api_key, ...), or nil.
function M.sandbox()
  local path = os.getenv("HLUA_SANDBOX_INFO")
  if not path then return nil end
  local f = io.open(path, "rb")
  if not f then return nil end
  local info = harness.json.decode(f:read("a"))
  f:close()
  return info
end

-- Sets how long the sandbox's new executions run, in seconds.
function M.execution_seconds(sb, seconds)
  M.sh(("curl -s -XPOST %s/_sandbox/config -d '{\"execution_seconds\":%d}'"):format(sb.url, seconds))
end

return M
