-- harness.fmt: text output for scripts and for hlua itself: aligned
-- tables, durations, dates, and progress lines on stderr.
local host = require "hlua.host"
local null = require("harness.json").null

---@class harness.fmt
local M = {}

local function cell(v)
  if v == nil or v == null then return "" end
  if type(v) == "table" then return table.concat(v, ",") end
  return tostring(v)
end

-- Display width of a UTF-8 string (code points; good enough for names).
local function width(s)
  return utf8.len(s) or #s
end

-- The value of a column in a row: a function's result, a field, or a
-- nested field ("a.b.c"), nil when a step of the way is missing.
local function value_of(row, key)
  if type(key) == "function" then return key(row) end
  local v = row[key]
  if v ~= nil or type(key) ~= "string" or not key:find(".", 1, true) then return v end
  v = row
  for part in key:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

--- Formats rows as an aligned text table. columns: list of {title, key}
--- where key is a field name, a path of fields ("envProperties.state"), or
--- a function(row) -> value. Returns a string ending in a newline (a
--- header line, then one line per row).
---@param rows table[]
---@param columns {[1]: string, [2]: string|fun(row: table): any}[]
---@return string
function M.table(rows, columns)
  local lines, w = {}, {}
  local cells = {}
  for c, col in ipairs(columns) do w[c] = width(col[1]) end
  for r, row in ipairs(rows) do
    cells[r] = {}
    for c, col in ipairs(columns) do
      local s = cell(value_of(row, col[2])):gsub("[\r\n\t]", " ")
      cells[r][c] = s
      if width(s) > w[c] then w[c] = width(s) end
    end
  end
  local function line(vals)
    local parts = {}
    for c, s in ipairs(vals) do
      parts[c] = c < #vals and (s .. (" "):rep(w[c] - width(s))) or s
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local head = {}
  for c, col in ipairs(columns) do head[c] = col[1] end
  lines[1] = line(head)
  for r = 1, #cells do lines[#lines + 1] = line(cells[r]) end
  return table.concat(lines, "\n") .. "\n"
end

--- "42s", "3m07s", "2h05m"; "--" for an unknown one (NaN, infinite).
---@param seconds number
---@return string
function M.duration(seconds)
  if seconds ~= seconds or seconds == math.huge or seconds == -math.huge then return "--" end
  seconds = math.floor(seconds + 0.5)
  if seconds < 60 then return seconds .. "s" end
  if seconds < 3600 then return ("%dm%02ds"):format(seconds // 60, seconds % 60) end
  return ("%dh%02dm"):format(seconds // 3600, seconds % 3600 // 60)
end

--- A date in UTC, and saying so ("2024-05-01 14:03 UTC"), from
--- milliseconds since the epoch (Harness's times); "" for none.
---@param ms integer
---@return string
function M.date(ms)
  if ms == nil or ms == null then return "" end
  return os.date("!%Y-%m-%d %H:%M UTC", ms // 1000)
end

-- The lines of a text (a last line without a newline is a line too).
local function lines_of(text)
  local out = {}
  if text == "" then return out end
  for l in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- The shortest edit script from a to b (lists of lines), Myers' O(ND)
-- algorithm: a list of {op, line} with op " " (kept), "-" or "+".
local function edit_script(a, b)
  local n, m = #a, #b
  local max = n + m
  local v, trace = {[1] = 0}, {}
  for d = 0, max do
    local snapshot = {}
    for k, x in pairs(v) do snapshot[k] = x end
    trace[d] = snapshot
    for k = -d, d, 2 do
      local x
      if k == -d or (k ~= d and (v[k - 1] or -1) < (v[k + 1] or -1)) then
        x = v[k + 1] or 0
      else
        x = (v[k - 1] or 0) + 1
      end
      local y = x - k
      while x < n and y < m and a[x + 1] == b[y + 1] do x, y = x + 1, y + 1 end
      v[k] = x
      if x >= n and y >= m then
        -- walk back through the snapshots (trace[dd] is V before step dd),
        -- collecting the script from its end, then turned around
        local script = {}
        for dd = d, 1, -1 do
          local vv, kk = trace[dd], x - y
          local prev_k = (kk == -dd or (kk ~= dd and (vv[kk - 1] or -1) < (vv[kk + 1] or -1)))
            and kk + 1 or kk - 1
          local px = vv[prev_k] or 0
          local py = px - prev_k
          while x > px and y > py do
            script[#script + 1] = {" ", a[x]}
            x, y = x - 1, y - 1
          end
          if x == px then
            script[#script + 1] = {"+", b[y]}
            y = y - 1
          else
            script[#script + 1] = {"-", a[x]}
            x = x - 1
          end
        end
        while x > 0 and y > 0 do
          script[#script + 1] = {" ", a[x]}
          x, y = x - 1, y - 1
        end
        local last = #script
        for k = 1, last // 2 do script[k], script[last + 1 - k] = script[last + 1 - k], script[k] end
        return script
      end
    end
  end
end

--- A unified diff of two texts ("" when they are the same), as diff -u
--- writes it. opts: from, to (the names in the header; default "a" and
--- "b"), context (lines around each change; default 3).
---@param old string
---@param new string
---@param opts? {from?: string, to?: string, context?: integer}
---@return string
function M.diff(old, new, opts)
  opts = opts or {}
  if old == new then return "" end
  local a, b = lines_of(old), lines_of(new)
  local script = edit_script(a, b)
  local ctx = opts.context or 3
  local out = {("--- %s\n+++ %s\n"):format(opts.from or "a", opts.to or "b")}
  local i, total = 1, #script
  local ai, bi = 1, 1 -- line numbers in a and b at script[i]
  local pos = {}
  for j, e in ipairs(script) do
    pos[j] = {ai, bi}
    if e[1] ~= "+" then ai = ai + 1 end
    if e[1] ~= "-" then bi = bi + 1 end
  end
  while i <= total do
    if script[i][1] == " " then
      i = i + 1
    else
      local first = math.max(1, i - ctx)
      local last = i
      -- extend while changes are within 2*ctx of each other
      local j = i
      while j <= total do
        if script[j][1] ~= " " then last = j end
        if j - last > 2 * ctx then break end
        j = j + 1
      end
      last = math.min(total, last + ctx)
      local acount, bcount = 0, 0
      local body = {}
      for k = first, last do
        local e = script[k]
        body[#body + 1] = e[1] .. e[2] .. "\n"
        if e[1] ~= "+" then acount = acount + 1 end
        if e[1] ~= "-" then bcount = bcount + 1 end
      end
      -- an empty side starts before its first line, as diff -u writes it
      out[#out + 1] = ("@@ -%d,%d +%d,%d @@\n"):format(pos[first][1] - (acount == 0 and 1 or 0), acount,
        pos[first][2] - (bcount == 0 and 1 or 0), bcount)
      out[#out + 1] = table.concat(body)
      i = last + 1
    end
  end
  return table.concat(out)
end

--- The text of a progress bar: "[#####...] 50/100  50%  25.0/s  ETA 2s".
function M.progress(done, total, elapsed, width)
  width = width or 24
  local filled = total > 0 and math.floor(width * done / total) or width
  local rate = elapsed > 0 and done / elapsed or 0
  local eta = rate > 0 and (total - done) / rate or math.huge
  return ("[%s%s] %d/%d %3d%%  %.1f/s  ETA %s"):format(
    ("#"):rep(filled), ("."):rep(width - filled), done, total,
    total > 0 and math.floor(100 * done / total) or 100, rate, M.duration(eta))
end

--- A line of progress on stderr. On a terminal it is redrawn in place, at
--- most ten times a second (and always for the final one); elsewhere a line
--- is printed each time its 'key' changes (default: the text). With
--- 'only_tty', returns nil when stderr is not a terminal. Returns
--- {show = function(text, final, key)}.
function M.status_line(only_tty)
  local tty = host.isatty(2)
  if only_tty and not tty then return nil end
  local last_key, last_time = nil, -math.huge
  local line = {}
  function line.show(text, final, key)
    if tty then
      local now = host.clock()
      if not final and now - last_time < 0.1 then return end
      last_time = now
      io.stderr:write("\r", text, "\27[K", final and "\n" or "")
    else
      if key == nil then key = text end
      if key == last_key then return end
      last_key = key
      io.stderr:write(text, "\n")
    end
    io.stderr:flush()
  end
  return line
end

return M
