#!/usr/bin/env hlua
-- demo.lua: what `make demo` runs against the sandbox. A tour in ~60 lines:
-- who am I, every project with its pipeline count (fetched concurrently),
-- a pipeline run followed live, and the project's latest executions.
local a = harness.args{
  summary = "A short tour of hlua against a Harness account (make demo runs it on the sandbox).",
  options = {
    {"--org ID", "organization of the pipeline to run", default = "default"},
    {"--project ID", "its project", default = "default_project"},
    {"--pipeline ID", "the pipeline to run", default = "build_and_test"},
  },
  exit_codes = {{0, "the run succeeded"}, {1, "it failed, or the API did"}, {2, "bad usage"}},
  permissions = "Projects: view; Pipelines: view and execute.",
}
local fmt = harness.fmt
local t0 = os.time()
local function say(...)
  io.write("\n== ", string.format(...), "\n")
  io.stdout:flush()
end

local me, cfg = harness.whoami(), harness.config()
say("Signed in as %s <%s> on %s", me.name, me.email, cfg.endpoint)

-- Every project, and how many pipelines each has: one request per project,
-- all in flight at once.
local projects = harness.projects.list{all = true}
local function count(p)
  local page = harness.post("/pipeline/api/pipelines/list", {json = {filterType = "PipelineSetup"},
    query = {orgIdentifier = p.orgIdentifier, projectIdentifier = p.identifier, size = 1}})
  p.pipelines = page.data.totalElements
end
harness.map(projects, count, {progress = false})
table.sort(projects, function(x, y) return x.pipelines > y.pipelines end)
say("%d projects", #projects)
io.write(fmt.table(projects, {{"ORG", "orgIdentifier"}, {"PROJECT", "identifier"},
  {"NAME", "name"}, {"PIPELINES", "pipelines"}, {"MODULES", "modules"}}))

-- Run a pipeline and follow it.
local scope = {org = a.org, project = a.project}
say("Running %s/%s/%s", a.org, a.project, a.pipeline)
local run = harness.pipelines.run(a.pipeline, scope)
local result = harness.pipelines.wait(run.uuid, {org = a.org, project = a.project, interval = 0.5})

-- The project's latest executions.
say("Latest executions in %s/%s", a.org, a.project)
local recent = harness.pipelines.executions{org = a.org, project = a.project, max_items = 6}
io.write(fmt.table(recent, {
  {"#", "runSequence"}, {"PIPELINE", "pipelineIdentifier"}, {"STATUS", "status"},
  {"STARTED", function(e) return fmt.date(e.startTs) end},
  {"TOOK", function(e)
    local stop = e.endTs ~= harness.json.null and e.endTs or nil
    return stop and fmt.duration((stop - e.startTs) / 1000) or "running" end},
  {"BY", function(e) return e.executionTriggerInfo.triggeredBy.identifier end},
}))

say("%s in %s. This was scripts/demo.lua: %d lines of Lua.", result.status,
  fmt.duration(os.difftime(os.time(), t0)), select(2, io.open(arg[0]):read("a"):gsub("\n", "")))
os.exit(harness.pipelines.SUCCEEDED[result.status] and 0 or 1)
