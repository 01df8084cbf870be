# hlua: Lua 5.4 with the Harness API built in.
#   make            build build/hlua (and the modules build/hlua_http.so, build/hlua_yaml.so)
#   make test       every test suite; ends with "N passed, N failed"
#   make demo       build, start the sandbox, run a real script against it
#   make asan       the test suite under AddressSanitizer + UBSan
#   make bench      hlua side by side with its peers
#   make fuzz       every fuzz target for FUZZ_SECONDS (default 60) each
#   make valgrind   the test suite with every hlua under valgrind
#   make secret-scan  the test suite at HARNESS_TRACE=2, output searched for keys
#   make lua-testes LUA_TESTES=DIR   Lua 5.4's own testes/main.lua with hlua as the interpreter
#   make install    PREFIX=/usr/local DESTDIR=   (uninstall: the same variables)
#   make deb        build/hlua_<version>_<arch>.deb, from a make install staging tree

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib/hlua
SHAREDIR ?= $(PREFIX)/share/hlua
MANDIR ?= $(PREFIX)/share/man/man1
BUILD ?= build

CC ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
# What the build needs whatever CFLAGS a user or CI passes on the command line.
HLUA_CFLAGS = -std=c11 -Wall -Wextra -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 \
  $(shell $(PKG_CONFIG) --cflags lua5.4 libcjson libcurl yaml-0.1 2>/dev/null)

# Lua is linked in whole and its API exported (-E), as stock lua does, so
# that C modules (lfs, lpeg, busted's) load with require; libcurl is not
# linked into the binary at all: it costs 4x in start-up, so it lives in the
# HTTP module, loaded on the first request.
LUA_LIBS = -Wl,--whole-archive -Wl,-Bstatic -llua5.4 -Wl,-Bdynamic -Wl,--no-whole-archive
HOST_LIBS = -Wl,-E $(LUA_LIBS) $(shell $(PKG_CONFIG) --libs libcjson) -lreadline -lm -ldl
HTTP_LIBS = $(shell $(PKG_CONFIG) --libs libcurl)
# libyaml, like libcurl, lives in a module loaded on first use (harness.yaml).
YAML_LIBS = $(shell $(PKG_CONFIG) --libs yaml-0.1)

# The host (build/hlua) is every file of src/ but the modules': the HTTP
# module (libcurl) and the YAML module (libyaml), each loaded on first use.
# The YAML module holds its own copies of what it shares with the host,
# codec.c (with json.c) and errors.c (harness.Error), so that it needs no
# symbol of the executable; compiled hidden, they bind to the module's
# copies, never to the host's, and luaopen_hlua_yaml is all it exports.
HTTP_SRC = src/http.c
YAML_SRC = src/yaml.c
HOST_SRC = $(filter-out $(HTTP_SRC) $(YAML_SRC),$(wildcard src/*.c))
HOST_OBJ = $(HOST_SRC:src/%.c=$(BUILD)/%.o)
HTTP_OBJ = $(HTTP_SRC:src/%.c=$(BUILD)/pic/%.o)
HTTP_MOD = $(BUILD)/hlua_http.so
YAML_OBJ = $(YAML_SRC:src/%.c=$(BUILD)/pic/%.o) $(BUILD)/pic/codec.o $(BUILD)/pic/errors.o
YAML_MOD = $(BUILD)/hlua_yaml.so

DEB_PACKAGES = build-essential pkg-config liblua5.4-dev lua5.4 libcurl4-openssl-dev \
  libcjson-dev libreadline-dev lua-busted lua-cjson lua-dkjson lua-filesystem lua-lpeg \
  python3 openssl curl jq hyperfine time valgrind clang nginx-light lintian libyaml-dev lua-yaml
HLUA = $(BUILD)/hlua

.PHONY: all deps test demo asan valgrind secret-scan bench fuzz fuzz-build sandbox lua-testes install uninstall deb clean

all: $(HLUA) $(HTTP_MOD) $(YAML_MOD)

$(HLUA): $(HOST_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(HOST_OBJ) $(HOST_LIBS)

$(BUILD)/hlua_http.so: $(HTTP_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -o $@ $(HTTP_OBJ) $(HTTP_LIBS)

$(BUILD)/hlua_yaml.so: $(YAML_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -o $@ $(YAML_OBJ) $(YAML_LIBS)

$(BUILD)/%.o: src/%.c src/hlua.h | $(BUILD)
	$(CC) $(CFLAGS) $(HLUA_CFLAGS) -c -o $@ $<

$(BUILD)/pic/%.o: src/%.c src/hlua.h | $(BUILD)
	@mkdir -p $(BUILD)/pic
	$(CC) $(CFLAGS) $(HLUA_CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/json.o $(BUILD)/codec.o $(BUILD)/pic/yaml.o $(BUILD)/pic/codec.o: src/codec.h
$(YAML_OBJ): HLUA_CFLAGS += -fvisibility=hidden

$(BUILD):
	mkdir -p $(BUILD)

# The goals that run things install their packages before anything builds
# (also under make -j).
ifneq ($(filter test demo bench asan valgrind secret-scan fuzz,$(MAKECMDGOALS)),)
$(HOST_OBJ) $(HTTP_OBJ) $(YAML_OBJ): | deps
endif

# Installs the Debian packages the build and the tests need, when one is missing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: deps all
	HLUA=$(HLUA) tests/run

# use_tls=0: LeakSanitizer crashes ("Tracer caught signal 11") walking the
# dynamic TLS of the libraries libcurl brings in, on this glibc.
asan: deps
	$(MAKE) BUILD=build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" LDFLAGS="-fsanitize=address,undefined" all
	rm -rf build-asan/reports && mkdir -p build-asan/reports
	ASAN_OPTIONS=detect_leaks=1:log_path=$(CURDIR)/build-asan/reports/asan \
	  UBSAN_OPTIONS=print_stacktrace=1:log_path=$(CURDIR)/build-asan/reports/ubsan \
	  LSAN_OPTIONS=use_tls=0:print_suppressions=0:suppressions=$(CURDIR)/tests/support/lsan.supp \
	  HLUA_SANITIZER_REPORTS=$(CURDIR)/build-asan/reports HLUA=build-asan/hlua tests/run

# Every hlua the tests start runs under valgrind; any error or definite leak
# makes that test fail.
valgrind: deps all
	HLUA_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --suppressions=$(CURDIR)/tests/support/valgrind.supp" \
	  HLUA=$(HLUA) tests/run

# The whole suite again with every hlua at HARNESS_TRACE=2, its output
# captured and searched for the secrets of the sandbox's keys.
secret-scan: deps all
	HLUA=$(HLUA) tests/secret-scan

demo: deps all
	sandbox/with-sandbox $(HLUA) scripts/demo.lua

sandbox: all
	sandbox/serve --port 0

# Lua's interpreter test (testes/main.lua of the lua-5.4.4-tests tarball from
# lua.org) run by stock lua5.4 with hlua as the interpreter under test
# (arg[-1]). Not part of make test: the suite is not ours to ship.
lua-testes: all
	@test -f "$(LUA_TESTES)/main.lua" || { echo "make lua-testes: set LUA_TESTES to the testes/ folder of Lua 5.4's test suite"; exit 2; }
	cd "$(LUA_TESTES)" && lua5.4 -e 'arg[-1] = "$(CURDIR)/$(HLUA)"; arg[-2] = nil' main.lua

bench: deps all
	tests/bench/run

# Fuzz targets under libFuzzer with ASan and UBSan (clang), each run for
# FUZZ_SECONDS on its seed corpus tests/fuzz/<target>/ plus what earlier
# runs found (build/fuzz/<target>/); a crash stops the run and lands in
# tests/fuzz/ as crash-<sha1>. json: the decoder, cross-checked with cJSON;
# roundtrip: encode/decode of random Lua values; config: config.lua on any
# config.json, auth.json, key file and environment; headers: request.lua and response.lua on
# any response (headers, Retry-After, error bodies). The last three run
# lua/harness/ code with Lua line coverage (tests/fuzz/lua_fuzz.c).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= json roundtrip config headers
FUZZ_CC = clang -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -Isrc \
  $(shell $(PKG_CONFIG) --cflags lua5.4 libcjson libcurl)
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs lua5.4 libcjson) -lm
LUA_FUZZ_SRC = $(filter-out src/main.c src/repl.c,$(HOST_SRC)) tests/fuzz/lua_fuzz.c

fuzz-build: | $(BUILD) $(if $(filter fuzz,$(MAKECMDGOALS)),deps)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) -o $(BUILD)/json_fuzz src/json.c src/codec.c src/errors.c tests/fuzz/json_fuzz.c $(FUZZ_LIBS)
	$(FUZZ_CC) -DTARGET='"roundtrip"' -DDRIVER_DIR='"$(CURDIR)/tests/fuzz"' -o $(BUILD)/roundtrip_fuzz $(LUA_FUZZ_SRC) $(FUZZ_LIBS)
	$(FUZZ_CC) -DTARGET='"config"' -DDRIVER_DIR='"$(CURDIR)/tests/fuzz"' -o $(BUILD)/config_fuzz $(LUA_FUZZ_SRC) $(FUZZ_LIBS)
	$(FUZZ_CC) -DTARGET='"headers"' -DDRIVER_DIR='"$(CURDIR)/tests/fuzz"' -DWITH_HTTP -o $(BUILD)/headers_fuzz $(LUA_FUZZ_SRC) src/http.c $(FUZZ_LIBS) $(HTTP_LIBS)

fuzz: deps fuzz-build
	@failed=; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/$$t.corpus; \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
	  $(BUILD)/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=tests/fuzz/ \
	    $(BUILD)/fuzz/$$t.corpus tests/fuzz/$$t 2>$(BUILD)/fuzz/$$t.log \
	    || { tail -40 $(BUILD)/fuzz/$$t.log; failed="$$failed $$t"; }; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' $(BUILD)/fuzz/$$t.log; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in$$failed"; exit 1; fi

# The ready scripts on PATH as hlua-<name> (demo, which changes the account
# it tours, stays in $(SHAREDIR)/scripts), each with a man page made from
# its --help; the sandbox as hlua-sandbox, with its Python package and the
# Harness API table it reads (../api/operations.tsv from the package).
SCRIPTS = $(filter-out demo,$(basename $(notdir $(wildcard scripts/*.lua))))
COMMANDS = $(SCRIPTS:%=hlua-%) hlua-sandbox
MAN_PAGES = $(COMMANDS:%=$(BUILD)/man/%.1)
VERSION = $(shell sed -n 's/^\#define HLUA_VERSION "\(.*\)"/\1/p' src/hlua.h)

# A man page from a command's --help (run under its installed name): NAME
# from the summary, the help itself as the description.
define help_to_man
	{ printf '.TH %s 1 "" "hlua %s" "User Commands"\n.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' \
	    "$$(echo $(1) | tr a-z A-Z)" "$(VERSION)" "$(1)" "$$(sed -n '3{s/\.$$//;p}' $@.txt)"; \
	  sed 's/\\/\\e/g; s/^\([.'"'"']\)/\\\&\1/' $@.txt; \
	  printf '.fi\n.SH SEE ALSO\n.BR hlua (1)\n'; } >$@
	rm -f $@.txt
endef

$(BUILD)/man/hlua-sandbox.1: sandbox/hlua-sandbox sandbox/hsandbox/server.py | $(BUILD)
	@mkdir -p $(BUILD)/man
	ln -sf ../../sandbox/hlua-sandbox $(BUILD)/man/hlua-sandbox
	$(BUILD)/man/hlua-sandbox --help >$@.txt
	rm -f $(BUILD)/man/hlua-sandbox
	$(call help_to_man,hlua-sandbox)

$(BUILD)/man/hlua-%.1: scripts/%.lua lua/harness/args.lua $(HLUA)
	@mkdir -p $(BUILD)/man
	ln -sf ../../scripts/$*.lua $(BUILD)/man/hlua-$*
	HARNESS_API_KEY= $(HLUA) $(BUILD)/man/hlua-$* --help >$@.txt
	rm -f $(BUILD)/man/hlua-$*
	$(call help_to_man,hlua-$*)

install: all $(MAN_PAGES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(MANDIR)
	install -m 755 $(HLUA) $(DESTDIR)$(BINDIR)/hlua
	install -m 644 $(HTTP_MOD) $(YAML_MOD) $(DESTDIR)$(LIBDIR)/
	cp -R lua $(DESTDIR)$(SHAREDIR)/
	install -d $(DESTDIR)$(SHAREDIR)/scripts
	for f in scripts/*.lua; do \
	  sed '1s|^#!.*|#!$(BINDIR)/hlua|' $$f >$(DESTDIR)$(SHAREDIR)/$$f && chmod 755 $(DESTDIR)$(SHAREDIR)/$$f; \
	done
	for s in $(SCRIPTS); do ln -sfr $(DESTDIR)$(SHAREDIR)/scripts/$$s.lua $(DESTDIR)$(BINDIR)/hlua-$$s; done
	install -d $(DESTDIR)$(SHAREDIR)/sandbox/hsandbox $(DESTDIR)$(SHAREDIR)/api
	install -m 755 sandbox/hlua-sandbox $(DESTDIR)$(SHAREDIR)/sandbox/
	install -m 644 sandbox/README.md $(DESTDIR)$(SHAREDIR)/sandbox/
	install -m 644 sandbox/hsandbox/*.py $(DESTDIR)$(SHAREDIR)/sandbox/hsandbox/
	install -m 644 src/api/operations.tsv $(DESTDIR)$(SHAREDIR)/api/
	ln -sfr $(DESTDIR)$(SHAREDIR)/sandbox/hlua-sandbox $(DESTDIR)$(BINDIR)/hlua-sandbox
	install -m 644 hlua.1 $(MAN_PAGES) $(DESTDIR)$(MANDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hlua $(COMMANDS:%=$(DESTDIR)$(BINDIR)/%)
	rm -f $(DESTDIR)$(MANDIR)/hlua.1 $(COMMANDS:%=$(DESTDIR)$(MANDIR)/%.1)
	rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR)

# The Debian package: make install into a staging tree, then the control
# files generated into build/deb/ (no debian/ folder in the repository), the
# shared-library dependencies from dpkg-shlibdeps, python3 for the sandbox.
# Lua is linked in whole, so liblua5.4-0 is not among them.
DEB_ARCH = $(shell dpkg --print-architecture 2>/dev/null)
DEB = $(BUILD)/hlua_$(VERSION)_$(DEB_ARCH).deb
DEB_ROOT = $(BUILD)/deb/root
DEB_MAINTAINER ?= hlua developers <hlua-developers@example.org>

deb: $(DEB)

$(DEB): all $(MAN_PAGES) Makefile README.md sandbox/README.md $(wildcard lua/harness/*.lua scripts/*.lua sandbox/hsandbox/*.py)
	rm -rf $(BUILD)/deb
	$(MAKE) --no-print-directory install PREFIX=/usr DESTDIR=$(CURDIR)/$(DEB_ROOT)
	strip --remove-section=.comment --remove-section=.note $(DEB_ROOT)/usr/bin/hlua
	strip --remove-section=.comment --remove-section=.note --strip-unneeded $(DEB_ROOT)/usr/lib/hlua/hlua_http.so \
	  $(DEB_ROOT)/usr/lib/hlua/hlua_yaml.so
	sed -i '1s|^#!.*|#!/usr/bin/python3|' $(DEB_ROOT)/usr/share/hlua/sandbox/hlua-sandbox
	gzip -9n $(DEB_ROOT)/usr/share/man/man1/*.1
	install -d $(DEB_ROOT)/usr/share/doc/hlua $(DEB_ROOT)/DEBIAN
	install -m 644 README.md $(DEB_ROOT)/usr/share/doc/hlua/
	gzip -9n $(DEB_ROOT)/usr/share/doc/hlua/README.md
	printf '%s\n' 'hlua: Lua 5.4 with the Harness platform API built in.' '' \
	  'Copyright: the hlua developers.' '' \
	  'It embeds Lua 5.4 (statically linked), Copyright (C) 1994-2022 Lua.org, PUC-Rio,' \
	  'under the MIT license: see /usr/share/doc/liblua5.4-dev/copyright or https://www.lua.org/license.html.' \
	  '' 'src/api/operations.tsv (installed as /usr/share/hlua/api/operations.tsv) is copied' \
	  'from github.com/harness/harness-go-sdk (Apache License 2.0, see' \
	  '/usr/share/common-licenses/Apache-2.0).' >$(DEB_ROOT)/usr/share/doc/hlua/copyright
	printf 'hlua (%s) unstable; urgency=medium\n\n  * Built from the hlua repository with make deb.\n\n -- %s  %s\n' \
	  "$(VERSION)" "$(DEB_MAINTAINER)" "$$(date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))" \
	  | gzip -9n >$(DEB_ROOT)/usr/share/doc/hlua/changelog.gz
	mkdir -p $(BUILD)/deb/debian
	printf 'Source: hlua\n\nPackage: hlua\nArchitecture: any\n' >$(BUILD)/deb/debian/control
	cd $(BUILD)/deb && dpkg-shlibdeps -O root/usr/bin/hlua root/usr/lib/hlua/hlua_http.so \
	  | sed -n 's/^shlibs:Depends=//p' >shlibs
	{ echo "Package: hlua"; echo "Version: $(VERSION)"; echo "Architecture: $(DEB_ARCH)"; \
	  echo "Maintainer: $(DEB_MAINTAINER)"; \
	  echo "Installed-Size: $$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)"; \
	  echo "Depends: $$(cat $(BUILD)/deb/shlibs), python3"; echo "Suggests: lua-busted"; \
	  echo "Section: interpreters"; echo "Priority: optional"; \
	  echo "Description: Lua 5.4 with the Harness platform API built in"; \
	  echo " hlua is the Lua 5.4 interpreter with a harness module: authenticated HTTP"; \
	  echo " to the Harness platform REST API (libcurl), lossless JSON, paging, retries,"; \
	  echo " concurrent tasks and a library for pipelines, projects, tokens and feature"; \
	  echo " flags. It ships ready scripts as hlua-<name> commands, and hlua-sandbox, a"; \
	  echo " local simulator of the Harness API for dry runs and tests."; \
	} >$(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find usr -type f -exec md5sum {} + | sort -k2 >DEBIAN/md5sums
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $@

clean:
	rm -rf build build-asan
