# hlua: Lua 5.4 with the Harness API built in.
#   make            build build/hlua (and the modules build/hlua_http.so, build/hlua_yaml.so)
#   make test       every test suite; ends with "N passed, N failed"
#   make demo       build, start the sandbox, run a real script against it
#   make asan       the test suite under AddressSanitizer + UBSan
#   make bench      hlua side by side with its peers
#   make fuzz       every fuzz target for FUZZ_SECONDS (default 60) each
#   make valgrind   the test suite with every hlua under valgrind
#   make secret-scan  the test suite at HARNESS_TRACE=2, output searched for keys
#   make install    PREFIX=/usr/local DESTDIR=

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

HTTP_SRC = $(wildcard src/http*.c src/loop.c)
YAML_SRC = $(wildcard src/yaml*.c)
HOST_SRC = $(filter-out $(HTTP_SRC) $(YAML_SRC),$(wildcard src/*.c))
HOST_OBJ = $(HOST_SRC:src/%.c=$(BUILD)/%.o)
HTTP_OBJ = $(HTTP_SRC:src/%.c=$(BUILD)/pic/%.o)
HTTP_MOD = $(if $(HTTP_SRC),$(BUILD)/hlua_http.so)
YAML_OBJ = $(YAML_SRC:src/%.c=$(BUILD)/pic/%.o)
YAML_MOD = $(if $(YAML_SRC),$(BUILD)/hlua_yaml.so)

DEB_PACKAGES = build-essential pkg-config liblua5.4-dev lua5.4 libcurl4-openssl-dev \
  libcjson-dev libreadline-dev lua-busted lua-cjson lua-dkjson lua-filesystem lua-lpeg \
  python3 openssl curl jq hyperfine time valgrind clang nginx-light libyaml-dev lua-yaml
HLUA = $(BUILD)/hlua

.PHONY: all deps test demo asan valgrind secret-scan bench fuzz fuzz-build sandbox install uninstall clean

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

$(BUILD):
	mkdir -p $(BUILD)

# Installs the Debian packages the build and the tests need, when one is missing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: deps
	$(MAKE) all
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
valgrind: deps
	$(MAKE) all
	HLUA_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --suppressions=$(CURDIR)/tests/support/valgrind.supp" \
	  HLUA=$(HLUA) tests/run

# The whole suite again with every hlua at HARNESS_TRACE=2, its output
# captured and searched for the secrets of the sandbox's keys.
secret-scan: deps
	$(MAKE) all
	HLUA=$(HLUA) tests/secret-scan

demo: deps
	$(MAKE) all
	sandbox/with-sandbox $(HLUA) scripts/demo.lua

sandbox: all
	sandbox/serve --port 0

bench: deps
	$(MAKE) all
	tests/bench/run

# Fuzz targets under libFuzzer with ASan and UBSan (clang), each run for
# FUZZ_SECONDS on its seed corpus tests/fuzz/<target>/ plus what earlier
# runs found (build/fuzz/<target>/); a crash stops the run and lands in
# tests/fuzz/ as crash-<sha1>. json: the decoder, cross-checked with cJSON;
# roundtrip: encode/decode of random Lua values; config: config.lua on any
# config.json, auth.json, key file and environment; headers: core.lua on
# any response (headers, Retry-After, error bodies). The last three run
# lua/harness/ code with Lua line coverage (tests/fuzz/lua_fuzz.c).
FUZZ_SECONDS ?= 60
FUZZ_TIME ?= $(FUZZ_SECONDS)
FUZZ_TARGETS ?= json roundtrip config headers
FUZZ_CC = clang -g -O1 -std=c11 -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -Isrc \
  $(shell $(PKG_CONFIG) --cflags lua5.4 libcjson libcurl)
FUZZ_LIBS = $(shell $(PKG_CONFIG) --libs lua5.4 libcjson) -lm
LUA_FUZZ_SRC = src/module.c src/json.c tests/fuzz/lua_fuzz.c

fuzz-build: | $(BUILD)
	@mkdir -p $(BUILD)/fuzz
	$(FUZZ_CC) -o $(BUILD)/json_fuzz src/json.c tests/support/json_module.c tests/fuzz/json_fuzz.c $(FUZZ_LIBS)
	$(FUZZ_CC) -DTARGET='"roundtrip"' -DDRIVER_DIR='"$(CURDIR)/tests/fuzz"' -o $(BUILD)/roundtrip_fuzz $(LUA_FUZZ_SRC) $(FUZZ_LIBS)
	$(FUZZ_CC) -DTARGET='"config"' -DDRIVER_DIR='"$(CURDIR)/tests/fuzz"' -o $(BUILD)/config_fuzz $(LUA_FUZZ_SRC) $(FUZZ_LIBS)
	$(FUZZ_CC) -DTARGET='"headers"' -DDRIVER_DIR='"$(CURDIR)/tests/fuzz"' -DWITH_HTTP -o $(BUILD)/headers_fuzz $(LUA_FUZZ_SRC) $(FUZZ_LIBS) $(HTTP_LIBS)

fuzz: deps
	$(MAKE) fuzz-build
	@failed=; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/$$t.corpus; \
	  echo "fuzz $$t: $(FUZZ_TIME) s"; \
	  $(BUILD)/$${t}_fuzz -max_total_time=$(FUZZ_TIME) -max_len=65536 -timeout=10 \
	    -print_final_stats=1 -artifact_prefix=tests/fuzz/ \
	    $(BUILD)/fuzz/$$t.corpus tests/fuzz/$$t 2>$(BUILD)/fuzz/$$t.log \
	    || { tail -40 $(BUILD)/fuzz/$$t.log; failed="$$failed $$t"; }; \
	  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|^#[0-9]+.*DONE' $(BUILD)/fuzz/$$t.log; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: crashes in$$failed"; exit 1; fi

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR) $(DESTDIR)$(MANDIR)
	install -m 755 $(HLUA) $(DESTDIR)$(BINDIR)/hlua
	$(if $(HTTP_MOD),install -m 644 $(HTTP_MOD) $(DESTDIR)$(LIBDIR)/)
	$(if $(YAML_MOD),install -m 644 $(YAML_MOD) $(DESTDIR)$(LIBDIR)/)
	cp -R lua $(DESTDIR)$(SHAREDIR)/
	install -d $(DESTDIR)$(SHAREDIR)/scripts
	cp -R scripts/. $(DESTDIR)$(SHAREDIR)/scripts/
	install -m 644 hlua.1 $(DESTDIR)$(MANDIR)/hlua.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hlua $(DESTDIR)$(MANDIR)/hlua.1
	rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(SHAREDIR)

clean:
	rm -rf build build-asan
