-- harness.pipelines: pipelines of a project, their YAML, runs and executions.
-- Every call works in a project: opts.org and opts.project, by default the
-- configured ones.
local api = require "harness.api"
local check = require "harness.check"
local config = require "harness.config"
local fmt = require "harness.fmt"
local host = require "hlua.host"
local r = require "harness.resource"
local sched = require "harness.sched"

---@class harness.pipelines
local M = {}

local SCOPE = {"org", "project"}

-- Execution statuses after which nothing more happens (Harness counts a
-- suspended execution as ended too).
M.FINISHED = {
  Success = true, Failed = true, Aborted = true, Expired = true, Errored = true,
  ApprovalRejected = true, IgnoreFailed = true, AbortedByFreeze = true, Skipped = true,
  Suspended = true,
}
-- Of those, the ones that count as a success.
M.SUCCEEDED = {Success = true, IgnoreFailed = true}

-- The options of a call (checked against 'known', plus org and project)
-- and the parameters of its project; 'pos' is the position of the options
-- argument.
local function scope(fname, opts, known, pos)
  local names = {"org", "project"}
  for _, n in ipairs(known or {}) do names[#names + 1] = n end
  opts = check.options("pipelines." .. fname, opts, names, pos)
  local org, project = r.scope("pipelines." .. fname, opts, "project")
  return opts, r.params(org, project)
end

-- The operation and parameters of the pipeline list, for list and each.
local function list_request(fname, opts)
  local params
  opts, params = scope(fname, opts, r.known({"search"}, true))
  params.searchTerm = opts.search
  params.body = {filterType = "PipelineSetup"}
  return api.Pipelines.GetPipelineList, params, opts
end

--- Summaries of the project's pipelines: {identifier, name, description,
--- tags, storeType, lastUpdatedAt, executionSummaryInfo, modules, ...}.
--- opts: org, project, search, max_items, page_size.
---@param opts? harness.pipelines.ListOpts
---@return {identifier: string, name: string, [string]: any}[]
function M.list(opts)
  return r.list(list_request("list", opts))
end

--- Iterates over the project's pipelines, a page at a time, for projects
--- with very many; takes the options of list.
---@param opts? harness.pipelines.ListOpts
---@return fun(): {identifier: string, name: string, [string]: any}
function M.each(opts)
  local op, params, o = list_request("each", opts)
  return op:paginate(params, {max_items = o.max_items, page_size = o.page_size})
end

--- One pipeline: the data of the response, with its YAML in yamlPipeline
--- (and, as a shortcut, in yaml); with opts.decode also the YAML decoded,
--- in doc (doc.pipeline.stages, ...). opts: org, project, decode.
---@param id string
---@param opts? {org?: string|false, project?: string|false, decode?: boolean}
---@return {yamlPipeline: string, yaml: string, doc?: table, [string]: any}
function M.get(id, opts)
  check.string("pipelines.get", 1, id)
  local params
  opts, params = scope("get", opts, {"decode"}, 2)
  params.pipelineIdentifier = id
  local data = r.data(api.Pipelines.GetPipeline, params)
  data.yaml = r.nonnull(data.yamlPipeline)
  if opts.decode and data.yaml then data.doc = require("harness.yaml").decode(data.yaml) end
  return data
end

--- The pipeline's YAML, as a string.
---@param id string
---@param opts? harness.Scope
---@return string yaml
function M.yaml(id, opts)
  check.string("pipelines.yaml", 1, id)
  return M.get(id, opts).yaml
end

local function need_yaml(fname, pos, yaml)
  if type(yaml) ~= "string" or not yaml:find("pipeline", 1, true) then
    check.argerror("pipelines." .. fname, pos,
      "pipeline YAML expected (a string with a top-level 'pipeline:'), got " ..
      (type(yaml) == "string" and "a string without one" or type(yaml)))
  end
end

--- Creates a pipeline from its YAML; returns the response's data.
---@param yaml string
---@param opts? harness.Scope
function M.create(yaml, opts)
  need_yaml("create", 1, yaml)
  local _, params = scope("create", opts, nil, 2)
  params.body = yaml
  return r.data(api.Pipelines.PostPipelineV2, params)
end

--- Replaces a pipeline's YAML; returns the response's data.
---@param id string
---@param yaml string
---@param opts? harness.Scope
function M.update(id, yaml, opts)
  check.string("pipelines.update", 1, id)
  need_yaml("update", 2, yaml)
  local _, params = scope("update", opts, nil, 3)
  params.pipelineIdentifier, params.body = id, yaml
  return r.data(api.Pipelines.UpdatePipelineV2, params)
end

--- Reads a pipeline, lets fn change its YAML document (fn(doc) changes
--- doc in place, or returns a new one), and saves it: in the new YAML
--- everything fn did not touch stays as it was (comments, order, quoting),
--- so a pipeline kept in Git gets the smallest diff. Returns true when it
--- changed something, false when fn changed nothing (then nothing is sent).
--- In a dry run (--dry-run) it prints the diff instead of saving.
--- opts: org, project.
---@param id string
---@param fn fun(doc: table): any
---@param opts? harness.Scope
---@return boolean changed
function M.edit(id, fn, opts)
  check.string("pipelines.edit", 1, id)
  check.callable("pipelines.edit", 2, fn)
  local _, params = scope("edit", opts, nil, 3)
  local scoped = {org = params.orgIdentifier, project = params.projectIdentifier}
  local old = M.yaml(id, scoped)
  local new = require("harness.yaml").edit(old, fn)
  if new == old then return false end
  if config.settings().dry_run then
    require("harness.dryrun").hold(("pipelines.edit %s (PUT %s)"):format(id, api.Pipelines.UpdatePipelineV2.path),
      "\n" .. fmt.diff(old, new, {from = id .. ".yaml", to = id .. ".yaml (edited)"}))
    return true
  end
  M.update(id, new, scoped)
  return true
end

--- Deletes a pipeline.
---@param id string
---@param opts? harness.Scope
---@return true
function M.delete(id, opts)
  check.string("pipelines.delete", 1, id)
  local _, params = scope("delete", opts, nil, 2)
  params.pipelineIdentifier = id
  api.Pipelines.DeletePipeline(params)
  return true
end

-- The module a pipeline runs under when the caller does not say: the
-- first of its modules that is not the pipeline service's own.
local function module_of(id, params)
  local p = {pipelineIdentifier = id, orgIdentifier = params.orgIdentifier,
             projectIdentifier = params.projectIdentifier}
  local modules = r.nonnull(r.data(api.Pipelines.GetPipeline, p).modules) or {}
  for _, m in ipairs(modules) do
    if m ~= "pms" then return m end
  end
  return "pms"
end

--- The link to an execution in Harness's web UI.
---@param pipeline string
---@param execution_id string
---@param opts? harness.Scope
---@return string
function M.url(pipeline, execution_id, opts)
  check.string("pipelines.url", 1, pipeline)
  check.string("pipelines.url", 2, execution_id)
  opts = check.options("pipelines.url", opts, SCOPE, 3)
  local org, project = r.scope("pipelines.url", opts, "project")
  local s = config.settings()
  return ("%s/ng/account/%s/all/orgs/%s/projects/%s/pipelines/%s/executions/%s/pipeline"):format(
    s.endpoint:gsub("/gateway$", ""), s.account, org, project, pipeline, execution_id)
end

--- Starts a run and says so on stderr, with the execution's link (unless
--- opts.quiet). opts: org, project, inputs (runtime-input YAML: a string,
--- or a table encoded as YAML, e.g. {pipeline = {identifier = "x",
--- variables = {{name = "tag", type = "String", value = "1.2"}}}}), module
--- (moduleType, e.g. "cd"; default: from the pipeline's modules), quiet.
--- Returns the plan execution: uuid (the execution id), status, url (its
--- page in Harness), and the rest of Harness's answer.
---@param id string
---@param opts? harness.pipelines.RunOpts
---@return {uuid: string, status: string, [string]: any}
function M.run(id, opts)
  check.string("pipelines.run", 1, id)
  local params
  opts, params = scope("run", opts, {"inputs", "module", "quiet"}, 2)
  local inputs = opts.inputs
  if type(inputs) == "table" then inputs = require("harness.yaml").encode(inputs) end
  if inputs ~= nil and type(inputs) ~= "string" then
    check.argerror("pipelines.run", "inputs", "runtime-input YAML (a string or a table) expected, got " ..
      type(inputs))
  end
  params.identifier = id
  params.moduleType = opts.module or module_of(id, params)
  -- YAML even when there are no inputs, as Harness's own SDK sends it
  params.body = inputs or ""
  local plan = r.data(api.Execute.PostPipelineExecuteWithInputSetYaml, params).planExecution
  plan.url = M.url(id, plan.uuid, {org = params.orgIdentifier, project = params.projectIdentifier})
  if not opts.quiet then io.stderr:write(("hlua: started %s: %s\n"):format(id, plan.url)) end
  return plan
end

--- One execution's summary: status, pipelineIdentifier, startTs, endTs,
--- runSequence, successfulStagesCount, totalStagesCount, ...
---@param execution_id string
---@param opts? harness.Scope
---@return harness.ExecutionSummary
function M.execution(execution_id, opts)
  check.string("pipelines.execution", 1, execution_id)
  local _, params = scope("execution", opts, nil, 2)
  params.planExecutionId = execution_id
  return r.data(api.ExecutionDetails.GetExecutionDetailV2, params).pipelineExecutionSummary
end

--- Executions of the project, newest first. opts: org, project, pipeline
--- (only its executions), status (a status or a list), max_items, page_size.
---@param opts? {org?: string, project?: string, pipeline?: string, status?: string|string[], max_items?: integer}
---@return harness.ExecutionSummary[]
function M.executions(opts)
  local params
  opts, params = scope("executions", opts, r.known({"pipeline", "status"}, true))
  local status = opts.status
  if type(status) == "string" then status = {status} end
  params.pipelineIdentifier, params.status = opts.pipeline, status
  params.body = {filterType = "PipelineExecution"}
  return r.list(api.ExecutionDetails.GetListOfExecutions, params, opts)
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
--- a function gets each summary instead). Interrupted (Ctrl-C), it says
--- that the execution goes on running in Harness, and where.
---@param execution_id string
---@param opts? harness.pipelines.WaitOpts
---@return harness.ExecutionSummary
function M.wait(execution_id, opts)
  check.string("pipelines.wait", 1, execution_id)
  opts = check.options("pipelines.wait", opts, {"org", "project", "interval", "timeout", "progress"}, 2)
  local org, project = r.scope("pipelines.wait", opts, "project")
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
  local url
  local ok, result = pcall(function()
    while true do
      local sum = M.execution(execution_id, scoped)
      local elapsed = host.clock() - start
      local finished = M.FINISHED[sum.status]
      url = url or M.url(sum.pipelineIdentifier, execution_id, scoped)
      if type(show) == "function" then
        show(sum, elapsed)
      elseif line then
        line.show(progress_line(sum, elapsed), finished, sum.status)
      end
      if finished then return sum end
      if elapsed + interval > timeout then
        if line then line.show(progress_line(sum, elapsed), true, sum.status) end
        error(host.error{kind = "timeout",
          message = ("execution %s still %s after %s (%s)"):format(execution_id, sum.status,
            fmt.duration(elapsed), url)}, 0)
      end
      sched.sleep(interval)
    end
  end)
  if ok then return result end
  if host.is_error(result) and result.kind == "interrupted" then
    -- stopping hlua does not stop the run: say where it goes on
    io.stderr:write(("\nhlua: the execution %s goes on running in Harness%s\n"):format(
      execution_id, url and (": " .. url) or ""))
  end
  error(result, 0)
end

--- Aborts a running execution.
---@param execution_id string
---@param opts? harness.Scope
function M.abort(execution_id, opts)
  check.string("pipelines.abort", 1, execution_id)
  local _, params = scope("abort", opts, nil, 2)
  params.planExecutionId, params.interruptType = execution_id, "AbortAll"
  return r.data(api.Execute.PutHandleInterrupt, params)
end

return M
