#!/usr/bin/env hlua
-- whoami.lua: who the configured API key belongs to, and where it points.
local a = harness.args{
  summary = "Shows the user the API key belongs to, the account and the endpoint.",
  options = {{"--json", "print JSON"}},
  exit_codes = {{0, "the key works"}, {1, "it does not (the error says why)"}, {2, "bad usage"}},
  permissions = "none beyond a valid key (a user's: a service account has no user).",
}

local cfg = harness.config()
local me = harness.whoami()
if a.json then
  harness.print({name = me.name, email = me.email, uuid = me.uuid, account = cfg.account,
    endpoint = cfg.endpoint, org = cfg.org, project = cfg.project, api_key = cfg.api_key})
else
  local rows = {
    {"user", ("%s <%s>"):format(me.name or "?", me.email or "?")},
    {"account", cfg.account}, {"endpoint", cfg.endpoint},
    {"org", cfg.org or "-"}, {"project", cfg.project or "-"}, {"key", cfg.api_key},
  }
  for _, r in ipairs(rows) do print(("%-9s %s"):format(r[1], tostring(r[2]))) end
end
