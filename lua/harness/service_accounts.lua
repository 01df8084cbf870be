-- harness.service_accounts: the account's service accounts (robot users
-- whose API keys and tokens scripts use).
local u = require "harness._util"

local M = {}

--- Service accounts: {identifier, name, email, description, tags, ...}.
function M.list()
  return u.map(harness.get("/ng/api/serviceaccount").data, function(a) return a end)
end

--- One service account, with tokensCount and its role assignments.
function M.get(id)
  u.need_string("service_accounts.get", "id", id)
  local d = harness.get("/ng/api/serviceaccount/aggregate/" .. u.seg(id)).data
  local a = d.serviceAccount or d
  a.tokensCount = u.value(d.tokensCount)
  a.roleAssignments = u.value(d.roleAssignmentsMetadataDTO)
  return a
end

--- Creates a service account: {identifier, name?, email?, description?, tags?}.
function M.create(a)
  if type(a) ~= "table" then u.argerror("service_accounts.create", "service_account", "table expected, got " .. type(a)) end
  u.need_string("service_accounts.create", "identifier", a.identifier)
  local account = harness.config().account
  return harness.post("/ng/api/serviceaccount", {json = {identifier = a.identifier,
    name = a.name or a.identifier, accountIdentifier = account,
    email = a.email or (a.identifier .. "@service.harness.io"),
    description = a.description, tags = a.tags}}).data
end

--- Deletes a service account.
function M.delete(id)
  u.need_string("service_accounts.delete", "id", id)
  harness.delete("/ng/api/serviceaccount/" .. u.seg(id))
  return true
end

return M
