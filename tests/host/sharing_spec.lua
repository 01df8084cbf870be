-- Sharing script libraries: a folder with an init.lua found next to the
-- script, in HLUA_PATH and in ~/.local/share/hlua/lua; and an installed
-- hlua that finds its own library and scripts.
local h = require "tests.support.helper"
local q = h.q

local mktemp_dir, write = h.tempdir, h.write

-- A team library named 'name' that says where it was found.
local function library(dir, name, where)
  write(dir .. "/" .. name .. "/init.lua", ([[
local M = {where = %q}
M.util = require(%q .. ".util")
return M
]]):format(where, name))
  write(dir .. "/" .. name .. "/util.lua", "return {shout = function(s) return s:upper() end}\n")
end

describe("sharing script libraries", function()
  local tmp
  before_each(function() tmp = mktemp_dir() end)
  after_each(function() h.sh("rm -rf " .. q(tmp)) end)

  local script = [[
local lib = require(...)
print(lib.where, lib.util.shout("ok"))
]]

  it("finds a library next to the script, from any working directory", function()
    library(tmp .. "/tools", "acme", "beside")
    write(tmp .. "/tools/report.lua", "local lib = require 'acme' print(lib.where, lib.util.shout('ok'))\n")
    local bin = q(os.getenv("PWD") .. "/" .. h.bin)
    if h.wrapped then bin = os.getenv("HLUA_WRAPPER") .. " " .. bin end
    local out, err, rc = h.sh("cd / && " .. bin .. " " .. q(tmp .. "/tools/report.lua"))
    assert.equal(0, rc, err)
    assert.equal("beside\tOK\n", out)
  end)

  it("finds a library in HLUA_PATH", function()
    library(tmp .. "/shared", "acme_hp", "hlua_path")
    write(tmp .. "/s.lua", script)
    local out, err, rc = h.run(q(tmp .. "/s.lua") .. " acme_hp", nil,
      "HLUA_PATH=" .. q(tmp .. "/shared/?.lua;" .. tmp .. "/shared/?/init.lua"))
    assert.equal(0, rc, err)
    assert.equal("hlua_path\tOK\n", out)
  end)

  it("finds a library in ~/.local/share/hlua/lua", function()
    library(tmp .. "/home/.local/share/hlua/lua", "acme_home", "home")
    write(tmp .. "/s.lua", script)
    local out, err, rc = h.run(q(tmp .. "/s.lua") .. " acme_home", nil, "HOME=" .. q(tmp .. "/home"))
    assert.equal(0, rc, err)
    assert.equal("home\tOK\n", out)
  end)

  it("prefers the script's folder, then HLUA_PATH, then the home folder", function()
    library(tmp .. "/home/.local/share/hlua/lua", "acme", "home")
    library(tmp .. "/shared", "acme", "hlua_path")
    write(tmp .. "/s.lua", script)
    local env = "HOME=" .. q(tmp .. "/home") .. " HLUA_PATH=" .. q(tmp .. "/shared/?/init.lua")
    local out = h.run(q(tmp .. "/s.lua") .. " acme", nil, env)
    assert.equal("hlua_path\tOK\n", out)
    library(tmp, "acme", "beside")
    out = h.run(q(tmp .. "/s.lua") .. " acme", nil, env)
    assert.equal("beside\tOK\n", out)
  end)

  it("installs with make install DESTDIR=..., and the installed hlua finds its library", function()
    local dest = tmp .. "/dest"
    local out, err, rc = h.sh("make -s install PREFIX=/opt/hlua DESTDIR=" .. q(dest))
    assert.equal(0, rc, out .. err)
    local root = dest .. "/opt/hlua"
    for _, f in ipairs{"/bin/hlua", "/share/hlua/lua/harness/paging.lua", "/share/hlua/lua/harness/pipelines.lua",
        "/share/hlua/scripts/run-pipeline.lua", "/share/man/man1/hlua.1"} do
      assert.is_truthy(io.open(root .. f), f .. " installed")
    end
    out, err, rc = h.sh("cd / && " .. q(root .. "/bin/hlua") ..
      [[ -e 'print((debug.getinfo(harness.pipelines.list, "S").source:sub(2)))' -e 'print(type(harness.paginate), type(harness.args))']])
    assert.equal(0, rc, err)
    assert.equal(root .. "/share/hlua/lua/harness/pipelines.lua\nfunction\ttable\n", out)
    out, err, rc = h.sh("cd / && " .. q(root .. "/bin/hlua") .. " " .. q(root .. "/share/hlua/scripts/whoami.lua") .. " --help")
    assert.equal(0, rc, err)
    assert.matches("^usage: whoami.lua", out)
  end)
end)
