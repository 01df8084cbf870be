-- harness.users: the account's users.
local u = require "harness._util"

local M = {}

local function unwrap(item)
  local user = item.user or item
  user.roleAssignments = u.value(item.roleAssignmentMetadata)
  return user
end

--- Users of the account: {uuid, name, email, locked, disabled, ...,
--- roleAssignments}. opts: search, max_items.
function M.list(opts)
  opts = u.opts("users.list", opts)
  return u.collect("/ng/api/user/aggregate", {method = "POST", json = {},
    query = {searchTerm = opts.search}, max_items = opts.max_items}, unwrap)
end

--- The user the key belongs to (harness.whoami()).
function M.current()
  return harness.whoami()
end

--- The user with that email (case does not matter), or nil.
function M.find(email)
  u.need_string("users.find", "email", email)
  local want = email:lower()
  for item in harness.paginate("/ng/api/user/aggregate", {method = "POST", json = {},
      query = {searchTerm = email}}) do
    local user = unwrap(item)
    if type(user.email) == "string" and user.email:lower() == want then return user end
  end
  return nil
end

return M
