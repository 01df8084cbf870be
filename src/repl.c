/*
** repl.c: the interactive loop.
** As in stock lua: a line is first tried as an expression ('return line'),
** then as a statement, reading continuation lines while the chunk is
** incomplete; values are printed. Unlike stock lua, tables print as JSON
** (what Harness objects are), falling back to tostring when they cannot.
** readline gives line editing and, with a terminal, a history kept across
** sessions in $XDG_STATE_HOME/hlua/history.
*/
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

#define PROMPT "> "
#define PROMPT2 ">> "
#define EOF_MARK "<eof>"
#define HISTORY_LINES 1000

/* What reading a line gave. */
enum { LINE_EOF, LINE_READ, LINE_INTERRUPTED };

/* readline's completion callback takes no user data, so the Lua thread it
** completes in is kept here while the REPL runs. A thread of its own, as
** the main stack holds the prompt and the chunk being read meanwhile. */
static lua_State *completion_state = NULL;

/* The history file ("" when there is none): each line is appended as it is
** entered, so what was typed survives however the session ends. */
static char history_file[4096];

/* Reading a line at a terminal goes through readline's callback
** interface, so that Ctrl-C at the prompt can drop the line and give a
** fresh prompt (as shells and Python do) instead of ending hlua. Its
** handler only sets the flag; the line comes back through 'got_line'. */
static volatile sig_atomic_t prompt_interrupted = 0;
static char *got_line;
static int line_done;

/* History file path in 'buf' (creating its directory); 0 if there is none. */
static int history_path(char *buf, size_t size) {
  const char *state = getenv("XDG_STATE_HOME");
  const char *home = getenv("HOME");
  char dir[4096];
  if (state && state[0])
    snprintf(dir, sizeof dir, "%s/hlua", state);
  else if (home && home[0])
    snprintf(dir, sizeof dir, "%s/.local/state/hlua", home);
  else
    return 0;
  if (snprintf(buf, size, "%s/history", dir) >= (int)size) return 0;
  if (mkdir(dir, 0700) != 0) { /* parents may be missing: make them */
    char *p;
    for (p = dir + 1; *p; p++)
      if (*p == '/') {
        *p = '\0';
        mkdir(dir, 0700);
        *p = '/';
      }
    mkdir(dir, 0700);
  }
  return 1;
}

static const char *get_prompt(lua_State *L, int firstline) {
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") == LUA_TNIL)
    return firstline ? PROMPT : PROMPT2;
  else {
    const char *p = luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    return p;
  }
}

static void on_prompt_sigint(int sig) {
  (void)sig;
  prompt_interrupted = 1;
}

static void line_handler(char *line) {
  got_line = line;
  line_done = 1;
  rl_callback_handler_remove();
}

/* A line from the terminal (NULL at end of input), or LINE_INTERRUPTED in
** *how when Ctrl-C dropped it. */
static char *read_tty_line(const char *prompt, int *how) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_sigint; /* no SA_RESTART: select returns */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);
  prompt_interrupted = 0;
  line_done = 0;
  got_line = NULL;
  *how = LINE_READ;
  rl_callback_handler_install(prompt, line_handler);
  while (!line_done) {
    fd_set fds;
    int fd = fileno(rl_instream ? rl_instream : stdin);
    FD_ZERO(&fds);
    FD_SET(fd, &fds);
    if (select(fd + 1, &fds, NULL, NULL, NULL) < 0 && errno != EINTR) break;
    if (prompt_interrupted) {
      rl_free_line_state();
      rl_callback_sigcleanup();
      rl_callback_handler_remove();
      fputs("^C\n", stdout);
      *how = LINE_INTERRUPTED;
      break;
    }
    if (FD_ISSET(fd, &fds)) rl_callback_read_char();
  }
  sigaction(SIGINT, &old, NULL);
  return got_line;
}

/* Reads a line into a new string on the stack; LINE_EOF at end of input.
** readline is used even when stdin is not a terminal, as stock lua does
** (it echoes the line then), so piped sessions look the same. */
static int read_line(lua_State *L, const char *prompt) {
  int how = LINE_READ;
  char *line = isatty(STDIN_FILENO) ? read_tty_line(prompt, &how) : readline(prompt);
  if (how == LINE_INTERRUPTED) {
    free(line);
    return LINE_INTERRUPTED;
  }
  if (line == NULL) return LINE_EOF;
  lua_pushstring(L, line);
  free(line);
  return LINE_READ;
}

/* Pushes the next line of input, with '=' at the start of a first line
** meaning 'return' (as lua does); returns what read_line gave. */
static int pushline(lua_State *L, int firstline) {
  const char *prompt = get_prompt(L, firstline);
  int got = read_line(L, prompt);
  lua_remove(L, got == LINE_READ ? -2 : -1); /* the prompt */
  if (got != LINE_READ) return got;
  if (firstline && lua_tostring(L, -1)[0] == '=') {
    lua_pushfstring(L, "return %s", lua_tostring(L, -1) + 1);
    lua_remove(L, -2);
  }
  return LINE_READ;
}

/* Keeps a line in the history, and in the history file at once. */
static void save_line(const char *line) {
  if (line[0] == '\0') return;
  add_history(line);
  if (history_file[0]) append_history(1, history_file);
}

/* Tries the line on top as 'return line;'. */
static int addreturn(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  if (status == LUA_OK) {
    lua_remove(L, -2);
    save_line(line);
  } else
    lua_pop(L, 2);
  return status;
}

/* A syntax error ending in <eof> means the chunk may continue. */
static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t lmsg;
    const char *msg = lua_tolstring(L, -1, &lmsg);
    size_t lmark = sizeof(EOF_MARK) - 1;
    if (lmsg >= lmark && strcmp(msg + lmsg - lmark, EOF_MARK) == 0) {
      lua_pop(L, 1);
      return 1;
    }
  }
  return 0;
}

/* What loadline gives besides a load status. */
#define END_OF_INPUT (-1)
#define DROPPED (-2) /* Ctrl-C dropped the statement being typed */

/* Reads continuation lines until the chunk at index 1 compiles or fails. */
static int multiline(lua_State *L) {
  for (;;) {
    size_t len;
    const char *line = lua_tolstring(L, 1, &len);
    int status = luaL_loadbuffer(L, line, len, "=stdin");
    int got;
    if (!incomplete(L, status)) {
      save_line(line);
      return status;
    }
    got = pushline(L, 0);
    if (got == LINE_INTERRUPTED) return DROPPED;
    if (got == LINE_EOF) {
      save_line(line);
      return luaL_loadbuffer(L, line, len, "=stdin");
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Reads and compiles one statement; END_OF_INPUT at end of input, DROPPED
** when Ctrl-C dropped it. */
static int loadline(lua_State *L) {
  int status, got;
  lua_settop(L, 0);
  got = pushline(L, 1);
  if (got == LINE_EOF) return END_OF_INPUT;
  if (got == LINE_INTERRUPTED) return DROPPED;
  if ((status = addreturn(L)) != LUA_OK) status = multiline(L);
  if (status == DROPPED) return DROPPED;
  lua_remove(L, 1);
  return status;
}

/* Prints the values the statement left on the stack through the global
** 'print', as lua does (a script may replace it); tables that JSON can
** show are given to it as their JSON text. As in lua's REPL, messages
** carry no program name. */
static void print_results(lua_State *L) {
  int i, n = lua_gettop(L);
  if (n == 0) return;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  for (i = 1; i <= n; i++) hlua_display_table(L, i, 1);
  lua_getglobal(L, "print");
  lua_insert(L, 1);
  if (lua_pcall(L, n, 0, 0) != LUA_OK) {
    fprintf(stderr, "error calling 'print' (%s)\n", lua_tostring(L, -1));
    fflush(stderr);
    lua_pop(L, 1);
  }
}

/* Prints the error message on top of the stack, if any, and pops it. */
static void report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
  }
}

/* ---------- Tab completion of globals and fields ---------- */

/* Adds to the list at index 'list' the string keys of the table at index
** 'from' that start with 'prefix'; returns the new length of the list. */
static int add_matches(lua_State *L, int from, int list, const char *prefix, size_t plen,
                       int out) {
  lua_pushnil(L);
  while (lua_next(L, from)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING && strncmp(lua_tostring(L, -1), prefix, plen) == 0) {
      lua_pushvalue(L, -1);
      lua_rawseti(L, list, ++out);
    }
  }
  return out;
}

/* Pushes the candidate names of the table whose path is 'path' (length n,
** e.g. "harness.json" or "" for _G) that start with 'prefix', as a
** sequence of strings: its own keys, the names its metatable declares as
** loaded on demand (__names, as the harness table has) and the keys of an
** __index table. Runs protected: __index may load modules or fail. */
static int collect_candidates(lua_State *L) {
  static const char *const more[] = {"__names", "__index"};
  size_t n, plen;
  const char *path = luaL_checklstring(L, 1, &n);
  const char *prefix = luaL_checklstring(L, 2, &plen);
  const char *p = path, *dot;
  int out = 0, i;
  lua_pushglobaltable(L);
  while (p < path + n) { /* walk the path one field at a time */
    dot = memchr(p, '.', (size_t)(path + n - p));
    if (dot == NULL) dot = path + n;
    lua_pushlstring(L, p, (size_t)(dot - p));
    if (lua_gettable(L, -2) != LUA_TTABLE) return 0;
    lua_remove(L, -2);
    p = dot + 1;
  }
  lua_replace(L, 1); /* the table at 1, the list at 3 */
  lua_newtable(L);
  out = add_matches(L, 1, 3, prefix, plen, out);
  for (i = 0; i < 2; i++) {
    int t = luaL_getmetafield(L, 1, more[i]);
    if (t == LUA_TTABLE) out = add_matches(L, 4, 3, prefix, plen, out);
    if (t != LUA_TNIL) lua_pop(L, 1);
  }
  return 1;
}

/* The i-th completion of 'text' (a Lua name path like "harness.pi"). */
static char *completion_generator(const char *text, int state) {
  static int next, total; /* readline's protocol calls back with state 0, 1, 2... */
  lua_State *L = completion_state;
  const char *sep = strrchr(text, '.');
  const char *colon = strrchr(text, ':');
  size_t head;
  if (colon && (!sep || colon > sep)) sep = colon;
  head = sep ? (size_t)(sep - text) : 0;
  if (state == 0) {
    lua_settop(L, 0);
    lua_pushcfunction(L, collect_candidates);
    lua_pushlstring(L, text, head);
    lua_pushstring(L, sep ? sep + 1 : text);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
      lua_settop(L, 0);
      return NULL;
    }
    next = 0;
    total = (int)lua_rawlen(L, -1);
  }
  if (lua_gettop(L) == 0 || next >= total) {
    lua_settop(L, 0);
    return NULL;
  }
  lua_rawgeti(L, -1, ++next);
  {
    const char *name = lua_tostring(L, -1);
    size_t len = strlen(name);
    char *match = malloc(head + 1 + len + 1);
    if (match) {
      memcpy(match, text, head + (sep ? 1 : 0));
      memcpy(match + head + (sep ? 1 : 0), name, len + 1);
    }
    lua_pop(L, 1);
    return match;
  }
}

static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  rl_completion_append_character = '\0';
  return rl_completion_matches(text, completion_generator);
}

void hlua_repl(lua_State *L) {
  int completion_ref, status, tty = isatty(STDIN_FILENO);
  int has_hist = tty && history_path(history_file, sizeof history_file);
  rl_readline_name = "hlua";
  completion_state = lua_newthread(L);
  completion_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  rl_attempted_completion_function = complete;
  rl_basic_word_break_characters = " \t\n\"\\'><=;+-*/%^~#{}()[],";
  if (!has_hist) history_file[0] = '\0';
  if (has_hist && read_history(history_file) != 0) {
    /* no file yet: make it (0600: what is typed may be private) so that
    ** each line can be appended to it */
    int fd = open(history_file, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) close(fd);
  }
  /* the harness table's names, for completion (errors show on first use) */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "harness.namespace");
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
  while ((status = loadline(L)) != END_OF_INPUT) {
    if (status == DROPPED) continue;
    if (status == LUA_OK) status = hlua_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK)
      print_results(L);
    else
      report(L, status);
  }
  lua_settop(L, 0);
  luaL_unref(L, LUA_REGISTRYINDEX, completion_ref);
  completion_state = NULL;
  fputc('\n', stdout);
  fflush(stdout);
  if (has_hist) history_truncate_file(history_file, HISTORY_LINES);
}
