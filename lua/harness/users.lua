-- harness.users: the account's users, and the one the key belongs to.
local check = require "harness.check"
local client = require "harness.client"
local paging = require "harness.paging"
local r = require "harness.resource"

local M = {}

local function unwrap(item)
  local user = item.user or item
  user.roleAssignments = r.nonnull(item.roleAssignmentMetadata)
  return user
end

local function aggregate(search)
  return "/ng/api/user/aggregate", {method = "POST", json = {}, query = {searchTerm = search}}
end

--- Users of the account: {uuid, name, email, locked, disabled, ...,
--- roleAssignments}. opts: search, max_items.
function M.list(opts)
  opts = check.opts("users.list", opts)
  local path, popts = aggregate(opts.search)
  popts.max_items = opts.max_items
  return r.list(path, popts, unwrap)
end

--- The user the key belongs to (harness.whoami()): the data of
--- /ng/api/user/currentUser, with email, name, uuid, ...
function M.current()
  local body = client.get("/ng/api/user/currentUser")
  return type(body) == "table" and body.data or body
end

--- The user with that email (case does not matter), or nil.
function M.find(email)
  check.string("users.find", 1, email)
  local want = email:lower()
  for item in paging.paginate(aggregate(email)) do
    local user = unwrap(item)
    if type(user.email) == "string" and user.email:lower() == want then return user end
  end
  return nil
end

return M
