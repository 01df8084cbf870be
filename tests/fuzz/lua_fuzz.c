/*
** lua_fuzz.c: libFuzzer host for the fuzz targets of hlua's Lua library
** (make fuzz). Built once per target with -DTARGET="name": for every
** input it makes a fresh lua_State with hlua's own host (the harness
** table, errors, json, the searcher that finds lua/harness/ in the
** checkout as build/hlua does), loads tests/fuzz/<name>_fuzz.lua and
** calls the function it returns with the input as a string. That driver
** hands the library a made-up world (configuration, transport), runs the
** library code and raises when an invariant breaks; any error out of it
** aborts, which libFuzzer reports as a crash.
**
** libFuzzer sees only the coverage of C compiled with -fsanitize=fuzzer,
** and liblua5.4 is not: a line hook feeds the Lua edges (previous line,
** this line, chunk) into libFuzzer's extra counters, so that inputs
** reaching new Lua code are kept in the corpus.
**
** With -DWITH_HTTP the HTTP module (src/http.c, linked in) is preloaded as
** hlua_http, for its header parser (parse_head).
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
int luaopen_hlua_http(lua_State *L);
#endif

#ifndef TARGET
#error "build with -DTARGET=\"name\""
#endif
#ifndef DRIVER_DIR
#define DRIVER_DIR "tests/fuzz"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
  hlua_open_paths(L, NULL, 1);
  hlua_open_harness(L);
#ifdef WITH_HTTP
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_hlua_http);
  lua_setfield(L, -2, "hlua_http");
  lua_pop(L, 1);
#endif
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
