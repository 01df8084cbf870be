-- harness.service_accounts: the account's service accounts (robot users
-- whose API keys and tokens scripts use).
local check = require "harness.check"
local client = require "harness.client"
local config = require "harness.config"
local r = require "harness.resource"
local url = require "harness.url"
local json = require "harness.json"

local M = {}

--- Service accounts: {identifier, name, email, description, tags, ...}.
function M.list()
  return json.array(r.get("/ng/api/serviceaccount"))
end

--- One service account, with tokensCount and its role assignments.
function M.get(id)
  check.string("service_accounts.get", 1, id)
  local d = r.get("/ng/api/serviceaccount/aggregate/" .. url.escape(id))
  local a = d.serviceAccount or d
  a.tokensCount = r.nonnull(d.tokensCount)
  a.roleAssignments = r.nonnull(d.roleAssignmentsMetadataDTO)
  return a
end

--- Creates a service account: {identifier, name?, email?, description?, tags?}.
function M.create(a)
  check.table("service_accounts.create", 1, a)
  check.string("service_accounts.create", "identifier", a.identifier)
  return client.post("/ng/api/serviceaccount", {json = {identifier = a.identifier,
    name = a.name or a.identifier, accountIdentifier = config.account(),
    email = a.email or (a.identifier .. "@service.harness.io"),
    description = a.description, tags = a.tags}}).data
end

--- Deletes a service account.
function M.delete(id)
  check.string("service_accounts.delete", 1, id)
  client.delete("/ng/api/serviceaccount/" .. url.escape(id))
  return true
end

return M
