-- tests/support/json/corpus.lua: conformance corpus for harness.json.decode.
-- Each case is { kind, input, expected, note }:
--   kind "y": valid RFC 8259 text; decode must succeed and
--             encode(decode(input), {sort_keys = true}) must equal expected.
--   kind "n": invalid text; decode must raise harness.Error{kind = "json"}
--             whose message contains expected (a plain substring).
--   kind "i": RFC 8259 leaves the outcome to the implementation; expected
--             is our choice (a string: accepted and re-encoded like "y";
--             a table {error = fragment}: rejected like "n"); note says why.

local cases = {}
local function y(input, expected) cases[#cases + 1] = { "y", input, expected or input } end
local function n(input, fragment) cases[#cases + 1] = { "n", input, fragment } end
local function i(input, expected, note) cases[#cases + 1] = { "i", input, expected, note } end

-- {==== valid: numbers
y("0"); y("1"); y("-1"); y("123"); y("-123"); y("10"); y("100")
y("9223372036854775807")                      -- largest int64: stays an integer
y("-9223372036854775808")                     -- smallest int64
y("9007199254740993")                         -- 2^53 + 1: exact as an integer
y("-9007199254740993")
y("1700000000123")                            -- millisecond timestamp
y("9223372036854775808", "9.223372036854776e+18")   -- beyond int64: float
y("-9223372036854775809", "-9.223372036854776e+18")
y("18446744073709551616", "1.8446744073709552e+19")
y("123456789012345678901234567890", "1.2345678901234568e+29")
y("1.5"); y("-1.5"); y("0.5"); y("0.1"); y("0.25"); y("3.14159")
y("0.0"); y("1.0"); y("2.0"); y("-2.0")
y("0.30000000000000004")                      -- cJSON prints this as 0.3
y("0.1000000000000000055511151231257827", "0.1")
y("1e5", "100000.0"); y("1E5", "100000.0"); y("1e+5", "100000.0")
y("1e-5", "1e-05"); y("1.5e3", "1500.0"); y("1.5E-3", "0.0015")
y("0e0", "0.0"); y("0E-0", "0.0"); y("0e+1", "0.0"); y("-1e0", "-1.0")
y("1e0", "1.0"); y("1e-0", "1.0"); y("1e00001", "10.0"); y("1.25e+2", "125.0")
y("1.7976931348623157e308", "1.7976931348623157e+308")
y("2.2250738585072014e-308", "2.2250738585072014e-308")
y("5e-324"); y("4.9406564584124654e-324", "5e-324")
y("1e22", "1e+22"); y("1e23", "1e+23"); y("123456.789"); y("-0.000123", "-0.000123")
y("1.0e-10", "1e-10"); y("12345678901234567890.0", "1.2345678901234567e+19")
y("0.1e1", "1.0"); y("100e-2", "1.0"); y("2251799813685248.5"); y("4503599627370497.5", "4503599627370498.0")
y("2.5e-1", "0.25"); y("1000000000000000.0", "1e+15")
y("[1.0,1,-0.5,1e2]", "[1.0,1,-0.5,100.0]")
-- }====

-- {==== valid: strings
y('""'); y('"a"'); y('"hello world"'); y('" "')
y('"\\""'); y('"\\\\"'); y('"\\/"', '"/"'); y('"\\b"'); y('"\\f"'); y('"\\n"')
y('"\\r"'); y('"\\t"')
y('"\\u0041"', '"A"'); y('"\\u00e9"', '"é"'); y('"\\u00E9"', '"é"'); y('"\\u20ac"', '"€"')
y('"\\u0000"'); y('"a\\u0000b"'); y('"\\u0001"'); y('"\\u001f"'); y('"\\u007f"', '"\127"')
y('"\\ud83d\\ude00"', '"😀"'); y('"\\uD83D\\uDE00"', '"😀"'); y('"\\udbff\\udfff"', '"\u{10FFFF}"')
y('"\\ud800\\udc00"', '"\u{10000}"'); y('"\\uffff"', '"\u{FFFF}"'); y('"\\ufeff"', '"\u{FEFF}"')
y('"é"'); y('"€"'); y('"😀"'); y('"日本語"'); y('"Straße naïve"'); y('"\u{10FFFF}"')
y('"\127"')                                   -- DEL needs no escape
y('"\u{7FF}\u{800}\u{FFFF}\u{10000}"')        -- UTF-8 length boundaries
y('"\u{D7FF}\u{E000}"')                       -- around the surrogate range
y('"a\\nb\\tc"'); y('"\\"quoted\\""'); y('"C:\\\\path"'); y('"</script>"')
y('"\\u0022\\u005c"', '"\\"\\\\"'); y('"\\u000a"', '"\\n"'); y('"\\u0008\\u000c"', '"\\b\\f"')
y('"pipeline:\\n  name: x\\n  tags: {}\\n"')
-- }====

-- {==== valid: literals, arrays, objects, whitespace
y("true"); y("false"); y("null")
y("[]"); y("{}"); y("[[]]"); y("[{}]"); y('{"a":[]}'); y('{"a":{}}')
y("[1,2,3]"); y('["a","b"]'); y("[true,false,null]"); y("[null]"); y("[[1],[2,[3,[4]]]]")
y('{"a":1}'); y('{"a":1,"b":2}'); y('{"b":2,"a":1}', '{"a":1,"b":2}'); y('{"":0}')
y('{"a":null}'); y('{"a":{"b":{"c":{}}}}'); y('{"é":"ü"}'); y('{"\\u0000":1}')
y('{"a b":1,"c\\"d":2}'); y('{"1":1,"2":2}'); y('[{"a":[{"b":null}]}]')
y(" 1 ", "1"); y("\t\n\r 1", "1"); y("[ 1 , 2 ]", "[1,2]"); y(" { \"a\" : 1 } ", '{"a":1}')
y("[\n  1,\n  2\n]", "[1,2]"); y("\r\n{\r\n}\r\n", "{}"); y("[ ]", "[]"); y("{ }", "{}")
y('[ "a" ,\t"b"\n]', '["a","b"]'); y('{"a"\n:\n1}', '{"a":1}')
y('{"status":"SUCCESS","data":{"content":[],"totalItems":0},"metaData":null}',
  '{"data":{"content":[],"totalItems":0},"metaData":null,"status":"SUCCESS"}')
y("[" .. string.rep("1,", 999) .. "1]", "[" .. string.rep("1,", 999) .. "1]")
y(string.rep("[", 1000) .. string.rep("]", 1000))        -- the default depth limit
y(string.rep('{"a":', 999) .. "1" .. string.rep("}", 999))
-- }====

-- {==== invalid: numbers
n("01", "leading zero"); n("-01", "leading zero"); n("00", "leading zero")
n("007", "leading zero"); n("[01]", "leading zero"); n("-00.5", "leading zero")
n("2.", "digit expected after '.'"); n("0.e1", "digit expected after '.'")
n("1.e5", "digit expected after '.'"); n("-2.", "digit expected after '.'")
n(".5", "unexpected character '.'"); n("-.5", "digit expected"); n("+1", "unexpected character '+'")
n("-", "digit expected"); n("--1", "digit expected"); n("- 1", "digit expected")
n("1e", "digit expected in exponent"); n("1e+", "digit expected in exponent")
n("1e-", "digit expected in exponent"); n("1E", "digit expected in exponent")
n("1e+-1", "digit expected in exponent"); n("1ee1", "digit expected in exponent")
n("0x10", "unexpected character 'x'"); n("0X1", "unexpected character 'X'")
n("1.0.0", "unexpected character '.'"); n("1 2", "unexpected character '2'")
n("Infinity", "unexpected character 'I'"); n("-Infinity", "digit expected")
n("NaN", "unexpected character 'N'"); n("-NaN", "digit expected"); n("inf", "unexpected character 'i'")
n("1_000", "unexpected character '_'"); n("1,000", "unexpected character ','")
n("[1.]", "digit expected after '.'"); n("[-]", "digit expected"); n("1e1.5", "unexpected character '.'")
n("\u{FF11}", "unexpected byte 0xEF")             -- fullwidth digit one
n("1e400", "number out of range"); n("-1e400", "number out of range")
n("[1.7976931348623159e308]", "number out of range")
-- }====

-- {==== invalid: strings
for b = 0, 31 do   -- every unescaped control character
  n('"a' .. string.char(b) .. 'b"', string.format("unescaped control character U+%04X", b))
end
for _, e in ipairs { "a", "x", "'", "0", "U", "v", "e", "1", " ", "N", "B", "F", "?" } do
  n('"\\' .. e .. '"', "invalid escape")
end
n('"\\u"', "invalid \\u escape"); n('"\\u1"', "invalid \\u escape"); n('"\\u12"', "invalid \\u escape")
n('"\\u123"', "invalid \\u escape"); n('"\\u123g"', "invalid \\u escape"); n('"\\uGGGG"', "invalid \\u escape")
n('"\\U0041"', "invalid escape"); n('"\\x41"', "invalid escape"); n('"\\u 041"', "invalid \\u escape")
n('"abc', "unterminated string"); n('"', "unterminated string"); n('"\\', "unterminated string")
n('"\\"', "unterminated string"); n('["a', "unterminated string"); n('{"a', "unterminated string")
n("'a'", "unexpected character '''"); n('"a"b"', "unexpected character 'b'")
n('"\128"', "invalid UTF-8 byte 0x80")           -- lone continuation byte
n('"\191"', "invalid UTF-8 byte 0xBF")
n('"\192\128"', "invalid UTF-8 byte 0xC0")       -- overlong NUL
n('"\193\191"', "invalid UTF-8 byte 0xC1")       -- overlong
n('"\224\128\128"', "invalid UTF-8 byte 0xE0")   -- overlong 3-byte
n('"\240\128\128\128"', "invalid UTF-8 byte 0xF0") -- overlong 4-byte
n('"\237\160\128"', "invalid UTF-8 byte 0xED")   -- encoded surrogate U+D800
n('"\237\191\191"', "invalid UTF-8 byte 0xED")   -- encoded surrogate U+DFFF
n('"\244\144\128\128"', "invalid UTF-8 byte 0xF4") -- U+110000
n('"\245\128\128\128"', "invalid UTF-8 byte 0xF5")
n('"\248\136\128\128\128"', "invalid UTF-8 byte 0xF8")
n('"\254"', "invalid UTF-8 byte 0xFE"); n('"\255"', "invalid UTF-8 byte 0xFF")
n('"\226\130"', "invalid UTF-8 byte 0xE2")       -- truncated euro sign
n('"\226\130"x', "invalid UTF-8 byte 0xE2"); n('"\240\159\152"', "invalid UTF-8 byte 0xF0")
n('"\195"', "invalid UTF-8 byte 0xC3"); n('"a\195("', "invalid UTF-8 byte 0xC3")
n('"\\n\128"', "invalid UTF-8 byte 0x80")        -- also after an escape
n('{"\255":1}', "invalid UTF-8 byte 0xFF")       -- and in keys
n("\255", "unexpected byte 0xFF"); n("[\128]", "unexpected byte 0x80")
-- }====

-- {==== invalid: literals and structure
n("tru", "unexpected end of input"); n("True", "unexpected character 'T'"); n("nul", "unexpected end of input")
n("nulll", "unexpected character 'l'"); n("NULL", "unexpected character 'N'"); n("fals", "unexpected end of input")
n("falsy", "unexpected character 'y'"); n("t", "unexpected end of input"); n("nil", "unexpected character 'i'")
n("undefined", "unexpected character 'u'"); n("truefalse", "unexpected character 'f'")
n("", "unexpected end of input"); n(" ", "unexpected end of input"); n("\n\n", "unexpected end of input")
n("[", "unexpected end of input"); n("]", "unexpected character ']'"); n("{", "unexpected end of input")
n("}", "unexpected character '}'"); n("[1", "unexpected end of input"); n("[1,", "unexpected end of input")
n("[1,]", "unexpected character ']'"); n("[,1]", "unexpected character ','"); n("[,]", "unexpected character ','")
n("[1 2]", "',' or ']' expected"); n("[1;2]", "',' or ']' expected"); n("[1:2]", "',' or ']' expected")
n("[1]]", "after the value"); n("[1]x", "after the value"); n("[][]", "after the value"); n("{}{}", "after the value")
n('{"a"}', "':' expected"); n('{"a":}', "unexpected character '}'"); n('{"a" 1}', "':' expected")
n('{"a"=1}', "':' expected"); n("{a:1}", "string key expected"); n("{'a':1}", "string key expected")
n("{1:1}", "string key expected"); n('{"a":1,}', "string key expected"); n("{,}", "string key expected")
n('{"a":1 "b":2}', "',' or '}' expected"); n('{"a":1;"b":2}', "',' or '}' expected")
n('{"a":1', "unexpected end of input"); n('{"a":1,', "unexpected end of input")
n('{"a":', "unexpected end of input"); n('{"a"', "unexpected end of input"); n('{"a":1]', "',' or '}' expected")
n('[1}', "',' or ']' expected"); n('{null:1}', "string key expected"); n('{[]:1}', "string key expected")
n("[1] // comment", "after the value"); n("/* c */ 1", "unexpected character '/'"); n("# c\n1", "unexpected character '#'")
n("\f1", "unexpected byte 0x0C")              -- form feed is not JSON whitespace
n("1\f", "unexpected byte 0x0C"); n("[1,\f2]", "unexpected byte 0x0C")
n("\v1", "unexpected byte 0x0B"); n("\0", "unexpected byte 0x00"); n("1\0", "unexpected byte 0x00")
n("[1]\0", "unexpected byte 0x00"); n("\0[1]", "unexpected byte 0x00"); n('{"a":1}\0\0', "unexpected byte 0x00")
n("\194\160" .. "1", "unexpected byte 0xC2")  -- no-break space
n("1\226\128\168", "unexpected byte 0xE2")    -- line separator
n(string.rep("[", 1001) .. string.rep("]", 1001), "nesting deeper than 1000")
n(string.rep('{"a":', 1001) .. "1" .. string.rep("}", 1001), "nesting deeper than 1000")
n(string.rep("[", 100000), "nesting deeper than 1000")
n("[" .. string.rep("1,", 5000) .. "]", "unexpected character ']'")
-- }====

-- {==== implementation-defined (RFC 8259 sections 4, 6, 8, 9)
i('{"a":1,"a":2}', '{"a":2}', "duplicate keys: the last one wins")
i('{"a":{"x":1},"a":[]}', '{"a":[]}', "duplicate keys: the last one wins, any type")
i("-0", "-0.0", "-0 keeps its sign as the float -0.0")
i("-0.0", "-0.0", "negative zero")
i("-0e0", "-0.0", "negative zero")
i("1e-400", "0.0", "underflow rounds to zero, as strtod does")
i("-1e-400", "-0.0", "underflow rounds to zero, keeping the sign")
i("1e999999999", { error = "number out of range" }, "overflow has no double")
i("123e45678", { error = "number out of range" }, "overflow has no double")
i('"\\ud800"', { error = "lone high surrogate" }, "a lone surrogate has no UTF-8 form")
i('"\\udbff"', { error = "lone high surrogate" }, "a lone surrogate has no UTF-8 form")
i('"\\udc00"', { error = "lone low surrogate" }, "a lone surrogate has no UTF-8 form")
i('"\\udfff"', { error = "lone low surrogate" }, "a lone surrogate has no UTF-8 form")
i('"\\ud800\\u0041"', { error = "lone high surrogate" }, "high surrogate then a non-surrogate")
i('"\\ud800\\ud800"', { error = "lone high surrogate" }, "two high surrogates")
i('"\\ud800x"', { error = "lone high surrogate" }, "high surrogate then text")
i('"\\udc00\\ud800"', { error = "lone low surrogate" }, "reversed pair")
i('["\\ud800"]', { error = "lone high surrogate" }, "inside an array")
i("\239\187\191{}", { error = "byte order mark" }, "a BOM is not JSON text (RFC 8259 8.1)")
i("\239\187\191", { error = "byte order mark" }, "a BOM alone")
i("\"\239\187\191\"", "\"\239\187\191\"", "U+FEFF inside a string is just a character")
i('"\\u0000\\u0000"', '"\\u0000\\u0000"', "NUL characters survive")
i(string.rep("9", 400), { error = "number out of range" }, "400-digit integer overflows a double")
i("1" .. string.rep("0", 300), "1e+300", "301-digit integer becomes a float")
i("0." .. string.rep("0", 400) .. "1", "0.0", "tiny number underflows")
i("1." .. string.rep("0", 400) .. "1", "1.0", "digits past double precision are rounded")
i('"' .. string.rep("x", 100000) .. '"', '"' .. string.rep("x", 100000) .. '"', "long strings")
i('"\\u0000' .. string.rep("a", 300) .. '"', '"\\u0000' .. string.rep("a", 300) .. '"', "escapes at the start of long strings")
i("[" .. string.rep('"x",', 3000) .. '"y"]', "[" .. string.rep('"x",', 3000) .. '"y"]', "arrays longer than one chunk")
-- }====

return cases
