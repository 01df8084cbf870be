#!/usr/bin/env hlua
-- token-expiry-report.lua: API tokens of users and service accounts that
-- expire soon.
local a = harness.args{
  summary = "Lists the API tokens (of users and service accounts) expiring within N days.",
  options = {
    {"--within DAYS", "expiring within this many days", default = 30, number = true},
    {"--expired", "also list tokens that have already expired"},
    {"--json", "print JSON instead of a table"},
    {"--check", "exit 3 when any token is listed (for CI and cron)"},
  },
  exit_codes = {
    {0, "report printed"}, {1, "the API refused or failed"}, {2, "bad usage"},
    {3, "with --check: some token expires within DAYS"},
  },
}

local list = harness.tokens.expiring{within_days = a.within, expired = a.expired}
if a.json then
  harness.print(list)
elseif #list == 0 then
  print(("No token expires within %g days."):format(a.within))
else
  io.write(harness.fmt.table(list, {
    {"TOKEN", "identifier"}, {"NAME", "name"}, {"KIND", "apiKeyType"},
    {"OWNER", "parentIdentifier"}, {"API KEY", "apiKeyIdentifier"},
    {"EXPIRES (UTC)", function(t) return harness.fmt.date(t.expiryAt) end},
    {"DAYS LEFT", function(t) return ("%.1f"):format(t.days_left) end},
  }))
end
if a.check and #list > 0 then os.exit(3) end
