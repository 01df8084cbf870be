-- Configuration: options, environment, profiles, the Harness
-- CLI's login, the key's account, masking and warnings.
local t = require "tests.support.http_helper"
local h = require "tests.support.helper"

local function write(path, content, mode)
  assert(os.execute("mkdir -p " .. h.q(path:match("^(.*)/"))))
  local f = assert(io.open(path, "wb"))
  f:write(content)
  f:close()
  assert(os.execute(("chmod %s %s"):format(mode or "600", h.q(path))))
end

describe("configuration", function()
  it("takes the account from the key and says where each setting came from", function()
    local out, err, code = t.run([[
      local c = harness.config()
      print(c.endpoint, c.account, c.api_key)
      print(c.sources.endpoint, c.sources.account, c.sources.api_key)]])
    assert.are.equal(0, code, err)
    local masked = t.info.api_key:gsub("[^.]+$", "****")
    assert.are.equal(("%s\t%s\t%s\nenv\ttoken\tenv\n"):format(t.info.url, t.info.account, masked), out)
  end)

  it("lets options win over the environment", function()
    local out, err, code = h.run("--account acc9 --org o1 --project p1 -e " ..
      h.q("local c = harness.config() print(c.account, c.org, c.project, c.sources.account)"),
      nil, t.env({HARNESS_ACCOUNT_ID = "envacc", HARNESS_ORG_ID = "envorg"}))
    assert.are.equal(0, code, err)
    assert.are.equal("acc9\to1\tp1\toption\n", out)
  end)

  it("reads a profile with an api_key_file, and warns when it is readable by others", function()
    local home = t.home()
    write(home .. "/.config/hlua/prod.key", t.info.api_key .. "\n", "644")
    write(home .. "/.config/hlua/config.json", harness.json.encode({
      default_profile = "prod",
      profiles = {prod = {endpoint = t.info.url, org = "default",
                          api_key_file = "~/.config/hlua/prod.key"},
                  other = {endpoint = "https://nowhere.invalid"}}}))
    local env = {HOME = home, XDG_CONFIG_HOME = home .. "/.config", HARNESS_ENDPOINT = false,
                 HARNESS_API_KEY = false}
    local out, err, code = t.run([[
      local c = harness.config()
      print(c.profile, c.org, c.sources.api_key, c.sources.endpoint, c.sources.profile)
      print(harness.whoami().email)]], env)
    assert.are.equal(0, code, err)
    assert.are.equal("prod\tdefault\tprofile\tprofile\tprofile\n" .. t.info.user_email .. "\n", out)
    assert.matches("prod.key is readable by group or others", err, 1, true)
    out, err, code = t.run('print(harness.config().endpoint)', env, "--profile other")
    assert.are.equal(0, code, err)
    assert.are.equal("https://nowhere.invalid\n", out)
    _, err, code = t.run('print(harness.config().endpoint)', env, "--profile nope")
    assert.are.equal(1, code)
    assert.matches('no profile "nope"', err, 1, true)
  end)

  it("takes the cap on requests in flight from a profile", function()
    local home = t.home()
    write(home .. "/.config/hlua/config.json", harness.json.encode({
      default_profile = "p", profiles = {p = {endpoint = t.info.url, max_in_flight = 2}}}))
    local env = {HOME = home, XDG_CONFIG_HOME = home .. "/.config", HARNESS_ENDPOINT = false}
    local out, err, code = t.run([[
      harness.whoami()
      print(harness.config().max_in_flight, require("harness.config").max_in_flight())]], env)
    assert.are.equal(0, code, err)
    assert.are.equal("2\t2\n", out)
    write(home .. "/.config/hlua/config.json", harness.json.encode({
      default_profile = "p", profiles = {p = {endpoint = t.info.url, max_in_flight = "many"}}}))
    _, err, code = t.run("harness.whoami()", env)
    assert.are.equal(1, code)
    assert.matches("max_in_flight must be a positive integer, not 'many'", err, 1, true)
  end)

  it("uses the Harness CLI's login file", function()
    local home = t.home()
    write(home .. "/.harness/auth.json", harness.json.encode({base_url = t.info.url,
      token = t.info.api_key, account_id = t.info.account}))
    local out, err, code = t.run([[
      print(harness.config().sources.api_key, harness.whoami().email)]],
      {HOME = home, XDG_CONFIG_HOME = home .. "/.config", HARNESS_ENDPOINT = false,
       HARNESS_API_KEY = false})
    assert.are.equal(0, code, err)
    assert.are.equal("harness-cli\t" .. t.info.user_email .. "\n", out)
  end)

  it("reads HARNESS_API_KEY_FILE", function()
    local home = t.home()
    write(home .. "/k", t.info.api_key)
    local out, err, code = t.run('print(harness.whoami().email)',
      {HOME = home, HARNESS_API_KEY = false, HARNESS_API_KEY_FILE = home .. "/k"})
    assert.are.equal(0, code, err)
    assert.are.equal(t.info.user_email .. "\n", out)
    assert.are.equal("", err)
  end)

  it("says how to set a key when there is none", function()
    local _, err, code = t.run('harness.get("/ng/api/user/currentUser")', {HARNESS_API_KEY = false})
    assert.are.equal(1, code)
    assert.matches("^" .. h.prog .. ": no Harness API key: set HARNESS_API_KEY", err)
    assert.are.equal(1, select(2, err:gsub("\n", "")))
  end)

  it("asks for the account with an old 3-part key", function()
    local _, err, code = t.run('harness.whoami()', {HARNESS_API_KEY = t.info.legacy_key})
    assert.are.equal(1, code)
    assert.matches("no Harness account id", err, 1, true)
    local out, err2, code2 = t.run('print(harness.whoami().email)',
      {HARNESS_API_KEY = t.info.legacy_key, HARNESS_ACCOUNT_ID = t.info.account})
    assert.are.equal(0, code2, err2)
    assert.are.equal(t.info.user_email .. "\n", out)
  end)

  it("touches nothing for a script that makes no request", function()
    local home = t.home()
    write(home .. "/.config/hlua/config.json", "{broken")
    local out, err, code = t.run('print(harness.env("NOPE", "dflt"))',
      {HOME = home, XDG_CONFIG_HOME = home .. "/.config"})
    assert.are.equal(0, code, err)
    assert.are.equal("dflt\n", out)
    local _, err2, code2 = t.run('harness.whoami()', {HOME = home, XDG_CONFIG_HOME = home .. "/.config"})
    assert.are.equal(1, code2)
    assert.matches("config.json is not valid JSON", err2, 1, true)
  end)

  it("logs at the level HARNESS_LOG asks", function()
    local _, err, code = t.run('harness.log.debug("d%d", 1) harness.log.info("i") harness.log.warn("w")',
      {HARNESS_LOG = "warn"})
    assert.are.equal(0, code)
    assert.are.equal("[warn] w\n", err)
  end)
end)
