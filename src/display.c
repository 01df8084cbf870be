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

/* Pushes the text harness.doc gives a table that JSON cannot show (a
** module's function list, say); returns 0, pushing nothing, when it has
** none. */
static int push_description(lua_State *L, int idx) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "harness.doc");
  if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
    lua_pop(L, 1);
    return 0;
  }
  lua_getfield(L, -1, "describe");
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  return 1;
}

/* Pushes a copy of the table at idx in which every table that mixes
** positional and named fields (what JSON cannot hold) is an object with
** its keys as text; other values are the same. 'depth' bounds the copy
** (a cycle stays for the encoder to refuse). */
static void push_printable(lua_State *L, int idx, int depth) {
  int mixed, has_int = 0, has_other = 0;
  idx = lua_absindex(L, idx);
  luaL_checkstack(L, 6, "too deep to print");
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_isinteger(L, -2)) has_int = 1; else has_other = 1;
    lua_pop(L, 1);
  }
  mixed = has_int && has_other;
  lua_createtable(L, 0, 0);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -1) == LUA_TTABLE && depth > 0 && is_data(L, -1))
      push_printable(L, -1, depth - 1);
    else
      lua_pushvalue(L, -1);
    lua_remove(L, -2);
    if (mixed) {
      lua_pushvalue(L, -2);
      luaL_tolstring(L, -1, NULL);
      lua_remove(L, -2);
      lua_insert(L, -2);
    } else {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
    }
    lua_rawset(L, -4);
  }
  if (!mixed && lua_getmetatable(L, idx)) lua_setmetatable(L, -2); /* array/object marks */
}

/* Encodes the value at idx with harness.json.encode (sorted keys,
** indented when asked), protected; leaves the text or the error and
** returns the pcall status. */
static int encode(lua_State *L, int idx, int indent) {
  idx = lua_absindex(L, idx);
  push_encode(L);
  lua_pushvalue(L, idx);
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "sort_keys");
  if (indent) {
    lua_pushinteger(L, 2);
    lua_setfield(L, -2, "indent");
  }
  return lua_pcall(L, 2, 1, 0);
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
    if (encode(L, idx, indent) != LUA_OK) {
      /* a module as its function list; a table mixing positional and
      ** named fields (harness.args's results) as an object */
      if (push_description(L, idx)) {
        lua_remove(L, -2);
      } else if (lua_type(L, idx) == LUA_TTABLE) {
        push_printable(L, idx, 64);
        if (encode(L, -1, indent) != LUA_OK) {
          lua_pop(L, 2);
          lua_error(L);
        }
        lua_replace(L, -3);
        lua_pop(L, 1);
      } else {
        lua_error(L);
      }
    }
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

/* Is the last of n arguments print's options ({yaml = true}: a table
** holding nothing but a boolean 'yaml')? */
static int print_options(lua_State *L, int n, int *yaml) {
  int only;
  if (n < 2 || lua_type(L, n) != LUA_TTABLE || lua_getmetatable(L, n)) return 0;
  lua_getfield(L, n, "yaml");
  only = lua_isboolean(L, -1);
  *yaml = lua_toboolean(L, -1);
  lua_pop(L, 1);
  lua_pushnil(L);
  if (only && lua_next(L, n)) {
    lua_pop(L, 1);
    only = lua_next(L, n) == 0; /* one key: yaml */
    if (!only) lua_pop(L, 2);
  }
  return only;
}

/* Replaces the table at idx by its YAML (harness.yaml.encode), without
** the final newline, when it is data; leaves other values to hlua_display. */
static void display_yaml(lua_State *L, int idx) {
  size_t len;
  if (!is_data(L, idx) || lua_type(L, idx) != LUA_TTABLE) return;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "harness.yaml");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "encode");
  lua_pushvalue(L, idx);
  lua_call(L, 1, 1);
  lua_tolstring(L, -1, &len);
  if (len > 0 && lua_tostring(L, -1)[len - 1] == '\n') {
    lua_pushlstring(L, lua_tostring(L, -1), len - 1);
    lua_replace(L, -2);
  }
  lua_replace(L, idx);
  lua_pop(L, 1);
}

int hlua_print_values(lua_State *L) {
  int i, yaml = 0, n = lua_gettop(L);
  int indent = isatty(STDOUT_FILENO);
  if (print_options(L, n, &yaml)) n--;
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    if (yaml) display_yaml(L, i);
    hlua_display(L, i, indent);
    s = lua_tolstring(L, i, &len);
    fwrite(s, 1, len, stdout);
    fputc('\n', stdout);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) clearerr(stdout);
  return 0;
}
