-- harness.users: the account's users, and the one the key belongs to.
local api = require "harness.api"
local check = require "harness.check"
local r = require "harness.resource"

---@class harness.users
local M = {}

local function unwrap(item)
  local user = item.user or item
  user.roleAssignments = r.nonnull(item.roleAssignmentMetadata)
  return user
end

--- Users of the account: {uuid, name, email, locked, disabled, ...,
--- roleAssignments}. opts: search, max_items, page_size.
---@param opts? {search?: string, max_items?: integer}
---@return {uuid: string, name: string, email: string}[]
function M.list(opts)
  opts = check.options("users.list", opts, r.known({"search"}, true))
  return r.list(api.User.GetAggregatedUsers, {searchTerm = opts.search, orgIdentifier = false,
    projectIdentifier = false, body = {}}, opts, unwrap)
end

--- The user the key belongs to (harness.whoami()): the data of
--- /ng/api/user/currentUser, with email, name, uuid, ...
function M.current()
  return api.User.GetCurrentUserInfo{}.data
end

--- The user with that email (case does not matter), or nil.
---@param email string
---@return {uuid: string, name: string, email: string}|nil
function M.find(email)
  check.string("users.find", 1, email)
  local want = email:lower()
  for item in api.User.GetAggregatedUsers:paginate{searchTerm = email, orgIdentifier = false,
      projectIdentifier = false, body = {}} do
    local user = unwrap(item)
    if type(user.email) == "string" and user.email:lower() == want then return user end
  end
  return nil
end

return M
