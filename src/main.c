/*
** main.c: the command line, shaped like lua.c.
** hlua behaves like the stock lua 5.4 interpreter (same options, order of
** execution, 'arg' table, messages and exit codes) so that shebang lines
** and tools built for lua work unchanged. It adds -p, the configuration
** overrides (--profile, --endpoint, ...), --trace, --help and --version.
** Two deliberate differences: a script piped on stdin that fails exits 1
** (lua exits 0), and Ctrl-C that ends the script exits 130.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>
#include <curl/curlver.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "hlua.h"

/* Bits of what the command line asks for. */
#define OPT_ERROR 1   /* bad option */
#define OPT_REPL 2    /* -i */
#define OPT_VERSION 4 /* -v (or -i) */
#define OPT_CHUNK 8   /* -e or -p: code to run, so no REPL by default */
#define OPT_NOENV 16  /* -E */
#define OPT_HELP 32   /* --help */
#define OPT_VERSIONS 64 /* --version */
#define OPT_DOC 128     /* --doc NAME */
#define OPT_YAML 256    /* --yaml: -p prints tables as YAML */

static const char *progname = "hlua";
static int print_yaml = 0; /* --yaml */

/* The long options that take a value, and the configuration key each sets
** (--doc sets none: it asks for a reference). */
static const char *const value_options[][2] = {
    {"--profile", "profile"}, {"--endpoint", "endpoint"}, {"--account", "account"},
    {"--org", "org"},         {"--project", "project"},   {"--doc", NULL},
    {NULL, NULL}};

static void l_message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

/* Prints the error message on top of the stack, if any, and pops it. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    l_message(progname, msg ? msg : "(error object is not a string)");
    lua_pop(L, 1);
  }
  return status;
}

static void print_version(void) {
  fputs(LUA_COPYRIGHT "\n", stdout);
  fflush(stdout);
}

/* Returns the index of the long option 'opt' in value_options, or -1. */
static int value_option(const char *opt) {
  int i;
  for (i = 0; value_options[i][0]; i++) {
    size_t n = strlen(value_options[i][0]);
    if (strncmp(opt, value_options[i][0], n) == 0 && (opt[n] == '\0' || opt[n] == '='))
      return i;
  }
  return -1;
}

static void print_usage(const char *badoption) {
  fprintf(stderr, "%s: ", progname);
  if (badoption[1] == 'e' || badoption[1] == 'l' || badoption[1] == 'p' ||
      value_option(badoption) >= 0)
    fprintf(stderr, "'%s' needs argument\n", badoption);
  else
    fprintf(stderr, "unrecognized option '%s'\n", badoption);
  fprintf(stderr,
          "usage: %s [options] [script [args]]\n"
          "Available options are:\n"
          "  -e stat   execute string 'stat'\n"
          "  -i        enter interactive mode after executing 'script'\n"
          "  -l mod    require library 'mod' into global 'mod'\n"
          "  -l g=mod  require library 'mod' into global 'g'\n"
          "  -v        show version information\n"
          "  -E        ignore environment variables\n"
          "  -W        turn warnings on\n"
          "  --        stop handling options\n"
          "  -         stop handling options and execute stdin\n",
          progname);
  fflush(stderr);
}

static void print_help(void) {
  fputs(
      "usage: hlua [options] [script [args]]\n"
      "Runs a Lua 5.4 script with the 'harness' module built in.\n"
      "\n"
      "Options (as in lua):\n"
      "  -e stat          execute string 'stat'\n"
      "  -p expr          evaluate 'expr' and print its values (tables as JSON)\n"
      "  --yaml           -p prints tables as YAML\n"
      "  -i               enter interactive mode after executing 'script'\n"
      "  -l mod           require library 'mod' into global 'mod'\n"
      "  -l g=mod         require library 'mod' into global 'g'\n"
      "  -v               show Lua's version information\n"
      "  -E               ignore environment variables (LUA_INIT, LUA_PATH, HLUA_PATH)\n"
      "  -W               turn warnings on\n"
      "  --               stop handling options\n"
      "  -                stop handling options and execute stdin\n"
      "Options of hlua:\n"
      "  --profile NAME   use that profile of the config file\n"
      "  --endpoint URL   Harness endpoint (default https://app.harness.io)\n"
      "  --account ID     account identifier (default: from the API key)\n"
      "  --org ID         default organization\n"
      "  --project ID     default project\n"
      "  --trace          log every HTTP exchange to stderr\n"
      "  --dry-run        send the reads, print the changes instead of sending them\n"
      "                   (exit 2 when some were held back)\n"
      "  --doc NAME       show the reference of a harness name and exit\n"
      "                   (hlua --doc harness, --doc harness.pipelines.run,\n"
      "                   --doc harness.api.Token.RotateToken)\n"
      "  --help           show this help\n"
      "  --version        show the versions of hlua, Lua, libcurl and cJSON\n"
      "\n"
      "Environment:\n"
      "  HARNESS_API_KEY (or HARNESS_PLATFORM_API_KEY), HARNESS_API_KEY_FILE,\n"
      "  HARNESS_ENDPOINT, HARNESS_ACCOUNT_ID, HARNESS_ORG_ID, HARNESS_PROJECT_ID,\n"
      "  HARNESS_PROFILE, HARNESS_CA_BUNDLE, HARNESS_TRACE (1 or 2),\n"
      "  HARNESS_LOG (debug, info, warn, error), HARNESS_TIMEOUT (seconds, 60),\n"
      "  HARNESS_RETRIES (5), HARNESS_MAX_IN_FLIGHT (32), HARNESS_MAX_SIZE (bytes),\n"
      "  HLUA_PATH (where 'require' looks after the script's folder),\n"
      "  LUA_INIT_5_4, LUA_INIT, LUA_PATH, LUA_CPATH (as in lua).\n"
      "Config file: $XDG_CONFIG_HOME/hlua/config.json (~/.config/hlua/config.json).\n"
      "The API key is never taken from the command line.\n",
      stdout);
}

/* --version: the HTTP module reports the libcurl it runs with; without it,
** the libcurl hlua was built against. */
static void print_versions(lua_State *L) {
  const char *curl = "libcurl " LIBCURL_VERSION;
  lua_getglobal(L, "require");
  lua_pushliteral(L, "hlua_http");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1) &&
      lua_getfield(L, -1, "curl_version") == LUA_TSTRING)
    curl = lua_pushfstring(L, "libcurl %s", lua_tostring(L, -1));
  printf("hlua %s\n%s\n%s\ncJSON %s\n", HLUA_VERSION, LUA_RELEASE, curl, cJSON_Version());
  lua_settop(L, 0);
}

/* Checks a '--' option at argv[*i]; returns the bits to add, or OPT_ERROR. */
static int collect_long(char **argv, int *i) {
  const char *opt = argv[*i];
  if (strcmp(opt, "--trace") == 0 || strcmp(opt, "--dry-run") == 0) return 0;
  if (strcmp(opt, "--yaml") == 0) return OPT_YAML;
  if (strcmp(opt, "--help") == 0) return OPT_HELP;
  if (strcmp(opt, "--version") == 0) return OPT_VERSIONS;
  if (value_option(opt) < 0) return OPT_ERROR;
  if (strchr(opt, '=') == NULL) {
    if (argv[*i + 1] == NULL) return OPT_ERROR;
    (*i)++;
  }
  return value_options[value_option(opt)][1] == NULL ? OPT_DOC : 0;
}

/*
** Traverses the options, checking them. Returns the OPT_ bits; '*first'
** gets the index of the first argument that is not an option (the script,
** if any), or of the bad option when OPT_ERROR is set.
*/
static int collectargs(char **argv, int *first) {
  int args = 0, i;
  if (argv[0] == NULL) {
    *first = -1;
    return 0;
  }
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args;
    switch (argv[i][1]) {
      case '-':
        if (argv[i][2] == '\0') {
          *first = i + 1;
          return args;
        } else {
          int more = collect_long(argv, &i);
          if (more & OPT_ERROR) return OPT_ERROR;
          args |= more;
        }
        break;
      case '\0': return args;
      case 'E':
        if (argv[i][2] != '\0') return OPT_ERROR;
        args |= OPT_NOENV;
        break;
      case 'W':
        if (argv[i][2] != '\0') return OPT_ERROR;
        break;
      case 'i':
        args |= OPT_REPL; /* -i implies -v */
        /* FALLTHROUGH */
      case 'v':
        if (argv[i][2] != '\0') return OPT_ERROR;
        args |= OPT_VERSION;
        break;
      case 'e':
      case 'p':
        args |= OPT_CHUNK; /* -e, -p and -l all need an argument */
        /* FALLTHROUGH */
      case 'l':
        if (argv[i][2] == '\0') {
          i++;
          if (argv[i] == NULL || argv[i][0] == '-') return OPT_ERROR;
        }
        break;
      default: return OPT_ERROR;
    }
  }
  *first = i;
  return args;
}

/* Stores a configuration option in the table on top of the stack. */
static void store_long_option(lua_State *L, char **argv, int *i) {
  const char *opt = argv[*i];
  int k = value_option(opt);
  if (k >= 0 && value_options[k][1] == NULL) {
    if (strchr(opt, '=') == NULL) (*i)++; /* --doc: not configuration */
  } else if (k >= 0) {
    const char *eq = strchr(opt, '=');
    lua_pushstring(L, eq ? eq + 1 : argv[++(*i)]);
    lua_setfield(L, -2, value_options[k][1]);
  } else if (strcmp(opt, "--trace") == 0 || strcmp(opt, "--dry-run") == 0) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, opt[2] == 't' ? "trace" : "dry_run");
  }
}

/* package.loaded["hlua.cli"]: the configuration options of the command
** line, where lua/harness/config.lua reads them. */
static void store_cli_options(lua_State *L, char **argv, int script) {
  int i;
  lua_newtable(L);
  for (i = 1; i < script; i++) {
    if (argv[i][0] == '-' && argv[i][1] == '-' && argv[i][2] != '\0')
      store_long_option(L, argv, &i);
    else if (strchr("elp", argv[i][1]) && argv[i][2] == '\0')
      i++; /* skip the argument of -e, -l, -p */
  }
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_insert(L, -2);
  lua_setfield(L, -2, "hlua.cli");
  lua_pop(L, 1);
}

/* Creates the global 'arg': the script name at index 0, what comes before
** it at negative indices, its arguments at positive ones. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  int i, narg;
  if (script == argc) script = 0;
  narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = hlua_docall(L, 0, 0);
  return report(L, status);
}

static int dofile(lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -p: evaluates an expression and prints each of its values. */
static int doprint(lua_State *L, const char *expr) {
  int status, base = lua_gettop(L);
  const char *chunk = lua_pushfstring(L, "return %s", expr);
  status = luaL_loadbuffer(L, chunk, strlen(chunk), "=(command line)");
  lua_remove(L, -2);
  if (status == LUA_OK) status = hlua_docall(L, 0, LUA_MULTRET);
  if (status == LUA_OK) {
    int n = lua_gettop(L) - base;
    lua_pushcfunction(L, hlua_print_values);
    lua_insert(L, base + 1);
    if (print_yaml && n > 0) {   /* print's options follow values */
      lua_createtable(L, 0, 1);
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "yaml");
      n++;
    }
    status = hlua_docall(L, n, 0);
  }
  return report(L, status);
}

/* --doc NAME: prints the reference of a harness name (harness.doc);
** returns whether there is one. */
static int dodoc(lua_State *L, char **argv, int n) {
  int i, status;
  const char *name = NULL;
  for (i = 1; i < n && name == NULL; i++) {
    if (strncmp(argv[i], "--doc", 5) != 0) continue;
    name = argv[i][5] == '=' ? argv[i] + 6 : argv[i + 1];
  }
  lua_getglobal(L, "require");
  lua_pushliteral(L, "harness.doc");
  status = hlua_docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_getfield(L, -1, "show");
    lua_pushstring(L, name);
    status = hlua_docall(L, 1, 1);
  }
  if (report(L, status) != LUA_OK) return 0;
  return lua_toboolean(L, -1);
}

/* -l: requires a module into a global, 'g=mod' naming the global. */
static int dolibrary(lua_State *L, char *globname) {
  int status;
  char *modname = strchr(globname, '=');
  if (modname == NULL)
    modname = globname;
  else {
    *modname = '\0';
    modname++;
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  status = hlua_docall(L, 1, 1);
  if (status == LUA_OK) lua_setglobal(L, globname);
  return report(L, status);
}

/* Pushes the script's arguments (arg[1..n]); returns n. */
static int pushargs(lua_State *L) {
  int i, n;
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -i);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  int status;
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL;
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = hlua_docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

/* After the last chunk: the tasks a script spawned and left run to their
** end (as Node and asyncio do), and a task error nobody waited for fails
** the run. Returns 0 then (or when the tasks raised). Nothing to do when
** the script never used tasks (the scheduler is not even loaded). */
static int finish_tasks(lua_State *L) {
  int status, ok;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "harness.sched") != LUA_TTABLE) {
    lua_pop(L, 2);
    return 1;
  }
  lua_getfield(L, -1, "drain");
  lua_remove(L, -2);
  lua_remove(L, -2);
  status = hlua_docall(L, 0, 1);
  if (report(L, status) != LUA_OK) return 0;
  ok = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return ok;
}

/* In a dry run (the library's harness.dryrun was used): its last line, how
** many changes were held back; returns whether there were any (0 also when
** there was no dry run). */
static int dry_run_summary(lua_State *L) {
  lua_Integer held = 0;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  if (lua_getfield(L, -1, "harness.config") == LUA_TTABLE &&
      lua_getfield(L, -1, "dry_run_active") == LUA_TFUNCTION) {
    if (lua_pcall(L, 0, 1, 0) == LUA_OK && lua_toboolean(L, -1) &&
        lua_getfield(L, -3, "harness.dryrun") == LUA_TTABLE &&
        lua_getfield(L, -1, "summary") == LUA_TFUNCTION && lua_pcall(L, 0, 1, 0) == LUA_OK)
      held = lua_tointeger(L, -1);
  }
  lua_settop(L, 0);
  return held > 0;
}

/* Runs -e, -p, -l and -W in the order given; returns 0 at the first failure. */
static int runargs(lua_State *L, char **argv, int n) {
  int i;
  for (i = 1; i < n; i++) {
    int option = argv[i][1];
    if (option == '-') { /* a long option: skip its value */
      if (value_option(argv[i]) >= 0 && strchr(argv[i], '=') == NULL) i++;
      continue;
    }
    if (option == 'e' || option == 'l' || option == 'p') {
      int status;
      char *extra = argv[i] + 2;
      if (*extra == '\0') extra = argv[++i];
      status = option == 'e'   ? dostring(L, extra, "=(command line)")
               : option == 'p' ? doprint(L, extra)
                               : dolibrary(L, extra);
      if (status != LUA_OK) return 0;
    } else if (option == 'W') {
      lua_warning(L, "@on", 0);
    }
  }
  return 1;
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* Main body of the interpreter, run protected (see main). */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script;
  int args = collectargs(argv, &script);
  int optlim = (script > 0) ? script : argc;
  luaL_checkversion(L);
  if (args == OPT_ERROR) {
    print_usage(argv[script]);
    return 0;
  }
  if (args & OPT_HELP) {
    print_help();
    lua_pushboolean(L, 1);
    return 1;
  }
  if (args & OPT_VERSION) print_version();
  print_yaml = (args & OPT_YAML) != 0;
  if (args & OPT_NOENV) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  createargtable(L, argv, argc, script);
  store_cli_options(L, argv, optlim);
  hlua_interrupt_publish(L);
  hlua_open_paths(L, script > 0 && script < argc ? argv[script] : NULL, (args & OPT_NOENV) != 0);
  hlua_open_harness(L);
  if (args & OPT_VERSIONS) {
    print_versions(L);
    lua_pushboolean(L, 1);
    return 1;
  }
  if (args & OPT_DOC) {
    lua_pushboolean(L, dodoc(L, argv, optlim));
    return 1;
  }
  lua_gc(L, LUA_GCRESTART);
  lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & OPT_NOENV) && handle_luainit(L) != LUA_OK) return 0;
  if (!runargs(L, argv, optlim)) return 0;
  if (script < argc && handle_script(L, argv + script) != LUA_OK) return 0;
  if (!finish_tasks(L)) return 0;
  if (args & OPT_REPL)
    hlua_repl(L);
  else if (script == argc && !(args & (OPT_CHUNK | OPT_VERSION))) {
    if (isatty(STDIN_FILENO)) {
      print_version();
      hlua_repl(L);
    } else if (dofile(L, NULL) != LUA_OK)
      return 0;
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  int status, result, held;
  lua_State *L;
  if (argv[0] && argv[0][0]) progname = argv[0];
  /* 'hlua -p ... | head -1': when the reader goes away, end quietly as cat
  ** and grep do, killed by SIGPIPE, even if the parent left it ignored
  ** (then every write would fail and a script could print "Broken pipe").
  ** Sockets never raise it: libcurl sends with MSG_NOSIGNAL. */
  signal(SIGPIPE, SIG_DFL);
  L = luaL_newstate();
  if (L == NULL) {
    l_message(progname, "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  result = lua_toboolean(L, -1);
  report(L, status);
  held = dry_run_summary(L);
  lua_close(L);
  if (hlua_interrupted() && !(result && status == LUA_OK)) return 130;
  if (!(result && status == LUA_OK)) return EXIT_FAILURE;
  return held ? 2 : EXIT_SUCCESS; /* 2: a dry run held changes back */
}
