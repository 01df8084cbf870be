-- The fuzz targets' inputs as regression tests: every file under
-- tests/fuzz/<target>/ (the seeds, and each crash fuzzing found, named
-- crash-<what>) goes through its driver in a fresh hlua, so a fixed crash
-- stays fixed without clang or libFuzzer (make fuzz is where they run).
local h = require "tests.support.helper"

local function inputs(target)
  local out = h.sh("ls tests/fuzz/" .. target)
  local list = {}
  for name in out:gmatch("[^\n]+") do list[#list + 1] = name end
  return list
end

for _, target in ipairs({"roundtrip", "config", "headers"}) do
  describe("fuzz target " .. target, function()
    local names = inputs(target)
    it("has inputs", function() assert.is_true(#names > 0) end)
    -- one hlua for all the inputs would share state; one per input is
    -- cheap enough (a few ms each)
    local cmds = {}
    for _, name in ipairs(names) do
      cmds[#cmds + 1] = ("%s tests/fuzz/replay.lua %s %s >/dev/null 2>&1 || echo %s"):format(
        h.hlua, target, h.q("tests/fuzz/" .. target .. "/" .. name), h.q(name))
    end
    it("holds its invariants on every kept input", function()
      local failed = h.sh(table.concat(cmds, "\n"))
      assert.equal("", failed, "failing inputs (run: hlua tests/fuzz/replay.lua " .. target .. " <file>)")
    end)
  end)
end
