/*
** interrupt.c: Ctrl-C, and running a chunk the way lua.c does.
** A chunk runs under 'hlua_docall': a message handler that adds the
** traceback, and SIGINT armed. The first Ctrl-C sets a flag and a hook that
** raises "interrupted!" at the next step of Lua code; the flag also reaches
** code that waits outside Lua (the HTTP module's poll, host.sleep), which
** reads it through a pointer in the registry. A second Ctrl-C kills the
** process, as in lua.c. Depends on errors.c (the error it raises).
*/
#include <signal.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

/* The one mutable global of the host: a signal handler can reach nothing
** else. 'signal_state' is the state whose code the hook stops. */
static volatile sig_atomic_t interrupted = 0;
static lua_State *signal_state = NULL;

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

/* First Ctrl-C: flag it and stop the Lua code at its next step; the
** handler is reset, so a second one kills the process. */
static void on_sigint(int sig) {
  int flag = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  signal(sig, SIG_DFL);
  interrupted = 1;
  if (signal_state) lua_sethook(signal_state, stop_hook, flag, 1);
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
  luaL_traceback(L, L, msg, 1);
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
