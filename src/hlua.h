/*
** hlua.h: what the host's C files share.
** Everything else in src/ is static to its file.
*/
#ifndef HLUA_H
#define HLUA_H

#include <lua.h>

#define HLUA_VERSION "0.1.0"

/* Registry key of the metatable shared by every harness.Error. */
#define HLUA_ERROR_MT "harness.Error"

/* Pushes a new harness.Error {kind = kind, message = message}.
** Callers may set more fields (status, code, url...) on the table left on top. */
void hlua_newerror(lua_State *L, const char *kind, const char *message);

/* Raises a harness.Error of the given kind with a formatted message.
** Like luaL_error: call it as `return hlua_error(...)`; it never returns. */
int hlua_error(lua_State *L, const char *kind, const char *fmt, ...);

/* json.c: pushes the harness.json table (decode, encode, null, array, object). */
int hlua_open_json(lua_State *L);

#endif
