-- tests/unit/json_spec.lua: harness.json (src/json.c): the API, every cJSON gap
-- closed, lossless round trips (seeded random values too), refusals with
-- paths, options, depth limits and error messages.
-- The corpus of valid/invalid documents is in tests/unit/json_conformance_spec.lua.

local h = require("tests.support.helper")
local json = harness.json
local null = json.null

-- The harness.Error raised by f(...); fails if f succeeds.
local function failure(f, ...) return h.failure("json", f, ...) end

local function decode_error(s) return failure(json.decode, s) end
local function encode_error(v, opts) return failure(json.encode, v, opts) end

-- Deep equality that also compares math.type, so 2 and 2.0 differ.
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then return false end
    if a ~= a then return b ~= b end
    return a == b and (a ~= 0 or 1 / a == 1 / b)   -- -0.0 is not 0.0
  end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

describe("harness.json", function()

  describe("decode", function()
    it("gives Lua values of the right types", function()
      local v = json.decode('{"s":"x","i":42,"f":1.5,"t":true,"n":null,"a":[1],"o":{}}')
      assert.are.equal("x", v.s)
      assert.are.equal("integer", math.type(v.i))
      assert.are.equal("float", math.type(v.f))
      assert.are.equal(true, v.t)
      assert.are.equal(null, v.n)
      assert.are.same({1}, v.a)
      assert.are.same({}, v.o)
    end)

    it("accepts scalars at the top level", function()
      assert.are.equal(7, json.decode("7"))
      assert.are.equal("x", json.decode('"x"'))
      assert.are.equal(false, json.decode("false"))
      assert.are.equal(null, json.decode(" null "))
    end)

    it("keeps the last of duplicate keys", function()
      assert.are.same({a = 3}, json.decode('{"a":1,"a":2,"a":3}'))
      local many = {}
      for i = 1, 600 do many[#many + 1] = string.format('"k%d":%d', i % 7, i) end
      local v = json.decode("{" .. table.concat(many, ",") .. "}")
      assert.are.equal(595, v.k0)   -- also across the stack chunks
      assert.are.equal(600, v.k5)
    end)

    it("builds large arrays and objects in order", function()
      local parts, keys = {}, {}
      for i = 1, 5000 do parts[i] = tostring(i); keys[i] = string.format('"%d":%d', i, i) end
      local a = json.decode("[" .. table.concat(parts, ",") .. "]")
      assert.are.equal(5000, #a)
      for i = 1, 5000 do assert(a[i] == i) end
      local o = json.decode("{" .. table.concat(keys, ",") .. "}")
      for i = 1, 5000 do assert(o[tostring(i)] == i) end
    end)

    it("checks its arguments", function()
      assert.has_error(function() json.decode() end)
      assert.has_error(function() json.decode({}) end)
      assert.has_error(function() json.decode("1", 5) end)
      assert.has_error(function() json.decode("1", {max_depth = 0}) end)
    end)
  end)

  -- Each gap measured in cJSON 1.7.15, closed here.
  describe("closes cJSON's gaps", function()
    it("rejects leading zeros, 2. and 0.e1", function()
      for _, s in ipairs {"01", "-01", "2.", "0.e1"} do
        assert.truthy(decode_error(s).message:find("number", 1, true), s)
      end
    end)

    it("rejects unescaped control characters in strings", function()
      assert.truthy(decode_error('"a\nb"').message:find("control character U+000A", 1, true))
      assert.truthy(decode_error('"a\1b"').message:find("U+0001", 1, true))
    end)

    it("rejects invalid \\u escapes instead of making an empty string", function()
      for _, s in ipairs {'"\\u"', '"\\u12"', '"\\uzzzz"', '"\\u12x4"'} do
        assert.truthy(decode_error(s).message:find("invalid \\u escape", 1, true), s)
      end
    end)

    it("does not take form feed or NUL for whitespace", function()
      decode_error("\f[1]"); decode_error("[1]\f"); decode_error("[1,\f2]")
      decode_error("[1]\0"); decode_error("\0[1]")
    end)

    it("rejects trailing bytes after the value", function()
      assert.truthy(decode_error("[1] x").message:find("after the value", 1, true))
      decode_error("{}}"); decode_error('"a""b"'); decode_error("1 2")
    end)

    it("keeps integers above 2^53 exact", function()
      assert.are.equal(9007199254740993, json.decode("9007199254740993"))
      assert.are.equal(math.maxinteger, json.decode("9223372036854775807"))
      assert.are.equal(math.mininteger, json.decode("-9223372036854775808"))
      assert.are.equal("9007199254740993", json.encode(9007199254740993))
      assert.are.equal("[9223372036854775807]", json.encode({math.maxinteger}))
    end)

    it("prints 0.30000000000000004, not 0.3", function()
      assert.are.equal("0.30000000000000004", json.encode(0.1 + 0.2))
      assert.are.equal(0.1 + 0.2, json.decode(json.encode(0.1 + 0.2)))
    end)

    it("keeps \\u0000 inside strings", function()
      assert.are.equal("a\0b", json.decode('"a\\u0000b"'))
      assert.are.equal('"a\\u0000b"', json.encode("a\0b"))
      assert.are.same({["k\0x"] = "v\0"}, json.decode('{"k\\u0000x":"v\\u0000"}'))
    end)

    it("keeps keys that differ only in case apart", function()
      local v = json.decode('{"name":1,"Name":2,"NAME":3}')
      assert.are.same({name = 1, Name = 2, NAME = 3}, v)
    end)
  end)

  describe("round trips", function()
    it("keeps integers across the whole 64-bit range", function()
      for _, i in ipairs {0, 1, -1, 1 << 53, (1 << 53) + 1, 1 << 62, math.maxinteger, math.mininteger,
                          math.mininteger + 1, 1700000000123, -987654321} do
        local back = json.decode(json.encode(i))
        assert.are.equal("integer", math.type(back))
        assert.are.equal(i, back)
      end
    end)

    it("turns integers beyond int64 into floats", function()
      local v = json.decode("9223372036854775808")
      assert.are.equal("float", math.type(v))
      assert.are.equal(2^63, v)
      assert.are.equal(-2^63 - 2048, json.decode("-9223372036854777856"))
    end)

    it("writes floats in the shortest form that reads back, with .0 when integral", function()
      local cases = {   -- pairs: a float key 2.0 would become the integer 2
        {2.0, "2.0"}, {-2.0, "-2.0"}, {0.0, "0.0"}, {0.1, "0.1"}, {1.5, "1.5"},
        {100.0, "100.0"}, {1e21, "1e+21"}, {1e-7, "1e-07"}, {123456.789, "123456.789"},
        {1/3, "0.3333333333333333"}, {2^53, "9007199254740992.0"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {0.05, "0.05"},
      }
      for _, c in ipairs(cases) do
        local f, s = c[1], c[2]
        assert.are.equal(s, json.encode(f))
        assert.are.equal("float", math.type(json.decode(s)))
      end
      assert.are.equal("-0.0", json.encode(-0.0))
      assert.are.equal(-math.huge, 1 / json.decode("-0.0"))
    end)

    it("reads every float back bit for bit (random bit patterns, seeded)", function()
      math.randomseed(4)
      for _ = 1, 20000 do
        local f = string.unpack("<d", string.pack("<i8", math.random(math.mininteger, math.maxinteger)))
        if f == f and f ~= math.huge and f ~= -math.huge then
          local s = json.encode(f)
          local back = json.decode(s)
          assert(string.pack("<d", back) == string.pack("<d", f), s)
          assert(math.type(back) == "float", s)
          -- shortest: one digit fewer never reads back (mantissas of 2+ digits)
          local digits = s:match("^-?([%d.]+)"):gsub("%.", ""):gsub("^0+", ""):gsub("0+$", "")
          if #digits > 1 and #digits <= 17 then
            local shorter = tonumber(string.format("%." .. (#digits - 1) .. "g", f))
            assert(shorter ~= f, s)
          end
        end
      end
    end)

    it("keeps [] and {} apart", function()
      assert.are.equal("[]", json.encode(json.decode("[]")))
      assert.are.equal("{}", json.encode(json.decode("{}")))
      assert.are.equal('{"a":[],"b":{},"c":[[]]}',
        json.encode(json.decode('{"a":[],"b":{},"c":[[]]}'), {sort_keys = true}))
    end)

    it("keeps a decoded array an array when a script empties it", function()
      local v = json.decode('{"tags":["a","b"]}')
      v.tags[2] = nil; v.tags[1] = nil
      assert.are.equal('{"tags":[]}', json.encode(v))
    end)

    it("keeps all of UTF-8 and control characters", function()
      local s = "ü€😀\u{10FFFF}\0\1\31\127 \"\\/"
      assert.are.equal(s, json.decode(json.encode(s)))
      assert.are.equal('"ü€😀\u{10FFFF}\\u0000\\u0001\\u001f\127 \\"\\\\/"', json.encode(s))
    end)

    it("round-trips null", function()
      assert.are.equal(null, json.decode(json.encode(null)))
      assert.are.equal("[null,1]", json.encode({null, 1}))
      assert.are.equal("null", json.encode(nil))
    end)

    -- Random values from a seeded generator: encode, decode, compare, and
    -- encode again to the same text.
    local function random_string(r)
      local t = {}
      for i = 1, r(12) - 1 do
        local k = r(6)
        if k == 1 then t[i] = string.char(r(32) - 1)              -- controls, NUL
        elseif k == 2 then t[i] = utf8.char(r(0xD7FF))
        elseif k == 3 then t[i] = utf8.char(0xE000 + r(0x10FFFF - 0xE000))
        elseif k == 4 then t[i] = ({'"', "\\", "/", "\127"})[r(4)]
        else t[i] = string.char(31 + r(95)) end
      end
      return table.concat(t)
    end

    local function random_value(r, depth)
      local k = r(depth > 4 and 6 or 9)
      if k == 1 then return math.random(math.mininteger, math.maxinteger)
      elseif k == 2 then return r(2000) - 1000
      elseif k == 3 then
        local f = (math.random() - 0.5) * 10.0 ^ (r(40) - 20)
        return r(5) == 1 and math.floor(f) + 0.0 or f
      elseif k == 4 then return random_string(r)
      elseif k == 5 then return r(2) == 1
      elseif k == 6 then return null
      elseif k == 7 then
        local t = json.array()
        for i = 1, r(6) - 1 do t[i] = random_value(r, depth + 1) end
        return t
      else
        local t = {}
        for _ = 1, r(6) - 1 do t[random_string(r)] = random_value(r, depth + 1) end
        return k == 8 and json.object(t) or t
      end
    end

    it("survives random values (seeded)", function()
      math.randomseed(20240604)
      local r = function(n) return math.random(n) end
      for n = 1, 3000 do
        local v = random_value(r, 0)
        local opts = ({ nil, {sort_keys = true}, {indent = 2, sort_keys = true} })[n % 3 + 1]
        local s = json.encode(v, opts)
        local back = json.decode(s)
        assert(same(v, back), s)
        local sorted = {sort_keys = true, indent = opts and opts.indent}
        assert(json.encode(back, sorted) == json.encode(v, sorted), s)
      end
    end)
  end)

  describe("encode", function()
    it("writes compact JSON by default", function()
      assert.are.equal('{"a":[1,2,{"b":null}]}', json.encode({a = {1, 2, {b = null}}}))
      assert.are.equal('"x"', json.encode("x"))
      assert.are.equal("true", json.encode(true))
    end)

    it("indents and sorts keys on request", function()
      local v = {b = {1, {}}, a = json.array(), c = {z = 1, y = "2"}}
      assert.are.equal(
        '{\n  "a": [],\n  "b": [\n    1,\n    {}\n  ],\n  "c": {\n    "y": "2",\n    "z": 1\n  }\n}',
        json.encode(v, {indent = 2, sort_keys = true}))
      assert.are.equal('{"a":[],"b":[1,{}],"c":{"y":"2","z":1}}', json.encode(v, {sort_keys = true}))
      assert.are.equal('{"B":1,"a":2,"b":3,"ba":4}', json.encode({b = 3, a = 2, ba = 4, B = 1}, {sort_keys = true}))
    end)

    it("encodes an empty table without a mark as {}", function()
      assert.are.equal("{}", json.encode({}))
      assert.are.equal("[]", json.encode(json.array({})))
      assert.are.equal("[]", json.encode(json.array()))
      assert.are.equal("{}", json.encode(json.object()))
    end)

    it("follows the marks and __jsontype", function()
      local t = json.array({1, 2})
      assert.are.equal(t, json.array(t))           -- returns its argument
      assert.are.equal("[1,2]", json.encode(t))
      assert.are.equal('{"a":1}', json.encode(json.object({a = 1})))
      assert.are.equal("[]", json.encode(setmetatable({}, {__jsontype = "array"})))
      assert.are.equal("{}", json.encode(setmetatable({}, {__jsontype = "object"})))
      json.object(t)                               -- one mark replaces the other
      assert.truthy(encode_error(t).message:find("integer keys", 1, true))
      assert.has_error(function() json.array(setmetatable({}, {})) end)
      assert.has_error(function() json.array(5) end)
    end)

    it("refuses what JSON cannot hold, naming the path", function()
      local cases = {
        { {items = {1, 2, {x = print}}}, "cannot encode function at $.items[3].x" },
        { {0/0}, "cannot encode NaN at $[1]" },
        { {a = {b = math.huge}}, "cannot encode inf at $.a.b" },
        { {a = -math.huge}, "cannot encode -inf at $.a" },
        { {f = io.stdout}, "cannot encode userdata at $.f" },
        { {co = coroutine.create(print)}, "cannot encode thread at $.co" },
        { {["a b"] = {["c.d"] = print}}, 'cannot encode function at $["a b"]["c.d"]' },
        { {[1] = 1, [3] = 3}, "cannot encode sparse array (2 items, largest index 3) at $" },
        { {x = {[2] = true}}, "cannot encode sparse array (1 items, largest index 2) at $.x" },
        { {1, 2, a = 3}, "cannot encode table mixing string and integer keys at $" },
        { {a = 1, [1] = 2}, "cannot encode table mixing string and integer keys at $" },
        { {[true] = 1}, "cannot encode table with boolean key at $" },
        { {[1.5] = 1}, "cannot encode table with non-integer key 1.5 at $" },
        { {[0] = 1}, "cannot encode array with index 0 (arrays start at 1) at $" },
        { {1, [-1] = 1}, "cannot encode array with index -1 (arrays start at 1) at $" },
        { {{{}, {"\255"}}}, "cannot encode invalid UTF-8 (byte 1 of the string) at $[1][2][1]" },
        { {k = "ab\192\128"}, "cannot encode invalid UTF-8 (byte 3 of the string) at $.k" },
        { {["\237\160\128"] = 1}, "cannot encode invalid UTF-8 (byte 1 of the key) at $" },
      }
      for _, c in ipairs(cases) do
        local e = encode_error(c[1])
        assert.truthy(e.message:find("json: " .. c[2], 1, true) or e.message:find(c[2], 1, true),
          e.message .. " ~ " .. c[2])
      end
    end)

    it("puts the path on the error", function()
      local e = encode_error({items = {{}, {}, {x = print}}})
      assert.are.equal("$.items[3].x", e.path)
      assert.are.equal("json: cannot encode function at $.items[3].x", e.message)
    end)

    it("refuses cycles", function()
      local t = {a = {}}
      t.a.b = t
      assert.truthy(encode_error(t).message:find("contains itself at $.a.b", 1, true))
      local l = json.array()
      l[1] = l
      assert.truthy(encode_error(l).message:find("at $[1]", 1, true))
      local shared = {1}                            -- shared, not cyclic: fine
      assert.are.equal('{"x":[1],"y":[1]}', json.encode({x = shared, y = shared}, {sort_keys = true}))
    end)

    it("checks its options", function()
      assert.has_error(function() json.encode({}, 5) end)
      assert.has_error(function() json.encode({}, {indent = -1}) end)
      assert.has_error(function() json.encode({}, {indent = "x"}) end)
      assert.has_error(function() json.encode() end)
    end)
  end)

  describe("depth", function()
    it("stops decoding at 1000 levels by default, or at max_depth", function()
      assert.is_table(json.decode(string.rep("[", 1000) .. string.rep("]", 1000)))
      local e = decode_error(string.rep("[", 1001) .. string.rep("]", 1001))
      assert.truthy(e.message:find("nesting deeper than 1000 at line 1 column 1001", 1, true), e.message)
      assert.has_error(function() json.decode("[[[1]]]", {max_depth = 2}) end)
      assert.are.same({{{1}}}, json.decode("[[[1]]]", {max_depth = 3}))
    end)

    it("never overflows the stack on hostile input", function()
      decode_error(string.rep("[", 1e6))
      decode_error(string.rep('{"a":', 1e6))
      assert.has_error(function() json.decode(string.rep("[", 1e5), {max_depth = 10000}) end)
    end)

    it("stops encoding at the same limit", function()
      local deep = {}
      local t = deep
      for _ = 1, 1000 do t[1] = {}; t = t[1] end
      local e = encode_error(deep)
      assert.truthy(e.message:find("nesting deeper than 1000", 1, true))
      assert.is_string(json.encode(deep, {max_depth = 1001}))
    end)
  end)

  describe("error messages", function()
    it("name line, column and an excerpt", function()
      local e = decode_error('{\n  "a": 1,\n  "b": x\n}')
      assert.are.equal([[json: unexpected character 'x' at line 3 column 8 near '  "b": x']], e.message)
      assert.are.equal(3, e.line)
      assert.are.equal(8, e.column)
      assert.are.equal(20, e.offset)
    end)

    it("count columns in characters and cut long lines", function()
      local e = decode_error('["ü€😀", x]')
      assert.are.equal(9, e.column)
      local long = '{"key":"' .. string.rep("v", 100) .. '",,}'
      e = decode_error(long)
      assert.truthy(e.message:find("near '%.%.%.v+\",,}'$"), e.message)
      e = decode_error("[" .. string.rep(" ", 50) .. "x" .. string.rep(" ", 50) .. "1]")
      assert.truthy(e.message:find("near '%.%.%. +x +%.%.%.'$"), e.message)
    end)

    it("escape bytes that would garble the message", function()
      local e = decode_error('"a\255b"')
      assert.are.equal([[json: invalid UTF-8 byte 0xFF in string at line 1 column 3 near '"a\xFFb"']], e.message)
      e = decode_error('["\t"]')
      assert.truthy(e.message:find([[near '["\x09"]']], 1, true), e.message)
    end)

    it("say where a string ends unterminated", function()
      local e = decode_error('[1,\n"abc')
      assert.are.equal([[json: unterminated string at line 2 column 1 near '"abc']], e.message)
    end)

    it("are harness.Error values", function()
      local e = decode_error("[")
      assert.are.equal("json", e.kind)
      assert.truthy(tostring(e):find("unexpected end of input", 1, true))
      local mt = debug.getmetatable(e)
      assert.are.equal(debug.getregistry()["harness.Error"], mt)
    end)
  end)

  describe("null", function()
    it("is one sentinel that prints as null", function()
      assert.are.equal("userdata", type(null))
      assert.are.equal("null", tostring(null))
      assert.are.equal(null, json.decode("null"))
      assert.are.equal(json.decode("[null]")[1], json.decode('{"a":null}').a)
    end)
  end)
end)
