/*
** codec.c: what harness.json (json.c) and harness.yaml (yaml.c) share:
** the registry values and the growable buffer.  See codec.h.
**
** Compiled into the host (with json.c) and into the module hlua_yaml
** (with yaml.c), so it uses nothing of the host but errors.c, which the
** module holds a copy of as well.
*/
#include <stdint.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>

#include "codec.h"


/* {======================================================================
** The registry values and the buffer
** ======================================================================= */

/* __tostring of the null sentinel: takes it, leaves "null". */
static int null_tostring(lua_State *L) {
  lua_pushliteral(L, "null");
  return 1;
}

/* __gc of a buffer: takes the userdata, leaves nothing.  Also the __gc of
** any userdata that starts with a Buf (json.c's decode state). */
static int buf_gc(lua_State *L) {
  buf_free((Buf *)luaL_checkudata(L, 1, CODEC_BUFFER_MT));
  return 0;
}

void codec_open(lua_State *L) {
  if (luaL_newmetatable(L, JSON_ARRAY_MT)) {
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
  }
  if (luaL_newmetatable(L, JSON_OBJECT_MT)) {
    lua_pushliteral(L, "object");
    lua_setfield(L, -2, "__jsontype");
  }
  if (luaL_newmetatable(L, CODEC_BUFFER_MT)) {
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 3);
  if (lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL) == LUA_TNIL) {
    lua_newuserdatauv(L, 0, 0);
    lua_newtable(L);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, JSON_NULL);
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  }
  lua_pop(L, 1);
}

void buf_free(Buf *B) {
  free(B->b);
  B->b = NULL;
  B->n = B->size = 0;
}

Buf *buf_new(lua_State *L) {
  Buf *B = (Buf *)lua_newuserdatauv(L, sizeof(Buf), 0);
  B->b = NULL;
  B->n = B->size = 0;
  luaL_setmetatable(L, CODEC_BUFFER_MT);
  return B;
}

void buf_grow(lua_State *L, Buf *B, size_t need) {
  size_t size = B->size ? B->size : 256;
  char *b;
  if (need > SIZE_MAX / 2 - B->n)   /* the doubling below would overflow */
    luaL_error(L, "buffer too large");
  while (size - B->n < need)
    size *= 2;
  b = (char *)realloc(B->b, size);
  if (b == NULL)
    luaL_error(L, "not enough memory");
  B->b = b;
  B->size = size;
}

/* }====================================================================== */
