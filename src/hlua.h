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

/* main.c: calls the function below narg arguments with a message handler
** that adds a traceback, and with Ctrl-C armed. Returns the pcall status. */
int hlua_docall(lua_State *L, int narg, int nres);

/* main.c: true once Ctrl-C was pressed during the current chunk; the HTTP
** layer polls it to cancel transfers in flight. */
int hlua_interrupted(void);

/* repl.c: the interactive loop (-i, or a terminal on stdin). */
void hlua_repl(lua_State *L);

/* module.c: sets package.path for the script's directory, HLUA_PATH and the
** library, and defines the global 'harness' (sub-libraries load lazily).
** 'script' may be NULL; 'noenv' is -E. */
void hlua_open_harness(lua_State *L, const char *script, int noenv);

/* module.c: prints its arguments one per line as -p does (strings as they
** are, everything else as JSON). A lua_CFunction. */
int hlua_print_values(lua_State *L);

/* module.c: prints the versions of hlua, Lua, libcurl and cJSON (--version). */
void hlua_print_version(lua_State *L);

/* json.c: pushes the harness.json table (decode, encode, null, array, object). */
int hlua_open_json(lua_State *L);

#endif
