/*
** harness.c: the global 'harness', and the host's private primitives.
**
** Start-up must stay as cheap as stock lua's, so 'harness' starts empty:
** the first access to one of its fields loads lua/harness/namespace.lua,
** which declares every public name and loads each module on first use.
** harness.json is C (json.c), registered in package.preload.
** The primitives the Lua library needs from C (a monotonic clock, a sleep
** that Ctrl-C ends, ...) are the private module 'hlua.host', not public
** names: scripts see only what namespace.lua declares.
*/
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

#define SLEEP_STEP 0.05 /* seconds between looks at Ctrl-C while sleeping */

/* host.clock() -> seconds from a monotonic clock, as a float. */
static int host_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* host.sleep(seconds) -> false if Ctrl-C ended it, else true. Sleeps in
** steps so that Ctrl-C ends it at once. */
static int host_sleep(lua_State *L) {
  lua_Number left = luaL_checknumber(L, 1);
  luaL_argcheck(L, !isnan(left), 1, "not a number of seconds (NaN)");
  while (left > 0 && !hlua_interrupted()) {
    lua_Number step = left < SLEEP_STEP ? left : SLEEP_STEP;
    struct timespec ts = {(time_t)step, (long)((step - (time_t)step) * 1e9)};
    nanosleep(&ts, NULL);
    left -= step;
  }
  lua_pushboolean(L, !hlua_interrupted());
  return 1;
}

/* host.interrupted() -> was Ctrl-C pressed during the current chunk? */
static int host_interrupted(lua_State *L) {
  lua_pushboolean(L, hlua_interrupted());
  return 1;
}

/* host.isatty(fd) -> is that file descriptor a terminal? */
static int host_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* host.file_mode(path) -> permission bits, or nil and a message (no such
** file). For the warning on keys that others can read. */
static int host_file_mode(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) return luaL_fileresult(L, 0, path);
  lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
  return 1;
}

/* Writes all of s[0..len) to fd; returns 0 or an errno. */
static int write_all(int fd, const char *s, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, s, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    s += n;
    len -= (size_t)n;
  }
  return 0;
}

/* harness.write_secret(path, value): writes a file that only its owner
** can read, atomically: a temporary file beside it (created 0600), then
** renamed over it, so a reader never sees half a secret and a crash never
** leaves one. Refuses a symbolic link or anything but a regular file at
** path, and never loosens an existing file's mode (it keeps a stricter
** one). Raises a harness.Error of kind "io" naming the path. */
static int host_write_secret(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t len;
  const char *value = luaL_checklstring(L, 2, &len);
  struct stat st;
  mode_t mode = 0600;
  int fd, err;
  char *tmp;
  if (lstat(path, &st) == 0) {
    if (S_ISLNK(st.st_mode))
      return hlua_error(L, "io", "refusing to write a secret through the symbolic link %s", path);
    if (!S_ISREG(st.st_mode))
      return hlua_error(L, "io", "refusing to write a secret over %s: not a regular file", path);
    mode = st.st_mode & 0600; /* never looser than it was */
  } else if (errno != ENOENT) {
    return hlua_error(L, "io", "%s: %s", path, strerror(errno));
  }
  tmp = (char *)lua_newuserdatauv(L, strlen(path) + 16, 0); /* freed by the GC */
  snprintf(tmp, strlen(path) + 16, "%s.tmp-XXXXXX", path);
  fd = mkstemp(tmp); /* 0600 */
  if (fd < 0) return hlua_error(L, "io", "cannot create a file beside %s: %s", path, strerror(errno));
  err = write_all(fd, value, len);
  if (err == 0 && fchmod(fd, mode) != 0) err = errno;
  if (err == 0 && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && rename(tmp, path) != 0) err = errno;
  if (err != 0) {
    unlink(tmp);
    return hlua_error(L, "io", "cannot write %s: %s", path, strerror(err));
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* luaopen of 'hlua.host'. */
static int open_host(lua_State *L) {
  static const luaL_Reg funcs[] = {
      {"clock", host_clock},         {"sleep", host_sleep},
      {"interrupted", host_interrupted}, {"isatty", host_isatty},
      {"file_mode", host_file_mode}, {"error", hlua_make_error},
      {"is_error", hlua_is_error},   {"print", hlua_print_values},
      {"write_secret", host_write_secret}, {"resume", hlua_resume},
      {NULL, NULL}};
  luaL_newlib(L, funcs);
  lua_pushliteral(L, HLUA_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}

/* __index of 'harness' until the namespace is loaded: loads it (it sets
** the table's real metatable) and looks the key up again. */
static int bootstrap_index(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "harness.namespace");
  lua_call(L, 1, 0);
  lua_settop(L, 2);
  if (lua_getmetatable(L, 1) && lua_getfield(L, -1, "__index") == LUA_TFUNCTION &&
      lua_tocfunction(L, -1) == bootstrap_index)
    return luaL_error(L, "harness.namespace did not declare the harness table");
  lua_settop(L, 2);
  lua_gettable(L, 1);
  return 1;
}

void hlua_open_harness(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, open_host);
  lua_setfield(L, -2, "hlua.host");
  lua_pushcfunction(L, hlua_open_json);
  lua_setfield(L, -2, "harness.json");
  lua_pop(L, 1);
  lua_createtable(L, 0, 32);
  lua_pushliteral(L, "hlua " HLUA_VERSION);
  lua_setfield(L, -2, "_VERSION");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, bootstrap_index);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "harness");
  lua_pop(L, 1);
  lua_setglobal(L, "harness");
}
