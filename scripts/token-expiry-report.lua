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
  permissions = "none for your own tokens; for service accounts' tokens,\n" ..
    "Service Accounts: view and API Keys: view where they live (account, org\n" ..
    "or project). What the key may not see is listed on stderr, not fatal.",
}

local list, unseen = harness.tokens.expiring{within_days = a.within, expired = a.expired}
-- What the key may not see: one line per kind of refusal.
local refused, order = {}, {}
for _, u in ipairs(unseen) do
  local why = ("%s %s"):format(u.status or "?", u.code or "")
  if not refused[why] then refused[why], order[#order + 1] = {}, why end
  table.insert(refused[why], u.what)
end
for _, why in ipairs(order) do
  local what = refused[why]
  io.stderr:write(("token-expiry-report: not listed, the key may not see them (%s): %s%s\n"):format(
    why, table.concat(what, ", ", 1, math.min(#what, 4)), #what > 4 and (" and " .. (#what - 4) .. " more") or ""))
end

-- Owners by name: a user's email (the current user's is always known; the
-- others' when the key may list users), a service account's identifier.
local emails = {}
local me = harness.whoami()
emails[me.uuid] = me.email
local ok, users = pcall(harness.users.list)
if ok then
  for _, u in ipairs(users) do emails[u.uuid] = u.email end
end
for _, t in ipairs(list) do
  t.owner = t.apiKeyType == "USER" and emails[t.parentIdentifier] or t.parentIdentifier
end

if a.json then
  harness.print(list)
elseif #list == 0 then
  print(("No token expires within %g days."):format(a.within))
else
  io.write(harness.fmt.table(list, {
    {"TOKEN", "identifier"}, {"NAME", "name"}, {"KIND", "apiKeyType"},
    {"OWNER", "owner"}, {"API KEY", "apiKeyIdentifier"},
    {"EXPIRES", function(t) return harness.fmt.date(t.expiryAt) end},
    {"DAYS LEFT", function(t) return ("%.1f"):format(t.days_left) end},
  }))
end
if a.check and #list > 0 then os.exit(3) end
