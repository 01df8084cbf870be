-- tests/unit/json_codec_spec.lua: harness.json (src/json.c) below the API:
-- the word-at-a-time string paths and the UTF-8 DFA against Lua's own
-- utf8 library, strings across word and segment boundaries, the buffer
-- kept between encodes, the float printer against %.17g, tables changed by
-- finalizers in the middle of an encode, C stack limits, omit_nulls.

local h = require("tests.support.helper")
local json = harness.json
local null = json.null

-- The harness.Error raised by f(...); fails if f succeeds.
local function failure(f, ...) return h.failure("json", f, ...) end

-- Runs a Lua chunk in a fresh hlua (so that a crash fails the test rather
-- than the run); returns stdout, stderr and the exit code.
local function hlua(chunk, shell_prefix)
  local path = h.tempfile(chunk, ".lua")
  local out, err, code = h.sh((shell_prefix or "") .. h.hlua .. " " .. h.q(path))
  os.remove(path)
  return out, err, code
end

-- Deterministic bytes (31-bit LCG).
local function lcg(seed)
  local state = seed
  return function(n)
    state = (state * 1103515245 + 12345) % 2147483648
    return state % n
  end
end

-- The JSON text encode must give for s (valid UTF-8), written byte by byte.
local function expected(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', function(c)
    local short = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                    ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return short[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

describe("harness.json strings", function()
  it("agree with utf8.len on every 1- and 2-byte sequence", function()
    for a = 0, 255 do
      for b = 0, 255 do
        local s = string.char(a, b)
        local ok, out = pcall(json.encode, s)
        assert(ok == (utf8.len(s) ~= nil), ("%02X %02X"):format(a, b))
        if ok then assert(out == expected(s), ("%02X %02X"):format(a, b)) end
      end
    end
  end)

  it("agree with utf8.len on 3- and 4-byte sequences (edges of every range)", function()
    local edges = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
                    0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3,
                    0xF4, 0xF5, 0xFF }
    for _, a in ipairs(edges) do
      for _, b in ipairs(edges) do
        for _, c in ipairs(edges) do
          for _, d in ipairs { 0x41, 0x80, 0xBF, 0xC0 } do
            for _, s in ipairs { string.char(a, b, c), string.char(a, b, c, d) } do
              local ok = pcall(json.encode, s)
              assert(ok == (utf8.len(s) ~= nil), (s:gsub(".", function(x) return ("%02X "):format(x:byte()) end)))
            end
          end
        end
      end
    end
  end)

  it("encode and decode random text at every offset of a word", function()
    local r = lcg(7)
    local pieces = { "a", "Z", " ", "\n", "\t", '"', "\\", "/", "\0", "\31", "\127", "é", "ü",
                     "日本", "€", "😀", "\u{10FFFF}", "\u{FFFD}", "\u{800}" }
    for n = 1, 3000 do
      local t = {}
      for i = 1, r(24) do t[i] = pieces[r(#pieces) + 1] end
      local s = string.rep("x", n % 9) .. table.concat(t)
      local out = json.encode(s)
      assert(out == expected(s), s)
      assert(json.decode(out) == s, s)
      assert(json.decode('"' .. s:gsub('[%z\1-\31"\\]', function(c)
        return string.format("\\u%04X", c:byte()) end) .. '"') == s)
    end
  end)

  it("agree with utf8.len on random near-UTF-8 soups of every length", function()
    local r = lcg(99)
    -- mostly well-formed characters, now and then a byte of any kind
    local chars = { "a", "é", "ß", "日", "本", "€", "😀", "\u{10FFFF}", "\u{800}", "\u{FFFF}",
                    "\u{D7FF}", "\u{E000}", "\u{10000}" }
    for n = 1, 20000 do
      local t = {}
      for i = 1, r(40) + 1 do
        if r(12) == 0 then t[i] = string.char(0x80 + r(128))
        elseif r(20) == 0 then t[i] = chars[r(#chars) + 1]:sub(1, r(3) + 1)   -- cut short
        else t[i] = chars[r(#chars) + 1] end
      end
      local s = table.concat(t)
      local valid = utf8.len(s) ~= nil
      local ok = pcall(json.encode, s)
      assert(ok == valid, (s:gsub(".", function(c) return ("%02X "):format(c:byte()) end)))
      local dok, back = pcall(json.decode, '"' .. s .. '"')
      assert(dok == valid and (not dok or back == s), n)
    end
  end)

  it("refuse a bad byte wherever it falls, naming its position", function()
    for _, bad in ipairs { "\255", "\192\128", "\237\160\128", "\244\144\128\128", "\226\130", "\128" } do
      for pre = 0, 20 do
        for _, post in ipairs { "", "abc", "\n", "日本語のテキスト", string.rep("y", 9) } do
          local s = string.rep("é", pre // 2) .. string.rep("a", pre % 2) .. bad .. post
          local e = failure(json.encode, s)
          local at = #string.rep("é", pre // 2) + pre % 2 + 1
          assert(e.message:find(("(byte %d of the string)"):format(at), 1, true), e.message)
          e = failure(json.encode, { [s] = 1 })
          assert(e.message:find(("(byte %d of the key)"):format(at), 1, true), e.message)
          e = failure(json.decode, '"' .. s .. '"')
          assert(e.offset == at + 1, e.message)
        end
      end
    end
  end)

  it("carry long strings across segments whatever their bytes", function()
    local r = lcg(11)
    for _, unit in ipairs { "a", "\"", "\1", "é", "日", "😀", "ab\n", "\\\\\\" } do
      for _, n in ipairs { 4095, 4096, 4097, 10000 } do
        local s = string.rep(unit, n // #unit)
        -- a varying prefix moves the segment edges across the characters
        s = string.rep("-", r(5)) .. s
        local out = json.encode(s)
        assert(out == expected(s), unit .. " " .. n)
        assert(json.decode(out) == s)
      end
    end
    local big = string.rep("\0", 100000)   -- 6 bytes out per byte in
    assert.are.equal(600002, #json.encode(big))
    assert.are.equal(big, json.decode(json.encode(big)))
  end)

  it("decode a string that starts with an escape in a fresh state", function()
    -- the scratch buffer is still NULL then (clang's UBSan saw NULL + 0)
    local out, err, code = hlua([[print(harness.json.decode('"\\n"') == "\n", harness.json.decode('["\\u00e9"]')[1])]])
    assert.are.equal(0, code, err)
    assert.are.equal("true\té\n", out)
  end)

  it("decode dense escapes at every offset of a block, at the end of the input too", function()
    local r = lcg(3)
    local escs = { { "\\n", "\n" }, { "\\t", "\t" }, { '\\"', '"' }, { "\\\\", "\\" },
                   { "\\/", "/" }, { "\\u0041", "A" }, { "\\u00e9", "é" }, { "x", "x" }, { "é", "é" } }
    for n = 1, 400 do
      local src, want = { string.rep("p", n % 19) }, { string.rep("p", n % 19) }
      for i = 1, r(60) do
        local e = escs[r(#escs) + 1]
        local gap = string.rep("g", r(4) == 0 and r(20) or r(3))
        src[#src + 1] = e[1] .. gap
        want[#want + 1] = e[2] .. gap
      end
      local text, expect = table.concat(src), table.concat(want)
      assert(json.decode('"' .. text .. '"') == expect, text)
      local v = json.decode('["' .. text .. '",1]')
      assert(v[1] == expect and v[2] == 1, text)
    end
  end)

  it("refuse bad UTF-8 between escapes, naming where it is", function()
    for pre = 0, 33 do
      for _, bad in ipairs { "\255", "\195", "\226\130", "\237\160\128", "\128" } do
        for _, around in ipairs { { "\\n", "\\t" }, { "é\\n", "\\\"x" }, { "\\n日", "" } } do
          local text = string.rep("a", pre) .. "\\n" .. around[1] .. bad .. around[2] .. "\\nzz"
          local e = failure(json.decode, '"' .. text .. '"')
          local at = #string.rep("a", pre) + 2 + #around[1] + 1
          assert(e.offset == at + 1, ("%d %d %s"):format(e.offset, at + 1, e.message))
          assert(e.message:find("invalid UTF-8 byte", 1, true), e.message)
        end
      end
    end
  end)

  it("decode escapes at every offset of a word", function()
    for pre = 0, 17 do
      local p = string.rep("p", pre)
      for _, esc in ipairs { { "\\n", "\n" }, { "\\u00e9", "é" }, { "\\ud83d\\ude00", "😀" },
                             { "\\\"", '"' }, { "\\/", "/" } } do
        local s = json.decode('"' .. p .. esc[1] .. p .. esc[1] .. '"')
        assert.are.equal(p .. esc[2] .. p .. esc[2], s)
      end
    end
  end)
end)

describe("harness.json encode buffer", function()
  it("is kept between encodes and never shared", function()
    local big = { string.rep("a", 50000) }
    assert.are.equal(50004, #json.encode(big))
    assert.are.equal('["x"]', json.encode({ "x" }))
    -- an error half way leaves nothing behind for the next encode
    failure(json.encode, { "a", "b", print })
    assert.are.equal('["a","b"]', json.encode({ "a", "b" }))
    -- an encode from a finalizer in the middle of another gets its own buffer
    local inner
    local t = {}
    for i = 1, 2000 do
      t[i] = { name = "item" .. i }
      if i % 100 == 0 then
        setmetatable({}, { __gc = function() inner = json.encode({ inner = i }) end })
      end
    end
    collectgarbage("generational")
    local s = json.encode(t)
    collectgarbage("incremental")
    assert.are.same(t, json.decode(s))
  end)
end)

-- A chunk for a fresh hlua: encodes with sort_keys objects that a finalizer
-- changes while they are encoded ('change' says how), and checks the text.
local function finalizer_chunk(change)
  return [[
local json = harness.json
local objs = {}
for i = 1, 300 do
  local o = {}
  for k = 1, 40 do o[string.rep("k", 30) .. k] = k end
  objs[i] = o
end
local fired = 0
local function change(o, round) ]] .. change .. [[ end
local function arm()
  setmetatable({}, {__gc = function()
    fired = fired + 1
    for _, o in ipairs(objs) do change(o, fired) end
  end})
end
collectgarbage("generational", 1, 100)
for round = 1, 6 do
  arm()
  local s = json.encode(objs, {sort_keys = true})
  -- every value is one the table held
  for _, o in ipairs(json.decode(s)) do
    for k, v in pairs(o) do assert(math.type(v) == "integer", k) end
  end
  -- keys come out in byte order
  for obj in s:gmatch("%b{}") do
    local prev = ""
    for k in obj:gmatch('"([^"]+)":') do assert(k > prev, k .. " after " .. prev); prev = k end
  end
end
collectgarbage("incremental")
print("ok", fired > 0)
]]
end

describe("harness.json encode with sort_keys", function()
  -- Counting the keys, allocating, then filling: a finalizer run by the
  -- allocation added keys (a heap overflow) or dropped them (pointers to
  -- freed strings).
  it("survives a finalizer that adds keys to the table being encoded", function()
    local out, err, code = hlua(finalizer_chunk(
      'for k = 1, 200 do o["x" .. round .. "_" .. k] = k end'))
    assert.are.equal(0, code, err)
    assert.are.equal("ok\ttrue\n", out)
  end)

  it("survives a finalizer that removes keys of the table being encoded", function()
    local out, err, code = hlua(finalizer_chunk([[
      local n = 0
      for k in pairs(o) do n = n + 1 end
      for k in pairs(o) do if n > 2 then o[k] = nil; n = n - 1 end end
      for k = 1, 3 do o["y" .. round .. "_" .. k] = k end
      collectgarbage("step")]]))
    assert.are.equal(0, code, err)
    assert.are.equal("ok\ttrue\n", out)
  end)
end)

describe("harness.json decode string caches", function()
  it("give back the right strings, whatever shares a slot", function()
    local r = lcg(5)
    local keys = { "", "a", "name", "identifier", string.rep("k", 40), string.rep("k", 41),
                   "日本", "naïve", "a\0b" }
    for i = 1, 2000 do keys[#keys + 1] = "key" .. r(3000) end
    for round = 1, 3 do
      local parts, want = {}, {}
      for i, k in ipairs(keys) do
        local v = (i % 3 == 0) and keys[(i * 7) % #keys + 1] or i
        want[k] = v
        parts[#parts + 1] = json.encode(k) .. ":" .. json.encode(v)
      end
      local got = json.decode("{" .. table.concat(parts, ",") .. "}")
      for k, v in pairs(want) do assert(got[k] == v, k) end
      local n = 0
      for _ in pairs(got) do n = n + 1 end
      local m = 0
      for _ in pairs(want) do m = m + 1 end
      assert.are.equal(m, n)
    end
  end)

  it("survive an error half way and a decode from a finalizer", function()
    failure(json.decode, '{"alpha":"beta","gamma":')
    assert.are.same({ alpha = "beta", gamma = "delta" }, json.decode('{"alpha":"beta","gamma":"delta"}'))
    local inner
    local parts = {}
    for i = 1, 3000 do
      parts[i] = string.format('{"name":"n%d","tag":"t%d"}', i % 50, i % 7)
      if i % 200 == 0 then
        setmetatable({}, { __gc = function() inner = json.decode('{"name":"x","tag":"y"}') end })
      end
    end
    collectgarbage("generational")
    local v = json.decode("[" .. table.concat(parts, ",") .. "]")
    collectgarbage("incremental")
    for i = 1, 3000 do
      assert(v[i].name == "n" .. i % 50 and v[i].tag == "t" .. i % 7, i)
    end
    if inner then assert.are.same({ name = "x", tag = "y" }, inner) end
  end)
end)

describe("harness.json.decode omit_nulls", function()
  local opts = { omit_nulls = true }

  it("leaves out object members that are null, at any depth", function()
    local v = json.decode('{"a":null,"b":1,"c":{"d":null,"e":{"f":null,"g":false}}}', opts)
    assert.are.same({ b = 1, c = { e = { g = false } } }, v)
    assert.is_nil(v.a)
    assert.are.equal("fallback", v.a or "fallback")
    assert.is_nil(next(json.decode('{"x":null}', opts)))
    assert.are.equal("{}", json.encode(json.decode('{"x":null}', opts)))
  end)

  it("keeps null items of arrays, so positions hold", function()
    local v = json.decode('[null,1,null,{"a":null,"b":[null]}]', opts)
    assert.are.equal(null, v[1])
    assert.are.equal(1, v[2])
    assert.are.equal(null, v[3])
    assert.are.same({ b = { null } }, v[4])
    assert.are.equal(4, #v)
    local objs = json.decode('[{"id":1,"owner":null},{"id":2,"owner":"ann"}]', opts)
    assert.are.same({ { id = 1 }, { id = 2, owner = "ann" } }, objs)
  end)

  it("decodes a top-level null as json.null in both modes", function()
    assert.are.equal(null, json.decode("null", opts))
    assert.are.equal(null, json.decode(" null ", opts))
    assert.are.equal(null, json.decode("null"))
  end)

  it("lets the last of duplicate keys win, null included", function()
    assert.is_nil(json.decode('{"a":1,"a":null}', opts).a)
    assert.are.equal(2, json.decode('{"a":null,"a":2}', opts).a)
    local many = {}   -- across the stack chunks
    for i = 1, 600 do many[i] = string.format('"k%d":%s', i % 7, i == 596 and "null" or tostring(i)) end
    local v = json.decode("{" .. table.concat(many, ",") .. "}", opts)
    assert.is_nil(v.k1)   -- 596 % 7 == 1, and nothing after it
    assert.are.equal(600, v.k5)
  end)

  it("is off by default: every null is json.null", function()
    assert.are.equal(null, json.decode('{"a":null}').a)
    assert.are.equal(null, json.decode('{"a":null}', { omit_nulls = false }).a)
    assert.are.equal(null, json.decode('{"a":null}', {}).a)
  end)

  it("composes with max_depth", function()
    local s = '{"a":{"b":{"c":null,"d":1}}}'
    assert.are.same({ a = { b = { d = 1 } } }, json.decode(s, { omit_nulls = true, max_depth = 3 }))
    local e = failure(json.decode, s, { omit_nulls = true, max_depth = 2 })
    assert.truthy(e.message:find("nesting deeper than 2", 1, true), e.message)
  end)

  it("still rejects what is not null", function()
    failure(json.decode, '{"a":nul}', opts)
    failure(json.decode, '{"a":nullx}', opts)
    failure(json.decode, '{"a":null,}', opts)
    failure(json.decode, '{"a":null', opts)
  end)

  it("must be a boolean", function()
    for _, bad in ipairs { 1, "yes", {}, print } do
      local ok, e = pcall(json.decode, "{}", { omit_nulls = bad })
      assert.is_false(ok)
      assert.truthy(tostring(e):find("bad argument #2", 1, true), tostring(e))
      assert.truthy(tostring(e):find("omit_nulls", 1, true), tostring(e))
    end
  end)
end)

describe("harness.json nesting and the C stack", function()
  -- Each case nests 10,000 levels (max_depth allows it) in a child hlua
  -- whose stack is 'kb' KB: a json error naming the depth, or success;
  -- never a crash.
  local cases = {
    decode_arrays = [[json.decode(string.rep("[", N) .. string.rep("]", N), {max_depth = N})]],
    decode_objects = [[json.decode(string.rep('{"a":', N) .. "1" .. string.rep("}", N), {max_depth = N})]],
    encode_arrays = [[local d = {} local t = d for _ = 2, N do t[1] = {} t = t[1] end
      json.encode(d, {max_depth = N})]],
    encode_objects = [[local d = {} local t = d for _ = 2, N do t.a = {} t = t.a end
      json.encode(d, {max_depth = N})]],
    encode_sorted = [[local d = {} local t = d for _ = 2, N do t.a = {b = 1} t = t.a end
      json.encode(d, {max_depth = N, sort_keys = true, indent = 2})]],
  }
  local function run(kb, code)
    local chunk = "local json = harness.json\nlocal N = 10000\n" ..
      "local ok, e = pcall(function() " .. code .. " end)\n" ..
      "if ok then print('ok') elseif type(e) == 'table' and e.kind == 'json' then print('json', e.message:sub(1, 120)) " ..
      "else print('other', tostring(e)) end\n"
    return hlua(chunk, "ulimit -s " .. kb .. " && ")
  end
  local plain = not os.getenv("HLUA_WRAPPER") and not os.getenv("HLUA_SANITIZER_REPORTS")

  for name, code in pairs(cases) do
    it(name .. ": a clean error with a 1 MB stack", function()
      local out, err, code_ = run(1024, code)
      assert.are.equal(0, code_, err)
      assert.truthy(out:match("^ok\n") or out:match("^json\t[^\n]*nesting deeper than %d+: the C stack"), out .. err)
    end)

    it(name .. ": done with an 8 MB stack", function()
      local out, err, code_ = run(8192, code)
      assert.are.equal(0, code_, err)
      if plain then assert.are.equal("ok\n", out, err) end
      assert.truthy(out:match("^ok\n") or out:match("^json\t"), out .. err)
    end)
  end

  it("names the whole path of a deep error, root first", function()
    local d = {}
    local t = d
    for _ = 1, 300 do t.a = json.array({ {} }) t = t.a[1] end
    t["x y"] = print
    local e = failure(json.encode, d)
    local want = "$" .. string.rep(".a[1]", 300) .. '["x y"]'
    assert(e.path == want, #e.path .. " " .. e.path:sub(1, 60))
  end)
end)

describe("harness.json float printer", function()
  -- What encode printed before its exact integer search, and what the
  -- spec asks: the first of %.15g, %.16g, %.17g that reads back (%.1g on
  -- for subnormals), with '.0' when it shows neither point nor exponent.
  local function reference(f)
    local a, s = math.abs(f)
    for prec = a < 2.2250738585072014e-308 and 1 or 15, 17 do
      s = string.format("%." .. prec .. "g", a)
      if tonumber(s) == a then break end
    end
    if not s:find("[.e]") then s = s .. ".0" end
    return (f < 0 or 1 / f < 0) and "-" .. s or s
  end

  local function check(f)
    local s = json.encode(f)
    if s ~= reference(f) then
      -- only ever shorter (a power of two whose nearest form lies just
      -- outside its narrower lower gap), and it must read back
      assert(#s < #reference(f), ("%.17g: %s, not %s"):format(f, s, reference(f)))
    end
    local back = json.decode(s)
    assert(math.type(back) == "float" and string.pack("<d", back) == string.pack("<d", f), s)
  end

  it("matches the shortest %.Ng that reads back on seeded random floats", function()
    local r = lcg(1234)
    for i = 1, 60000 do
      local f
      local mode = i % 5
      if mode == 0 then f = r(100000000) / (r(9999) + 1)                      -- ratios
      elseif mode == 1 then f = r(2^31) / 2^31 * 10.0 ^ (r(24) - 6)          -- every decade
      elseif mode == 2 then f = r(10000000) / 1000                            -- decimals
      elseif mode == 3 then f = 2.0 ^ (r(67) - 14) * (1 + r(2^20) / 2^52)     -- near powers of 2
      else f = string.unpack("<d", string.pack("<I4I4", r(2^31) * 2 + r(2), r(2^31) * 2 + r(2)))
      end
      if f == f and f ~= math.huge and f ~= -math.huge then check(f); check(-f) end
    end
  end)

  it("gets the edges right", function()
    for _, f in ipairs { 0.1 + 0.2, 1 / 3, 2 / 3, 2^53 - 1, 2^53, 2^52 + 0.5, 2^-14, 2^-14 * (1 - 2^-53),
                         6.103515625e-05, 1e-4, 9.999999999999999e-05, 1e15, 1e15 + 0.5, 999999999999999.9,
                         1234567890123456.2, 1234567890123456.5, 0.30000000000000004, 5e-324,
                         2.2250738585072014e-308, 1.7976931348623157e308, 123456.789, 100.0, 0.05 } do
      check(f)
      check(-f)
    end
    assert.are.equal("1234567890123456.2", json.encode(1234567890123456.25))   -- a tie, to even
    assert.are.equal("142857.14285714287", json.encode(1e6 / 7))
    assert.are.equal("1e+15", json.encode(1e15))
  end)
end)

describe("harness.json numbers", function()
  it("read long runs of zeros and digits as strtod does", function()
    for _, s in ipairs { "0." .. string.rep("0", 100) .. "1", "0." .. string.rep("0", 39) .. "5",
                         "0." .. string.rep("0", 60), "1" .. string.rep("0", 30),
                         "1" .. string.rep("0", 18) .. ".5", "0.1" .. string.rep("0", 50) .. "1",
                         "12345678901234567890.123e-7", "-0." .. string.rep("0", 300) .. "1e300" } do
      local v = json.decode(s)
      assert.are.equal("float", math.type(v), s)
      assert(string.pack("<d", v) == string.pack("<d", tonumber(s)), s)
    end
  end)
end)
