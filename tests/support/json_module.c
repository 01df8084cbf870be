/*
** json_module.c: test-only wrapper that loads src/json.c as a plain Lua C
** module ("hjson") with stand-ins for the host's error helpers, so that
** the JSON layer can be tested and fuzzed without the rest of hlua.
*/
#include <stdarg.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

static int error_tostring (lua_State *L) {
  lua_getfield(L, 1, "message");
  return 1;
}

void hlua_newerror (lua_State *L, const char *kind, const char *message) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  if (luaL_newmetatable(L, HLUA_ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_setmetatable(L, -2);
}

int hlua_error (lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  hlua_newerror(L, kind, lua_tostring(L, -1));
  return lua_error(L);
}

int luaopen_hjson (lua_State *L);

int luaopen_hjson (lua_State *L) {
  return hlua_open_json(L);
}
