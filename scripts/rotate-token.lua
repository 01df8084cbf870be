#!/usr/bin/env hlua
-- rotate-token.lua: rotate an API token; the new token goes to stdout
-- (and nowhere else), so it can be piped into a secret store.
local a = harness.args{
  summary = "Rotates an API token and prints the new token on stdout.",
  usage = "[options] TOKEN",
  arguments = {{"TOKEN", "the token's identifier"}},
  options = {
    {"--apikey ID", "its API key (looked up when not given)"},
    {"--parent ID", "the user's uuid or the service account's identifier (looked up)"},
    {"--type TYPE", "USER or SERVICE_ACCOUNT (looked up)"},
    {"--grace-hours H", "the old token keeps working this long", default = 0, number = true},
  },
  exit_codes = {{0, "rotated: the new token is on stdout"}, {1, "the API refused or failed"}, {2, "bad usage"}},
  permissions = "none for your own tokens; another user's or a service\n" ..
    "account's need API Keys: edit (Service Accounts: manage) where it lives.",
}

local at = (os.time() + math.floor(a.grace_hours * 3600)) * 1000
local new = harness.tokens.rotate(a.token, {apikey = a.apikey, parent = a.parent, type = a.type, at = at})
io.stdout:write(new, "\n")
io.stderr:write(("rotated %s; the old token %s\n"):format(a.token,
  a.grace_hours > 0 and ("works until " .. harness.fmt.date(at) .. " UTC") or "stops working now"))
