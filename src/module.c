/*
** module.c: the global 'harness', its errors, -p printing and where
** 'require' looks.
** Start-up must stay as cheap as stock lua's, so the table starts almost
** empty: its __index loads harness.json (C) or the Lua core
** (lua/harness/core.lua, which defines request, get, paginate, spawn, ...)
** or a sub-library (lua/harness/<name>.lua) on first access.
*/
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curlver.h>
#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

#define CLI_MODULE "hlua.cli"
#define HTTP_MODULE "hlua_http"

/* ---------- harness.Error ---------- */

/* Appends field 'name' of the error at 'idx' to 'b' with a prefix and a
** suffix, when it is present. */
static int add_field(luaL_Buffer *b, lua_State *L, int idx, const char *name,
                     const char *prefix, const char *suffix) {
  int present;
  lua_getfield(L, idx, name);
  present = !lua_isnil(L, -1);
  if (present) {
    const char *s = luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    lua_pushfstring(L, "%s%s%s", prefix, s, suffix);
    lua_remove(L, -2);
    luaL_addvalue(b);
  } else
    lua_pop(L, 1);
  return present;
}

/* __tostring: one line, "GET /path: 404 CODE: message (correlationId id)". */
static int error_tostring(lua_State *L) {
  luaL_Buffer b;
  const char *s;
  char *p;
  int has_status;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_buffinit(L, &b);
  lua_getfield(L, 1, "method");
  if (!lua_isnil(L, -1)) {
    lua_pop(L, 1);
    add_field(&b, L, 1, "method", "", " ");
    if (!add_field(&b, L, 1, "path", "", ": ")) add_field(&b, L, 1, "url", "", ": ");
  } else
    lua_pop(L, 1);
  has_status = add_field(&b, L, 1, "status", "", "");
  if (add_field(&b, L, 1, "code", has_status ? " " : "", ": ") == 0 && has_status)
    luaL_addstring(&b, ": ");
  if (!add_field(&b, L, 1, "message", "", "")) add_field(&b, L, 1, "kind", "", " error");
  add_field(&b, L, 1, "correlation_id", " (correlationId ", ")");
  luaL_pushresult(&b);
  /* one line whatever the server sent */
  s = lua_tostring(L, -1);
  if (strpbrk(s, "\r\n")) {
    luaL_Buffer nb;
    p = luaL_buffinitsize(L, &nb, strlen(s));
    memcpy(p, s, strlen(s));
    for (size_t i = 0; i < strlen(s); i++)
      if (p[i] == '\n' || p[i] == '\r') p[i] = ' ';
    luaL_pushresultsize(&nb, strlen(s));
  }
  return 1;
}

static void push_error_mt(lua_State *L) {
  if (luaL_newmetatable(L, HLUA_ERROR_MT)) {
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "harness.Error");
    lua_setfield(L, -2, "__name");
    lua_pushliteral(L, "harness.Error"); /* getmetatable(err) gives this */
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

/* harness.is_error(v): true only for tables that hlua made errors. */
static int is_error(lua_State *L) {
  int yes = 0;
  if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
    luaL_getmetatable(L, HLUA_ERROR_MT);
    yes = lua_rawequal(L, -1, -2);
  }
  lua_pushboolean(L, yes);
  return 1;
}

/* harness._error(t): makes the table t (kind, message, status, ...) a
** harness.Error and returns it. For the Lua library. */
static int make_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  push_error_mt(L);
  lua_setmetatable(L, 1);
  return 1;
}

/* ---------- time, for the scheduler ---------- */

/* harness._clock(): seconds from a monotonic clock, as a float. */
static int monotonic_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* harness._sleep(seconds): sleeps, in steps so that Ctrl-C ends it at once;
** returns false if it was interrupted. */
static int sleep_seconds(lua_State *L) {
  lua_Number left = luaL_checknumber(L, 1);
  while (left > 0 && !hlua_interrupted()) {
    lua_Number step = left < 0.05 ? left : 0.05;
    struct timespec ts = {(time_t)step, (long)((step - (time_t)step) * 1e9)};
    nanosleep(&ts, NULL);
    left -= step;
  }
  lua_pushboolean(L, !hlua_interrupted());
  return 1;
}

/* harness._isatty(fd): is file descriptor fd a terminal? (For progress
** bars, which are drawn only on a terminal.) */
static int is_a_tty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* ---------- printing (-p, harness.print) ---------- */

/* Replaces the value at idx by its printed form: strings as they are,
** functions and other non-data as tostring, everything else as JSON. */
static void to_printed(lua_State *L, int idx, int indent) {
  int t = lua_type(L, idx);
  if (t == LUA_TSTRING) return;
  if (t == LUA_TNIL) {
    lua_pushliteral(L, "null");
  } else if (t == LUA_TFUNCTION || t == LUA_TTHREAD ||
      (t == LUA_TUSERDATA && !luaL_getmetafield(L, idx, "__json"))) {
    luaL_tolstring(L, idx, NULL);
  } else {
    if (t == LUA_TUSERDATA) lua_pop(L, 1); /* the __json field */
    lua_getglobal(L, "harness");
    lua_getfield(L, -1, "json");
    lua_getfield(L, -1, "encode");
    lua_pushvalue(L, idx);
    lua_createtable(L, 0, 2);
    lua_pushboolean(L, 1); /* the same output for the same data: diffable */
    lua_setfield(L, -2, "sort_keys");
    if (indent) {
      lua_pushinteger(L, 2);
      lua_setfield(L, -2, "indent");
    }
    lua_call(L, 2, 1);
    lua_replace(L, -3);
    lua_pop(L, 1);
  }
  lua_replace(L, idx);
}

int hlua_print_values(lua_State *L) {
  int i, n = lua_gettop(L);
  int indent = isatty(STDOUT_FILENO);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    to_printed(L, i, indent);
    s = lua_tolstring(L, i, &len);
    fwrite(s, 1, len, stdout);
    fputc('\n', stdout);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) clearerr(stdout);
  return 0;
}

/* ---------- where things are ---------- */

/* Fills 'libdir' (Lua library) and 'cdir' (C modules) from the binary's real
** location: build/hlua in a checkout (lua/ and build/ beside each other), or
** PREFIX/bin/hlua once installed (PREFIX/share/hlua/lua, PREFIX/lib/hlua). */
static void find_library(char *libdir, char *cdir, size_t size) {
  char exe[PATH_MAX], probe[PATH_MAX + 32];
  char *slash;
  /* the kernel's link is already canonical: no realpath (a syscall per
  ** path component) on the start-up path */
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) n = (ssize_t)strlen(strcpy(exe, "/usr/local/bin/hlua"));
  exe[n] = '\0';
  slash = strrchr(exe, '/');
  *slash = '\0';                            /* exe: the binary's folder */
  slash = strrchr(exe, '/');
  if (slash) *slash = '\0';                 /* exe: the folder above it */
  snprintf(probe, sizeof probe, "%s/lua/harness", exe);
  if (access(probe, F_OK) == 0) {           /* a checkout: build/hlua, lua/ */
    snprintf(libdir, size, "%s/lua", exe);
    snprintf(cdir, size, "%s/%s", exe, slash ? slash + 1 : "");
  } else {                                  /* installed: PREFIX/bin/hlua */
    snprintf(libdir, size, "%s/share/hlua/lua", exe);
    snprintf(cdir, size, "%s/lib/hlua", exe);
  }
}

/* Adds 'dir/?.lua;dir/?/init.lua;' to the buffer. */
static void add_lua_dir(luaL_Buffer *b, const char *dir) {
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?.lua;");
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?/init.lua;");
}

/*
** package.path: the script's directory, $HLUA_PATH, ~/.local/share/hlua/lua,
** hlua's library, then what lua would use (LUA_PATH or the defaults).
** package.cpath: hlua's C modules first, then lua's.
*/
static void set_paths(lua_State *L, const char *script, int noenv) {
  char libdir[PATH_MAX + 32], cdir[PATH_MAX + 32]; /* room for the suffixes */
  const char *env = noenv ? NULL : getenv("HLUA_PATH");
  const char *home = getenv("HOME");
  luaL_Buffer b;
  find_library(libdir, cdir, sizeof libdir);
  lua_getglobal(L, "package");
  luaL_buffinit(L, &b);
  if (script && strcmp(script, "-") != 0) {
    const char *slash = strrchr(script, '/');
    lua_pushlstring(L, script, slash ? (size_t)(slash - script) : 1);
    if (!slash) {
      lua_pop(L, 1);
      lua_pushliteral(L, ".");
    }
    add_lua_dir(&b, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  if (env && env[0]) {
    luaL_addgsub(&b, env, ";;", ";");
    if (env[strlen(env) - 1] != ';') luaL_addchar(&b, ';');
  }
  if (home && home[0]) {
    lua_pushfstring(L, "%s/.local/share/hlua/lua", home);
    add_lua_dir(&b, lua_tostring(L, -1));
    lua_pop(L, 1);
  }
  add_lua_dir(&b, libdir);
  lua_getfield(L, -2, "path");
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  lua_setfield(L, -2, "path");
  lua_getfield(L, -1, "cpath");
  lua_pushfstring(L, "%s/?.so;%s", cdir, lua_tostring(L, -1));
  lua_setfield(L, -3, "cpath");
  lua_pop(L, 2);
}

/* ---------- the lazy module table ---------- */

/* Calls require(name) protected; leaves the result or the error. */
static int require_protected(lua_State *L, const char *name) {
  lua_getglobal(L, "require");
  lua_pushstring(L, name);
  return lua_pcall(L, 1, 1, 0);
}

/* Loads the Lua core once; upvalue 1 remembers that it is loaded (set
** before loading, since the core reads harness fields while it loads). */
static void load_core(lua_State *L) {
  if (lua_toboolean(L, lua_upvalueindex(1))) return;
  lua_pushboolean(L, 1);
  lua_replace(L, lua_upvalueindex(1));
  if (require_protected(L, "harness.core") != LUA_OK) {
    lua_pushboolean(L, 0);
    lua_replace(L, lua_upvalueindex(1));
    lua_error(L);
  }
  lua_pop(L, 1);
}

/* Is 'key' a plain identifier (so 'harness.<key>' can name a file)? */
static int is_name(const char *key) {
  const char *p;
  if (!(key[0] == '_' || (key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z')))
    return 0;
  for (p = key; *p; p++)
    if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9')))
      return 0;
  return 1;
}

/* Loads sub-library harness.<key> if a file for it exists; pushes it or nil. */
static void load_sublibrary(lua_State *L, const char *key) {
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchpath");
  lua_pushfstring(L, "harness.%s", key);
  lua_getfield(L, -3, "path");
  lua_call(L, 2, 1);
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) return;
  lua_pop(L, 1);
  if (require_protected(L, lua_pushfstring(L, "harness.%s", key)) != LUA_OK) lua_error(L);
  lua_remove(L, -2);
}

/* __index of harness: json, then the core's names, then sub-libraries. */
static int harness_index(lua_State *L) {
  const char *key;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  key = lua_tostring(L, 2);
  if (strcmp(key, "json") == 0)
    hlua_open_json(L);
  else {
    load_core(L);
    lua_pushvalue(L, 2); /* raw: a plain get would come back here for an unknown name */
    if (lua_rawget(L, 1) != LUA_TNIL) return 1; /* defined by the core */
    lua_pop(L, 1);
    if (!is_name(key)) return 0;
    load_sublibrary(L, key);
    if (lua_isnil(L, -1)) return 1;
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, -2);
  lua_rawset(L, 1);
  return 1;
}

void hlua_open_harness(lua_State *L, const char *script, int noenv) {
  static const luaL_Reg funcs[] = {
      {"is_error", is_error},        {"_error", make_error}, {"print", hlua_print_values},
      {"_clock", monotonic_clock}, {"_sleep", sleep_seconds}, {"_isatty", is_a_tty},
      {NULL, NULL}};
  set_paths(L, script, noenv);
  lua_createtable(L, 0, 32);
  luaL_setfuncs(L, funcs, 0);
  lua_pushliteral(L, "hlua " HLUA_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_createtable(L, 0, 1);
  lua_pushboolean(L, 0); /* core not loaded yet */
  lua_pushcclosure(L, harness_index, 1);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "harness");
  lua_pop(L, 1);
  lua_setglobal(L, "harness");
}

/* --version: the HTTP module reports the libcurl it runs with; without it,
** the libcurl hlua was built against. */
void hlua_print_version(lua_State *L) {
  const char *curl = "libcurl " LIBCURL_VERSION;
  if (require_protected(L, HTTP_MODULE) == LUA_OK && lua_istable(L, -1) &&
      lua_getfield(L, -1, "curl_version") == LUA_TSTRING)
    curl = lua_pushfstring(L, "libcurl %s", lua_tostring(L, -1));
  printf("hlua %s\n%s\n%s\ncJSON %s\n", HLUA_VERSION, LUA_RELEASE, curl, cJSON_Version());
  lua_settop(L, 0);
}
