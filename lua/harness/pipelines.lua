-- harness.pipelines: pipelines of a project, their YAML, runs and executions.
-- Every call works in a project: opts.org and opts.project, by default the
-- configured ones.
local u = require "harness._util"

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

local function scope(fname, opts, pos)
  opts = u.opts("pipelines." .. fname, opts, pos, 1)
  local org, project = u.scope("pipelines." .. fname, opts, "project", 1)
  return opts, org, project
end

-- The path and paging options of the pipeline list, for list and each.
local function list_request(fname, opts)
  local org, project
  opts, org, project = scope(fname, opts)
  return BASE .. "/pipelines/list", {
    method = "POST", json = {filterType = "PipelineSetup"},
    query = u.scope_query(org, project, {searchTerm = opts.search}),
    page_size = opts.page_size, max_items = opts.max_items}
end

--- Summaries of the project's pipelines: {identifier, name, description,
--- tags, storeType, lastUpdatedAt, executionSummaryInfo, ...}.
--- opts: org, project, search, max_items.
function M.list(opts)
  return u.collect(list_request("list", opts))
end

--- Iterates over the project's pipelines, a page at a time, for projects
--- with very many; takes the options of list.
function M.each(opts)
  return harness.paginate(list_request("each", opts))
end

--- One pipeline: the data of the response, with its YAML in yamlPipeline
--- (and, as a shortcut, in yaml).
function M.get(id, opts)
  u.need_string("pipelines.get", "id", id)
  local org, project
  opts, org, project = scope("get", opts, 2)
  local data = harness.get(BASE .. "/pipelines/" .. u.seg(id),
    {query = u.scope_query(org, project)}).data
  data.yaml = u.value(data.yamlPipeline)
  return data
end

--- The pipeline's YAML, as a string.
function M.yaml(id, opts)
  u.need_string("pipelines.yaml", "id", id)
  return M.get(id, opts).yaml
end

local function need_yaml(fname, yaml)
  if type(yaml) ~= "string" or not yaml:find("pipeline", 1, true) then
    u.argerror("pipelines." .. fname, "yaml",
      "pipeline YAML expected (a string with a top-level 'pipeline:'), got " ..
      (type(yaml) == "string" and "a string without one" or type(yaml)), 3)
  end
end

--- Creates a pipeline from its YAML; returns the response's data.
function M.create(yaml, opts)
  need_yaml("create", yaml)
  local org, project
  opts, org, project = scope("create", opts, 2)
  return harness.post(BASE .. "/pipelines/v2", {
    query = u.scope_query(org, project), body = yaml, content_type = YAML}).data
end

--- Replaces a pipeline's YAML; returns the response's data.
function M.update(id, yaml, opts)
  u.need_string("pipelines.update", "id", id)
  need_yaml("update", yaml)
  local org, project
  opts, org, project = scope("update", opts, 3)
  return harness.put(BASE .. "/pipelines/v2/" .. u.seg(id), {
    query = u.scope_query(org, project), body = yaml, content_type = YAML}).data
end

--- Deletes a pipeline.
function M.delete(id, opts)
  u.need_string("pipelines.delete", "id", id)
  local org, project
  opts, org, project = scope("delete", opts, 2)
  harness.delete(BASE .. "/pipelines/" .. u.seg(id), {query = u.scope_query(org, project)})
  return true
end

--- Starts a run. opts: org, project, inputs (runtime-input YAML), module
--- (moduleType, e.g. "cd"). Returns the plan execution: uuid (the
--- execution id), status, and the rest of Harness's answer.
function M.run(id, opts)
  u.need_string("pipelines.run", "id", id)
  local org, project
  opts, org, project = scope("run", opts, 2)
  if opts.inputs ~= nil and type(opts.inputs) ~= "string" then
    u.argerror("pipelines.run", "inputs", "runtime-input YAML string expected, got " .. type(opts.inputs))
  end
  local data = harness.post(BASE .. "/pipeline/execute/" .. u.seg(id), {
    query = u.scope_query(org, project, {moduleType = opts.module}),
    body = opts.inputs, content_type = opts.inputs and YAML or nil}).data
  return data.planExecution
end

--- One execution's summary: status, pipelineIdentifier, startTs, endTs,
--- runSequence, successfulStagesCount, totalStagesCount, ...
function M.execution(execution_id, opts)
  u.need_string("pipelines.execution", "execution_id", execution_id)
  local org, project
  opts, org, project = scope("execution", opts, 2)
  return harness.get(BASE .. "/pipelines/execution/v2/" .. u.seg(execution_id),
    {query = u.scope_query(org, project)}).data.pipelineExecutionSummary
end

--- Executions of the project, newest first. opts: org, project, pipeline
--- (only its executions), status (a status or a list), max_items.
function M.executions(opts)
  local org, project
  opts, org, project = scope("executions", opts)
  local status = opts.status
  if type(status) == "string" then status = {status} end
  return u.collect(BASE .. "/pipelines/execution/summary", {
    method = "POST", json = {filterType = "PipelineExecution"},
    query = u.scope_query(org, project, {pipelineIdentifier = opts.pipeline, status = status}),
    page_size = opts.page_size, max_items = opts.max_items})
end

local function sleep(s)
  if harness.sleep then return harness.sleep(s) end
  return harness._sleep(s)
end

local function fmt_elapsed(s)
  s = math.floor(s + 0.5)
  if s < 60 then return s .. "s" end
  return ("%dm%02ds"):format(s // 60, s % 60)
end

-- The progress line for a summary: "pipe #12  Running  2/3 stages  14s".
local function progress_line(sum, elapsed)
  local done = u.value(sum.successfulStagesCount) or 0
  local total = u.value(sum.totalStagesCount)
  return ("%s #%s  %s  %s  %s"):format(sum.pipelineIdentifier or "?", tostring(u.value(sum.runSequence) or "?"),
    sum.status, total and (done .. "/" .. total .. " stages") or "", fmt_elapsed(elapsed))
end

--- Waits for an execution to finish; returns its summary (check
--- summary.status, or pipelines.SUCCEEDED[summary.status]). opts: org,
--- project, interval (seconds between polls, default 2), timeout (seconds,
--- default 3600; then raises a harness.Error of kind "timeout"), progress
--- (a line on stderr, rewritten in place on a terminal; default true;
--- a function gets each summary instead).
function M.wait(execution_id, opts)
  u.need_string("pipelines.wait", "execution_id", execution_id)
  local org, project
  opts, org, project = scope("wait", opts, 2)
  local interval, timeout = opts.interval or 2, opts.timeout or 3600
  if type(interval) ~= "number" or interval <= 0 then
    u.argerror("pipelines.wait", "interval", "positive number of seconds expected")
  end
  if type(timeout) ~= "number" or timeout <= 0 then
    u.argerror("pipelines.wait", "timeout", "positive number of seconds expected")
  end
  local show = opts.progress
  if show == nil then show = true end
  local tty = show == true and harness._isatty and harness._isatty(2)
  local start, last = harness._clock(), nil
  local scoped = {org = org, project = project}
  while true do
    local sum = M.execution(execution_id, scoped)
    local elapsed = harness._clock() - start
    local finished = M.FINISHED[sum.status]
    if type(show) == "function" then
      show(sum, elapsed)
    elseif show then
      local line = progress_line(sum, elapsed)
      if tty then
        io.stderr:write("\r\27[K", line, finished and "\n" or "")
      elseif sum.status ~= last then
        io.stderr:write(line, "\n")
      end
      io.stderr:flush()
    end
    last = sum.status
    if finished then return sum end
    if elapsed + interval > timeout then
      if tty then io.stderr:write("\n") end
      error(harness._error{kind = "timeout", status = nil,
        message = ("execution %s still %s after %s"):format(execution_id, sum.status, fmt_elapsed(elapsed))}, 2)
    end
    sleep(interval)
  end
end

--- Aborts a running execution.
function M.abort(execution_id, opts)
  u.need_string("pipelines.abort", "execution_id", execution_id)
  local org, project
  opts, org, project = scope("abort", opts, 2)
  return harness.put(BASE .. "/pipeline/execute/interrupt/" .. u.seg(execution_id),
    {query = u.scope_query(org, project, {interruptType = "AbortAll"})}).data
end

return M
