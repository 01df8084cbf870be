-- harness.fmt: text output for scripts: aligned tables, durations, dates.
local M = {}

local null = harness.json.null

local function cell(v)
  if v == nil or v == null then return "" end
  if type(v) == "table" then return table.concat(v, ",") end
  return tostring(v)
end

-- Display width of a UTF-8 string (code points; good enough for names).
local function width(s)
  return utf8.len(s) or #s
end

--- Formats rows as an aligned text table. columns: list of {title, key}
--- where key is a field name or a function(row) -> value. Returns a
--- string ending in a newline (a header line, then one line per row).
function M.table(rows, columns)
  local lines, w = {}, {}
  local cells = {}
  for c, col in ipairs(columns) do w[c] = width(col[1]) end
  for r, row in ipairs(rows) do
    cells[r] = {}
    for c, col in ipairs(columns) do
      local key = col[2]
      local v = type(key) == "function" and key(row) or row[key]
      local s = cell(v):gsub("[\r\n\t]", " ")
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

--- "42s", "3m07s", "2h05m".
function M.duration(seconds)
  seconds = math.floor(seconds + 0.5)
  if seconds < 60 then return seconds .. "s" end
  if seconds < 3600 then return ("%dm%02ds"):format(seconds // 60, seconds % 60) end
  return ("%dh%02dm"):format(seconds // 3600, seconds % 3600 // 60)
end

--- A date "2024-05-01 14:03" (UTC) from milliseconds since the epoch.
function M.date(ms)
  if ms == nil or ms == null then return "" end
  return os.date("!%Y-%m-%d %H:%M", ms // 1000)
end

return M
