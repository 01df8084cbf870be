/*
** lua_fuzz.c: libFuzzer host for the fuzz targets of hlua's Lua library
** (make fuzz). Built once per target with -DTARGET="name": for every
** input it makes a fresh lua_State with hlua's own pieces (module.c's
** harness table and errors, json.c, lua/harness/ found through the
** checkout as build/hlua finds it), loads tests/fuzz/<name>_fuzz.lua and
** calls the function it returns with the input as a string. That driver
** fakes the outside world (files, environment, the HTTP client, the
** clock), runs the library code and raises when an invariant breaks; any
** error out of it aborts, which libFuzzer reports as a crash.
**
** libFuzzer sees only the coverage of C compiled with -fsanitize=fuzzer,
** and liblua5.4 is not: a line hook feeds the Lua edges (previous line,
** this line, chunk) into libFuzzer's extra counters, so that inputs
** reaching new Lua code are kept in the corpus.
**
** With -DWITH_HTTP the target also gets _fuzz.parse_head(raw) -> status,
** headers: src/http.c's own header parser (static there, hence the
** #include) on a raw header block, as libcurl would hand it over.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "hlua.h"

#ifdef WITH_HTTP
#include "../../src/http.c"
#endif

#ifndef TARGET
#error "build with -DTARGET=\"name\""
#endif
#ifndef DRIVER_DIR
#define DRIVER_DIR "tests/fuzz"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* main.c's, which the fuzzer does not link: Ctrl-C never comes. */
int hlua_interrupted(void) { return 0; }

/* {===== Lua coverage for libFuzzer ===== */

#define NCOUNTERS (1 << 16)
__attribute__((used, section("__libfuzzer_extra_counters")))
static uint8_t lua_counters[NCOUNTERS];
static uint32_t prev_site; /* the fuzzer runs one input at a time */

/* A line's place: the chunk's name (hashed by content, as each input has
** a new state at other addresses) and the line. An edge (previous line,
** this line) counts as seen or not: hit counts would make nearly every
** input look new. */
static void line_hook(lua_State *L, lua_Debug *ar) {
  uint32_t site = 2166136261u;
  const char *p;
  if (!lua_getinfo(L, "S", ar)) return;
  for (p = ar->source; *p; p++) site = (site ^ (uint8_t)*p) * 16777619u;
  site ^= (uint32_t)ar->currentline * 2654435761u;
  lua_counters[(site ^ (prev_site >> 1)) & (NCOUNTERS - 1)] = 1;
  prev_site = site;
}

/* }===== */

#ifdef WITH_HTTP
/* _fuzz.parse_head(raw) -> status (0 when none), headers: the header lines
** go through http.c's push_headers exactly as a transfer's would. */
static int parse_head(lua_State *L) {
  size_t n;
  const char *raw = luaL_checklstring(L, 1, &n);
  Transfer t;
  long status = 0;
  memset(&t, 0, sizeof t);
  t.head = (char *)raw;
  t.hlen = n;
  if (n >= 12 && memcmp(raw, "HTTP/", 5) == 0) {
    const char *sp = memchr(raw, ' ', n);
    if (sp && sp + 4 <= raw + n) status = strtol(sp + 1, NULL, 10);
  }
  lua_pushinteger(L, status);
  push_headers(L, &t);
  return 2;
}
#endif

/* Runs the driver on the input: loads it, calls it protected. */
static int run_driver(lua_State *L, const uint8_t *data, size_t size) {
  int status = luaL_loadfile(L, DRIVER_DIR "/" TARGET "_fuzz.lua");
  if (status == LUA_OK) status = lua_pcall(L, 0, 1, 0);
  if (status == LUA_OK) {
    lua_pushlstring(L, (const char *)data, size);
    status = lua_pcall(L, 1, 0, 0);
  }
  return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = luaL_newstate();
  int status;
  if (L == NULL) return 0;
  luaL_openlibs(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_newtable(L); /* no command-line options */
  lua_setfield(L, -2, "hlua.cli");
  lua_pop(L, 1);
  hlua_open_harness(L, NULL, 1);
  lua_newtable(L);
#ifdef WITH_HTTP
  lua_pushcfunction(L, parse_head);
  lua_setfield(L, -2, "parse_head");
#endif
  lua_setglobal(L, "_fuzz");
  prev_site = 0;
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  status = run_driver(L, data, size);
  if (status != LUA_OK) {
    const char *msg = luaL_tolstring(L, -1, NULL);
    /* running out of memory is the one failure an input may cause */
    if (strstr(msg, "not enough memory") == NULL) {
      fprintf(stderr, "%s fuzz: %s\n", TARGET, msg);
      abort();
    }
  }
  lua_close(L);
  return 0;
}
