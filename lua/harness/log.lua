-- harness.log: messages on stderr for scripts (and hlua): log.debug,
-- info, warn and error(fmt, ...) print "[level] message" when the level is
-- at least HARNESS_LOG's (default info), through the configuration's
-- redaction (a message may hold what a server echoed).
local config = require "harness.config"

---@class harness.log
local M = {}

local LEVELS = {debug = 1, info = 2, warn = 3, error = 4}

local function threshold()
  return LEVELS[(config.env("HARNESS_LOG") or "info"):lower()] or LEVELS.info
end

-- Writes "[level] message" when the level is shown.
local function write(level, fmt, ...)
  if LEVELS[level] < threshold() then return end
  local msg = select("#", ...) > 0 and tostring(fmt):format(...) or tostring(fmt)
  io.stderr:write(("[%s] %s\n"):format(level, config.redact(msg)))
end

--- A debug message (shown with HARNESS_LOG=debug): fmt and its arguments
--- as string.format takes them.
---@param fmt string
function M.debug(fmt, ...) write("debug", fmt, ...) end

--- An informative message (shown unless HARNESS_LOG is warn or error).
---@param fmt string
function M.info(fmt, ...) write("info", fmt, ...) end

--- A warning (shown unless HARNESS_LOG is error).
---@param fmt string
function M.warn(fmt, ...) write("warn", fmt, ...) end

--- An error message (always shown).
---@param fmt string
function M.error(fmt, ...) write("error", fmt, ...) end

return M
