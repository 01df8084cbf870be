/*
** display.c: how hlua's own printers show a value. One rule for -p,
** harness.print and the REPL: strings as they are, numbers and booleans
** plainly, nil as null, functions and other non-data (and tables with a
** __tostring of their own) as tostring gives them, tables as JSON with
** sorted keys (the same data always prints the same, so outputs diff
** well), indented when asked.
**
** What hlua prints itself never shows the API key's secret, even when a
** server echoed it into the data: once the configuration has read a key,
** lua/harness/config.lua sets its redact_printed, and every text these
** printers make goes through it. Until then printing reads nothing of the
** configuration. (What a script writes itself, with io.write or print, is
** its own business.)
*/
#include <stdio.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

/* Replaces the string at idx by its redaction when the configuration has
** registered one (package.loaded["harness.config"].redact_printed). */
static void redact(lua_State *L, int idx) {
  int top = lua_gettop(L);
  idx = lua_absindex(L, idx);
  if (lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE) == LUA_TTABLE &&
      lua_getfield(L, -1, "harness.config") == LUA_TTABLE &&
      lua_getfield(L, -1, "redact_printed") == LUA_TFUNCTION) {
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) == LUA_TSTRING) lua_replace(L, idx);
  }
  lua_settop(L, top);
}

/* Pushes harness.json.encode (opening harness.json if no one has yet). */
static void push_encode(lua_State *L) {
  luaL_requiref(L, "harness.json", hlua_open_json, 0);
  lua_getfield(L, -1, "encode");
  lua_remove(L, -2);
}

/* Is the value at idx data that JSON shows: a table (unless it says how
** to show itself with __tostring, as harness.Error does), or a userdata
** that says how to encode itself (__json)? */
static int is_data(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  const char *meta = t == LUA_TTABLE ? "__tostring" : "__json";
  int has;
  if (t != LUA_TTABLE && t != LUA_TUSERDATA) return 0;
  has = luaL_getmetafield(L, idx, meta) != LUA_TNIL;
  if (has) lua_pop(L, 1);
  return t == LUA_TTABLE ? !has : has;
}

void hlua_display(lua_State *L, int idx, int indent) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    redact(L, idx);
    return;
  }
  if (lua_isnil(L, idx)) {
    lua_pushliteral(L, "null");
  } else if (is_data(L, idx)) {
    push_encode(L);
    lua_pushvalue(L, idx);
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "sort_keys");
    if (indent) {
      lua_pushinteger(L, 2);
      lua_setfield(L, -2, "indent");
    }
    lua_call(L, 2, 1);
  } else {
    luaL_tolstring(L, idx, NULL);
  }
  lua_replace(L, idx);
  redact(L, idx);
}

/* Runs hlua_display on the value at index 1, for the protected call in
** hlua_display_table. */
static int display_first(lua_State *L) {
  hlua_display(L, 1, (int)lua_toboolean(L, 2));
  lua_settop(L, 1);
  return 1;
}

int hlua_display_table(lua_State *L, int idx, int indent) {
  idx = lua_absindex(L, idx);
  if (!is_data(L, idx) && lua_type(L, idx) != LUA_TSTRING) return 0;
  lua_pushcfunction(L, display_first);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, indent);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    return 0;
  }
  lua_replace(L, idx);
  return 1;
}

int hlua_print_values(lua_State *L) {
  int i, n = lua_gettop(L);
  int indent = isatty(STDOUT_FILENO);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    hlua_display(L, i, indent);
    s = lua_tolstring(L, i, &len);
    fwrite(s, 1, len, stdout);
    fputc('\n', stdout);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) clearerr(stdout);
  return 0;
}
