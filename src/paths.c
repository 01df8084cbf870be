/*
** paths.c: where hlua's library is, and how 'require' finds modules.
**
** package.path and package.cpath stay exactly as lua5.4 sets them (from
** LUA_PATH, LUA_CPATH and ';;'), so tools built for lua see what they
** expect. hlua adds one searcher, right after package.preload's:
** - 'harness.*' comes from hlua's own library and nowhere else, so a file
**   of the same name beside a script can never replace one of ours;
** - hlua's C modules ('hlua_*': the HTTP module) come from hlua's folder;
** - any other module is looked for in the script's folder, $HLUA_PATH and
**   ~/.local/share/hlua/lua, before the standard searchers (package.path,
**   package.cpath) get their turn.
** The library is found from the binary's real location: build/hlua in a
** checkout (lua/ beside build/), or PREFIX/bin/hlua once installed
** (PREFIX/share/hlua/lua and PREFIX/lib/hlua).
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

/* The searcher's upvalues. */
enum { LIB_PATH = 1, C_PATH, USER_PATH, SEARCHPATH, LOADLIB };

/* Fills 'libdir' (Lua library) and 'cdir' (C modules). The kernel's link
** is already canonical: no realpath (a syscall per path component) on the
** start-up path. */
static void find_library(char *libdir, char *cdir, size_t size) {
  char exe[PATH_MAX], probe[PATH_MAX + 32];
  char *slash;
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) n = (ssize_t)strlen(strcpy(exe, "/usr/local/bin/hlua"));
  exe[n] = '\0';
  slash = strrchr(exe, '/');
  *slash = '\0'; /* exe: the binary's folder */
  slash = strrchr(exe, '/');
  if (slash) *slash = '\0'; /* exe: the folder above it */
  snprintf(probe, sizeof probe, "%s/lua/harness", exe);
  if (access(probe, F_OK) == 0) { /* a checkout */
    snprintf(libdir, size, "%s/lua", exe);
    snprintf(cdir, size, "%s/%s", exe, slash ? slash + 1 : "");
  } else { /* installed */
    snprintf(libdir, size, "%s/share/hlua/lua", exe);
    snprintf(cdir, size, "%s/lib/hlua", exe);
  }
}

/* Adds "dir/?.lua;dir/?/init.lua;" to the buffer. */
static void add_lua_dir(luaL_Buffer *b, const char *dir) {
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?.lua;");
  luaL_addstring(b, dir);
  luaL_addstring(b, "/?/init.lua;");
}

/* Pushes the search path for users' modules: the script's folder (when
** there is a script file), $HLUA_PATH (unless -E), ~/.local/share/hlua/lua. */
static void push_user_path(lua_State *L, const char *script, int noenv) {
  const char *env = noenv ? NULL : getenv("HLUA_PATH");
  const char *home = getenv("HOME");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  if (script && strcmp(script, "-") != 0) {
    const char *slash = strrchr(script, '/');
    if (slash) {
      lua_pushlstring(L, script, slash == script ? 1 : (size_t)(slash - script));
      add_lua_dir(&b, lua_tostring(L, -1));
      lua_pop(L, 1);
    } else
      add_lua_dir(&b, ".");
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
  luaL_pushresult(&b);
}

/* Calls package.searchpath(name, path at upvalue 'which'); leaves the file
** name (returns 1) or the "no file ..." message (returns 0). */
static int search(lua_State *L, const char *name, int which) {
  lua_pushvalue(L, lua_upvalueindex(SEARCHPATH));
  lua_pushstring(L, name);
  lua_pushvalue(L, lua_upvalueindex(which));
  lua_call(L, 2, 2);
  if (lua_isnil(L, -2)) {
    lua_remove(L, -2);
    return 0;
  }
  lua_pop(L, 1);
  return 1;
}

/* Loads the Lua file named on top; returns loader and file name as a
** searcher does, raising (as lua's own searcher) on a syntax error. */
static int load_lua(lua_State *L, const char *name) {
  const char *file = lua_tostring(L, -1);
  if (luaL_loadfile(L, file) != LUA_OK)
    return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file,
                      lua_tostring(L, -1));
  lua_insert(L, -2);
  return 2;
}

/* A loader that raises the message at upvalue 1: what 'require' of a
** harness.* name that hlua's library does not have ends in. */
static int missing_loader(lua_State *L) {
  return luaL_error(L, "%s", lua_tostring(L, lua_upvalueindex(1)));
}

/* The searcher (see the file comment): a loader and its file name, or a
** message saying where it looked. */
static int searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strncmp(name, "harness.", 8) == 0) {
    if (search(L, name, LIB_PATH)) return load_lua(L, name);
    lua_pushfstring(L, "module '%s' not found: harness.* modules come only from hlua's library:\n\t%s",
                    name, lua_tostring(L, -1));
    lua_pushcclosure(L, missing_loader, 1);
    lua_pushliteral(L, ":hlua:");
    return 2;
  }
  if (strncmp(name, "hlua_", 5) == 0 && search(L, name, C_PATH)) {
    lua_pushvalue(L, lua_upvalueindex(LOADLIB));
    lua_pushvalue(L, -2);
    lua_pushfstring(L, "luaopen_%s", name);
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2))
      return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name,
                        lua_tostring(L, -3), lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_insert(L, -2);
    return 2;
  }
  if (search(L, name, USER_PATH)) return load_lua(L, name);
  return 1;
}

void hlua_open_paths(lua_State *L, const char *script, int noenv) {
  char libdir[PATH_MAX + 32], cdir[PATH_MAX + 32]; /* room for the suffixes */
  find_library(libdir, cdir, sizeof libdir);
  lua_pushfstring(L, "@%s/harness/", libdir);
  lua_setfield(L, LUA_REGISTRYINDEX, HLUA_LIBRARY_KEY);
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  lua_pushfstring(L, "%s/?.lua", libdir);
  lua_pushfstring(L, "%s/?.so", cdir);
  push_user_path(L, script, noenv);
  lua_getfield(L, -5, "searchpath");
  lua_getfield(L, -6, "loadlib");
  lua_pushcclosure(L, searcher, 5);
  /* searchers[2..n] move up one: ours runs right after the preload one */
  for (lua_Integer i = (lua_Integer)luaL_len(L, -2); i >= 2; i--) {
    lua_rawgeti(L, -2, i);
    lua_rawseti(L, -3, i + 1);
  }
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);
}
