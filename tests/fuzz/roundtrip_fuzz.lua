-- roundtrip fuzz target (tests/fuzz/lua_fuzz.c): the input is a recipe for
-- a Lua value; harness.json.encode must refuse exactly what JSON cannot
-- hold (NaN, infinities, functions, strings that are not UTF-8) with a
-- json error, and whatever it encodes must decode to an equal value
-- (integers stay integers, floats keep their bits and their float type,
-- [] and {} stay apart) that encodes to the same text again.
local json = harness.json

return function(data)
  local pos = 1
  local function byte()
    local b = data:byte(pos) or 0
    pos = pos + 1
    return b
  end
  local function bytes(n)
    local s = data:sub(pos, pos + n - 1)
    pos = pos + n
    return s .. ("\0"):rep(n - #s)
  end
  local function text()
    local n = byte() % 24
    local s = data:sub(pos, pos + n - 1)
    pos = pos + n
    return s
  end

  -- 'bad': a value encode must refuse; 'loose': a table whose JSON type
  -- is the encoder's call (mixed or sparse keys), so only "no crash" holds.
  local bad, loose = false, false
  local value
  local function container(depth, kind)
    local t, n = {}, byte() % 6
    if kind == "array" then
      for i = 1, n do t[i] = value(depth + 1) end
      if byte() % 2 == 0 then json.array(t) end
    elseif kind == "object" then
      for _ = 1, n do
        local k = text()
        if utf8.len(k) == nil then bad = true end
        -- a repeated key replaces a value that may have been the bad one
        if t[k] ~= nil then loose = true end
        t[k] = value(depth + 1)
      end
      if byte() % 2 == 0 then json.object(t) end
    else -- mixed or sparse
      loose = true
      t[1] = value(depth + 1)
      t[byte() % 2 == 0 and "k" or 3] = value(depth + 1)
    end
    return t
  end
  function value(depth)
    local op = byte() % (depth > 6 and 7 or 11)
    if op == 0 then return json.null
    elseif op == 1 then return byte() % 2 == 1
    elseif op == 2 then return (string.unpack("<i8", bytes(8)))
    elseif op == 3 then return byte() - 128
    elseif op == 4 then
      local f = string.unpack("<d", bytes(8))
      if f ~= f or f == math.huge or f == -math.huge then bad = true end
      return f
    elseif op == 5 then return (byte() - 128) * 2.0 ^ (byte() % 80 - 20)
    elseif op == 6 then
      local s = text()
      if utf8.len(s) == nil then bad = true end
      return s
    elseif op == 7 then return container(depth, "array")
    elseif op == 8 then return container(depth, "object")
    elseif op == 9 then
      if byte() % 2 == 0 then return json.array({}) end
      return json.object({})
    else
      if byte() % 4 == 0 then
        bad = true
        return print
      end
      return container(depth, "loose")
    end
  end

  local v = value(0)
  local opts = {sort_keys = byte() % 2 == 0}
  if byte() % 2 == 0 then opts.indent = byte() % 5 end

  local ok, s = pcall(json.encode, v, opts)
  if not ok then
    assert(harness.is_error(s) and s.kind == "json", "encode raised a non-json error: " .. tostring(s))
    assert(bad or loose, "encode refused a valid value: " .. tostring(s))
    return
  end
  assert(type(s) == "string", "encode returned a " .. type(s))
  assert(not bad or loose, "encode accepted what JSON cannot hold: " .. s)
  local ok2, back = pcall(json.decode, s)
  assert(ok2, "decode refused encode's output: " .. tostring(back) .. " in " .. s)
  -- the same text again (keys sorted: otherwise their order is the tables')
  local sorted = {sort_keys = true, indent = opts.indent}
  local s1, s2 = json.encode(v, sorted), json.encode(back, sorted)
  assert(s2 == s1, "the second encoding differs:\n" .. s1 .. "\n" .. s2)
  if loose then return end

  local function same(a, b, path)
    if a == json.null or b == json.null then
      assert(a == b, path .. ": null lost")
    elseif type(a) == "number" then
      assert(type(b) == "number" and math.type(a) == math.type(b), path .. ": number type changed")
      assert(a == b and (a ~= 0 or 1 / a == 1 / b), path .. ": " .. tostring(a) .. " became " .. tostring(b))
    elseif type(a) == "table" then
      assert(type(b) == "table", path .. ": table became " .. type(b))
      local n = 0
      for k, x in pairs(a) do
        n = n + 1
        same(x, b[k], path .. "." .. tostring(k))
      end
      for _ in pairs(b) do n = n - 1 end
      assert(n == 0, path .. ": key count changed")
    else
      assert(a == b, path .. ": " .. tostring(a) .. " became " .. tostring(b))
    end
  end
  same(v, back, "$")
end
