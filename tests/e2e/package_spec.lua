-- Installing where scripts run: make install (hlua-<name> on PATH, the
-- sandbox as hlua-sandbox, man pages), make uninstall, and the Debian
-- package of make deb, installed with dpkg -i, used, and purged.
local h = require "tests.support.helper"
local q = h.q

local mktemp_dir = h.tempdir

local SCRIPTS = {"whoami", "list-projects", "run-pipeline", "export-pipelines",
  "token-expiry-report", "rotate-token", "ff-toggle"}

describe("make install", function()
  local tmp
  before_each(function() tmp = mktemp_dir() end)
  after_each(function() h.sh("rm -rf " .. q(tmp)) end)

  it("puts the ready scripts on PATH as hlua-<name>, each with --help under that name", function()
    local prefix = tmp .. "/prefix"
    local out, err, rc = h.sh("make -s install PREFIX=" .. q(prefix))
    assert.equal(0, rc, out .. err)
    for _, s in ipairs(SCRIPTS) do
      out, err, rc = h.sh("cd / && env -i PATH=" .. q(prefix .. "/bin") .. ":/usr/bin:/bin hlua-" .. s .. " --help")
      assert.equal(0, rc, s .. ": " .. err)
      assert.matches("^usage: hlua%-" .. s:gsub("%-", "%%-") .. " ", out)
      assert.is_truthy(io.open(prefix .. "/share/man/man1/hlua-" .. s .. ".1"), s .. " has a man page")
    end
    assert.is_nil(io.open(prefix .. "/bin/hlua-demo"))
    -- the first line of each man page names the command
    out = h.sh("sed -n 3,4p " .. q(prefix .. "/share/man/man1/hlua-rotate-token.1"))
    assert.equal("hlua-rotate-token \\- Rotates an API token; the new token goes to stdout, a file, or a Harness secret\n.SH DESCRIPTION\n", out)
  end)

  it("installs hlua-sandbox with its package and the Harness API table, and it runs from there", function()
    local prefix = tmp .. "/prefix"
    local out, err, rc = h.sh("make -s install PREFIX=" .. q(prefix))
    assert.equal(0, rc, out .. err)
    assert.is_truthy(io.open(prefix .. "/share/hlua/api/operations.tsv"))
    assert.is_truthy(io.open(prefix .. "/share/hlua/sandbox/hsandbox/api.py"))
    assert.is_truthy(io.open(prefix .. "/share/man/man1/hlua-sandbox.1"))
    local path = "env -i HOME=" .. q(tmp) .. " PATH=" .. q(prefix .. "/bin") .. ":/usr/bin:/bin "
    out, err, rc = h.sh("cd / && " .. path .. "hlua-sandbox --help")
    assert.equal(0, rc, err)
    assert.matches("^usage: hlua%-sandbox %[options%] %[%-%- COMMAND %[ARGS%.%.%.%]%]", out)
    assert.matches("control API", out, 1, true)
    assert.matches(prefix .. "/share/hlua/sandbox/README.md", out, 1, true)
    -- the installed sandbox, hlua and script, from the installed files only
    out, err, rc = h.sh("cd / && " .. path .. "hlua-sandbox -- sh -c " ..
      q("hlua -p 'harness.whoami().email' -e 'print(debug.getinfo(harness.users.current, \"S\").source)' && hlua-whoami"))
    assert.equal(0, rc, err)
    assert.matches("^ada%.lovelace@acme%-robotics%.example\n@" .. prefix:gsub("%p", "%%%0") ..
      "/share/hlua/lua/harness/users%.lua\nuser +Ada Lovelace", out)
    assert.equal("", h.sh("find " .. q(prefix) .. " -name __pycache__"))
  end)

  it("make uninstall removes everything make install put there", function()
    local prefix = tmp .. "/prefix"
    local out, err, rc = h.sh("make -s install PREFIX=/usr/local DESTDIR=" .. q(tmp .. "/dest"))
    assert.equal(0, rc, out .. err)
    out, err, rc = h.sh("make -s uninstall PREFIX=/usr/local DESTDIR=" .. q(tmp .. "/dest"))
    assert.equal(0, rc, out .. err)
    assert.equal("", h.sh("find " .. q(tmp .. "/dest") .. " ! -type d"))
    assert.is_nil(io.open(prefix))
  end)
end)

describe("make deb", function()
  local why
  if select(3, h.sh("command -v dpkg-deb && command -v dpkg-shlibdeps")) ~= 0 then
    why = "dpkg-deb and dpkg-shlibdeps are not installed (apt-get install dpkg-dev)"
  elseif h.wrapped or os.getenv("HLUA_SANITIZER_REPORTS") then
    why = "the package is tested by the plain suite, not under valgrind or the sanitizers"
  end
  if why then
    pending("the .deb tests are skipped: " .. why)
    return
  end
  local root = (h.sh("id -u"):gsub("%s", "")) == "0"

  local deb
  setup(function()
    local out, err, rc = h.sh("make -s deb")
    assert.equal(0, rc, out .. err)
    deb = h.sh("ls build/hlua_*_$(dpkg --print-architecture).deb"):gsub("%s+$", "")
  end)

  it("declares the runtime dependencies and holds the binary, library, scripts, sandbox and man pages", function()
    local info = h.sh("dpkg-deb -f " .. q(deb) .. " Package Depends")
    assert.matches("Package: hlua\n", info, 1, true)
    for _, dep in ipairs{"libcurl4", "libreadline8", "libcjson1", "python3", "libc6"} do
      assert.matches("[ ,]" .. dep .. "[ ,\n]", info)
    end
    assert.not_matches("liblua", info) -- Lua is linked into hlua
    local list = h.sh("dpkg-deb -c " .. q(deb))
    for _, f in ipairs{"./usr/bin/hlua", "./usr/lib/hlua/hlua_http.so", "./usr/share/hlua/lua/harness/testing.lua",
        "./usr/share/hlua/sandbox/hlua-sandbox", "./usr/share/hlua/api/operations.tsv",
        "./usr/share/man/man1/hlua.1.gz", "./usr/share/man/man1/hlua-whoami.1.gz",
        "./usr/bin/hlua-whoami -> ../share/hlua/scripts/whoami.lua",
        "./usr/bin/hlua-sandbox -> ../share/hlua/sandbox/hlua-sandbox",
        "./usr/share/doc/hlua/copyright"} do
      assert.matches(" " .. f:gsub("%p", "%%%0") .. "\n", list)
    end
  end)

  it("passes lintian without errors", function()
    if select(3, h.sh("command -v lintian")) ~= 0 then
      pending("lintian is not installed (make deps installs it)")
      return
    end
    local out = h.sh("lintian " .. q(deb) .. " 2>&1")
    assert.not_matches("\nE: ", "\n" .. out)
  end)

  if not root then
    pending("the dpkg -i test is skipped: installing the package needs root (CI runs make test as root)")
    return
  end

  it("installs with dpkg -i, runs from the installed files, and purges leaving nothing behind", function()
    -- one package test on the machine at a time (dpkg has one database):
    -- a lock on its folder, which leaves no file behind
    local script = ([=[
set -u
deb=%s
snapshot() { find /usr /etc /opt /var/lib/dpkg/info -xdev -path '*hlua*' 2>/dev/null | sort; }
if dpkg -s hlua >/dev/null 2>&1; then echo "SKIP: a package hlua is installed already"; exit 0; fi
snapshot >"$T/before"
dpkg -i "$deb" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; exit 1; }
cd /
env -i HOME="$T" PATH=/usr/bin:/bin sh -c '
  for c in hlua hlua-whoami hlua-sandbox; do command -v $c; done
  hlua-whoami --help | head -1
  hlua-sandbox -- sh -c "/usr/bin/hlua -p \"harness.whoami().email\" && hlua-whoami && hlua -e \"print(debug.getinfo(harness.whoami, [[S]]).source)\""
  echo "exit $?"
  man -w hlua-whoami 2>/dev/null || ls /usr/share/man/man1/hlua-whoami.1.gz
'
dpkg -P hlua >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log"; exit 1; }
snapshot >"$T/after"
diff "$T/before" "$T/after" && echo "nothing left"
]=]):format(q(os.getenv("PWD") .. "/" .. deb))
    local tmp = mktemp_dir()
    local out, err, rc = h.sh(("T=%s flock /var/lib/dpkg sh -c %s"):format(q(tmp), q(script)))
    h.sh("rm -rf " .. q(tmp))
    assert.equal(0, rc, out .. err)
    if out:match("^SKIP") then
      pending(out)
      return
    end
    assert.equal([[
/usr/bin/hlua
/usr/bin/hlua-whoami
/usr/bin/hlua-sandbox
usage: hlua-whoami [options]
ada.lovelace@acme-robotics.example
]], out:match("^(.-example\n)"))
    assert.matches("\nuser +Ada Lovelace <ada%.lovelace@acme%-robotics%.example>\n", out)
    assert.matches("\n@/usr/share/hlua/lua/harness/users%.lua\nexit 0\n", out)
    assert.matches("/usr/share/man/man1/hlua%-whoami%.1%.gz\n", out)
    assert.matches("\nnothing left\n$", out)
    assert.not_equal(0, select(3, h.sh("dpkg -s hlua")))
  end)
end)
