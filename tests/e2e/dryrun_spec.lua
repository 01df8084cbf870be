-- Dry runs (--dry-run, HARNESS_DRY_RUN=1): reads go to the server, changes
-- are printed instead of sent (the sandbox's request log proves it), and
-- hlua ends saying how many were held back. With them: pipelines.edit, and
-- YAML where the library takes or shows a pipeline.
local h = require "tests.support.helper"
local t = require "tests.support.http_helper"

local describe_sandbox = t.info and describe or pending

-- The API requests the sandbox saw since the last reset: "METHOD path".
local function seen()
  local out = {}
  for _, r in ipairs(t.api_requests()) do out[#out + 1] = r.method .. " " .. r.path end
  return out
end

local function only_reads(log)
  for _, r in ipairs(log) do
    local m = r:match("^(%u+)")
    local reads = {["POST /pipeline/api/pipelines/list"] = true, ["POST /ng/api/user/aggregate"] = true,
                   ["POST /pipeline/api/pipelines/execution/summary"] = true}
    assert.is_true(m == "GET" or reads[r] == true, "a change was sent: " .. r)
  end
end

describe("the dry run's rule for reads", function()
  it("follows the API: GETs, and POSTs that the table names as lists and searches", function()
    local dryrun = require "harness.dryrun"
    assert.is_true(dryrun.is_read("GET", "/ng/api/token/rotate/x"))
    assert.is_true(dryrun.is_read("POST", "/pipeline/api/pipelines/list"))
    assert.is_true(dryrun.is_read("POST", "/ng/api/user/aggregate"))
    assert.is_true(dryrun.is_read("POST", "/pipeline/api/pipelines/execution/summary"))
    assert.is_false(dryrun.is_read("POST", "/ng/api/token/rotate/x"))
    assert.is_false(dryrun.is_read("POST", "/pipeline/api/pipeline/execute/p"))
    assert.is_false(dryrun.is_read("POST", "/ng/api/nosuch/list"))
    assert.is_false(dryrun.is_read("PUT", "/pipeline/api/pipelines/v2/p"))
    assert.is_false(dryrun.is_read("DELETE", "/ng/api/v2/secrets/s"))
  end)
end)

describe_sandbox("a dry run", function()
  before_each(function() t.ctl("POST", "/_sandbox/reset", {state = true}) end)

  it("of rotate-token sends no change, prints what it would send, and says one was held back", function()
    local out, err, code = h.run("--dry-run scripts/rotate-token.lua scratch", nil, t.env())
    assert.equal(2, code, err)
    assert.equal("(dry run)\n", out)
    assert.matches("hlua: dry run, not sent: POST http://[^ ]+/ng/api/token/rotate/scratch%?", err)
    assert.matches("hlua: dry run: 1 change held back, nothing changed\n$", err)
    assert.not_matches(t.info.api_key, out .. err, 1, true)
    only_reads(seen())
    -- and with --store-secret: the secret it would create, the token's place held
    out, err, code = h.run("--dry-run scripts/rotate-token.lua scratch --store-secret rotated_ci_key", nil, t.env())
    assert.equal(2, code, err)
    assert.matches('not sent: POST http://[^ ]+/ng/api/v2/secrets%?.*"value": "%(dry run%)"', err)
    assert.matches("2 changes held back", err)
    only_reads(seen())
  end)

  it("of a pipeline update shows the YAML it would send and sends nothing", function()
    local out, err, code = t.run([[
      local P = {org = "default", project = "default_project"}
      local y = harness.pipelines.yaml("hello_world", P)
      local res = harness.pipelines.update("hello_world", y:gsub("Hello World", "Hello There"), P)
      print(res.dry_run)
      for _ in ipairs(res.data) do error("the placeholder has items") end -- and ends
      local r = harness.request("DELETE", "/ng/api/v2/secrets/github_pat")
      print(r.dry_run, r.status)
      print(#harness.pipelines.list(P) > 0)]], {HARNESS_DRY_RUN = "1"})
    assert.equal(2, code, err)
    assert.equal("true\ntrue\t200\ntrue\n", out)
    assert.matches("not sent: PUT http://[^ ]+/pipeline/api/pipelines/v2/hello_world%?", err)
    assert.matches("Content%-Type: application/yaml\n    pipeline:\n      name: Hello There\n", err)
    assert.matches("2 changes held back", err)
    local log = seen()
    only_reads(log)
    assert.is_truthy(table.concat(log, "\n"):find("POST /pipeline/api/pipelines/list", 1, true))
  end)

  it("of pipelines.edit prints a diff of the one line it changes", function()
    local out, err, code = t.run([[
      print(harness.pipelines.edit("hello_world", function(doc)
        doc.pipeline.description = "Says hello"
      end, {org = "default", project = "default_project"}))]], {HARNESS_DRY_RUN = "1"})
    assert.equal(2, code, err)
    assert.equal("true\n", out)
    assert.matches("%-%-%- hello_world%.yaml\n%+%+%+ hello_world%.yaml %(edited%)\n@@ %-3,7 %+3,7 @@\n", err)
    assert.matches("\n%-  description: Runs a shell script on the delegate\n%+  description: Says hello\n", err)
    only_reads(seen())
  end)
end)

describe_sandbox("pipelines and YAML", function()
  before_each(function() t.ctl("POST", "/_sandbox/reset", {state = true}) end)

  it("edit saves a pipeline changed only where fn changed it, and says whether it changed", function()
    local out, err, code = t.run([[
      local P = {org = "default", project = "default_project"}
      local before = harness.pipelines.yaml("hello_world", P)
      print(harness.pipelines.edit("hello_world", function(doc) end, P))
      print(harness.pipelines.edit("hello_world", function(doc)
        doc.pipeline.stages[1].stage.spec.execution.steps[1].step.timeout = "20m"
      end, P))
      local after = harness.pipelines.yaml("hello_world", P)
      io.write(harness.fmt.diff(before, after))]])
    assert.equal(0, code, err)
    -- one line changed: the step's timeout, nothing else
    local changed = {}
    for l in out:gmatch("[^\n]+") do
      if l:match("^[-+] ") or l:match("^[-+]%s") then changed[#changed + 1] = l end
    end
    assert.matches("^false\ntrue\n%-%-%- a\n%+%+%+ b\n@@ ", out)
    assert.same({"-                  timeout: 10m", "+                  timeout: 20m"}, changed)
    local puts = 0
    for _, r in ipairs(seen()) do if r:match("^PUT ") then puts = puts + 1 end end
    assert.equal(1, puts, "no request for the edit that changed nothing")
  end)

  it("run takes runtime inputs as a table, get decodes the pipeline", function()
    local out, err, code = t.run([[
      local P = {org = "default", project = "default_project"}
      local run = harness.pipelines.run("hello_world", {org = "default", project = "default_project",
        inputs = {pipeline = {identifier = "hello_world", variables = {{name = "tag", type = "String", value = "1.2"}}}}})
      print(type(run.uuid))
      print(harness.pipelines.get("hello_world", {org = "default", project = "default_project", decode = true}).doc.pipeline.name)]])
    assert.equal(0, code, err)
    assert.equal("string\nHello World\n", out)
    local r
    for _, x in ipairs(t.ctl("GET", "/_sandbox/requests?since=0").requests) do
      if x.operation == "Execute.PostPipelineExecuteWithInputSetYaml" then r = x end
    end
    assert.equal("application/yaml", r.content_type)
    assert.is_true(r.body_bytes > 40)
  end)

  it("-p --yaml and harness.print(v, {yaml = true}) show tables as YAML", function()
    local out, err, code = h.run("--yaml -p '{name = \"x\", tags = {\"a\", \"b\"}}'")
    assert.equal(0, code, err)
    assert.equal("name: x\ntags:\n  - a\n  - b\n", out)
    out = h.run("-e 'harness.print({a = 1}, {yaml = true}) harness.print({yaml = true})'")
    assert.equal('a: 1\n{"yaml":true}\n', out)
    -- an expression of no values prints nothing, not the options
    out, err, code = h.run("--yaml -p 'table.unpack({})'")
    assert.equal(0, code, err)
    assert.equal("", out)
  end)
end)
