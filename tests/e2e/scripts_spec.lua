-- The ready scripts in scripts/, end to end against the sandbox: --help,
-- output, exit codes; and harness.args on its own.
local h = require "tests.support.helper"

describe("harness.args", function()
  local function parse(argv)
    local spec = {argv = argv, usage = "[options] NAME",
      options = {{"--org ID", "org"}, {"-n, --count N", "how many", default = 3, number = true}, {"--json", "json"}},
      arguments = {{"NAME", "a name"}, {"EXTRA", "more", optional = true}}}
    return harness.args.parse(spec)
  end
  it("parses options, flags and arguments", function()
    local a = parse{"--org", "o", "x", "--json", "-n", "5"}
    assert.same({"o", 5, true, "x"}, {a.org, a.count, a.json, a.name})
    a = parse{"--org=o2", "--", "--json"}
    assert.same({"o2", 3, "--json"}, {a.org, a.count, a.name})
  end)
  it("helps and refuses mistakes with exit codes 0 and 2", function()
    local spec = [[harness.args{usage = "[options] NAME", summary = "Does a thing.",
      options = {{"--org ID", "org"}}, arguments = {{"NAME", "a name"}},
      exit_codes = {{0, "fine"}}} print("ran")]]
    local script = h.tempfile(spec, ".lua")
    local out, _, rc = h.run(h.q(script) .. " --help")
    assert.equal(0, rc)
    assert.matches("usage: .* %[options%] NAME", out)
    assert.matches("Does a thing.", out, 1, true)
    assert.matches("%-%-org ID", out)
    assert.matches("exit codes:", out)
    local _, err
    _, err, rc = h.run(h.q(script) .. " --nope x")
    assert.equal(2, rc)
    assert.matches("unknown option %-%-nope %(try %-%-help%)", err)
    _, err, rc = h.run(h.q(script))
    assert.equal(2, rc)
    assert.matches("missing NAME", err)
    _, err, rc = h.run(h.q(script) .. " --org")
    assert.equal(2, rc)
    out, _, rc = h.run(h.q(script) .. " n")
    assert.equal("ran\n", out)
    os.remove(script)
  end)
end)

describe("the ready scripts", function()
  local sb = h.sandbox()
  if not sb then
    pending("no sandbox")
    return
  end
  local env = ("HARNESS_ENDPOINT=%s HARNESS_API_KEY=%s"):format(h.q(sb.url), h.q(sb.api_key))
  local function script(args, stdin, extra)
    local out, err, rc = h.run("scripts/" .. args, stdin, env .. " " .. (extra or ""))
    assert.not_matches(sb.api_key, out .. err, 1, true)
    return out, err, rc
  end
  setup(function() h.execution_seconds(sb, 1) end)
  teardown(function() h.execution_seconds(sb, 3) end)

  it("each has --help", function()
    for _, s in ipairs{"whoami", "list-projects", "run-pipeline", "export-pipelines",
        "token-expiry-report", "rotate-token", "ff-toggle", "demo"} do
      local out, err, rc = h.run("scripts/" .. s .. ".lua --help", nil, "HARNESS_API_KEY=")
      assert.equal(0, rc, s .. ": " .. err)
      assert.matches("^usage: " .. s:gsub("%-", "%%-") .. "%.lua", out)
      assert.matches("exit codes:", out)
    end
  end)

  it("whoami.lua shows the user with the key masked", function()
    local out, _, rc = script("whoami.lua")
    assert.equal(0, rc)
    assert.matches("Ada Lovelace <" .. sb.user_email:gsub("%p", "%%%0") .. ">", out)
    assert.matches("%.%*%*%*%*", out)
    local _, err
    _, err, rc = h.run("scripts/whoami.lua", nil, ("HARNESS_ENDPOINT=%s HARNESS_API_KEY=%s")
      :format(h.q(sb.url), h.q(sb.expired_key)))
    assert.equal(1, rc)
    assert.matches("EXPIRED_TOKEN", err)
    assert.not_matches(sb.expired_key, err, 1, true)
  end)

  it("list-projects.lua prints an aligned table, or JSON", function()
    local out, _, rc = script("list-projects.lua --org platform")
    assert.equal(0, rc)
    assert.equal([[
ORG       PROJECT        NAME            MODULES
platform  ci_tools       CI Tools        CI
platform  infra          Infrastructure  CD,CI
platform  observability  Observability   CD
]], out)
    out, _, rc = script("list-projects.lua --json")
    assert.equal(0, rc)
    assert.equal(9, #harness.json.decode(out))
  end)

  it("run-pipeline.lua follows the run and exits with its result", function()
    local out, err, rc = script("run-pipeline.lua --org default --project default_project --interval 0.2 hello_world")
    assert.equal(0, rc, err)
    assert.matches("hello_world %S+: Success", out)
    assert.matches("hello_world #%d+  Running", err)
    out, err, rc = script("run-pipeline.lua --interval 0.2 smoke_tests_fail", nil,
      "HARNESS_ORG_ID=default HARNESS_PROJECT_ID=default_project")
    assert.equal(1, rc)
    assert.matches("Failed", out)
    out, err, rc = script("run-pipeline.lua --org default --project default_project -q --interval 0.1 --timeout 0.2 hello_world")
    assert.equal(3, rc)
    assert.equal("", out)
    out, err, rc = script("run-pipeline.lua --org default --project default_project no_such_pipeline")
    assert.equal(1, rc)
    assert.matches("404", err)
    _, _, rc = script("run-pipeline.lua")
    assert.equal(2, rc)
  end)

  it("export-pipelines.lua writes every pipeline's YAML", function()
    local dir = h.tmpname()
    os.remove(dir)
    local _, err, rc = script("export-pipelines.lua --org payments " .. h.q(dir))
    assert.equal(0, rc, err)
    assert.matches("exported 12 pipelines from 3 projects", err)
    local f = assert(io.open(dir .. "/payments/checkout/checkout_ci.yaml"))
    local y = f:read("a")
    f:close()
    assert.matches("identifier: checkout_ci", y, 1, true)
    h.sh("rm -rf " .. h.q(dir))
  end)

  it("token-expiry-report.lua lists tokens expiring soon", function()
    local out, _, rc = script("token-expiry-report.lua --within 4")
    assert.equal(0, rc)
    assert.matches("reporting_token", out)
    assert.not_matches("old_laptop", out)
    out, _, rc = script("token-expiry-report.lua --within 4 --expired --check")
    assert.equal(3, rc)
    assert.matches("old_laptop", out)
    out, _, rc = script("token-expiry-report.lua --within 0 --json --check")
    assert.equal(0, rc)
    assert.equal("[]\n", out)
  end)

  it("rotate-token.lua prints only the new token", function()
    h.run("-e " .. h.q([[harness.tokens.create{identifier = "scripts_spec_tok", apikey = "hlua_automation"}]]),
      nil, env)
    local out, err, rc = script("rotate-token.lua --grace-hours 1 scripts_spec_tok")
    assert.equal(0, rc, err)
    assert.matches("^pat%.[%w]+%.[%w]+%.[%w]+\n$", out)
    assert.matches("works until", err)
    local _
    _, err, rc = h.run("scripts/whoami.lua", nil,
      ("HARNESS_ENDPOINT=%s HARNESS_API_KEY=%s"):format(h.q(sb.url), h.q(out:sub(1, -2))))
    assert.equal(0, rc, err)
    _, _, rc = script("rotate-token.lua no_such_token")
    assert.equal(1, rc)
  end)

  it("ff-toggle.lua turns a flag off and on", function()
    local base = "ff-toggle.lua --org payments --project checkout -e dev new_checkout_flow "
    local out, _, rc = script(base .. "off")
    assert.equal(0, rc)
    assert.matches("new_checkout_flow: %a+ %-> off in dev", out)
    out, _, rc = script(base .. "on")
    assert.equal(0, rc)
    assert.equal("new_checkout_flow: off -> on in dev\n", out)
    _, _, rc = script(base .. "sideways")
    assert.equal(2, rc)
  end)

  it("demo.lua tours the account", function()
    local out, err, rc = script("demo.lua")
    assert.equal(0, rc, err)
    assert.matches("Signed in as Ada Lovelace", out)
    assert.matches("9 projects", out)
    assert.matches("big%s+Big%s+10000", out)
    assert.matches("Latest executions", out)
    assert.matches("build_and_test #%d+  Success", err)
  end)
end)
