#!/usr/bin/env hlua
-- ff-toggle.lua: turn a feature flag on or off in one environment.
local a = harness.args{
  summary = "Turns a feature flag on or off in an environment.",
  usage = "[options] FLAG on|off",
  arguments = {{"FLAG", "the flag's identifier"}, {"STATE", "on or off"}},
  options = {
    {"-e, --environment ENV", "the environment (e.g. prod)"},
    {"--org ID", "organization (default: the configured org)"},
    {"--project ID", "project (default: the configured project)"},
  },
  exit_codes = {{0, "the flag is now in that state"}, {1, "the API refused or failed"}, {2, "bad usage"}},
  permissions = "Feature Flags: toggle in the project and environment.",
}

if a.state ~= "on" and a.state ~= "off" then
  io.stderr:write("ff-toggle: STATE must be on or off, not '", a.state, "' (try --help)\n")
  os.exit(2)
end
if not a.environment then
  io.stderr:write("ff-toggle: which environment? pass --environment ENV (try --help)\n")
  os.exit(2)
end
local scope = {org = a.org, project = a.project, environment = a.environment}
local before = harness.feature_flags.state(a.flag, scope)
local flag = harness.feature_flags.toggle(a.flag, a.state, scope)
local now = flag.envProperties and flag.envProperties.state or a.state
print(("%s: %s -> %s in %s"):format(a.flag, tostring(before), now, a.environment))
