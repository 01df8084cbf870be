#!/usr/bin/env hlua
-- rotate-token.lua: rotate an API token. The new token goes to stdout (and
-- nowhere else), or into a file only its owner can read (--out), or into a
-- Harness text secret that pipelines read (--store-secret): rotation done
-- end to end, on a schedule, with no one copying a token.
local a = harness.args{
  summary = "Rotates an API token; the new token goes to stdout, a file, or a Harness secret.",
  usage = "[options] TOKEN",
  arguments = {{"TOKEN", "the token's identifier"}},
  options = {
    {"--apikey ID", "its API key (looked up when not given)"},
    {"--parent ID", "the user's uuid or the service account's identifier (looked up)"},
    {"--type TYPE", "USER or SERVICE_ACCOUNT (looked up)"},
    {"--grace-hours H", "the old token keeps working this long", default = 0, number = true},
    {"--out FILE", "write the new token to FILE (0600, atomically) instead of stdout"},
    {"--store-secret ID", "store the new token in the Harness text secret ID (created or updated)"},
    {"--secret-org ID", "the secret's org (default: the account's secrets)"},
    {"--secret-project ID", "the secret's project (with --secret-org)"},
  },
  exit_codes = {{0, "rotated, and the new token stored where asked"}, {1, "the API refused or failed"},
    {2, "bad usage"}},
  permissions = "none for your own tokens; another user's or a service\n" ..
    "account's need API Keys: edit (Service Accounts: manage) where it lives;\n" ..
    "--store-secret needs Secrets: view and create/edit in the secret's scope.",
}

local at = (os.time() + math.floor(a.grace_hours * 3600)) * 1000
local new = harness.tokens.rotate(a.token, {apikey = a.apikey, parent = a.parent, type = a.type, at = at})
if a.out and not new.dry_run then
  harness.write_secret(a.out, new .. "\n")
end
if a.store_secret then
  -- (tostring: in a dry run, the placeholder's text stands for the token)
  local s = {identifier = a.store_secret, value = tostring(new), org = a.secret_org or false,
             project = a.secret_project or false}
  local ok, err = pcall(harness.secrets.get, s.identifier, {org = s.org, project = s.project})
  if ok then
    harness.secrets.update(s)
  elseif harness.is_error(err) and err.status == 404 then
    harness.secrets.create(s)
  else
    error(err, 0)
  end
end
if not a.out and not a.store_secret then io.stdout:write(tostring(new), "\n") end
if new.dry_run then
  io.stderr:write(("dry run: %s not rotated\n"):format(a.token))
  return
end
io.stderr:write(("rotated %s%s%s; the old token %s\n"):format(a.token,
  a.out and (", the new one written to " .. a.out) or "",
  a.store_secret and (", stored in the secret " .. a.store_secret) or "",
  a.grace_hours > 0 and ("works until " .. harness.fmt.date(at)) or "stops working now"))
