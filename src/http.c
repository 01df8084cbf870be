/*
** http.c: the module hlua_http, HTTP transfers on one libcurl multi handle.
**
** Private primitives for lua/harness/client.lua and lua/harness/sched.lua:
**   curl_version                    the libcurl in use ("7.88.1")
**   client([opts]) -> client        one multi handle: connection cache,
**                                   keep-alive, TLS sessions, HTTP/2
**   client:start(req) -> id         adds a transfer; never blocks
**   client:poll(seconds) -> list    drives the transfers; returns those that
**                                   finished (or {} when the time is up)
**   client:cancel(id) -> bool       drops a transfer in flight
**   client:pending() -> n           transfers in flight
**   client:close()                  also __gc and __close; safe twice
**   parse_head(raw) -> status, headers  the header parser, for tests
**
** The policy (key, redirects, retries, errors users see) is Lua's; C moves
** bytes. Nothing here raises inside a libcurl callback: callbacks only set
** flags that poll turns into results. All state lives in the client
** userdata; there are no C globals.
**
** Lua code can run inside start and poll: any allocation may run a __gc
** finalizer, and a finalizer may use the client. So start and poll never
** hold a transfer that such code could free: start prepares its transfer
** under a protected call and frees it itself on error; poll first moves
** the finished transfers to a list of their own, then hands them over.
** A poll inside a poll, and a close inside either, are refused.
**
** The module needs nothing of the executable, so it also loads in stock
** lua5.4: Ctrl-C reaches it as a flag whose address hlua's host stores in
** the registry (HLUA_INTERRUPT_KEY), read when a client is made; without
** that entry, transfers are never interrupted from here.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <signal.h>
#include <time.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

#define CLIENT_MT "hlua.http.client"
#define GUARD_MT "hlua.http.global"
#define HEADER_CAP (256 * 1024) /* response headers kept at most */
#define POLL_SLICE_MS 100       /* how often poll looks at Ctrl-C */

/* A transfer is PREPARING until client:start has added it to the multi
** handle, then IN_FLIGHT, then FINISHED ('code', or 'kind', is the outcome)
** and moved to the client's 'done' list by poll. */
enum { PREPARING, IN_FLIGHT, FINISHED };

typedef struct Transfer {
  struct Transfer *next, *prev;
  CURL *easy;
  struct curl_slist *headers;
  lua_Integer id;
  char *body;            /* response body, grown as it arrives */
  size_t len, cap;
  char *head;            /* raw header lines of the last response */
  size_t hlen, hcap;
  curl_off_t max_size;   /* 0: no cap */
  int too_large, no_memory;
  int no_replay;         /* the request must not be sent twice */
  int attempts;          /* times libcurl was about to send it */
  int replay_refused;    /* on_prereq stopped a second sending */
  int state;             /* PREPARING, IN_FLIGHT or FINISHED */
  CURLcode code;
  const char *kind;      /* set when hlua, not curl, ended it */
  char errbuf[CURL_ERROR_SIZE];
} Transfer;

typedef struct Client {
  CURLM *multi;
  CURLSH *share;
  Transfer *list;        /* transfers being prepared, in flight or just finished */
  Transfer *done;        /* finished, being handed over by poll */
  lua_Integer next_id;
  int polling;           /* inside poll */
  int starting;          /* inside start (nested starts count) */
  volatile sig_atomic_t *interrupted; /* the host's Ctrl-C flag, or NULL */
} Client;

/* ---------- buffers, filled by the callbacks ---------- */

/* Appends n bytes to *buf, growing it by doubling but never past 'limit'
** (0: none) unless the bytes need it; returns 0 when memory ran out. */
static int append(char **buf, size_t *len, size_t *cap, const char *p, size_t n,
                  size_t limit) {
  if (*len + n > *cap) {
    size_t ncap = *cap ? *cap : 1024;
    char *nbuf;
    while (ncap < *len + n) ncap *= 2;
    if (limit > 0 && ncap > limit) ncap = limit > *len + n ? limit : *len + n;
    nbuf = realloc(*buf, ncap);
    if (nbuf == NULL) return 0;
    *buf = nbuf;
    *cap = ncap;
  }
  memcpy(*buf + *len, p, n);
  *len += n;
  return 1;
}

/* CURLOPT_WRITEFUNCTION: keeps the body; stops past the size cap without
** allocating what is past it (returning less than n aborts the transfer). */
static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  Transfer *t = ud;
  n *= size;
  if (t->max_size > 0 && (curl_off_t)(t->len + n) > t->max_size) {
    t->too_large = 1;
    return 0;
  }
  if (!append(&t->body, &t->len, &t->cap, p, n, (size_t)t->max_size)) {
    t->no_memory = 1;
    return 0;
  }
  return n;
}

/* CURLOPT_HEADERFUNCTION: keeps the header lines of the last response
** (a status line starts over, so 100 Continue and the like vanish). */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  Transfer *t = ud;
  n *= size;
  if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) t->hlen = 0;
  if (t->hlen + n > HEADER_CAP) return n; /* absurd headers: keep the first */
  if (!append(&t->head, &t->hlen, &t->hcap, p, n, HEADER_CAP)) {
    t->no_memory = 1;
    return 0;
  }
  return n;
}

/* CURLOPT_PREREQFUNCTION: called each time the request is about to go
** out. A second time for one transfer is libcurl sending it again on a new
** connection, unasked, because the reused one closed without an answer:
** the server may have read and acted on it. Refused for a request that
** must not run twice; the Lua layer's retry rules decide instead. */
static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port,
                     int local_port) {
  Transfer *t = ud;
  (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
  if (++t->attempts > 1 && t->no_replay) {
    t->replay_refused = 1;
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

/* ---------- transfers ---------- */

static Client *check_client(lua_State *L) {
  Client *c = luaL_checkudata(L, 1, CLIENT_MT);
  if (c->multi == NULL) luaL_error(L, "attempt to use a closed http client");
  return c;
}

/* Unlinks t from the client's list. */
static void unlink_transfer(Client *c, Transfer *t) {
  if (t->prev) t->prev->next = t->next;
  else c->list = t->next;
  if (t->next) t->next->prev = t->prev;
  t->next = t->prev = NULL;
}

/* Frees t (linked nowhere), detaching it from the multi handle. */
static void destroy_transfer(Client *c, Transfer *t) {
  if (t->easy) {
    curl_multi_remove_handle(c->multi, t->easy); /* harmless when not added */
    curl_easy_cleanup(t->easy);
  }
  curl_slist_free_all(t->headers);
  free(t->body);
  free(t->head);
  free(t);
}

/* Unlinks t from the client's list and frees it. */
static void free_transfer(Client *c, Transfer *t) {
  unlink_transfer(c, t);
  destroy_transfer(c, t);
}

/* Adds one "Name: value" line to the request's header list. */
static int add_header(Transfer *t, const char *line) {
  struct curl_slist *l = curl_slist_append(t->headers, line);
  if (l == NULL) return 0;
  t->headers = l;
  return 1;
}

/* Reads req.headers (at index 'req'): an array of "Name: value" lines or a
** map name -> value. Raises on a malformed entry; t is owned by the client. */
static void set_headers(lua_State *L, int req, Transfer *t) {
  int ok = 1;
  if (lua_getfield(L, req, "headers") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  luaL_argexpected(L, lua_istable(L, -1), 2, "headers as a table");
  lua_pushnil(L);
  while (ok && lua_next(L, -2)) {
    if (lua_type(L, -2) == LUA_TNUMBER) {
      const char *line = lua_tostring(L, -1);
      luaL_argcheck(L, line && strchr(line, ':'), 2, "header lines are \"Name: value\"");
      ok = add_header(t, line);
    } else {
      const char *name = lua_tostring(L, -2), *value = lua_tostring(L, -1);
      luaL_argcheck(L, name && value, 2, "header names and values must be strings");
      /* "Name;" is curl's way to send a header with an empty value */
      ok = add_header(t, lua_pushfstring(L, value[0] ? "%s: %s" : "%s;", name, value));
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (!ok) luaL_error(L, "not enough memory");
  lua_pop(L, 1);
}

/* Reads the optional number field 'name' of the request as milliseconds. */
static long opt_ms(lua_State *L, int req, const char *name, long def) {
  lua_Number s;
  int isnum;
  lua_getfield(L, req, name);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return def;
  }
  s = lua_tonumberx(L, -1, &isnum);
  luaL_argcheck(L, isnum && s >= 0, 2, lua_pushfstring(L, "%s must be seconds >= 0", name));
  lua_pop(L, 1);
  if (s > 1e9) s = 1e9; /* past that (and math.huge) the cast would overflow */
  /* a positive time under half a millisecond is 1 ms, not 0 (no limit) */
  return s > 0 && s < 0.001 ? 1 : (long)(s * 1000 + 0.5);
}

/* Is s (of length n) an HTTP method token? It goes on the wire as it is:
** a space or a line break in it would forge the request line or headers. */
static int is_token(const char *s, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch))))
      return 0;
  }
  return 1;
}

/* Sets the method and the body from req.method and req.body: the method
** asked for, whatever the body (libcurl would send a GET with a body as
** POST); HEAD with a body is refused. */
static CURLcode set_method(lua_State *L, int req, Transfer *t) {
  CURL *e = t->easy;
  size_t mlen, blen = 0;
  const char *method = (lua_getfield(L, req, "method"), luaL_optlstring(L, -1, "GET", &mlen));
  const char *body = (lua_getfield(L, req, "body"), lua_tolstring(L, -1, &blen));
  int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0,
      head = strcmp(method, "HEAD") == 0;
  CURLcode rc = CURLE_OK;
  luaL_argcheck(L, is_token(method, mlen), 2, "req.method must be an HTTP method token");
  luaL_argcheck(L, body || lua_isnil(L, -1), 2, "req.body must be a string");
  if (head) {
    luaL_argcheck(L, body == NULL, 2, "req.body: HEAD sends no body");
    rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (body || post) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body ? body : "");
    if (!add_header(t, "Expect:")) rc = CURLE_OUT_OF_MEMORY; /* no 100-continue round trip */
  }
  if (rc == CURLE_OK && !post && !head && (body || !get))
    rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  lua_pop(L, 2);
  return rc;
}

/* Sets what every transfer shares: callbacks, TLS, compression, HTTP/2. */
static CURLcode set_common(Client *c, Transfer *t) {
  CURL *e = t->easy;
  CURLcode rc = CURLE_OK;
#define SET(opt, v) if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, v)
  SET(CURLOPT_PRIVATE, (void *)t);
  SET(CURLOPT_ERRORBUFFER, t->errbuf);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, (void *)t);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)t);
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, (void *)t);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_SHARE, c->share);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 0L); /* redirects are Lua's: the key stays home */
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_ACCEPT_ENCODING, "");
  SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  SET(CURLOPT_PIPEWAIT, 1L);
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_USERAGENT, "hlua/" HLUA_VERSION);
#undef SET
  return rc;
}

/* Sets the options the request table names; raises on misuse. */
static CURLcode set_request(lua_State *L, int req, Transfer *t) {
  CURL *e = t->easy;
  CURLcode rc;
  const char *url = (lua_getfield(L, req, "url"), lua_tostring(L, -1));
  luaL_argcheck(L, url != NULL, 2, "req.url must be a string");
  rc = curl_easy_setopt(e, CURLOPT_URL, url);
  if (strncasecmp(url, "http:", 5) == 0) {
    /* Plain http never multiplexes (HTTP/2 only over TLS), but with PIPEWAIT
    ** a request would wait for another one's whole answer on a new
    ** connection before opening its own: no waiting there. */
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_PIPEWAIT, 0L);
    /* Plain http goes only to loopback with the key; a proxy (http_proxy,
    ** ALL_PROXY) would get every byte of it in clear text: never one. */
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_PROXY, "");
  }
  lua_pop(L, 1);
  if (rc == CURLE_OK) rc = set_method(L, req, t);
  set_headers(L, req, t);
  if (rc == CURLE_OK && t->headers) rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, opt_ms(L, req, "timeout", 0));
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, opt_ms(L, req, "connect_timeout", 10000));
  lua_getfield(L, req, "max_size");
  t->max_size = (curl_off_t)luaL_optinteger(L, -1, 0);
  lua_pop(L, 1);
  if (rc == CURLE_OK && t->max_size > 0)
    rc = curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, t->max_size);
  if (lua_getfield(L, req, "ca_bundle") != LUA_TNIL && rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_CAINFO, luaL_checkstring(L, -1));
  lua_pop(L, 1);
  lua_getfield(L, req, "follow");
  luaL_argcheck(L, !lua_toboolean(L, -1), 2, "req.follow: redirects are followed in Lua");
  lua_pop(L, 1);
  lua_getfield(L, req, "no_replay"); /* see on_prereq */
  t->no_replay = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return rc;
}

/* Sets transfer t (light userdata 3) up from the request (2) of client
** (1); raises on misuse. Runs protected: see client_start. */
static int prepare(lua_State *L) {
  Client *c = lua_touserdata(L, 1);
  Transfer *t = lua_touserdata(L, 3);
  CURLcode rc = set_common(c, t);
  if (rc == CURLE_OK) rc = set_request(L, 2, t);
  if (rc != CURLE_OK) return luaL_error(L, "http: %s", curl_easy_strerror(rc));
  return 0;
}

/* client:start(req) -> id. The transfer is the client's from the start
** (its list), and prepared under a protected call, so that an error
** raised halfway frees it here and nothing else can meanwhile. */
static int client_start(lua_State *L) {
  Client *c = check_client(L);
  Transfer *t;
  CURLMcode mrc;
  int status;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  t = calloc(1, sizeof *t);
  if (t == NULL) return luaL_error(L, "not enough memory");
  t->next = c->list;
  if (c->list) c->list->prev = t;
  c->list = t;
  t->id = ++c->next_id;
  t->easy = curl_easy_init();
  if (t->easy == NULL) {
    free_transfer(c, t);
    return luaL_error(L, "curl_easy_init failed");
  }
  lua_pushcfunction(L, prepare);
  lua_pushlightuserdata(L, c);
  lua_pushvalue(L, 2);
  lua_pushlightuserdata(L, t);
  c->starting++;
  status = lua_pcall(L, 3, 0, 0);
  c->starting--;
  if (status != LUA_OK) {
    free_transfer(c, t);
    return lua_error(L);
  }
  mrc = curl_multi_add_handle(c->multi, t->easy);
  if (mrc != CURLM_OK) {
    free_transfer(c, t);
    return luaL_error(L, "http: %s", curl_multi_strerror(mrc));
  }
  t->state = IN_FLIGHT;
  lua_pushinteger(L, t->id);
  return 1;
}

/* ---------- results ---------- */

/* Pushes the header lines in head[0..len) as {lower-case name = value},
** repeated names joined with ", ". */
static void push_headers(lua_State *L, const char *head, size_t len) {
  const char *p = head, *end = head + len;
  lua_newtable(L);
  while (p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    const char *colon = memchr(p, ':', (size_t)((eol ? eol : end) - p));
    const char *v, *ve = eol ? eol : end;
    if (colon && colon > p && *p != ' ' && *p != '\t') {
      luaL_Buffer b;
      char *name = luaL_buffinitsize(L, &b, (size_t)(colon - p));
      for (size_t i = 0; i < (size_t)(colon - p); i++)
        name[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
      luaL_pushresultsize(&b, (size_t)(colon - p));
      for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++) {}
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      lua_pushvalue(L, -1);
      if (lua_rawget(L, -3) == LUA_TSTRING) {
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, (size_t)(ve - v));
        lua_concat(L, 3);
      } else {
        lua_pop(L, 1);
        lua_pushlstring(L, v, (size_t)(ve - v));
      }
      lua_rawset(L, -3);
    }
    p = eol ? eol + 1 : end;
  }
}

/* The kind of failure a CURLcode is, as the Lua layer names it. */
static const char *error_kind(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_FILESIZE_EXCEEDED: return "too_large";
    case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CIPHER: case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ISSUER_ERROR: case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND: case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
      return "tls";
    default: return "transport";
  }
}

/* Sets the error fields of the result table on top for a failed transfer. */
static void set_error(lua_State *L, Transfer *t) {
  const char *kind = t->kind, *msg;
  /* libcurl says "Out of memory" for a header line over its limit: once
  ** headers came, that is what it was, and no retry makes it shorter */
  int long_header = t->kind == NULL && t->code == CURLE_OUT_OF_MEMORY && !t->no_memory && t->hlen > 0;
  if (kind == NULL)
    kind = t->too_large || long_header ? "too_large" :
           t->no_memory || t->replay_refused ? "transport" : error_kind(t->code);
  if (t->replay_refused)
    msg = lua_pushliteral(L, "the connection closed without an answer after the request "
                             "went out; not sent again (the server may have acted on it)");
  else if (t->too_large || t->code == CURLE_FILESIZE_EXCEEDED) /* streamed, or a Content-Length */
    msg = lua_pushfstring(L, "response body larger than %I bytes", (lua_Integer)t->max_size);
  else if (long_header)
    msg = lua_pushfstring(L, "a response header line is over %d KiB (libcurl's limit)",
                          CURL_MAX_HTTP_HEADER / 1024);
  else if (t->no_memory)
    msg = lua_pushliteral(L, "not enough memory for the response");
  else if (strcmp(kind, "interrupted") == 0)
    msg = lua_pushliteral(L, "interrupted");
  else if (strcmp(kind, "cancelled") == 0)
    msg = lua_pushliteral(L, "cancelled");
  else
    msg = lua_pushstring(L, t->errbuf[0] ? t->errbuf : curl_easy_strerror(t->code));
  lua_setfield(L, -2, "error");
  (void)msg;
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "error_kind");
}

/* Pushes the result table of a finished transfer (see the file comment). */
static void push_result(lua_State *L, Transfer *t) {
  long status = 0;
  char *url = NULL;
  curl_off_t total = 0, pretransfer = 0;
  int failed = t->code != CURLE_OK || t->kind || t->too_large || t->no_memory;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
  curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &total);
  curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
  lua_createtable(L, 0, 12);
  lua_pushinteger(L, t->id);
  lua_setfield(L, -2, "id");
  lua_pushinteger(L, status);
  lua_setfield(L, -2, "status");
  push_headers(L, t->head, t->hlen);
  lua_setfield(L, -2, "headers");
  /* a failed transfer's partial body is of no use, and copying one cut at
  ** the size cap into a Lua string would double the memory the cap bounds */
  if (failed) lua_pushliteral(L, "");
  else lua_pushlstring(L, t->body ? t->body : "", t->len);
  lua_setfield(L, -2, "body");
  lua_pushstring(L, url);
  lua_setfield(L, -2, "url");
  lua_pushnumber(L, (lua_Number)total / 1e6);
  lua_setfield(L, -2, "elapsed");
  /* conservative for non-idempotent retries: true once connected and
  ** about to send, whether or not the server got it all */
  lua_pushboolean(L, pretransfer > 0 || status > 0 || t->attempts > 1);
  lua_setfield(L, -2, "sent");
  lua_pushinteger(L, (lua_Integer)t->code);
  lua_setfield(L, -2, "curl_code");
  if (failed) set_error(L, t);
}

/* Marks the transfers libcurl reports as finished. */
static void collect_finished(Client *c) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
    Transfer *t = NULL;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
    if (t == NULL) continue;
    t->code = msg->data.result;
    t->state = FINISHED;
    curl_multi_remove_handle(c->multi, t->easy);
  }
}

/* Ends every transfer in flight with the given kind (Ctrl-C). */
static void abort_all(Client *c, const char *kind) {
  Transfer *t;
  for (t = c->list; t; t = t->next)
    if (t->state == IN_FLIGHT) {
      curl_multi_remove_handle(c->multi, t->easy);
      t->state = FINISHED;
      t->kind = kind;
      t->code = CURLE_ABORTED_BY_CALLBACK;
    }
}

/* Moves the finished transfers from the client's list to its 'done' list
** (no Lua code runs here). */
static void move_finished(Client *c) {
  Transfer *t = c->list, *next, **tail = &c->done;
  while (*tail) tail = &(*tail)->next;
  for (; t; t = next) {
    next = t->next;
    if (t->state == FINISHED) {
      unlink_transfer(c, t);
      *tail = t;
      tail = &t->next;
    }
  }
}

/* Pushes the list of the done transfers, freeing each once its result is
** pushed. Lua code may run meanwhile (finalizers), but nothing it can do
** reaches the done list: poll and close are refused inside poll. */
static int push_done(lua_State *L, Client *c) {
  Transfer *t;
  int n = 0;
  lua_newtable(L);
  while ((t = c->done) != NULL) {
    push_result(L, t);
    lua_rawseti(L, -2, ++n);
    c->done = t->next;
    destroy_transfer(c, t);
  }
  return n;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

/* The loop of client:poll (client at 1, seconds at 2), run protected. */
static int poll_loop(lua_State *L) {
  Client *c = lua_touserdata(L, 1);
  lua_Number timeout = luaL_optnumber(L, 2, 0);
  double deadline = now_ms() + (timeout > 0 ? timeout * 1000 : 0);
  for (;;) {
    int running = 0;
    double left_ms;
    CURLMcode mrc;
    if (c->interrupted && *c->interrupted) abort_all(c, "interrupted");
    mrc = curl_multi_perform(c->multi, &running);
    if (mrc != CURLM_OK) return luaL_error(L, "http: %s", curl_multi_strerror(mrc));
    collect_finished(c);
    move_finished(c);
    left_ms = deadline - now_ms();
    if (c->done || running == 0 || left_ms <= 0) {
      push_done(L, c);
      return 1;
    }
    mrc = curl_multi_poll(c->multi, NULL, 0, left_ms < POLL_SLICE_MS ? (int)left_ms + 1 : POLL_SLICE_MS, NULL);
    if (mrc != CURLM_OK) return luaL_error(L, "http: %s", curl_multi_strerror(mrc));
  }
}

/* client:poll(seconds) -> list of finished transfers, as soon as one
** finishes or the time is up (then the list is empty). Looks at Ctrl-C
** every POLL_SLICE_MS. Refused inside another poll (a finalizer that runs
** while results are handed over). */
static int client_poll(lua_State *L) {
  Client *c = check_client(L);
  int status;
  if (c->polling)
    return luaL_error(L, "http: poll inside poll (from a __gc finalizer that ran there?)");
  lua_settop(L, 2);
  lua_pushcfunction(L, poll_loop);
  lua_pushlightuserdata(L, c);
  lua_pushvalue(L, 2);
  c->polling = 1;
  status = lua_pcall(L, 2, 1, 0);
  c->polling = 0;
  if (status != LUA_OK) return lua_error(L);
  return 1;
}

/* client:cancel(id) -> true if that transfer was in flight. */
static int client_cancel(lua_State *L) {
  Client *c = check_client(L);
  lua_Integer id = luaL_checkinteger(L, 2);
  Transfer *t;
  for (t = c->list; t; t = t->next)
    if (t->id == id) {
      free_transfer(c, t);
      lua_pushboolean(L, 1);
      return 1;
    }
  lua_pushboolean(L, 0);
  return 1;
}

/* client:pending() -> number of transfers in flight. */
static int client_pending(lua_State *L) {
  Client *c = check_client(L);
  Transfer *t;
  lua_Integer n = 0;
  for (t = c->list; t; t = t->next) n += t->state == IN_FLIGHT;
  lua_pushinteger(L, n);
  return 1;
}

/* __gc, __close and close: frees every transfer and the handles; safe
** twice. Refused inside start or poll, which hold transfers. */
static int client_close(lua_State *L) {
  Client *c = luaL_checkudata(L, 1, CLIENT_MT);
  if (c->polling || c->starting)
    return luaL_error(L, "http: close of a client in use (from a __gc finalizer?)");
  if (c->multi) {
    while (c->list) free_transfer(c, c->list);
    while (c->done) {
      Transfer *t = c->done;
      c->done = t->next;
      destroy_transfer(c, t);
    }
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
  }
  if (c->share) {
    curl_share_cleanup(c->share);
    c->share = NULL;
  }
  return 0;
}

static int client_tostring(lua_State *L) {
  Client *c = luaL_checkudata(L, 1, CLIENT_MT);
  lua_pushfstring(L, "http client (%s): %p", c->multi ? "open" : "closed", (void *)c);
  return 1;
}

/* hlua_http.client([opts]) -> client. opts.max_host_connections caps the
** connections to one host (0: libcurl's default, no cap). */
static int new_client(lua_State *L) {
  Client *c;
  lua_Integer max_host = 0;
  if (!lua_isnoneornil(L, 1)) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "max_host_connections");
    max_host = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
  }
  c = lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c); /* closed until both handles exist */
  luaL_setmetatable(L, CLIENT_MT);
  if (lua_getfield(L, LUA_REGISTRYINDEX, HLUA_INTERRUPT_KEY) == LUA_TLIGHTUSERDATA)
    c->interrupted = (volatile sig_atomic_t *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  c->share = curl_share_init();
  if (c->share == NULL) return luaL_error(L, "curl_share_init failed");
  if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
      curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK)
    return luaL_error(L, "curl_share_setopt failed");
  c->multi = curl_multi_init();
  if (c->multi == NULL) return luaL_error(L, "curl_multi_init failed");
  if (max_host > 0 &&
      curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_host) != CURLM_OK)
    return luaL_error(L, "curl_multi_setopt failed");
  return 1;
}

/* ---------- the module ---------- */

/* parse_head(raw) -> status (0 when none), headers: what a result's
** status and headers would be for that raw header block, as libcurl hands
** it over. For tests and the fuzzer. */
static int parse_head(lua_State *L) {
  size_t n;
  const char *raw = luaL_checklstring(L, 1, &n);
  long status = 0;
  if (n >= 12 && memcmp(raw, "HTTP/", 5) == 0) {
    const char *sp = memchr(raw, ' ', n);
    if (sp && sp + 4 <= raw + n) status = strtol(sp + 1, NULL, 10);
  }
  lua_pushinteger(L, status);
  push_headers(L, raw, n);
  return 2;
}

/* __gc of a registry sentinel made after curl_global_init: runs when the
** state closes, after every client (made later, so finalized first). */
static int global_cleanup(lua_State *L) {
  (void)L;
  curl_global_cleanup();
  return 0;
}

static void init_curl(lua_State *L) {
  if (luaL_newmetatable(L, GUARD_MT)) {
    lua_pushcfunction(L, global_cleanup);
    lua_setfield(L, -2, "__gc");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      luaL_error(L, "curl_global_init failed");
    lua_newuserdatauv(L, 1, 0);
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, GUARD_MT ".sentinel");
  }
  lua_pop(L, 1);
}

int luaopen_hlua_http(lua_State *L) {
  static const luaL_Reg methods[] = {
      {"start", client_start}, {"poll", client_poll},   {"cancel", client_cancel},
      {"pending", client_pending}, {"close", client_close}, {NULL, NULL}};
  static const luaL_Reg meta[] = {
      {"__gc", client_close}, {"__close", client_close}, {"__tostring", client_tostring},
      {NULL, NULL}};
  static const luaL_Reg funcs[] = {{"client", new_client}, {"parse_head", parse_head}, {NULL, NULL}};
  init_curl(L);
  if (luaL_newmetatable(L, CLIENT_MT)) {
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  luaL_newlib(L, funcs);
  lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
  lua_setfield(L, -2, "curl_version");
  return 1;
}
