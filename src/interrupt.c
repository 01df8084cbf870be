/*
** interrupt.c: Ctrl-C, and running a chunk the way lua.c does.
** A chunk runs under 'hlua_docall': a message handler that adds the
** traceback, and SIGINT armed. The first Ctrl-C sets a flag and a hook that
** raises "interrupted!" at the next step of Lua code; the flag also reaches
** code that waits outside Lua (the HTTP module's poll, host.sleep), which
** reads it through a pointer in the registry. A second Ctrl-C kills the
** process, as in lua.c. Depends on errors.c (the error it raises).
**
** A hook belongs to one Lua thread, and a task is a coroutine: the
** scheduler resumes tasks with hlua_resume, which makes the thread it
** resumes the one the signal handler hooks (and hooks it at once when
** Ctrl-C came before), so that Ctrl-C stops a task's CPU-bound code too.
*/
#include <signal.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

/* The one mutable global of the host: a signal handler can reach nothing
** else. 'signal_state' is the state whose code the hook stops. */
static volatile sig_atomic_t interrupted = 0;
static lua_State *volatile signal_state = NULL;

int hlua_interrupted(void) { return interrupted != 0; }

void hlua_interrupt_publish(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&interrupted);
  lua_setfield(L, LUA_REGISTRYINDEX, HLUA_INTERRUPT_KEY);
}

/* Hook set by the signal handler: raises in the running code a
** harness.Error of kind "interrupted", which reads as the one line
** "interrupted" where it ends the script (pcall still catches it). */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  hlua_newerror(L, "interrupted", "interrupted");
  lua_error(L);
}

/* Makes thread L stop at its next step of Lua code. */
static void arm(lua_State *L) {
  lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

/* First Ctrl-C: flag it and stop the Lua code at its next step; the
** handler is reset, so a second one kills the process. */
static void on_sigint(int sig) {
  lua_State *L = signal_state;
  signal(sig, SIG_DFL);
  interrupted = 1;
  if (L) arm(L);
}

/* The status coroutine.status would give co, seen from L. */
static const char *co_status(lua_State *L, lua_State *co) {
  lua_Debug ar;
  if (L == co) return "running";
  switch (lua_status(co)) {
    case LUA_YIELD: return "suspended";
    case LUA_OK:
      if (lua_getstack(co, 0, &ar)) return "normal";
      return lua_gettop(co) == 0 ? "dead" : "suspended";
    default: return "dead";
  }
}

int hlua_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1), *prev;
  int narg = lua_gettop(L) - 1, status, nres;
  const char *state;
  luaL_argexpected(L, co != NULL, 1, "coroutine");
  state = co_status(L, co);
  if (strcmp(state, "suspended") != 0) {
    lua_pushboolean(L, 0);
    lua_pushfstring(L, "cannot resume %s coroutine", state);
    return 2;
  }
  if (!lua_checkstack(co, narg)) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "too many arguments to resume");
    return 2;
  }
  lua_xmove(L, co, narg);
  /* the order matters against a signal in between: point the handler at
  ** co first, then look at the flag */
  prev = signal_state;
  signal_state = co;
  if (interrupted) arm(co);
  status = lua_resume(co, L, narg, &nres);
  signal_state = prev;
  if (interrupted && prev) arm(prev);
  if (status == LUA_OK || status == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushboolean(L, 0);
      lua_pushliteral(L, "too many results to resume");
      return 2;
    }
    lua_pushboolean(L, 1);
    lua_xmove(co, L, nres);
    return nres + 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1); /* the error */
  return 2;
}

/* The level a traceback starts at: past the frames of hlua's library (and
** the C functions it called, such as 'error') when the error was raised
** there, so that a script sees its own lines, not the library's insides.
** Only the top of the stack is looked at: that is where such frames are. */
static int traceback_level(lua_State *L) {
  lua_Debug ar;
  const char *lib;
  size_t n;
  int level, in_library = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, HLUA_LIBRARY_KEY);
  lib = lua_tolstring(L, -1, &n); /* the registry keeps it */
  lua_pop(L, 1);
  if (lib == NULL) return 1;
  for (level = 1; level <= 64 && lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "S", &ar);
    if (*ar.what == 'C') continue;
    if (strncmp(ar.source, lib, n) != 0) return in_library ? level : 1;
    in_library = 1;
  }
  return 1;
}

/* Message handler: adds a traceback to string errors; an error object with
** __tostring (such as harness.Error) becomes that one line. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, traceback_level(L));
  return 1;
}

int hlua_docall(lua_State *L, int narg, int nres) {
  int status;
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  signal_state = L;
  interrupted = 0;
  signal(SIGINT, on_sigint);
  status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}
