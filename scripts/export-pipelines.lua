#!/usr/bin/env hlua
-- export-pipelines.lua: back up the YAML of every pipeline of a project, an
-- org or the whole account into a folder: DIR/<org>/<project>/<id>.yaml.
local a = harness.args{
  summary = "Backs up every pipeline's YAML, several at a time, into a folder.",
  usage = "[options] DIR",
  arguments = {{"DIR", "where to write <org>/<project>/<pipeline>.yaml"}},
  options = {
    {"--org ID", "only this organization (default: the configured org)"},
    {"--project ID", "only this project (default: the configured project)"},
    {"--all", "every project of the account"},
    {"--concurrency N", "pipelines fetched at once", default = 8, number = true},
  },
  exit_codes = {{0, "every pipeline written"}, {1, "an API call or a write failed"}, {2, "bad usage"}},
  permissions = "Pipelines: view in each project exported (and Projects:\n" ..
    "view with --all).",
}

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function mkdir(dir)
  if not os.execute("mkdir -p " .. q(dir)) then error("cannot create " .. dir, 0) end
end

-- The projects to export: one, an org's, or all of them.
local cfg = harness.config()
local targets = {}
if not a.all and (a.project or (not a.org and cfg.project)) then
  local org = a.org or cfg.org
  targets[1] = {org = org, project = a.project or cfg.project}
else
  for _, p in ipairs(harness.projects.list{org = not a.all and a.org or nil, all = a.all}) do
    targets[#targets + 1] = {org = p.orgIdentifier, project = p.identifier}
  end
end

-- Every pipeline of those projects, as {org, project, id}.
local jobs = {}
for _, t in ipairs(targets) do
  for p in harness.pipelines.each{org = t.org, project = t.project} do
    jobs[#jobs + 1] = {org = t.org, project = t.project, id = p.identifier}
  end
  mkdir(a.dir .. "/" .. t.org .. "/" .. t.project)
end

local function export(job)
  local yaml = harness.pipelines.yaml(job.id, {org = job.org, project = job.project})
  local path = ("%s/%s/%s/%s.yaml"):format(a.dir, job.org, job.project, job.id)
  local f = assert(io.open(path, "wb"))
  assert(f:write(yaml))
  assert(f:close())
  return #yaml
end

local sizes
if harness.map then
  sizes = harness.map(jobs, export, {concurrency = math.floor(a.concurrency)})
else
  sizes = {}
  for i, job in ipairs(jobs) do sizes[i] = export(job) end
end
local bytes = 0
for _, n in ipairs(sizes) do bytes = bytes + n end
io.stderr:write(("exported %d pipelines from %d projects (%d KB) to %s\n")
  :format(#jobs, #targets, (bytes + 1023) // 1024, a.dir))
