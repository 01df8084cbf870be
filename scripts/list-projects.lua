#!/usr/bin/env hlua
-- list-projects.lua: the projects of an organization or of the whole account.
local a = harness.args{
  summary = "Lists the projects of an organization, or of the whole account.",
  options = {
    {"--org ID", "only this organization's projects (default: the configured org)"},
    {"--all", "every project of the account, whatever org is configured"},
    {"--json", "print JSON (an array of projects) instead of a table"},
  },
  exit_codes = {{0, "listed (possibly none)"}, {1, "the API refused or failed"}, {2, "bad usage"}},
  permissions = "Projects: view (in the org, or in the account with --all).",
}

local projects = harness.projects.list{org = a.org, all = a.all}
if a.json then
  harness.print(projects)
  return
end
table.sort(projects, function(x, y)
  if x.orgIdentifier ~= y.orgIdentifier then return x.orgIdentifier < y.orgIdentifier end
  return x.identifier < y.identifier
end)
io.write(harness.fmt.table(projects, {
  {"ORG", "orgIdentifier"}, {"PROJECT", "identifier"}, {"NAME", "name"}, {"MODULES", "modules"},
}))
