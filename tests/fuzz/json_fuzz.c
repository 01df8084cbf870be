/*
** json_fuzz.c: libFuzzer target for harness.json.decode (make fuzz).
** For every input, in a fresh lua_State:
** - decode runs under pcall and either succeeds or raises a json error
**   (never crashes, never another kind of error but out-of-memory);
** - what decodes re-encodes, and the text re-decodes to the same encoding
**   (encode(decode(encode(v))) == encode(v), keys sorted);
** - cJSON serves as the cross-check: it is looser than we are, so every
**   document we accept it must accept too (except numbers longer than its
**   63-byte number buffer).
** Linked with src/json.c and src/errors.c (harness.Error), nothing else.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "hlua.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Calls json[fname](value at top, sorted keys) under pcall; leaves the
** result or the error on top and returns the status. */
static int call(lua_State *L, const char *fname, int with_opts) {
  lua_getfield(L, 1, fname);
  lua_insert(L, -2);
  if (with_opts) {
    lua_createtable(L, 0, 1);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "sort_keys");
  }
  return lua_pcall(L, with_opts ? 2 : 1, 1, 0);
}

/* Is the error at the top a harness.Error of kind json? */
static int is_json_error(lua_State *L) {
  int ok;
  if (!lua_istable(L, -1)) return 0;
  lua_getfield(L, -1, "kind");
  ok = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "json") == 0;
  lua_pop(L, 1);
  return ok;
}

/* Does the input hold a run of number characters too long for cJSON? */
static int has_long_number(const uint8_t *data, size_t size) {
  size_t i, run = 0;
  for (i = 0; i < size; i++) {
    run = (strchr("0123456789+-.eE", data[i]) && data[i]) ? run + 1 : 0;
    if (run >= 63) return 1;
  }
  return 0;
}

static void check_cjson(const uint8_t *data, size_t size) {
  const char *end = NULL;
  cJSON *doc;
  if (has_long_number(data, size)) return;
  doc = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
  if (doc == NULL) abort();   /* we accepted what cJSON rejects */
  cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = luaL_newstate();
  if (L == NULL) return 0;
  hlua_open_json(L);                                  /* json table at 1 */
  lua_pushlstring(L, (const char *)data, size);
  if (call(L, "decode", 0) != LUA_OK) {
    if (!is_json_error(L) && !(lua_isstring(L, -1) &&
        strstr(lua_tostring(L, -1), "not enough memory")))
      abort();
  }
  else {
    size_t n1, n2;
    const char *s1, *s2;
    check_cjson(data, size);
    if (call(L, "encode", 1) != LUA_OK) abort();      /* s1 at 2 */
    lua_pushvalue(L, 2);
    if (call(L, "decode", 0) != LUA_OK) abort();
    if (call(L, "encode", 1) != LUA_OK) abort();      /* s2 at 3 */
    s1 = lua_tolstring(L, 2, &n1);
    s2 = lua_tolstring(L, 3, &n2);
    if (n1 != n2 || memcmp(s1, s2, n1) != 0) abort();
  }
  lua_close(L);
  return 0;
}
