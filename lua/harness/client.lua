-- harness.client: the requests scripts make, over the real transport.
-- Wires the request policy (harness.request) to the HTTP module (one
-- hlua_http client: one connection cache for the whole process) through
-- the scheduler, so that a request inside a task lets the others run;
-- and defines the verbs (get, post, ...), which return the decoded body
-- and raise a harness.Error for any failure.
local sched = require "harness.sched"
local response = require "harness.response"

local M = {}

local http -- the hlua_http client, made on the first request

local function transfer(req)
  if not http then
    http = require("hlua_http").client()
    sched.use_client(http)
  end
  return sched.transfer(req)
end

local request = require "harness.request"

--- harness.request(method, path_or_url, opts) -> response | nil, err;
--- recorded or replayed when HARNESS_RECORD or HARNESS_REPLAY says so, and
--- in a dry run (--dry-run, HARNESS_DRY_RUN) changes are held back.
M.request = request.new{
  transfer = require("harness.dryrun").around(require("harness.record").around(transfer)),
  sleep = sched.sleep}

-- The same over the network only, never recorded nor replayed: for
-- harness.testing's calls to the sandbox's control API.
M.direct = request.new{transfer = transfer, sleep = sched.sleep}

-- A verb: request, then the body; raises where the script called it.
local function verb(method)
  return function(path, opts)
    local res, err = M.request(method, path, opts)
    if not res then error(err, 2) end
    return response.body(res, 3)
  end
end

M.get = verb("GET")
M.post = verb("POST")
M.put = verb("PUT")
M.patch = verb("PATCH")
M.delete = verb("DELETE")

return M
