/*
** hlua.h: what crosses files in src/, grouped by the file that defines it.
** Everything else is static to its file. The files form a DAG, leaves
** first: errors, codec (its own header, codec.h), interrupt, json,
** display, paths; then harness (the table and the host's primitives) and
** repl; main on top. http.c and yaml.c are the separate modules hlua_http
** and hlua_yaml, loaded on first use, and need nothing of the executable:
** hlua_http finds the Ctrl-C flag through the registry (HLUA_INTERRUPT_KEY);
** hlua_yaml links its own copies of codec.c and errors.c (see Makefile).
*/
#ifndef HLUA_H
#define HLUA_H

#include <lua.h>

#define HLUA_VERSION "0.1.0"

/* ---- errors.c: harness.Error ---- */

/* Registry key (and __name) of the metatable shared by every harness.Error. */
#define HLUA_ERROR_MT "harness.Error"

/* Pushes a new harness.Error {kind = kind, message = message}; callers may
** set more fields (status, code, url...) on the table left on top. */
void hlua_newerror(lua_State *L, const char *kind, const char *message);

/* Raises a harness.Error of the given kind with a formatted message. Like
** luaL_error: call it as `return hlua_error(...)`; it never returns. */
int hlua_error(lua_State *L, const char *kind, const char *fmt, ...);

/* lua_CFunction is_error(v): true only for errors hlua made. */
int hlua_is_error(lua_State *L);

/* lua_CFunction error(t): makes table t (kind, message, ...) a
** harness.Error and returns it. */
int hlua_make_error(lua_State *L);

/* ---- interrupt.c: Ctrl-C and running chunks ---- */

/* Registry key of a light userdata pointing at the Ctrl-C flag (a
** volatile sig_atomic_t, non-zero once Ctrl-C was pressed). */
#define HLUA_INTERRUPT_KEY "hlua.interrupt"

/* Stores the flag's address at HLUA_INTERRUPT_KEY. */
void hlua_interrupt_publish(lua_State *L);

/* Was Ctrl-C pressed during the current chunk? */
int hlua_interrupted(void);

/* Registry key of the chunk-name prefix of hlua's Lua library
** ("@<libdir>/harness/"), set by paths.c: a traceback starts below it. */
#define HLUA_LIBRARY_KEY "hlua.library"

/* Calls the function below narg arguments like lua_pcall, with a message
** handler that adds a traceback and with Ctrl-C armed. The traceback of
** an error raised inside hlua's library starts at the script's code that
** called the library, as for an error raised by a C function. */
int hlua_docall(lua_State *L, int narg, int nres);

/* lua_CFunction resume(co, ...): coroutine.resume, with Ctrl-C reaching
** the resumed coroutine's Lua code (host.resume, for the scheduler). */
int hlua_resume(lua_State *L);

/* ---- json.c: harness.json ---- */

/* luaopen of harness.json: decode, encode, null, array, object. */
int hlua_open_json(lua_State *L);

/* ---- display.c: the one value-to-text rule of hlua's printers ---- */

/* Replaces the value at idx by its text (strings as they are, nil as null,
** tables as JSON with sorted keys, indented when 'indent'; a module as its
** function list), the API key's secret masked. Raises when a table can be
** shown neither way. */
void hlua_display(lua_State *L, int idx, int indent);

/* Like hlua_display for data (tables) and strings, protected: returns 0 and
** leaves the value as it is when it is neither or cannot be shown. */
int hlua_display_table(lua_State *L, int idx, int indent);

/* lua_CFunction print(...): each value on its own line of stdout, as -p
** shows it (harness.print); a last argument {yaml = true} shows tables as
** YAML instead of JSON. */
int hlua_print_values(lua_State *L);

/* ---- paths.c: the library and 'require' ---- */

/* Adds hlua's searcher to package.searchers (see paths.c). 'script' is the
** script's file name or NULL; 'noenv' is -E. */
void hlua_open_paths(lua_State *L, const char *script, int noenv);

/* ---- harness.c: the global 'harness' ---- */

/* Defines the global 'harness' (= package.loaded.harness) and preloads
** harness.json and the host's private primitives (hlua.host). */
void hlua_open_harness(lua_State *L);

/* ---- repl.c: the interactive loop ---- */

/* Reads, runs and prints lines until end of input. */
void hlua_repl(lua_State *L);

#endif
