#!/usr/bin/env hlua
-- run-pipeline.lua: run a pipeline, follow it, and exit with its result.
local a = harness.args{
  summary = "Runs a pipeline and waits for it to finish, with a progress line on stderr.",
  usage = "[options] PIPELINE",
  arguments = {{"PIPELINE", "the pipeline's identifier"}},
  options = {
    {"--org ID", "organization (default: the configured org)"},
    {"--project ID", "project (default: the configured project)"},
    {"--inputs FILE", "runtime-input YAML for the run ('-' reads stdin)"},
    {"--interval SECONDS", "seconds between status polls", default = 2, number = true},
    {"--timeout SECONDS", "give up waiting after this long", default = 3600, number = true},
    {"--no-wait", "start the run, print its execution id and exit"},
    {"-q, --quiet", "no progress line"},
  },
  exit_codes = {
    {0, "the execution succeeded (or started, with --no-wait)"},
    {1, "it failed, was aborted or expired; or the API refused the run"},
    {2, "bad usage"},
    {3, "still running when --timeout ran out"},
  },
  permissions = "Pipelines: view and execute in the project.",
}

local inputs
if a.inputs then
  local f = a.inputs == "-" and io.stdin or io.open(a.inputs, "rb")
  if not f then
    io.stderr:write("run-pipeline: cannot read ", a.inputs, "\n")
    os.exit(2)
  end
  inputs = f:read("a")
  if f ~= io.stdin then f:close() end
end

local P = harness.pipelines
local run = P.run(a.pipeline, {org = a.org, project = a.project, inputs = inputs})
if a.no_wait then
  print(run.uuid)
  return
end
local ok, summary = pcall(P.wait, run.uuid, {org = a.org, project = a.project,
  interval = a.interval, timeout = a.timeout, progress = not a.quiet})
if not ok then
  if harness.is_error(summary) and summary.kind == "timeout" then
    io.stderr:write("run-pipeline: ", summary.message, "\n")
    os.exit(3)
  end
  error(summary, 0)
end
print(("%s %s: %s"):format(a.pipeline, run.uuid, summary.status))
if summary.executionErrorInfo and summary.executionErrorInfo ~= harness.json.null then
  io.stderr:write(tostring(summary.executionErrorInfo.message), "\n")
end
os.exit(P.SUCCEEDED[summary.status] and 0 or 1)
