-- An adversarial pass: hlua against sandbox/hostile.py, a server that
-- echoes the API key in every form and place it can (next to invalid JSON,
-- where a cut splits it, in headers, encoded), closes a connection after a
-- POST, acts as a proxy, and sends pages, headers and dates built to hurt;
-- and hlua's own misuse cases (configuration, methods, sleeps, Ctrl-C,
-- finalizers). The key is the sandbox's: make secret-scan sees these runs.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

-- ---------- looking for the secret in any form ----------

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- What base64 text decodes to (url-safe too), as far as it goes.
local function unbase64(s)
  s = s:gsub("[-_]", {["-"] = "+", ["_"] = "/"}):gsub("=", "")
  local out, bits, nbits = {}, 0, 0
  for i = 1, #s do
    bits = ((bits << 6) | (B64:find(s:sub(i, i), 1, true) - 1)) & 0xffffff
    nbits = nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      out[#out + 1] = string.char((bits >> nbits) & 0xff)
    end
  end
  return table.concat(out)
end

-- Every reading of text a leak could hide in: as it is, with %XX and
-- \uXXXX decoded, and each base64-looking run decoded from any offset.
local function readings(text)
  local function hex(x) return string.char(tonumber(x, 16)) end
  local list = {text, (text:gsub("%%(%x%x)", hex):gsub("\\[uU]00(%x%x)", hex))}
  for run in text:gmatch("[%w+/_%-]+=*") do
    if #run >= 12 then
      for k = 0, 3 do list[#list + 1] = unbase64(run:sub(k + 1)) end
    end
  end
  return list
end

-- Asserts that no 8 characters of the secret in a row show in text, in any
-- reading (without printing them).
local function assert_clean(secret, text, what)
  for _, r in ipairs(readings(text)) do
    for i = 1, #secret - 7 do
      assert.is_nil(r:find(secret:sub(i, i + 7), 1, true),
        ("%s shows characters %d-%d of the secret"):format(what, i, i + 7))
    end
  end
end

-- Sends SIGINT to cmdline (one command) 'delay' seconds after its output
-- holds 'marker'; returns stdout, stderr, the exit code and the seconds
-- between the signal and the end.
local function interrupt_timed(cmdline, marker, delay)
  local out, err = h.tmpname(), h.tmpname()
  local script = ([[%s >%s 2>%s </dev/null & pid=$!
n=0
until cat %s %s | grep -qF %s || [ $n -ge 1200 ]; do sleep 0.05; n=$((n+1)); done
sleep %s
kill -INT $pid
s=$(date +%%s%%N)
wait $pid
rc=$?
e=$(date +%%s%%N)
echo $rc $(( (e - s) / 1000000 ))]]):format(cmdline, out, err, out, err, h.q(marker), tostring(delay))
  local p = assert(io.popen("sh -c " .. h.q(script)))
  local code, ms = p:read("a"):match("(%d+) (%d+)%s*$")
  p:close()
  local stdout, stderr = h.read(out), h.read(err)
  os.remove(out)
  os.remove(err)
  return stdout, stderr, tonumber(code), tonumber(ms) / 1000
end

describe_sandbox("a hostile server", function()
  local secret = t.info and t.info.api_key:match("([^.]+)$")
  local pid, base

  setup(function()
    local port
    pid, port = h.server("python3 sandbox/hostile.py")
    base = "http://127.0.0.1:" .. port
  end)
  teardown(function()
    if pid then os.execute("kill " .. pid) end
  end)

  local function reset() h.sh("curl -s -XPOST " .. base .. "/_reset") end
  local function requests() return harness.json.decode((h.sh("curl -s " .. base .. "/_log"))).requests end

  -- Runs chunk in hlua with the hostile server as the endpoint, the
  -- sandbox's key and the trace at level 2 (vars add or override).
  local function run(chunk, vars, args, stdin)
    local v = {HARNESS_ENDPOINT = base, HARNESS_TRACE = "2"}
    for k, x in pairs(vars or {}) do v[k] = x end
    if chunk == nil then return h.run(args or "", stdin, t.env(v)) end
    return t.run(chunk, v, args)
  end

  describe("echoing the key", function()
    it("keeps it out of a JSON decode error next to it (stderr, res:json())", function()
      local out, err, code = run('harness.get("/echo/badjson")')
      assert.equal(1, code)
      assert.matches("GET /echo/badjson: 200: response is not valid JSON: json: unexpected character 'x'", err)
      assert.matches("near '[^\n]*%*%*%*%*\"x}'\n", err)
      assert_clean(secret, out .. err, "the uncaught decode error")
      out, err, code = run([[
        local res = harness.request("GET", "/echo/badjson")
        local ok, e = pcall(res.json, res)
        io.write(tostring(ok), "\n", e.message, "\n", e.body, "\n")]])
      assert.equal(0, code, err)
      assert.matches("^false\nresponse is not valid JSON: json: unexpected character 'x'", out)
      assert_clean(secret, out .. err, "res:json()'s error")
    end)

    it("redacts before it cuts: an HTML title, an error's body, the trace", function()
      local out, err, code = run('harness.get("/echo/at", {query = {at = 200, html = 1, status = 400}})')
      assert.equal(1, code)
      assert.matches("GET /echo/at: 400: xxxx", err)
      assert_clean(secret, out .. err, "the title excerpt")
      out, err, code = run([[
        local ok, e = pcall(harness.get, "/echo/at", {query = {at = 4096, status = 400}})
        io.write(#e.body, " ", e.body:sub(3900), "\n")]], {HARNESS_TRACE = "0"})
      assert.equal(0, code, err)
      assert.matches("^%d+ x+pat%.", out)
      assert_clean(secret, out .. err, "the error's body")
      out, err, code = run('harness.request("GET", "/echo/at", {query = {at = 2048}})')
      assert.equal(0, code, err)
      assert.matches("  < x+pat%.[^\n]*%.%.%. %(%d+ bytes%)\n", err)
      assert_clean(secret, out .. err, "the trace")
    end)

    it("keeps it out of harness.Error's headers, code and correlation_id", function()
      local out, err, code = run([[
        local ok, e = pcall(harness.get, "/echo/headers", {query = {status = 400}})
        io.write(tostring(e), "\n", harness.json.encode(e.headers), "\n",
          type(e.code), " ", e.code, "\n", type(e.correlation_id), " ", e.correlation_id, "\n")
        ok, e = pcall(harness.get, "/echo/headers", {query = {status = 400, kind = "number"}})
        io.write(tostring(e), "\n")]], {HARNESS_TRACE = "0"})
      assert.equal(0, code, err)
      local line1 = out:match("^[^\n]*")
      assert.matches("^GET /echo/headers: 400 {\"token\":\"pat%.[^\"]*%*%*%*%*\"}: denied %(correlationId {\"id\":\"pat%.[^\"]*%*%*%*%*\"}%)$", line1)
      assert.is_nil(out:find("table: 0x", 1, true))
      assert.matches("\"x%-echo\":\"pat%.[^\"]*%*%*%*%*\"", out)
      assert.matches("\nstring {[^\n]*\nstring {[^\n]*\n", out)
      assert.matches("\nGET /echo/headers: 400 4001: denied %(correlationId 12345%)\n$", out)
      assert_clean(secret, out .. err, "the error's fields")
    end)

    it("is masked by hlua's own printers: -p, harness.print, the REPL", function()
      local out, err, code = run(nil, {HARNESS_TRACE = "0"},
        "-p 'harness.get(\"/echo/json\")' -p 'harness.get(\"/echo/json\").echo' " ..
        "-e 'harness.print(harness.get(\"/echo/json\"), harness.get(\"/echo/json\").list[1])'")
      assert.equal(0, code, err)
      assert.matches('^{"echo":"pat%.[%w.]+%.%*%*%*%*","list"', out)
      assert.equal(4, select(2, out:gsub("\n", "")))
      assert_clean(secret, out .. err, "-p and harness.print")
      out, err = run(nil, {HARNESS_TRACE = "0"}, "-i", 'harness.get("/echo/json")\n' ..
        'harness.get("/echo/json").echo\n=harness.get("/echo/json").nested\n')
      assert.matches("%*%*%*%*", out)
      assert_clean(secret, out .. err, "the REPL")
    end)

    it("printing reads no configuration when no request was made", function()
      local home = t.home()
      h.sh("mkdir -p " .. h.q(home .. "/.config/hlua") .. " && echo '{broken' >" ..
        h.q(home .. "/.config/hlua/config.json"))
      local out, err, code = run(nil, {HOME = home, XDG_CONFIG_HOME = home .. "/.config",
        HARNESS_API_KEY = false, HARNESS_ENDPOINT = false, HARNESS_TRACE = false},
        "-p '\"hello\"' -p '{a = 1}' -e 'harness.print(\"x\")'")
      assert.equal(0, code, err)
      assert.equal('hello\n{"a":1}\nx\n', out)
      assert.equal("", err)
      h.sh("rm -rf " .. h.q(home))
    end)

    it("keeps the secret out in every form: alone, percent-encoded, base64, JSON escapes", function()
      local out, err, code = run('harness.get("/echo/forms", {query = {status = 400}})')
      assert.equal(1, code)
      assert.matches("GET /echo/forms: 400: base64=", err)
      assert_clean(secret, out .. err, "the uncaught error and the trace")
      out, err, code = run([[
        local ok, e = pcall(harness.get, "/echo/forms", {query = {status = 400}})
        io.write(e.body, "\n")
        ok, e = pcall(harness.get, "/echo/forms", {query = {status = 400, json = 1}})
        io.write(e.message, "\n", e.body, "\n")]])
      assert.equal(0, code, err)
      assert.matches("secret=%*%*%*%*\n", out)
      assert.matches("denied for pat%.", out)
      assert_clean(secret, out .. err, "the errors' bodies and messages")
    end)
  end)

  describe("as a proxy", function()
    it("never gets a plain-http request, whatever proxy variable is set", function()
      for _, var in ipairs({"http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"}) do
        reset()
        local out, err, code = run("print(harness.whoami().email)",
          {HARNESS_ENDPOINT = t.info.url, HARNESS_TRACE = false, [var] = base})
        assert.equal(0, code, var .. ": " .. err)
        assert.equal(t.info.user_email .. "\n", out, var)
        assert.same({}, requests(), var)
      end
    end)

    it("tunnels https, seeing no key", function()
      reset()
      local out, err, code = run("print(harness.whoami().email)",
        {HARNESS_ENDPOINT = t.info.tls_url, HARNESS_CA_BUNDLE = t.info.ca_file,
         HARNESS_TRACE = false, https_proxy = base})
      assert.equal(0, code, err)
      assert.equal(t.info.user_email .. "\n", out)
      local log = requests()
      assert.equal(1, #log)
      assert.equal("CONNECT", log[1].method)
      assert.is_false(log[1].has_key)
    end)
  end)

  describe("requests", function()
    it("never replays a POST on a connection the server closed after reading it", function()
      reset()
      local out, err, code = run([[
        harness.get("/ok")
        local r, e = harness.request("POST", "/post-close", {json = {run = 1}})
        print(r, e.kind, e.retries, e.message)]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.matches("^nil\ttransport\t0\tthe connection closed without an answer after the request " ..
        "went out; not sent again %(the server may have acted on it%)\n$", out)
      local posts = 0
      for _, r in ipairs(requests()) do if r.method == "POST" then posts = posts + 1 end end
      assert.equal(1, posts)
    end)

    it("sends GET with a body as GET (and retries it as one); refuses a body on HEAD", function()
      reset()
      local out, err, code = run([[
        local r = harness.request("GET", "/status", {query = {status = 503}, json = {a = 1}, retries = 2})
        print(r.status, r.retries)
        print(pcall(harness.request, "HEAD", "/ok", {body = "x"}))]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.matches("^503\t2\nfalse\t[^\n]*bad argument 'body' to 'harness.request' %(HEAD sends no body%)\n$", out)
      local log = requests()
      assert.equal(3, #log)
      for _, r in ipairs(log) do
        assert.equal("GET", r.method)
        assert.equal(7, r.body_length)
      end
    end)

    it("refuses line breaks in the method before anything is sent", function()
      reset()
      local out, err, code = run([[
        print(pcall(harness.request, "GET\r\nX-Injected: 1\r\nX-Foo:", "/ok"))
        print(pcall(harness.request, "GET /x HTTP/1.1", "/ok"))]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.matches("^false\t[^\n]*bad argument #1 to 'harness.request' %(method holds a line break%)\n", out)
      assert.matches("\nfalse\t[^\n]*bad argument #1 to 'harness.request' %(not an HTTP method: \"GET /x HTTP/1.1\"%)\n$", out)
      assert.same({}, requests())
    end)

    it("says a 200 KB header line is too large, and does not retry", function()
      reset()
      local out, err, code = run([[
        local r, e = harness.request("GET", "/bigheader", {retries = 3})
        print(r, e.kind, e.retries, e.message)]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.matches("^nil\ttoo_large\t0\ta response header line is over", out)
      assert.equal(1, #requests())
    end)

    it("gives the response for a Retry-After date no calendar holds", function()
      local out, err, code = run([[
        local r = harness.request("GET", "/status", {query = {status = 503,
          ra = "Wed, 21 Oct 99999999999 07:28:00 GMT"}, retries = 1})
        print(r.status, r.retries)]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.equal("503\t1\n", out)
    end)
  end)

  describe("error pages built to be slow", function()
    it("takes the title of 40,000 <title> or 280,000 '<' in linear time", function()
      local t0 = os.time()
      local out, err, code = run([[
        local ok, e = pcall(harness.get, "/titles", {query = {n = 40000}})
        print(e.status, #e.message)
        ok, e = pcall(harness.get, "/angles", {query = {n = 280000}})
        print(e.status, #e.message)]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.matches("^500\t%d+\n500\t%d+\n$", out)
      assert.is_true(os.time() - t0 <= 5 * h.slow, "took " .. (os.time() - t0) .. " s")
    end)
  end)

  describe("finalizers and Ctrl-C", function()
    it("survives requests from __gc finalizers while tasks run", function()
      local out, err, code = run([[
        local n, errs = 0, {}
        local function litter()
          for i = 1, 5 do
            setmetatable({}, {__gc = function()
              n = n + 1
              local ok, e = pcall(harness.request, "GET", "/ok")
              if not ok then errs[tostring(e)] = true end
            end})
          end
        end
        local tasks = {}
        for i = 1, 20 do
          tasks[i] = harness.spawn(function()
            for j = 1, 5 do litter() harness.request("GET", "/bigjson", {query = {mb = 1}}) end
          end)
        end
        for i = 1, 20 do tasks[i]:wait() end
        collectgarbage()
        print("done", n > 0)
        for e in pairs(errs) do print(e) end]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.matches("^done\ttrue\n", out)
      for line in out:gmatch("\n([^\n]+)") do
        assert.matches("cannot make a request or wait from a __gc finalizer", line)
      end
    end)

    it("refuses a request or a wait from a finalizer that runs outside any poll", function()
      local out, err, code = run([[
        local seen = {}
        setmetatable({}, {__gc = function()
          for _, f in ipairs({function() return harness.get("/ok") end,
                              function() return harness.sleep(0.01) end}) do
            local ok, e = pcall(f)
            seen[#seen + 1] = ok and "ran" or tostring(e)
          end
        end})
        collectgarbage()
        print(seen[1]) print(seen[2])
        print(harness.request("GET", "/ok").status)]], {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      local a, b, status = out:match("^([^\n]*)\n([^\n]*)\n(%d+)\n$")
      assert.matches("cannot make a request or wait from a __gc finalizer", a)
      assert.matches("cannot make a request or wait from a __gc finalizer", b)
      assert.equal("200", status)
    end)

    it("the HTTP module refuses a poll inside a poll and a close inside either", function()
      local out, err, code = run(([[
        local c = require("hlua_http").client()
        local seen, ids, polling = {}, {}, false
        local function litter()
          for i = 1, 5 do
            setmetatable({}, {__gc = function()
              -- a finalizer can run anywhere: outside the poll, a close is legitimate
              if not polling then return end
              for _, f in ipairs({c.poll, c.close}) do
                local ok, e = pcall(f, c, 0)
                if not ok then seen[e] = true end
              end
              local ok, id = pcall(c.start, c, {url = %q})
              if ok then ids[#ids + 1] = id end
            end})
          end
        end
        local left = 0
        for i = 1, 20 do
          c:start({url = %q})
          left = left + 1
        end
        local got = 0
        while got < left + #ids do
          litter()
          polling = true
          got = got + #c:poll(1)
          polling = false
        end
        for e in pairs(seen) do print(e) end
        print("done", got)]]):format(base .. "/ok", base .. "/bigjson?mb=1"), {HARNESS_TRACE = false})
      assert.equal(0, code, err)
      assert.matches("\ndone\t%d+\n$", "\n" .. out)
      for line in out:gmatch("([^\n]+)\n") do
        if not line:find("^done") then
          assert.is_truthy(line == "http: poll inside poll (from a __gc finalizer that ran there?)" or
            line == "http: close of a client in use (from a __gc finalizer?)", line)
        end
      end
    end)

    it("Ctrl-C during JSON decoding is an interrupt, not invalid JSON", function()
      local cmd = ("%s %s -e %s"):format(t.env({HARNESS_ENDPOINT = base}), h.hlua, h.q([[
        local res = harness.request("GET", "/bigjson", {query = {mb = 8}})
        local R = getmetatable(res)
        io.stderr:write("go\n")
        for i = 1, 1000 do setmetatable({body = res.body}, R):json() end]]))
      local _, err, code = h.interrupt(cmd, "go", 0.3)
      assert.equal(130, code, err)
      assert.matches("interrupted", err)
      assert.is_nil(err:find("not valid JSON", 1, true))
    end)

    it("Ctrl-C reaches every task of a CPU-bound map at once", function()
      local cmd = ("%s %s -e %s"):format(t.env(), h.hlua, h.q([[
        io.stderr:write("go\n")
        local l = {} for i = 1, 10 do l[i] = i end
        harness.map(l, function(i)
          local t0 = os.clock() while os.clock() - t0 < 0.4 do end
          return i
        end, {progress = false})
        print("finished")]]))
      local out, err, code, secs = interrupt_timed(cmd, "go", 0.3)
      assert.equal(130, code, err)
      assert.equal("", out)
      assert.matches("^go\n" .. h.prog .. ": interrupted\n$", err)
      assert.is_true(secs < 1 * h.slow, ("ended %.1f s after Ctrl-C"):format(secs))
    end)
  end)
end)

describe_sandbox("sleeping", function()
  it("refuses NaN and negative durations, in the main chunk and in tasks", function()
    local out, err, code = t.run([[
      print(pcall(harness.sleep, 0/0))
      print(pcall(harness.sleep, -1))
      print(pcall(harness.sleep, -math.huge))
      local bad = harness.spawn(function() harness.sleep(0/0) end)
      local good = harness.spawn(function() harness.sleep(0.05) return "woke" end)
      print(good:wait())
      print(pcall(bad.wait, bad))
      print(pcall(require("hlua.host").sleep, 0/0))]])
    assert.equal(0, code, err)
    assert.equal(table.concat({
      "false\tbad argument #1 to 'harness.sleep' (non-negative number of seconds expected, got nan)",
      "false\tbad argument #1 to 'harness.sleep' (non-negative number of seconds expected, got -1)",
      "false\tbad argument #1 to 'harness.sleep' (non-negative number of seconds expected, got -inf)",
      "woke",
      "false\t(command line):4: bad argument #1 to 'harness.sleep' (non-negative number of seconds expected, got nan)",
      "false\tbad argument #1 to 'hlua.host.sleep' (not a number of seconds (NaN))",
      ""}, "\n"), out)
  end)
end)

describe_sandbox("the configuration", function()
  local secret = t.info and t.info.api_key:match("([^.]+)$")

  -- A fresh HOME with config.json holding one profile 'p' with 'fields'.
  local function home_with(fields)
    local home = t.home()
    h.sh("mkdir -p " .. h.q(home .. "/.config/hlua") .. " && chmod 700 " .. h.q(home .. "/.config/hlua"))
    local path = home .. "/.config/hlua/config.json"
    local f = assert(io.open(path, "wb"))
    fields.endpoint = t.info.url
    f:write(harness.json.encode({default_profile = "p", profiles = {p = fields}}))
    f:close()
    os.execute("chmod 600 " .. h.q(path))
    return home, path
  end

  it("does not quote a key pasted into the endpoint", function()
    local out, err, code = t.run("harness.whoami()", {HARNESS_ENDPOINT = t.info.api_key})
    assert.equal(1, code)
    assert.matches("HARNESS_ENDPOINT", err)
    assert.matches("is not an http%(s%) URL", err)
    assert_clean(secret, out .. err, "the endpoint error")
  end)

  it("refuses profile values of the wrong type before any request", function()
    local cases = {
      {{timeout = "fast"}, 'timeout must be a number of seconds >= 0, not "fast"'},
      {{retries = true}, "retries must be an integer >= 0, not true"},
      {{timeout = -1}, "timeout must be a number of seconds >= 0, not -1"},
      {{retries = 1.5}, "retries must be an integer >= 0, not 1.5"},
    }
    for _, c in ipairs(cases) do
      local home, path = home_with(c[1])
      local out, err, code = t.run('io.stderr:write("start\\n") harness.whoami()',
        {HOME = home, XDG_CONFIG_HOME = home .. "/.config", HARNESS_ENDPOINT = false})
      assert.equal(1, code, err)
      assert.equal("", out)
      assert.equal(("start\n%s: %s (profile p): %s\n"):format(h.bin, path, c[2]), err)
      h.sh("rm -rf " .. h.q(home))
    end
    local _, err, code = t.run("harness.whoami()", {HARNESS_TIMEOUT = "fast"})
    assert.equal(1, code)
    assert.equal(h.bin .. ': HARNESS_TIMEOUT must be a number of seconds >= 0, not "fast"\n', err)
  end)

  it("reads a key file with a UTF-8 BOM; says so for a key file that is a directory", function()
    local dir = t.home()
    local keyfile = dir .. "/bom.key"
    local f = assert(io.open(keyfile, "wb"))
    f:write("\239\187\191" .. t.info.api_key .. "\r\n")
    f:close()
    os.execute("chmod 600 " .. h.q(keyfile))
    local out, err, code = t.run("print(harness.whoami().email)",
      {HARNESS_API_KEY = false, HARNESS_API_KEY_FILE = keyfile})
    assert.equal(0, code, err)
    assert.equal(t.info.user_email .. "\n", out)
    out, err, code = t.run("harness.whoami()", {HARNESS_API_KEY = false, HARNESS_API_KEY_FILE = dir})
    assert.equal(1, code)
    assert.equal(("%s: the API key file %s is a directory\n"):format(h.bin, dir), err)
    h.sh("rm -rf " .. h.q(dir))
  end)
end)
