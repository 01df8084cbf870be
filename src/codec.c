/*
** codec.c: what harness.json (json.c) and harness.yaml (yaml.c) share:
** the registry values, the growable buffer, options, and the errors with
** a place in the text.  See codec.h.
**
** Compiled into the host (with json.c) and into the module hlua_yaml
** (with yaml.c), so it uses nothing of the host but errors.c, which the
** module holds a copy of as well.
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "codec.h"
#include "hlua.h"

#define CODEC_EXCERPT 24   /* bytes of context either side in a text error */


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


/* {======================================================================
** Options, errors in the text
** ======================================================================= */

int codec_opt_int(lua_State *L, int idx, const char *field, int def,
                  int lo, int hi) {
  lua_Integer v;
  int isnum;
  if (lua_getfield(L, idx, field) == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  v = lua_tointegerx(L, -1, &isnum);
  if (!isnum || v < lo || v > hi)
    return luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be an "
                         "integer from %d to %d", field, lo, hi));
  lua_pop(L, 1);
  return (int)v;
}

/* Adds the bytes [a, e) to an error excerpt, escaping what would garble a
** one-line message (control bytes, broken UTF-8). */
static void add_excerpt(luaL_Buffer *b, const char *a, const char *e) {
  const unsigned char *p = (const unsigned char *)a;
  while (p < (const unsigned char *)e) {
    size_t n = codec_utf8_len(p);
    if (*p < 0x20 || *p == 0x7F || n == 0 ||
        p + n > (const unsigned char *)e) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02X", *p);
      luaL_addstring(b, hex);
      n = 1;
    }
    else
      luaL_addlstring(b, (const char *)p, n);
    p += n;
  }
}

/* Does the byte at p end a line of the excerpt?  CR too: a line of CRLF
** text shows without it. */
#define is_line_end(p) (*(p) == '\n' || *(p) == '\r')

int codec_text_error(lua_State *L, const char *kind, const char *s,
                     size_t len, size_t at, const char *what) {
  const char *line = s, *end = s + len, *p, *a, *e, *pos;
  lua_Integer nline = 1, col = 1;
  luaL_Buffer b;
  if (at > len) at = len;
  pos = s + at;
  for (p = s; p < pos; p++) {
    if (*p == '\n') { nline++; line = p + 1; col = 1; }
    else if ((*p & 0xC0) != 0x80) col++;
  }
  /* up to CODEC_EXCERPT bytes either side, on the line, whole characters */
  a = (pos - line > CODEC_EXCERPT) ? pos - CODEC_EXCERPT : line;
  while (a < pos && (*a & 0xC0) == 0x80) a++;
  for (e = pos; e < end && e - pos < CODEC_EXCERPT && !is_line_end(e); e++) {}
  while (e < end && (*e & 0xC0) == 0x80 && e - pos < CODEC_EXCERPT + 3) e++;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "%s: %s at line %I column %I near '", kind, what,
                  (LUAI_UACINT)nline, (LUAI_UACINT)col);
  luaL_addvalue(&b);
  if (a > line) luaL_addstring(&b, "...");
  add_excerpt(&b, a, e);
  if (e < end && !is_line_end(e)) luaL_addstring(&b, "...");
  luaL_addchar(&b, '\'');
  luaL_pushresult(&b);
  hlua_newerror(L, kind, lua_tostring(L, -1));
  lua_pushinteger(L, nline);
  lua_setfield(L, -2, "line");
  lua_pushinteger(L, col);
  lua_setfield(L, -2, "column");
  lua_pushinteger(L, (lua_Integer)at + 1);
  lua_setfield(L, -2, "offset");
  return lua_error(L);
}

/* }====================================================================== */
