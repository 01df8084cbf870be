/*
** errors.c: harness.Error, the one error type every failure of hlua's
** becomes (transport, HTTP status, JSON, configuration...).
** An error is a plain table (kind, message, status, code, url, ...) with a
** shared metatable: scripts read its fields, and its __tostring is the one
** line users see on stderr.
*/
#include <stdarg.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

/* Appends field 'name' of the error at 'idx' to 'b' between 'prefix' and
** 'suffix' when the field is present; returns whether it was. */
static int add_field(luaL_Buffer *b, lua_State *L, int idx, const char *name,
                     const char *prefix, const char *suffix) {
  const char *s;
  if (lua_getfield(L, idx, name) == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  s = luaL_tolstring(L, -1, NULL);
  lua_pushfstring(L, "%s%s%s", prefix, s, suffix);
  lua_replace(L, -3);
  lua_pop(L, 1);
  luaL_addvalue(b);
  return 1;
}

/* Replaces line breaks in the string on top by spaces: the line stays one
** line whatever the server sent. */
static void one_line(lua_State *L) {
  size_t len, i;
  const char *s = lua_tolstring(L, -1, &len);
  luaL_Buffer b;
  char *p;
  if (strpbrk(s, "\r\n") == NULL) return;
  p = luaL_buffinitsize(L, &b, len);
  for (i = 0; i < len; i++) p[i] = (s[i] == '\n' || s[i] == '\r') ? ' ' : s[i];
  luaL_pushresultsize(&b, len);
  lua_remove(L, -2);
}

/* __tostring: "GET /path: 404 CODE: message (correlationId id)", after
** "Tag.Operation: " for an error of a harness.api operation. */
static int error_tostring(lua_State *L) {
  luaL_Buffer b;
  int has_status;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_buffinit(L, &b);
  add_field(&b, L, 1, "operation", "", ": ");
  if (add_field(&b, L, 1, "method", "", " ") &&
      !add_field(&b, L, 1, "path", "", ": "))
    add_field(&b, L, 1, "url", "", ": ");
  has_status = add_field(&b, L, 1, "status", "", "");
  if (!add_field(&b, L, 1, "code", has_status ? " " : "", ": ") && has_status)
    luaL_addstring(&b, ": ");
  if (!add_field(&b, L, 1, "message", "", "")) add_field(&b, L, 1, "kind", "", " error");
  add_field(&b, L, 1, "correlation_id", " (correlationId ", ")");
  luaL_pushresult(&b);
  one_line(L);
  return 1;
}

/* Pushes the metatable of harness.Error, creating it once per state. */
static void push_error_mt(lua_State *L) {
  if (luaL_newmetatable(L, HLUA_ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, HLUA_ERROR_MT); /* what getmetatable(err) gives */
    lua_setfield(L, -2, "__metatable");
  }
}

void hlua_newerror(lua_State *L, const char *kind, const char *message) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  lua_pushstring(L, message);
  lua_setfield(L, -2, "message");
  push_error_mt(L);
  lua_setmetatable(L, -2);
}

int hlua_error(lua_State *L, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  hlua_newerror(L, kind, lua_tostring(L, -1));
  lua_remove(L, -2);
  return lua_error(L);
}

int hlua_is_error(lua_State *L) {
  int yes = 0;
  if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
    luaL_getmetatable(L, HLUA_ERROR_MT);
    yes = lua_rawequal(L, -1, -2);
  }
  lua_pushboolean(L, yes);
  return 1;
}

int hlua_make_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getmetatable(L, 1)) luaL_argerror(L, 1, "table already has a metatable");
  push_error_mt(L);
  lua_setmetatable(L, 1);
  return 1;
}
