-- The key's redaction (lua/harness/config.lua, trace.cut), in-process: every
-- form a server may echo the secret in, every place a cut may fall, and
-- the text around it left as it was. (Through hlua against a server that
-- echoes the key: tests/e2e/hostile_spec.lua.)
local config = require "harness.config"
local trace = require "harness.trace"

local KEY = "pat.acc0unt01.t0ken01.S3cretS3cretS3cretAB"
local SECRET = "S3cretS3cretS3cretAB"

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a << 16 | (b or 0) << 8 | (c or 0)
    for k = 18, 0, -6 do
      local v = n >> k & 63
      out[#out + 1] = B64:sub(v + 1, v + 1)
    end
    if not b then out[#out - 1] = "=" end
    if not c then out[#out] = "=" end
  end
  return table.concat(out)
end

local function percent(s) return (s:gsub(".", function(c) return ("%%%02X"):format(c:byte()) end)) end
local function unicode(s) return (s:gsub(".", function(c) return ("\\u%04x"):format(c:byte()) end)) end

-- Asserts that no 6 characters of the secret in a row are in s.
local function assert_clean(s, what)
  for i = 1, #SECRET - 5 do
    assert.is_nil(s:find(SECRET:sub(i, i + 5), 1, true), what .. ": characters " .. i .. "-" .. (i + 5))
  end
end

describe("redaction", function()
  local prev
  before_each(function()
    prev = config.use_world{
      getenv = function(name) return ({HARNESS_API_KEY = KEY, HOME = "/nonexistent"})[name] end,
      read_file = function(path) return nil, path .. ": No such file or directory" end,
      file_mode = function() return nil end,
      cli = function() return {} end,
      warn = function() end,
    }
  end)
  after_each(function() config.use_world(prev) end)

  it("masks the key whole and its secret alone, and leaves the rest", function()
    assert.equal("a pat.acc0unt01.t0ken01.**** b **** c",
      config.redact("a " .. KEY .. " b " .. SECRET .. " c"))
    assert.equal("nothing here", config.redact("nothing here"))
    assert.equal(42, config.redact(42))
  end)

  it("masks it percent-encoded and as JSON \\u escapes, whole, in part, in any case", function()
    for _, s in ipairs({percent(KEY), percent(SECRET):lower(), unicode(KEY), unicode(SECRET):upper(),
                        "S3cr" .. percent("etS3") .. "cretS3" .. unicode("cretAB"),
                        "pat%2Eacc0unt01%2Et0ken01%2E" .. SECRET}) do
      local r = config.redact("<" .. s .. ">")
      assert_clean(r, s)
      assert.matches("^<.*%*%*%*%*>$", r)
    end
    -- what only looks like an escape is left alone
    assert.equal("100% \\u00zz %4", config.redact("100% \\u00zz %4"))
  end)

  it("masks it base64-encoded at any alignment, url-safe, in Basic credentials", function()
    for pad = 0, 5 do
      for _, s in ipairs({KEY, SECRET}) do
        local enc = base64(("p"):rep(pad) .. s)
        for _, form in ipairs({enc, (enc:gsub("[+/]", {["+"] = "-", ["/"] = "_"})), "Basic " .. enc}) do
          local r = config.redact("x " .. form .. " y")
          assert.is_nil(r:find(enc:sub(-12), 1, true), "pad " .. pad)
          assert.matches("^x .*%*%*%*%*.* y$", r)
          -- decoded from any offset, no piece of the secret is left
          for run in r:gmatch("[%w+/_%-]+") do
            for k = 0, 3 do
              local bits, nbits, out = 0, 0, {}
              for ch in run:sub(k + 1):gsub("[-_]", {["-"] = "+", ["_"] = "/"}):gmatch(".") do
                bits = (bits << 6 | (B64:find(ch, 1, true) - 1)) & 0xffffff
                nbits = nbits + 6
                if nbits >= 8 then
                  nbits = nbits - 8
                  out[#out + 1] = string.char(bits >> nbits & 0xff)
                end
              end
              assert_clean(table.concat(out), "base64 pad " .. pad)
            end
          end
        end
      end
    end
  end)

  it("redacts before it cuts, wherever the cut falls", function()
    for _, form in ipairs({KEY, SECRET, percent(KEY), unicode(SECRET), base64("xy" .. KEY)}) do
      local body = ("x"):rep(100) .. form .. ("y"):rep(100)
      for n = 90, 100 + #form + 5 do
        local cut = trace.cut(body, n)
        assert_clean(cut, ("cut at %d of %s"):format(n, form:sub(1, 8)))
        assert.matches("%.%.%. %(" .. #body .. " bytes%)$", cut)
        assert.is_true(#config.redact_head(body, n) <= n)
      end
    end
  end)

  it("masks a secret that escapes spell across the chunks it maps text in", function()
    local enc = percent(SECRET)
    for _, before in ipairs({65536 - 30, 65536 - 1, 65536, 65536 + 7}) do
      local s = ("%"):rep(3) .. ("a"):rep(before - 3) .. enc .. "z"
      local r = config.redact(s)
      assert_clean(r, "at " .. before)
      assert.equal(("%"):rep(3) .. ("a"):rep(before - 3) .. "****z", r)
    end
  end)

  it("a decode error next to the key quotes the redacted body, or nothing of it", function()
    local response = require "harness.response"
    for _, pad in ipairs({0, 2 * 1024 * 1024}) do
      local body = (" "):rep(pad) .. '{"token":"' .. KEY .. '"x}'
      local res = response.new({status = 200, headers = {["content-type"] = "application/json"},
                                body = body, url = "https://x.example/p"}, "GET", "/p", 0)
      local ok, e = pcall(response.body, res, 1)
      assert.is_false(ok)
      assert.equal("json", e.kind)
      assert_clean(e.message, "pad " .. pad)
      if pad == 0 then
        assert.matches("near '[^']*%*%*%*%*\"x}'$", e.message)
      else
        assert.matches("at line 1 column %d+$", e.message)
      end
    end
  end)

  it("masks whatever looks like a key in a config error", function()
    local mine = config.use_world{
      getenv = function(name)
        return ({HARNESS_ENDPOINT = "sat.acc.tok.Zx9Zx9Zx9Zx9Zx9Zx9", HOME = "/nonexistent"})[name]
      end,
      read_file = function() return nil end, file_mode = function() return nil end,
      cli = function() return {} end, warn = function() end,
    }
    local ok, e = pcall(config.settings)
    config.use_world(mine)
    assert.is_false(ok)
    assert.equal('the endpoint "sat.acc.tok.****" (HARNESS_ENDPOINT) is not an http(s) URL', e.message)
  end)
end)
