-- Replays one input through a fuzz driver inside hlua itself, without
-- libFuzzer: hlua tests/fuzz/replay.lua <target> <file>. Exits 0 when the
-- driver's invariants hold. tests/fuzz_spec.lua runs it on every input
-- kept under tests/fuzz/<target>/ (seeds and the crashes fuzzing found).
local target, file = ...
local f = assert(io.open(file, "rb"))
local data = f:read("a")
f:close()

-- What lua_fuzz.c gives the headers driver from http.c (push_headers),
-- rebuilt here: "Name: value" lines, names in lower case, repeats joined.
_fuzz = {} -- luacheck: ignore
function _fuzz.parse_head(raw)
  local status = tonumber(raw:match("^HTTP/%S* *(%d+)")) or 0
  if #raw < 12 then status = 0 end
  local headers = {}
  for line in raw:gmatch("[^\n]+") do
    local name, value = line:match("^([^ \t:][^:]*):[ \t]*(.-)[\r \t]*$")
    if name then
      name = name:lower()
      headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
    end
  end
  return status, headers
end

local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local driver = assert(loadfile(dir .. "/" .. target .. "_fuzz.lua"))()
driver(data)
