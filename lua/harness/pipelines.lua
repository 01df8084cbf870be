-- harness.pipelines: pipelines of a project, their YAML, runs and executions.
-- Every call works in a project: opts.org and opts.project, by default the
-- configured ones.
local check = require "harness.check"
local client = require "harness.client"
local fmt = require "harness.fmt"
local host = require "hlua.host"
local r = require "harness.resource"
local sched = require "harness.sched"
local url = require "harness.url"

local M = {}

local BASE = "/pipeline/api"
local YAML = "application/yaml"

-- Execution statuses after which nothing more happens.
M.FINISHED = {
  Success = true, Failed = true, Aborted = true, Expired = true, Errored = true,
  ApprovalRejected = true, IgnoreFailed = true, AbortedByFreeze = true, Skipped = true,
}
-- Of those, the ones that count as a success.
M.SUCCEEDED = {Success = true, IgnoreFailed = true}

-- The options and scope (org, project) of a call; 'pos' is the position
-- of its options argument.
local function scope(fname, opts, pos)
  opts = check.opts("pipelines." .. fname, opts, pos, 1)
  local org, project = r.scope("pipelines." .. fname, opts, "project", 1)
  return opts, org, project
end

-- The path and paging options of the pipeline list, for list and each.
local function list_request(fname, opts)
  local org, project
  opts, org, project = scope(fname, opts)
  return BASE .. "/pipelines/list", {
    method = "POST", json = {filterType = "PipelineSetup"},
    query = r.query(org, project, {searchTerm = opts.search}),
    page_size = opts.page_size, max_items = opts.max_items}
end

--- Summaries of the project's pipelines: {identifier, name, description,
--- tags, storeType, lastUpdatedAt, executionSummaryInfo, ...}.
--- opts: org, project, search, max_items.
function M.list(opts)
  return r.list(list_request("list", opts))
end

--- Iterates over the project's pipelines, a page at a time, for projects
--- with very many; takes the options of list.
function M.each(opts)
  return require("harness.paging").paginate(list_request("each", opts))
end

--- One pipeline: the data of the response, with its YAML in yamlPipeline
--- (and, as a shortcut, in yaml).
function M.get(id, opts)
  check.string("pipelines.get", 1, id)
  local org, project
  opts, org, project = scope("get", opts, 2)
  local data = r.get(BASE .. "/pipelines/" .. url.escape(id), r.query(org, project))
  data.yaml = r.nonnull(data.yamlPipeline)
  return data
end

--- The pipeline's YAML, as a string.
function M.yaml(id, opts)
  check.string("pipelines.yaml", 1, id)
  return M.get(id, opts).yaml
end

local function need_yaml(fname, pos, yaml)
  if type(yaml) ~= "string" or not yaml:find("pipeline", 1, true) then
    check.argerror("pipelines." .. fname, pos,
      "pipeline YAML expected (a string with a top-level 'pipeline:'), got " ..
      (type(yaml) == "string" and "a string without one" or type(yaml)), 1)
  end
end

--- Creates a pipeline from its YAML; returns the response's data.
function M.create(yaml, opts)
  need_yaml("create", 1, yaml)
  local org, project
  opts, org, project = scope("create", opts, 2)
  return client.post(BASE .. "/pipelines/v2", {
    query = r.query(org, project), body = yaml, content_type = YAML}).data
end

--- Replaces a pipeline's YAML; returns the response's data.
function M.update(id, yaml, opts)
  check.string("pipelines.update", 1, id)
  need_yaml("update", 2, yaml)
  local org, project
  opts, org, project = scope("update", opts, 3)
  return client.put(BASE .. "/pipelines/v2/" .. url.escape(id), {
    query = r.query(org, project), body = yaml, content_type = YAML}).data
end

--- Deletes a pipeline.
function M.delete(id, opts)
  check.string("pipelines.delete", 1, id)
  local org, project
  opts, org, project = scope("delete", opts, 2)
  client.delete(BASE .. "/pipelines/" .. url.escape(id), {query = r.query(org, project)})
  return true
end

--- Starts a run. opts: org, project, inputs (runtime-input YAML), module
--- (moduleType, e.g. "cd"). Returns the plan execution: uuid (the
--- execution id), status, and the rest of Harness's answer.
function M.run(id, opts)
  check.string("pipelines.run", 1, id)
  local org, project
  opts, org, project = scope("run", opts, 2)
  if opts.inputs ~= nil and type(opts.inputs) ~= "string" then
    check.argerror("pipelines.run", "inputs", "runtime-input YAML string expected, got " .. type(opts.inputs))
  end
  local data = client.post(BASE .. "/pipeline/execute/" .. url.escape(id), {
    query = r.query(org, project, {moduleType = opts.module}),
    body = opts.inputs, content_type = opts.inputs and YAML or nil}).data
  return data.planExecution
end

--- One execution's summary: status, pipelineIdentifier, startTs, endTs,
--- runSequence, successfulStagesCount, totalStagesCount, ...
function M.execution(execution_id, opts)
  check.string("pipelines.execution", 1, execution_id)
  local org, project
  opts, org, project = scope("execution", opts, 2)
  return r.get(BASE .. "/pipelines/execution/v2/" .. url.escape(execution_id),
    r.query(org, project)).pipelineExecutionSummary
end

--- Executions of the project, newest first. opts: org, project, pipeline
--- (only its executions), status (a status or a list), max_items.
function M.executions(opts)
  local org, project
  opts, org, project = scope("executions", opts)
  local status = opts.status
  if type(status) == "string" then status = {status} end
  return r.list(BASE .. "/pipelines/execution/summary", {
    method = "POST", json = {filterType = "PipelineExecution"},
    query = r.query(org, project, {pipelineIdentifier = opts.pipeline, status = status}),
    page_size = opts.page_size, max_items = opts.max_items})
end

-- The progress line for a summary: "pipe #12  Running  2/3 stages  14s".
local function progress_line(sum, elapsed)
  local done = r.nonnull(sum.successfulStagesCount) or 0
  local total = r.nonnull(sum.totalStagesCount)
  return ("%s #%s  %s  %s  %s"):format(sum.pipelineIdentifier or "?",
    tostring(r.nonnull(sum.runSequence) or "?"), sum.status,
    total and (done .. "/" .. total .. " stages") or "", fmt.duration(elapsed))
end

--- Waits for an execution to finish; returns its summary (check
--- summary.status, or pipelines.SUCCEEDED[summary.status]). opts: org,
--- project, interval (seconds between polls, default 2), timeout (seconds,
--- default 3600; then raises a harness.Error of kind "timeout"), progress
--- (a line on stderr, rewritten in place on a terminal; default true;
--- a function gets each summary instead).
function M.wait(execution_id, opts)
  check.string("pipelines.wait", 1, execution_id)
  local org, project
  opts, org, project = scope("wait", opts, 2)
  local interval, timeout = opts.interval or 2, opts.timeout or 3600
  if type(interval) ~= "number" or interval <= 0 then
    check.argerror("pipelines.wait", "interval", "positive number of seconds expected")
  end
  if type(timeout) ~= "number" or timeout <= 0 then
    check.argerror("pipelines.wait", "timeout", "positive number of seconds expected")
  end
  local show = opts.progress
  if show == nil then show = true end
  local line = show == true and fmt.status_line() or nil
  local start = host.clock()
  local scoped = {org = org, project = project}
  while true do
    local sum = M.execution(execution_id, scoped)
    local elapsed = host.clock() - start
    local finished = M.FINISHED[sum.status]
    if type(show) == "function" then
      show(sum, elapsed)
    elseif line then
      line.show(progress_line(sum, elapsed), finished, sum.status)
    end
    if finished then return sum end
    if elapsed + interval > timeout then
      if line then line.show(progress_line(sum, elapsed), true, sum.status) end
      error(host.error{kind = "timeout",
        message = ("execution %s still %s after %s"):format(execution_id, sum.status,
          fmt.duration(elapsed))}, 2)
    end
    sched.sleep(interval)
  end
end

--- Aborts a running execution.
function M.abort(execution_id, opts)
  check.string("pipelines.abort", 1, execution_id)
  local org, project
  opts, org, project = scope("abort", opts, 2)
  return client.put(BASE .. "/pipeline/execute/interrupt/" .. url.escape(execution_id),
    {query = r.query(org, project, {interruptType = "AbortAll"})}).data
end

return M
