-- Recorded fixtures: HARNESS_RECORD writes each exchange as a JSON file,
-- HARNESS_REPLAY answers from them without a network (harness.record).
local h = require "tests.support.helper"
local q = h.q

local mktemp_dir, read = h.tempdir, h.read

-- The exchange files of a recording, in order.
local function files(dir)
  local out = h.sh("ls -1 " .. q(dir))
  local list = {}
  for name in out:gmatch("[^\n]+") do list[#list + 1] = name end
  return list
end

-- hlua with only these settings (none of the sandbox's unless given).
local function hlua(args, env)
  return h.run(args, nil, "HARNESS_ENDPOINT= HARNESS_API_KEY= HARNESS_ACCOUNT_ID= " .. (env or ""))
end

describe("recorded fixtures", function()
  local sb = h.sandbox()
  if not sb then
    pending("no sandbox")
    return
  end
  local live = ("HARNESS_ENDPOINT=%s HARNESS_API_KEY=%s"):format(q(sb.url), q(sb.api_key))
  local tmp
  before_each(function() tmp = mktemp_dir() end)
  after_each(function() h.sh("rm -rf " .. q(tmp)) end)

  local function record(args, dir, env)
    return hlua(args, live .. " HARNESS_RECORD=" .. q(dir) .. " " .. (env or ""))
  end
  local function replay(args, dir, env)
    return hlua(args, "HARNESS_REPLAY=" .. q(dir) .. " " .. (env or ""))
  end

  it("a recording of token-expiry-report replays with the sandbox stopped, with identical output", function()
    local dir = tmp .. "/report"
    -- a sandbox of its own, stopped once the script ends
    local out1, err1, rc1 = h.sh(("sandbox/hlua-sandbox -- env HARNESS_RECORD=%s %s scripts/token-expiry-report.lua --within 30")
      :format(q(dir), h.hlua))
    assert.equal(0, rc1, err1)
    assert.matches("^TOKEN ", out1)
    assert.is_true(#files(dir) >= 1)
    local out2, err2, rc2 = replay("scripts/token-expiry-report.lua --within 30", dir)
    assert.equal(out1, out2)
    assert.equal(err1:gsub(h.prog, "hlua"), err2:gsub(h.prog, "hlua"))
    assert.equal(rc1, rc2)
    -- and again, as JSON: the clock is the recording's, so days_left agree
    local json1 = h.sh(("sandbox/hlua-sandbox -- env HARNESS_RECORD=%s %s scripts/token-expiry-report.lua --json --expired")
      :format(q(tmp .. "/json"), h.hlua))
    assert.equal(json1, (replay("scripts/token-expiry-report.lua --json --expired", tmp .. "/json")))
  end)

  it("replays scripts with identical output and exit code 0", function()
    for i, args in ipairs{"scripts/list-projects.lua --json", "scripts/list-projects.lua --org payments",
        [[-p 'harness.whoami().email']]} do
      local dir = tmp .. "/" .. i
      local out1, err1, rc1 = record(args, dir)
      assert.equal(0, rc1, err1)
      local out2, err2, rc2 = replay(args, dir)
      assert.equal(0, rc2, err2)
      assert.equal(out1, out2)
      assert.equal("", err2)
    end
  end)

  it("writes one readable JSON file per exchange, named by sequence, method and path", function()
    local dir = tmp .. "/rec"
    local _, err, rc = record([[-e 'harness.whoami() harness.projects.list{org = "payments"}']], dir)
    assert.equal(0, rc, err)
    local names = files(dir)
    assert.same({"0001-GET-ng-api-user-currentUser.json", "0002-GET-ng-api-projects.json"}, names)
    local text = read(dir .. "/" .. names[2])
    assert.matches('\n  "request": {\n', text, 1, true)
    local x = harness.json.decode(text)
    assert.equal("GET", x.request.method)
    assert.equal("/ng/api/projects", x.request.path)
    assert.equal("payments", x.request.query.orgIdentifier)
    assert.equal(sb.account, x.account)
    assert.equal(200, x.response.status)
    assert.equal("application/json", x.response.headers["content-type"])
    assert.equal("SUCCESS", x.response.json.status) -- the JSON body shown decoded
    for _, line in ipairs(x.request.headers) do
      assert.not_matches("^[Xx]%-[Aa]pi%-[Kk]ey", line)
    end
  end)

  it("holds neither the key nor a created or rotated token", function()
    local dir = tmp .. "/secret"
    local out, err, rc = record([[-e '
      local t = harness.tokens.create{identifier = "fixture_token", apikey = "hlua_automation"}
      print(t)
      harness.request("GET", "/_sandbox/echo", {headers = {["X-Echo"] = t, ["Proxy-Authorization"] = "Basic cHJveHk6cHc="}})']], dir)
    assert.equal(0, rc, err)
    local created = out:match("^(%S+)\n")
    assert.matches("^pat%.[%w]+%.[%w]+%.[%w]+$", created)
    assert.is_true(#files(dir) >= 2)
    for _, name in ipairs(files(dir)) do
      local text = read(dir .. "/" .. name)
      assert.not_matches(sb.api_key, text, 1, true)
      assert.not_matches(sb.api_key:match("[^.]+$"), text, 1, true) -- not even the secret
      assert.not_matches(created, text, 1, true)
      assert.not_matches(created:match("[^.]+$"), text, 1, true)
      for _, line in ipairs(harness.json.decode(text).request.headers) do -- nor other credentials
        assert.not_matches("^[Pp]roxy%-[Aa]uthorization:", line)
      end
    end
    -- the replay answers with the masked token
    out, err, rc = replay([[-e 'print(harness.tokens.create{identifier = "fixture_token", apikey = "hlua_automation"})']], dir)
    assert.equal(0, rc, err)
    assert.matches("^pat%.[%w]+%.[%w]+%.%*%*%*%*\n$", out)
  end)

  it("needs no key, no endpoint and no network to replay; the account comes from the recording", function()
    local dir = tmp .. "/cfg"
    record([[-p 'harness.whoami().email']], dir)
    local out, err, rc = replay([[-p 'harness.whoami().email' -p 'harness.config().account' -p 'harness.config().sources.account']], dir,
      "HARNESS_ENDPOINT=https://harness.invalid")
    assert.equal(0, rc, err)
    assert.equal(sb.user_email .. "\n" .. sb.account .. "\nrecording\n", out)
  end)

  it("a replay that diverges fails with one line naming the first difference", function()
    local dir = tmp .. "/div"
    local _, err, rc = record([[-e 'harness.projects.list{org = "payments"}' -e 'harness.tokens.create{identifier = "t1", apikey = "hlua_automation"}']], dir)
    assert.equal(0, rc, err)
    local cases = {
      {[[-e 'harness.projects.list{org = "platform"}']],
       'GET /ng/api/projects: not in the recording: query.orgIdentifier is "platform", recorded "payments" (nearest: 0001-GET-ng-api-projects.json)\n'},
      {[[-e 'harness.orgs.list()']],
       "GET /ng/api/organizations: not in the recording: path /ng/api/organizations, recorded /ng/api/projects (nearest: 0001-GET-ng-api-projects.json)\n"},
      {[[-e 'harness.delete("/ng/api/projects")']],
       "DELETE /ng/api/projects: not in the recording: method DELETE, recorded GET (nearest: 0001-GET-ng-api-projects.json)\n"},
      {[[-e 'harness.projects.list{org = "payments"}' -e 'harness.tokens.create{identifier = "t2", apikey = "hlua_automation"}']],
       '^POST /ng/api/token: not in the recording: body.identifier is "t2", recorded "t1" %(nearest: 0%d+%-POST%-ng%-api%-token.json%)\n$'},
      {[[-e 'harness.projects.list{org = "payments"}' -e 'harness.tokens.create{identifier = "t1", apikey = "hlua_automation"}' -e 'harness.projects.list{org = "payments"}']],
       "^GET /ng/api/projects: not in the recording: all 3 exchanges of .* were replayed already\n$"},
    }
    for _, c in ipairs(cases) do
      local out
      out, err, rc = replay(c[1], dir)
      assert.equal(1, rc, err)
      err = err:gsub("^" .. h.prog .. ": ", ""):gsub("^[%w_]+%.[%w_]+: ", "") -- and the operation's name
      if c[2]:sub(1, 1) == "^" or c[2]:find("%%") then assert.matches(c[2], err) else assert.equal(c[2], err) end
      assert.equal("", out)
    end
  end)

  it("replays retries and transport failures through the same policy", function()
    local dir = tmp .. "/retry"
    h.sh(("curl -s -XPOST %s/_sandbox/faults -d '{\"fault\":\"status\",\"status\":503,\"count\":1,\"path\":\"/ng/api/organizations\"}'"):format(sb.url))
    local out1, err1, rc1 = record([[-p '#harness.orgs.list()']], dir, "HARNESS_RETRY_BASE=0.01")
    assert.equal(0, rc1, err1)
    assert.equal(2, #files(dir))
    assert.equal(503, harness.json.decode(read(dir .. "/" .. files(dir)[1])).response.status)
    local out2, err2, rc2 = replay([[-p '#harness.orgs.list()']], dir, "HARNESS_RETRY_BASE=0.01 HARNESS_TRACE=1")
    assert.equal(0, rc2, err2)
    assert.equal(out1, out2)
    assert.matches("-> 503,.*-> 200,", err2)
    -- no answer at all: the error replays as it happened
    local refused = tmp .. "/refused"
    local code = [[-e 'local r, e = harness.request("GET", "/ng/api/x") print(r, e.kind, e.message)']]
    out1 = hlua(code, "HARNESS_ENDPOINT=http://127.0.0.1:1 HARNESS_API_KEY=" .. q(sb.api_key) ..
      " HARNESS_RETRIES=0 HARNESS_RECORD=" .. q(refused))
    assert.matches("^nil\ttransport\t", out1)
    out2 = replay(code, refused, "HARNESS_RETRIES=0")
    assert.equal(out1, out2)
  end)

  it("keeps the recording's clock, so requests that carry the time replay later", function()
    local dir = tmp .. "/clock"
    record([[-e 'harness.whoami()']], dir)
    local x = harness.json.decode(read(dir .. "/" .. files(dir)[1]))
    -- the recording said it started an hour earlier
    local text = read(dir .. "/" .. files(dir)[1]):gsub('"start": %d+', '"start": ' .. (x.clock.start - 3600))
    local f = assert(io.open(dir .. "/" .. files(dir)[1], "wb"))
    f:write(text)
    f:close()
    -- (the clock starts with the first use of the harness table)
    local out, err, rc = replay([[-e 'local _ = harness.json' -e 'print(os.time(), os.date("!%H:%M", os.time()) == os.date("!%H:%M"))']], dir)
    assert.equal(0, rc, err)
    local t, same = out:match("^(%d+)\t(%a+)\n$")
    assert.is_true(math.abs(tonumber(t) - (x.clock.start - 3600)) <= 2, out)
    assert.equal("true", same)
  end)

  it("reads the same time between two requests however slower the replay runs", function()
    local dir = tmp .. "/slow"
    local code = [[-e 'harness.whoami()' -e 'print(os.time())' -e 'harness.whoami()' -e 'print(os.time())']]
    local out1, err, rc = record(code, dir, live)
    assert.equal(0, rc, err)
    -- the replay dawdles before its first request and between the two
    local slow = [[-e 'harness.sleep(1.3)' -e 'harness.whoami()' -e 'print(os.time())' ]] ..
      [[-e 'harness.sleep(1.3)' -e 'harness.whoami()' -e 'print(os.time())']]
    local out2
    out2, err, rc = replay(slow, dir)
    assert.equal(0, rc, err)
    assert.equal(out1, out2)
  end)

  it("replays hand-written fixtures; a redirect within the recorded origin stays within the replay's", function()
    local dir = tmp .. "/hand"
    h.sh("mkdir -p " .. q(dir))
    local function fixture(name, x)
      local f = assert(io.open(dir .. "/" .. name, "wb"))
      f:write(harness.json.encode(x, {indent = 2}))
      f:close()
    end
    fixture("0001-GET-a.json", {account = "acc", request = {method = "GET", path = "/a",
      url = "http://127.0.0.1:9/a?accountIdentifier=acc", query = {accountIdentifier = "acc"}},
      response = {status = 302, headers = {location = "http://127.0.0.1:9/b"}, body = ""}})
    fixture("0002-GET-b.json", {request = {method = "GET", path = "/b"},
      response = {status = 200, headers = {["content-type"] = "application/json"}, json = {ok = true}}})
    local out, err, rc = replay([[-p 'harness.get("/a").ok' -p 'harness.config().account']], dir,
      "HARNESS_ENDPOINT=https://harness.invalid")
    assert.equal(0, rc, err)
    assert.equal("true\nacc\n", out)
  end)

  it("refuses to record over a recording, and to record and replay at once", function()
    local dir = tmp .. "/twice"
    local _, err, rc = record([[-p 'harness.whoami().email']], dir)
    assert.equal(0, rc, err)
    _, err, rc = record([[-p 'harness.whoami().email']], dir)
    assert.equal(1, rc)
    assert.matches("HARNESS_RECORD=.* already holds a recording %(1 exchanges%)", err)
    _, err, rc = hlua([[-p 'harness.whoami().email']], live .. " HARNESS_RECORD=" .. q(dir) .. " HARNESS_REPLAY=" .. q(dir))
    assert.equal(1, rc)
    assert.matches("HARNESS_RECORD and HARNESS_REPLAY are both set", err)
    _, err, rc = replay([[-p 'harness.whoami().email']], tmp .. "/none")
    assert.equal(1, rc)
    assert.matches("HARNESS_REPLAY=.*/none: no such folder", err)
  end)
end)

describe("config.redact_keys", function()
  local config = require "harness.config"
  it("masks every string shaped like a Harness key, and nothing else", function()
    local acc, id, secret = "kmpySmUISimoRrJL6NL73w", "a4fac5ef977e18b69e4d158e", "hiwXajE320yZUhosTwCo"
    assert.equal(('{"data":"pat.%s.%s.****"}'):format(acc, id),
      config.redact_keys(('{"data":"pat.%s.%s.%s"}'):format(acc, id, secret)))
    assert.equal(("sat.%s.****."):format(id), config.redact_keys(("sat.%s.%s."):format(id, secret)))
    for _, s in ipairs{"pat.example.com", "https://pat.example.com.au/x", "spat.a.b.cccccccccc", "pat.a.b"} do
      assert.equal(s, config.redact_keys(s))
    end
  end)
end)
