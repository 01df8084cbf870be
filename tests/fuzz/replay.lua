-- Replays one input through a fuzz driver inside hlua itself, without
-- libFuzzer: hlua tests/fuzz/replay.lua <target> <file>. Exits 0 when the
-- driver's invariants hold. tests/fuzz/fuzz_spec.lua runs it on every input
-- kept under tests/fuzz/<target>/ (seeds and the crashes fuzzing found).
local target, file = ...
local f = assert(io.open(file, "rb"))
local data = f:read("a")
f:close()

local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local driver = assert(loadfile(dir .. "/" .. target .. "_fuzz.lua"))()
driver(data)
