-- harness.trace: the trace of HTTP exchanges on stderr (--trace,
-- HARNESS_TRACE=1: a line each; 2: headers and bodies too), the key masked
-- and everything a server sent redacted.
local config = require "harness.config"

local M = {}

local TRACE_CUT = 2048 -- bytes of a body shown at HARNESS_TRACE=2
-- Headers that carry credentials of their own: never shown, in a trace or
-- an error, whoever set them.
M.CREDENTIAL_HEADERS = {authorization = true, ["proxy-authorization"] = true, cookie = true,
                        ["set-cookie"] = true}

--- s redacted, then cut to n bytes, saying how long it was. In this
--- order: a cut first could split the key where redaction misses it.
function M.cut(s, n)
  if #s <= n then return config.redact(s) end
  return config.redact_head(s, n) .. ("... (%d bytes)"):format(#s)
end

-- A header's value as a trace or an error shows it.
function M.header_value(name, value)
  name = name:lower()
  if name == "x-api-key" then return config.mask(value) end
  if M.CREDENTIAL_HEADERS[name] then return "****" end
  return config.redact(value)
end

--- The trace of one exchange: a line (method, URL, status, bytes, time,
--- retries); at level 2 also the headers (the key masked) and the bodies.
--- 'req' is what went to the transport (with the headers as a list of
--- {name, value}), 'r' what came back.
function M.exchange(level, req, r, retries)
  local out = io.stderr
  local status = r.error and (r.error_kind .. ": " .. r.error) or tostring(r.status)
  out:write(config.redact(("hlua: %s %s -> %s, %d bytes, %.0f ms, %d %s\n"):format(
    req.method, req.url, status, #(r.body or ""), (r.elapsed or 0) * 1000, retries,
    retries == 1 and "retry" or "retries")))
  if level < 2 then return end
  for _, h in ipairs(req.header_list) do
    out:write(("  > %s: %s\n"):format(h[1], M.header_value(h[1], h[2])))
  end
  if req.body and #req.body > 0 then out:write("  > ", M.cut(req.body, TRACE_CUT), "\n") end
  local names = {}
  for k in pairs(r.headers or {}) do names[#names + 1] = k end
  table.sort(names)
  for _, k in ipairs(names) do
    out:write(("  < %s: %s\n"):format(config.redact(k), M.header_value(k, r.headers[k])))
  end
  if r.body and #r.body > 0 then out:write("  < ", M.cut(r.body, TRACE_CUT), "\n") end
end

return M
