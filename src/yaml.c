/*
** yaml.c: the module hlua_yaml, YAML 1.2 for harness.yaml
** (lua/harness/yaml.lua, which adds edit on top of it).
**
** Why libyaml (libyaml-0-2) and not libfyaml: edit keeps a document's
** comments, blank lines and styles by splicing its few changes into the
** original text, never by printing the document again.  So what edit needs
** from the parser is, for every node, where it starts and ends and how it
** was written (plain, quoted, literal or folded; block or flow), and libyaml
** gives exactly that on each event.  It is the parser under PyYAML's
** CLoader, Ruby's Psych and lyaml, the most exercised YAML parser in
** Debian, with an API unchanged for a decade, and it parses a 1.6 MB
** pipeline into events in about 25 ms.  libfyaml keeps comments, but only
** in its own document tree (a node per value on top of the Lua tables we
** must build anyway, the cost json.c avoids), its emitter does not give
** the original bytes back, and Debian 12 ships an old release (0.7.12).
** libyaml's own resolver is YAML 1.1 (yes/on are booleans, 0755 is octal):
** we take its raw scalar events and resolve plain scalars ourselves to the
** YAML 1.2 core schema, as ruamel.yaml reads it (see resolve_plain).
**
** Values go straight from the parser's events to the Lua stack:
** - mappings keep their key order in their metatable, a "shape": its
**   array part lists the keys, and mappings with the same keys in the same
**   order share it (2,000 steps of a pipeline share a handful), found by
**   transitions cached in each shape, so order costs no memory per
**   mapping; __jsontype = "object" tells harness.json what they are, the
**   shape's __newindex moves a table to the shape with a new key appended,
**   and __pairs walks the keys in order;
** - a mapping member whose value is null is absent (its key stays in the
**   order, so edit knows it is still there); sequences carry the array
**   mark of harness.json and hold harness.json.null for null items;
** - aliases are copies (as Go's yaml.v3 decodes them), counted against a
**   budget so that a billion-laughs document is refused, not expanded.
**
** No C-owned memory outlives an error: the libyaml parser and its current
** event live in a userdata whose __gc frees them, output grows in a __gc'd
** buffer, and everything else is on the C stack.
*/
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <yaml.h>

#include "codec.h"
#include "hlua.h"

#define YAML_MAP_MT    "harness.yaml.mapping"  /* registry: the shape of {} */
#define YAML_WEAKV     "harness.yaml.weakv"    /* registry: {__mode = "v"} */
#define YAML_PARSER_MT "harness.yaml.parser"   /* metatable of Parser userdata */

#define YAML_MAX_DEPTH   1000     /* default nesting limit */
#define YAML_DEPTH_LIMIT 10000    /* largest max_depth a caller may ask for */
#define YAML_CHUNK       128      /* items held on the stack before a table takes them */
#define YAML_ALIAS_BASE  100000   /* alias-expanded nodes always allowed ... */
#define YAML_ALIAS_RATIO 10       /* ... plus this many per node of the text */
#define YAML_KEY_MAX     1000     /* longer keys are written as '? key' */
#define YAML_SHAPE_MAX   32       /* shapes of more keys are not shared */


/* {======================================================================
** Shared helpers
** ======================================================================= */

/* The code point of the well-formed n-byte sequence at p. */
static unsigned long utf8_cp(const unsigned char *p, size_t n) {
  switch (n) {
    case 1: return p[0];
    case 2: return ((unsigned long)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    case 3: return ((unsigned long)(p[0] & 0x0F) << 12) |
                   ((unsigned long)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    default: return ((unsigned long)(p[0] & 0x07) << 18) |
                    ((unsigned long)(p[1] & 0x3F) << 12) |
                    ((unsigned long)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  }
}

/* }====================================================================== */


/* {======================================================================
** Plain scalars: the YAML 1.2 core schema, as ruamel.yaml reads it
** ======================================================================= */

enum { R_STRING, R_NULL, R_TRUE, R_FALSE, R_INT, R_FLOAT };

/* Converts the digits of [p, e) in 'base' (underscores skipped) to an
** integer; returns 0 when it does not fit in 64 bits. */
static int digits_value(const char *p, const char *e, int base, uint64_t *out) {
  uint64_t v = 0;
  for (; p < e; p++) {
    int d;
    if (*p == '_') continue;
    d = codec_is_digit(*p) ? *p - '0' : (*p | 0x20) - 'a' + 10;
    if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base) return 0;
    v = v * (uint64_t)base + (uint64_t)d;
  }
  *out = v;
  return 1;
}

/* Is [p, e) one or more of the digits in 'set' or '_', with one digit at
** least? */
static int all_of(const char *p, const char *e, const char *set) {
  int digit = 0;
  if (p >= e) return 0;
  for (; p < e; p++) {
    if (*p == '_') continue;
    if (*p == '\0' || strchr(set, *p) == NULL) return 0;
    digit = 1;
  }
  return digit;
}

/* Reads [p, e) as a decimal float with correct rounding: strtod on a copy
** without underscores, its '.' replaced by the locale's decimal point. */
static double text_to_double(const char *p, const char *e) {
  char tmp[128], *t = tmp, *dot = NULL;
  size_t n = (size_t)(e - p);
  double d;
  if (n >= sizeof tmp) {   /* absurdly long: dynamic copy */
    t = (char *)malloc(n + 1);
    if (t == NULL) return 0;
  }
  n = 0;
  for (; p < e; p++)
    if (*p != '_') t[n++] = *p;
  t[n] = '\0';
  if ((dot = strchr(t, '.')) != NULL)
    *dot = localeconv()->decimal_point[0];
  d = strtod(t, NULL);
  if (t != tmp) free(t);
  return d;
}

/* Does [p, e) match ruamel's YAML 1.2 float (without .inf/.nan):
**   [-+]? ( [0-9][0-9_]* '.' [0-9_]* exp? | [0-9][0-9_]* exp | '.' [0-9_]+ exp? )
**   exp = [eE] [-+]? [0-9]+ */
static int is_float_text(const char *p, const char *e) {
  const char *q;
  int intpart = 0, frac = 0, dot = 0;
  if (p < e && (*p == '-' || *p == '+')) p++;
  q = p;
  if (q < e && codec_is_digit(*q)) {
    intpart = 1;
    while (q < e && (codec_is_digit(*q) || *q == '_')) q++;
  }
  if (q < e && *q == '.') {
    dot = 1;
    q++;
    while (q < e && (codec_is_digit(*q) || *q == '_')) {
      if (*q != '_') frac = 1;
      q++;
    }
  }
  if (!intpart && !frac) return 0;
  if (q < e && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < e && (*q == '-' || *q == '+')) q++;
    if (q >= e || !codec_is_digit(*q)) return 0;
    while (q < e && codec_is_digit(*q)) q++;
    return q == e;
  }
  return q == e && dot;
}

/* Resolves the plain scalar [s, s+n) (NUL-terminated at s[n]); for R_INT
** and R_FLOAT stores the number. The core schema, with ruamel's additions
** that Go's yaml.v3 shares: '_' between digits, 0b binary, signed 0x/0o. */
static int resolve_plain(const char *s, size_t n, lua_Integer *ip, double *dp) {
  const char *e = s + n, *p = s;
  int neg = 0;
  switch (s[0]) {
    case '\0':
      return n == 0 ? R_NULL : R_STRING;
    case '~':
      return n == 1 ? R_NULL : R_STRING;
    case 'n': case 'N':
      return (n == 4 && (strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
                         strcmp(s, "NULL") == 0)) ? R_NULL : R_STRING;
    case 't': case 'T':
      return (n == 4 && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
                         strcmp(s, "TRUE") == 0)) ? R_TRUE : R_STRING;
    case 'f': case 'F':
      return (n == 5 && (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
                         strcmp(s, "FALSE") == 0)) ? R_FALSE : R_STRING;
    case '.': case '-': case '+':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      break;
    default:
      return R_STRING;
  }
  if (*p == '-' || *p == '+') { neg = (*p == '-'); p++; }
  if (p < e && *p == '.') {
    const char *w = p + 1;
    size_t m = (size_t)(e - w);
    if (m == 3 && (strcmp(w, "inf") == 0 || strcmp(w, "Inf") == 0 ||
                   strcmp(w, "INF") == 0)) {
      *dp = neg ? -HUGE_VAL : HUGE_VAL;
      return R_FLOAT;
    }
    if (m == 3 && p == s && (strcmp(w, "nan") == 0 || strcmp(w, "NaN") == 0 ||
                             strcmp(w, "NAN") == 0)) {
      *dp = NAN;
      return R_FLOAT;
    }
  }
  if (p + 1 < e && p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) {
    const char *set = p[1] == 'x' ? "0123456789abcdefABCDEF"
                    : p[1] == 'o' ? "01234567" : "01";
    int base = p[1] == 'x' ? 16 : p[1] == 'o' ? 8 : 2;
    uint64_t u;
    if (!all_of(p + 2, e, set)) return R_STRING;
    if (!digits_value(p + 2, e, base, &u) ||
        u > (uint64_t)LUA_MAXINTEGER + (neg ? 1 : 0)) {
      long double v = 0;   /* beyond 64 bits: the nearest float, like json */
      const char *q;
      for (q = p + 2; q < e; q++)
        if (*q != '_')
          v = v * base +
              (codec_is_digit(*q) ? *q - '0' : (*q | 0x20) - 'a' + 10);
      *dp = (double)(neg ? -v : v);
      return R_FLOAT;
    }
    *ip = neg ? (lua_Integer)(0 - u) : (lua_Integer)u;
    return R_INT;
  }
  if (p < e && codec_is_digit(*p) && all_of(p, e, "0123456789")) {
    uint64_t u;
    if (!digits_value(p, e, 10, &u) ||
        u > (uint64_t)LUA_MAXINTEGER + (neg ? 1 : 0)) {
      *dp = text_to_double(s, e);
      return R_FLOAT;
    }
    *ip = neg ? (lua_Integer)(0 - u) : (lua_Integer)u;
    return R_INT;
  }
  if (is_float_text(s, e)) {
    *dp = text_to_double(s, e);
    return R_FLOAT;
  }
  return R_STRING;
}

/* Would a YAML 1.1 reader (PyYAML, older Go and Java tools) take the plain
** scalar s for something else than a string, where 1.2 does not?  yes/no,
** on/off, y/n, sexagesimals (1:20), 1.1 floats, timestamps, '=' and '<<'. */
static int resolves_in_yaml11(const char *s, size_t n) {
  static const char *const words[] = {
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
    "on", "On", "ON", "off", "Off", "OFF", "=", "<<", NULL
  };
  const char *p = s, *e = s + n;
  int i;
  for (i = 0; words[i] != NULL; i++)
    if (strcmp(s, words[i]) == 0) return 1;
  if (p < e && (*p == '-' || *p == '+')) p++;
  if (p < e && *p == '.') p++;
  if (p >= e || !codec_is_digit(*p)) return 0;
  /* Numbers, times and dates: digits with '_' ':' '.' '-' '+' 'e' and the
  ** letters of a timestamp; quoting such a string costs nothing. */
  for (; p < e; p++)
    if (!(codec_is_digit(*p) || strchr("_:.-+eEtTzZ ", *p) != NULL) ||
        *p == '\0')
      return 0;
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Decoding: events straight to the Lua stack
** ======================================================================= */

typedef struct Parser {
  yaml_parser_t parser;
  yaml_event_t event;
  int has_event;          /* event holds memory to delete */
  int initialized;        /* parser holds memory to delete */
} Parser;

/* Frees what the parser and its current event hold; safe to call twice. */
static void parser_close(Parser *P) {
  if (P->has_event) yaml_event_delete(&P->event);
  if (P->initialized) yaml_parser_delete(&P->parser);
  P->has_event = P->initialized = 0;
}

/* __gc of a parser: takes the userdata, leaves nothing. */
static int parser_gc(lua_State *L) {
  parser_close((Parser *)luaL_checkudata(L, 1, YAML_PARSER_MT));
  return 0;
}

typedef struct Decoder {
  lua_State *L;
  Parser *P;
  const char *s;          /* the whole input; Lua keeps a NUL after it */
  size_t len;
  int ascii;              /* no byte >= 0x80: libyaml's marks are byte offsets */
  size_t mark_ci, mark_bi;  /* last character index mapped to a byte offset */
  int nullidx, arraymt, mapmt, anchoridx, sizeidx;   /* stack slots */
  int base;               /* the last fixed stack slot */
  int maxdepth;
  size_t nodes;           /* nodes read from the text */
  size_t built;           /* values built, copies of aliases included */
  size_t aliased;         /* values built by copying aliases */
} Decoder;

/* Byte offset of libyaml's character index ci (its marks count characters,
** a CRLF as two).  Walks from the last answer, since marks mostly rise. */
static size_t byte_offset(Decoder *D, size_t ci) {
  const unsigned char *s = (const unsigned char *)D->s;
  if (D->ascii) return ci < D->len ? ci : D->len;
  while (D->mark_ci < ci && D->mark_bi < D->len) {
    size_t n = codec_utf8_len(s + D->mark_bi);
    D->mark_bi += n ? n : 1;
    D->mark_ci++;
  }
  while (D->mark_ci > ci && D->mark_bi > 0) {
    D->mark_bi--;
    while (D->mark_bi > 0 && (s[D->mark_bi] & 0xC0) == 0x80) D->mark_bi--;
    D->mark_ci--;
  }
  return D->mark_bi;
}

/* Raises harness.Error{kind="yaml"} for the byte offset 'at' (see
** codec_text_error), dropping the partial results first. */
static int error_at(Decoder *D, size_t at, const char *what) {
  lua_settop(D->L, D->base);   /* the stack may be full */
  return codec_text_error(D->L, "yaml", D->s, D->len, at, what);
}

/* Raises the error for the current event's start. */
static int error_here(Decoder *D, const char *what) {
  return error_at(D, byte_offset(D, D->P->event.start_mark.index), what);
}

/* Raises the error libyaml reported, with its context when it has one
** ("mapping values are not allowed here (while scanning a simple key)"). */
static int parser_error(Decoder *D) {
  yaml_parser_t *p = &D->P->parser;
  char what[200];
  size_t at;
  const char *problem = p->problem ? p->problem : "invalid YAML";
  if (p->error == YAML_MEMORY_ERROR)
    return luaL_error(D->L, "not enough memory");
  if (p->error == YAML_READER_ERROR) {
    at = p->problem_offset;
    if (p->problem_value >= 0 && p->problem_value < 0x100)
      snprintf(what, sizeof what, "%s (byte 0x%02X)", problem, p->problem_value);
    else
      snprintf(what, sizeof what, "%s", problem);
  }
  else {
    at = byte_offset(D, p->problem_mark.index);
    if (p->context)
      snprintf(what, sizeof what, "%s (%s)", problem, p->context);
    else
      snprintf(what, sizeof what, "%s", problem);
  }
  return error_at(D, at, what);
}

/* Replaces the current event with the next one; raises parse errors. */
static yaml_event_type_t next_event(Decoder *D) {
  Parser *P = D->P;
  if (P->has_event) {
    yaml_event_delete(&P->event);
    P->has_event = 0;
  }
  if (!yaml_parser_parse(&P->parser, &P->event))
    parser_error(D);
  P->has_event = 1;
  return P->event.type;
}

/* Pushes a new Parser over the input, owned by a userdata. */
static Parser *parser_new(lua_State *L, const char *s, size_t len) {
  Parser *P = (Parser *)lua_newuserdatauv(L, sizeof(Parser), 0);
  P->has_event = P->initialized = 0;
  luaL_setmetatable(L, YAML_PARSER_MT);
  if (!yaml_parser_initialize(&P->parser))
    luaL_error(L, "not enough memory");
  P->initialized = 1;
  yaml_parser_set_input_string(&P->parser, (const unsigned char *)s, len);
  /* UTF-8 only: libyaml would otherwise guess UTF-16 from a byte order
  ** mark, and its marks would no longer map to our bytes. */
  yaml_parser_set_encoding(&P->parser, YAML_UTF8_ENCODING);
  return P;
}

/* Is the tag one of the core schema's (tag:yaml.org,2002:<name>)? */
static int is_core_tag(const unsigned char *tag, const char *name) {
  return tag != NULL && strncmp((const char *)tag, "tag:yaml.org,2002:", 18) == 0 &&
         strcmp((const char *)tag + 18, name) == 0;
}

/* Pushes the value of the current scalar event.  Quoted and block scalars
** are strings; plain ones are resolved; a core tag (!!str, !!int...) says
** what to make of it; other tags are kept in the text but not interpreted. */
static void push_scalar(Decoder *D) {
  lua_State *L = D->L;
  yaml_event_t *ev = &D->P->event;
  const char *v = (const char *)ev->data.scalar.value;
  size_t n = ev->data.scalar.length;
  const unsigned char *tag = ev->data.scalar.tag;
  lua_Integer i = 0;
  double d = 0;
  int r = R_STRING;
  if (tag != NULL && (strcmp((const char *)tag, "!") == 0 || is_core_tag(tag, "str")))
    r = R_STRING;
  else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE || tag != NULL) {
    r = resolve_plain(v, n, &i, &d);
    if (tag != NULL && strncmp((const char *)tag, "tag:yaml.org,2002:", 18) == 0) {
      const char *want = (const char *)tag + 18;
      int ok = strcmp(want, "int") == 0 ? r == R_INT
             : strcmp(want, "float") == 0 ? (r == R_FLOAT || r == R_INT)
             : strcmp(want, "bool") == 0 ? (r == R_TRUE || r == R_FALSE)
             : strcmp(want, "null") == 0 ? r == R_NULL : -1;
      if (ok == 0) {
        char what[80];
        snprintf(what, sizeof what, "value does not match its tag !!%.20s", want);
        error_here(D, what);
      }
      if (strcmp(want, "float") == 0 && r == R_INT) { r = R_FLOAT; d = (double)i; }
      if (ok == -1) r = R_STRING;   /* !!binary, !!timestamp...: as text */
    }
    else if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
      r = R_STRING;
  }
  switch (r) {
    case R_NULL: lua_pushvalue(L, D->nullidx); break;
    case R_TRUE: lua_pushboolean(L, 1); break;
    case R_FALSE: lua_pushboolean(L, 0); break;
    case R_INT: lua_pushinteger(L, i); break;
    case R_FLOAT: lua_pushnumber(L, d); break;
    default: lua_pushlstring(L, v, n);
  }
}

static void decode_node(Decoder *D, int depth);

/* Checks the depth and the room on the Lua stack for one more level. */
static void check_depth(Decoder *D, int depth) {
  if (depth > D->maxdepth) {
    char what[64];
    snprintf(what, sizeof what, "nesting deeper than %d", D->maxdepth);
    error_here(D, what);
  }
  if (!lua_checkstack(D->L, YAML_CHUNK * 2 + 16))
    error_here(D, "document too large for the Lua stack");
}

/* Pushes the sequence that starts at the current event, marked as an array. */
static void decode_sequence(Decoder *D, int depth) {
  lua_State *L = D->L;
  lua_Integer n = 0;
  int pending = 0, base;
  check_depth(D, depth);
  lua_pushnil(L);
  base = lua_gettop(L);
  while (next_event(D) != YAML_SEQUENCE_END_EVENT) {
    decode_node(D, depth);
    if (++pending == YAML_CHUNK) {
      codec_flush_list(L, base, &n, pending);
      pending = 0;
    }
  }
  codec_flush_list(L, base, &n, pending);
  lua_pushvalue(L, D->arraymt);
  lua_setmetatable(L, base);
}

/* Is the value at idx a shape (the metatable of an ordered mapping)? */
static int is_shape(lua_State *L, int idx) {
  int yes;
  if (!lua_istable(L, idx)) return 0;
  idx = lua_absindex(L, idx);
  lua_pushliteral(L, "__yaml");
  yes = lua_rawget(L, idx) != LUA_TNIL;
  lua_pop(L, 1);
  return yes;
}

/* Pushes the shape of the table at idx (its metatable, when it is one) or
** nil; returns what it pushed (LUA_TTABLE or LUA_TNIL).  The shape's
** array part is the key list. */
static int get_shape(lua_State *L, int idx) {
  if (lua_getmetatable(L, idx)) {
    if (is_shape(L, -1)) return LUA_TTABLE;
    lua_pop(L, 1);
  }
  lua_pushnil(L);
  return LUA_TNIL;
}

/* Pushes a new shape: the fields of the shape at 'from', its first n keys. */
static void shape_copy(lua_State *L, int from, lua_Integer n, lua_Integer extra) {
  static const char *const fields[] = {"__jsontype", "__newindex", "__pairs",
                                       "__name", "__yaml", NULL};
  lua_Integer i;
  int k, to;
  lua_createtable(L, (int)(n + extra), 6);
  to = lua_gettop(L);
  for (k = 0; fields[k] != NULL; k++) {
    lua_pushstring(L, fields[k]);
    lua_pushvalue(L, -1);
    lua_rawget(L, from);
    lua_rawset(L, to);
  }
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, from, i);
    lua_rawseti(L, to, i);
  }
}

/* Pushes the shape that is the shape at idx with the key at kidx appended.
** Small shapes remember it in their __next table (weak values), so that
** mappings with the same keys in the same order share one shape. */
static void shape_next(lua_State *L, int idx, int kidx) {
  lua_Integer n;
  idx = lua_absindex(L, idx);
  kidx = lua_absindex(L, kidx);
  n = (lua_Integer)lua_rawlen(L, idx);
  if (n >= YAML_SHAPE_MAX) {   /* a big mapping: its own shape */
    shape_copy(L, idx, n, 1);
    lua_pushvalue(L, kidx);
    lua_rawseti(L, -2, n + 1);
    return;
  }
  lua_pushliteral(L, "__next");
  if (lua_rawget(L, idx) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    luaL_setmetatable(L, YAML_WEAKV);
    lua_pushliteral(L, "__next");
    lua_pushvalue(L, -2);
    lua_rawset(L, idx);
  }
  lua_pushvalue(L, kidx);
  if (lua_rawget(L, -2) == LUA_TTABLE) {
    lua_remove(L, -2);
    return;
  }
  lua_pop(L, 1);
  shape_copy(L, idx, n, 1);
  lua_pushvalue(L, kidx);
  lua_rawseti(L, -2, n + 1);
  lua_pushvalue(L, kidx);
  lua_pushvalue(L, -2);
  lua_rawset(L, -4);
  lua_remove(L, -2);
}

/* Pushes the shape of the keys listed at 'list' (a table or a shape), in
** order, leaving out key 'skip' (a stack index, or 0). */
static void shape_of(lua_State *L, int list, int skip) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, list);
  list = lua_absindex(L, list);
  luaL_getmetatable(L, YAML_MAP_MT);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, list, i);
    if (skip && lua_rawequal(L, -1, skip)) {
      lua_pop(L, 1);
      continue;
    }
    shape_next(L, -2, -1);
    lua_remove(L, -2);   /* the key */
    lua_remove(L, -2);   /* the shape before */
  }
}

/* The mapping being built: the table, its shape so far (whose array part
** is the key list) and the list of merge sources ('<<') sit in three stack
** slots; keys and values wait above them in pairs. */
typedef struct MapBuild {
  int base;               /* slot of the table; +1 the shape, +2 merges */
  lua_Integer nkeys;      /* keys in the shape */
  int pending;            /* pairs waiting above base + 2 */
  int has_null;           /* a member was null (held as the sentinel) */
} MapBuild;

/* Moves the waiting pairs into the mapping (creating it first). */
static void map_flush(Decoder *D, MapBuild *M) {
  lua_State *L = D->L;
  int i, top = M->base + 2;
  if (lua_isnil(L, M->base)) {
    lua_createtable(L, 0, M->pending);
    lua_replace(L, M->base);
  }
  if (M->pending == 0) return;
  for (i = 1; i <= 2 * M->pending; i += 2) {
    lua_pushvalue(L, top + i);
    lua_pushvalue(L, top + i + 1);
    lua_rawset(L, M->base);
    shape_next(L, M->base + 1, top + i);
    lua_replace(L, M->base + 1);
    M->nkeys++;
  }
  lua_settop(L, top);
  M->pending = 0;
}

/* Pushes the key of the current event as a string: a scalar's text, or
** what an alias to a scalar stands for.  Complex keys are refused. */
static void decode_key(Decoder *D, int *is_merge) {
  lua_State *L = D->L;
  yaml_event_t *ev = &D->P->event;
  *is_merge = 0;
  if (ev->type == YAML_SCALAR_EVENT) {
    const unsigned char *tag = ev->data.scalar.tag;
    if (ev->data.scalar.length == 2 && memcmp(ev->data.scalar.value, "<<", 2) == 0 &&
        ((ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && tag == NULL) ||
         is_core_tag(tag, "merge")))
      *is_merge = 1;
    lua_pushlstring(L, (const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (ev->data.scalar.anchor != NULL) {   /* an anchored key: keep it for aliases */
      lua_pushstring(L, (const char *)ev->data.scalar.anchor);
      lua_pushvalue(L, -2);
      lua_rawset(L, D->anchoridx);
    }
    D->nodes++;
    return;
  }
  if (ev->type == YAML_ALIAS_EVENT) {
    lua_pushstring(L, (const char *)ev->data.alias.anchor);
    if (lua_rawget(L, D->anchoridx) == LUA_TNIL)
      error_here(D, "alias to an unknown anchor");
    if (lua_type(L, -1) == LUA_TTABLE)
      error_here(D, "complex keys (a mapping or sequence as a key) are not supported");
    if (lua_type(L, -1) != LUA_TSTRING) {   /* a number or boolean: its text */
      luaL_tolstring(L, -1, NULL);
      lua_remove(L, -2);
    }
    return;
  }
  error_here(D, "complex keys (a mapping or sequence as a key) are not supported");
}

/* Adds the members of the mapping at 'src' that the mapping being built
** lacks (explicit keys win over merged ones, earlier merges over later),
** their keys into the key list from position *at on. */
static void merge_from(Decoder *D, MapBuild *M, int src, lua_Integer *at) {
  lua_State *L = D->L;
  lua_Integer i, n, j;
  int list;
  if (!lua_istable(L, src) || get_shape(L, src) != LUA_TTABLE)
    error_here(D, "'<<' (merge) takes a mapping or a list of mappings");
  map_flush(D, M);
  /* The key list, to insert into: a plain table, made a shape at the end. */
  lua_createtable(L, (int)M->nkeys + 8, 0);
  list = lua_gettop(L);
  for (j = 1; j <= M->nkeys; j++) {
    lua_rawgeti(L, M->base + 1, j);
    lua_rawseti(L, list, j);
  }
  lua_pushvalue(L, list - 1);   /* the source's shape on top */
  lua_remove(L, list - 1);
  list--;
  n = (lua_Integer)lua_rawlen(L, -1);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);            /* key */
    lua_pushvalue(L, -1);
    if (lua_rawget(L, M->base) == LUA_TNIL) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);           /* key key */
      lua_pushvalue(L, -1);           /* key key key */
      if (lua_rawget(L, src) == LUA_TNIL) {   /* a null member */
        lua_pop(L, 1);
        lua_pushvalue(L, D->nullidx);
        M->has_null = 1;
      }
      lua_rawset(L, M->base);         /* key */
      for (j = M->nkeys; j >= *at; j--) {   /* in at *at, where '<<' was */
        lua_rawgeti(L, list, j);
        lua_rawseti(L, list, j + 1);
      }
      lua_pushvalue(L, -1);
      lua_rawseti(L, list, (*at)++);
      M->nkeys++;
    }
    else
      lua_pop(L, 1);
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  shape_of(L, list, 0);
  lua_replace(L, M->base + 1);
  lua_pop(L, 1);
}

/* Refuses the key on top if the mapping being built has it already (in
** the table or among the waiting pairs), so that of a YAML mapping nothing
** is silently lost; the error points at the second one. */
static void check_duplicate(Decoder *D, MapBuild *M) {
  lua_State *L = D->L;
  int i, top = lua_gettop(L), dup = 0;
  for (i = M->base + 3; i < top && !dup; i += 2)
    dup = lua_rawequal(L, i, top);
  if (!dup && !lua_isnil(L, M->base)) {
    lua_pushvalue(L, top);
    dup = lua_rawget(L, M->base) != LUA_TNIL;
    if (!dup && M->has_null) {   /* null members: in the key list only */
      lua_Integer j;
      for (j = 1; j <= M->nkeys && !dup; j++) {
        lua_rawgeti(L, M->base + 1, j);
        dup = lua_rawequal(L, -1, top);
        lua_pop(L, 1);
      }
    }
    lua_settop(L, top);
  }
  if (dup) {
    char what[120];
    snprintf(what, sizeof what, "duplicate key '%.80s'", lua_tostring(L, top));
    error_here(D, what);
  }
}

/* Is the value at idx a decoded sequence? */
static int is_sequence(Decoder *D, int idx) {
  int yes;
  if (!lua_istable(D->L, idx) || !lua_getmetatable(D->L, idx)) return 0;
  yes = lua_rawequal(D->L, -1, D->arraymt);
  lua_pop(D->L, 1);
  return yes;
}

/* Pushes the mapping that starts at the current event. */
static void decode_mapping(Decoder *D, int depth) {
  lua_State *L = D->L;
  MapBuild M;
  int merges = 0;   /* merge sources waiting in the list at base + 2 */
  check_depth(D, depth);
  lua_pushnil(L);
  lua_pushvalue(L, D->mapmt);   /* the shape of {} */
  lua_pushnil(L);
  M.base = lua_gettop(L) - 2;
  M.nkeys = 0;
  M.pending = 0;
  M.has_null = 0;
  while (next_event(D) != YAML_MAPPING_END_EVENT) {
    int is_merge;
    decode_key(D, &is_merge);
    check_duplicate(D, &M);
    next_event(D);
    decode_node(D, depth);
    if (is_merge) {
      /* Merges apply after the explicit keys: keep the value aside. */
      lua_remove(L, -2);
      if (merges > 0)   /* one '<<' a mapping, as for any key (list several in it) */
        error_here(D, "duplicate key '<<'");
      if (merges == 0) {
        lua_createtable(L, 4, 0);
        lua_replace(L, M.base + 2);
      }
      merges++;
      lua_rawseti(L, M.base + 2, 2 * merges - 1);
      lua_pushinteger(L, M.nkeys + M.pending);   /* the keys before it */
      lua_rawseti(L, M.base + 2, 2 * merges);
      continue;
    }
    if (lua_rawequal(L, -1, D->nullidx)) M.has_null = 1;
    if (++M.pending == YAML_CHUNK - 8) map_flush(D, &M);
  }
  map_flush(D, &M);
  if (merges) {
    int i, src;
    lua_Integer added = 0;   /* merged keys already in the key list */
    for (i = 1; i <= merges; i++) {
      lua_Integer at, before = M.nkeys;
      lua_rawgeti(L, M.base + 2, 2 * i);
      at = lua_tointeger(L, -1) + added + 1;
      lua_pop(L, 1);
      lua_rawgeti(L, M.base + 2, 2 * i - 1);
      src = lua_gettop(L);
      if (is_sequence(D, src)) {   /* a list of mappings, earlier ones first */
        lua_Integer j, n = (lua_Integer)lua_rawlen(L, src);
        for (j = 1; j <= n; j++) {
          lua_rawgeti(L, src, j);
          merge_from(D, &M, src + 1, &at);
          lua_settop(L, src);
        }
      }
      else
        merge_from(D, &M, src, &at);
      added += M.nkeys - before;
      lua_settop(L, src - 1);
    }
  }
  if (M.has_null) {   /* null members: absent, their keys kept in the order */
    lua_Integer i;
    for (i = 1; i <= M.nkeys; i++) {
      lua_rawgeti(L, M.base + 1, i);
      lua_pushvalue(L, -1);
      lua_rawget(L, M.base);
      if (lua_rawequal(L, -1, D->nullidx)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawset(L, M.base);
      }
      else
        lua_pop(L, 2);
    }
  }
  lua_pushvalue(L, M.base + 1);
  lua_setmetatable(L, M.base);
  lua_settop(L, M.base);
}

/* Pushes a deep copy of the value on top (replacing it), for an alias:
** tables are copied with their marks and key order; each value copied
** counts against the alias budget, which decode_node checked up front. */
static void copy_value(Decoder *D, int depth) {
  lua_State *L = D->L;
  int src = lua_gettop(L), dst, ismap;
  lua_Integer i, n;
  D->built++;
  if (!lua_istable(L, src)) return;
  check_depth(D, depth + 1);
  ismap = get_shape(L, src) == LUA_TTABLE;
  lua_pop(L, 1);
  if (!ismap) {
    n = (lua_Integer)lua_rawlen(L, src);
    lua_createtable(L, (int)n, 0);
    dst = lua_gettop(L);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, src, i);
      copy_value(D, depth + 1);
      lua_rawseti(L, dst, i);
    }
    lua_pushvalue(L, D->arraymt);
  }
  else {   /* the copy shares the shape: the same keys in the same order */
    get_shape(L, src);
    n = (lua_Integer)lua_rawlen(L, -1);
    lua_createtable(L, 0, (int)n);
    dst = lua_gettop(L);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, dst - 1, i);
      lua_pushvalue(L, -1);
      if (lua_rawget(L, src) == LUA_TNIL) {
        lua_pop(L, 2);
        continue;
      }
      copy_value(D, depth + 1);
      lua_rawset(L, dst);
    }
    lua_pushvalue(L, dst - 1);
  }
  lua_setmetatable(L, dst);
  lua_replace(L, src);   /* dst, copied over the source */
  lua_settop(L, src);
}

/* Records the value on top under the anchor of the node that started at
** the current start event (name copied before the event is replaced). */
static void record_anchor(Decoder *D, int name, size_t built_before) {
  lua_State *L = D->L;
  lua_pushvalue(L, name);
  lua_pushvalue(L, -2);
  lua_rawset(L, D->anchoridx);
  lua_pushvalue(L, name);
  lua_pushinteger(L, (lua_Integer)(D->built - built_before));
  lua_rawset(L, D->sizeidx);
  lua_remove(L, name);
}

/* Pushes the node that starts at the current event; containers count as
** one more level of nesting than 'depth'. */
static void decode_node(Decoder *D, int depth) {
  lua_State *L = D->L;
  yaml_event_t *ev = &D->P->event;
  const yaml_char_t *anchor = NULL;
  size_t before = D->built;
  int name = 0;
  D->nodes++;
  switch (ev->type) {
    case YAML_SCALAR_EVENT: anchor = ev->data.scalar.anchor; break;
    case YAML_SEQUENCE_START_EVENT: anchor = ev->data.sequence_start.anchor; break;
    case YAML_MAPPING_START_EVENT: anchor = ev->data.mapping_start.anchor; break;
    default: break;
  }
  if (anchor != NULL) {
    lua_pushstring(L, (const char *)anchor);
    name = lua_gettop(L);
  }
  switch (ev->type) {
    case YAML_SCALAR_EVENT:
      D->built++;
      push_scalar(D);
      break;
    case YAML_SEQUENCE_START_EVENT:
      D->built++;
      decode_sequence(D, depth + 1);
      break;
    case YAML_MAPPING_START_EVENT:
      D->built++;
      decode_mapping(D, depth + 1);
      break;
    case YAML_ALIAS_EVENT: {
      lua_Integer size;
      lua_pushstring(L, (const char *)ev->data.alias.anchor);
      lua_pushvalue(L, -1);
      lua_rawget(L, D->sizeidx);
      size = lua_tointeger(L, -1);
      lua_pop(L, 1);
      if (lua_rawget(L, D->anchoridx) == LUA_TNIL)
        error_here(D, "alias to an unknown anchor (or to the node it is in)");
      if ((size_t)size > YAML_ALIAS_BASE + YAML_ALIAS_RATIO * D->nodes ||
          D->aliased + (size_t)size > YAML_ALIAS_BASE + YAML_ALIAS_RATIO * D->nodes)
        error_here(D, "aliases expand too much (a billion-laughs document?)");
      D->aliased += (size_t)size;
      copy_value(D, depth);
      break;
    }
    default:
      error_here(D, "unexpected event");
  }
  if (name) record_anchor(D, name, before);
}

/* Reads the options table at idx (max_depth), of decode and encode alike;
** returns the depth limit. */
static int depth_option(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return YAML_MAX_DEPTH;
  luaL_checktype(L, idx, LUA_TTABLE);
  return codec_opt_int(L, idx, "max_depth", YAML_MAX_DEPTH, 1,
                       YAML_DEPTH_LIMIT);
}

/* Sets up a decoder over the text of argument 1, with the options of
** argument 'opts' (0: none taken), on the stack above them: the null
** sentinel, the array and mapping marks, the anchor and alias-size tables
** and the parser; the parser is at stream start. */
static void decoder_init(lua_State *L, Decoder *D, int opts) {
  size_t len, i;
  const char *s = luaL_checklstring(L, 1, &len);
  D->maxdepth = opts ? depth_option(L, opts) : YAML_MAX_DEPTH;
  lua_settop(L, opts ? opts : 1);
  D->L = L;
  D->s = s;
  D->len = len;
  D->ascii = 1;
  for (i = 0; i < len; i++)
    if ((unsigned char)s[i] >= 0x80) { D->ascii = 0; break; }
  D->mark_ci = D->mark_bi = 0;
  D->nodes = D->built = D->aliased = 0;
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  D->nullidx = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_ARRAY_MT);
  D->arraymt = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, YAML_MAP_MT);
  D->mapmt = lua_gettop(L);
  lua_newtable(L);
  D->anchoridx = lua_gettop(L);
  lua_newtable(L);
  D->sizeidx = lua_gettop(L);
  D->P = parser_new(L, s, len);
  D->base = lua_gettop(L);
  if (len >= 2 && (((unsigned char)s[0] == 0xFE && (unsigned char)s[1] == 0xFF) ||
                   ((unsigned char)s[0] == 0xFF && (unsigned char)s[1] == 0xFE)))
    error_at(D, 0, "UTF-16 input is not supported (convert it to UTF-8)");
  next_event(D);   /* stream start */
}

/* Pushes the list that collects the results (documents, events), from now
** on the last fixed stack slot; returns its slot. */
static int push_results(Decoder *D) {
  lua_newtable(D->L);
  D->base = lua_gettop(D->L);
  return D->base;
}

/* Reads one document (the current event is its start) and pushes its
** root; anchors do not reach across documents. */
static void decode_document(Decoder *D) {
  lua_State *L = D->L;
  next_event(D);
  decode_node(D, 0);
  if (next_event(D) != YAML_DOCUMENT_END_EVENT)
    error_here(D, "document end expected");
  lua_newtable(L);
  lua_replace(L, D->anchoridx);
  lua_newtable(L);
  lua_replace(L, D->sizeidx);
}

/* decode(s [, {max_depth = n}]) -> value: the one document of s (nil for
** a stream without documents); a second document is an error. */
static int yaml_decode(lua_State *L) {
  Decoder D;
  decoder_init(L, &D, 2);
  if (next_event(&D) == YAML_STREAM_END_EVENT) {
    parser_close(D.P);
    lua_pushnil(L);
    return 1;
  }
  decode_document(&D);
  if (next_event(&D) != YAML_STREAM_END_EVENT)
    error_here(&D, "a second document (decode_all reads a stream of several)");
  parser_close(D.P);
  return 1;
}

/* decode_all(s [, {max_depth = n}]) -> list of the documents of s. */
static int yaml_decode_all(lua_State *L) {
  Decoder D;
  lua_Integer n = 0;
  int list;
  decoder_init(L, &D, 2);
  list = push_results(&D);
  while (next_event(&D) != YAML_STREAM_END_EVENT) {
    decode_document(&D);
    lua_rawseti(L, list, ++n);
  }
  parser_close(D.P);
  lua_pushvalue(L, D.arraymt);
  lua_setmetatable(L, list);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Events with their places in the text, for edit (lua/harness/yaml.lua)
** ======================================================================= */

static const char *const scalar_styles[] = {
  "plain", "plain", "single", "double", "literal", "folded"
};

/* Sets field k of the table on top to the byte offset of character index ci
** (1-based, as Lua's string functions count). */
static void set_offset(Decoder *D, const char *k, size_t ci) {
  lua_pushinteger(D->L, (lua_Integer)byte_offset(D, ci) + 1);
  lua_setfield(D->L, -2, k);
}

/* Sets field k of the table on top to string v, unless v is NULL. */
static void set_string(lua_State *L, const char *k, const char *v) {
  if (v == NULL) return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

/* events(s) -> list of {type, s, e, ...}: every event of the stream with
** its byte range [s, e) (1-based), for scalars the style, the raw text and
** the resolved value (null as harness.json.null), for collections the
** style (block or flow), anchors, aliases, tags, and whether a document's
** start and end markers (--- and ...) are written. */
static int yaml_events(lua_State *L) {
  Decoder D;
  lua_Integer n = 0;
  int list;
  decoder_init(L, &D, 0);
  list = push_results(&D);
  for (;;) {
    yaml_event_t *ev = &D.P->event;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    const char *type = "stream", *style = NULL;
    switch (ev->type) {
      case YAML_STREAM_START_EVENT: type = "stream"; break;
      case YAML_STREAM_END_EVENT: type = "streamend"; break;
      case YAML_DOCUMENT_START_EVENT: type = "doc"; break;
      case YAML_DOCUMENT_END_EVENT: type = "docend"; break;
      case YAML_ALIAS_EVENT: type = "alias"; break;
      case YAML_SCALAR_EVENT: type = "scalar"; break;
      case YAML_SEQUENCE_START_EVENT: type = "seq"; break;
      case YAML_SEQUENCE_END_EVENT: type = "seqend"; break;
      case YAML_MAPPING_START_EVENT: type = "map"; break;
      case YAML_MAPPING_END_EVENT: type = "mapend"; break;
      default: break;
    }
    lua_createtable(L, 0, 8);
    lua_pushstring(L, type);
    lua_setfield(L, -2, "type");
    set_offset(&D, "s", ev->start_mark.index);
    set_offset(&D, "e", ev->end_mark.index);
    switch (ev->type) {
      case YAML_DOCUMENT_START_EVENT:
        lua_pushboolean(L, !ev->data.document_start.implicit);
        lua_setfield(L, -2, "explicit");
        break;
      case YAML_DOCUMENT_END_EVENT:
        lua_pushboolean(L, !ev->data.document_end.implicit);
        lua_setfield(L, -2, "explicit");
        break;
      case YAML_ALIAS_EVENT:
        anchor = ev->data.alias.anchor;   /* the anchor it refers to */
        break;
      case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        style = scalar_styles[ev->data.scalar.style];
        lua_pushlstring(L, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        lua_setfield(L, -2, "raw");
        push_scalar(&D);
        lua_setfield(L, -2, "value");
        break;
      case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        style = ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE
                ? "flow" : "block";
        break;
      case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        style = ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE
                ? "flow" : "block";
        break;
      default: break;
    }
    set_string(L, "style", style);
    set_string(L, ev->type == YAML_ALIAS_EVENT ? "alias" : "anchor",
               (const char *)anchor);
    set_string(L, "tag", (const char *)tag);
    lua_rawseti(L, list, ++n);
    if (ev->type == YAML_STREAM_END_EVENT) break;
    next_event(&D);
  }
  parser_close(D.P);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Encoding: block style, 2-space indentation, as Harness writes YAML
** ======================================================================= */

typedef struct Encoder {
  lua_State *L;
  Buf *B;
  const void *null;       /* the null sentinel */
  int arraymt, objectmt;  /* stack slots */
  int maxdepth;
} Encoder;

/* How encode errors name things. */
static const Codec yaml_codec = {"yaml", "sequence"};

/* Can code point cp be written as it is in a scalar?  YAML's printable
** characters, less NEL, LS and PS (line breaks to libyaml and YAML 1.1),
** the no-break space (invisible) and the byte order mark. */
static int printable(unsigned long cp) {
  return (cp >= 0x20 && cp <= 0x7E) ||
         (cp > 0xA0 && cp <= 0xD7FF && cp != 0x2028 && cp != 0x2029) ||
         (cp >= 0xE000 && cp <= 0xFFFD && cp != 0xFEFF) ||
         (cp >= 0x10000 && cp <= 0x10FFFF);
}

enum { S_PLAIN, S_DOUBLE, S_LITERAL, S_SINGLE };

/* Checks that s is valid UTF-8 (raising the error at f otherwise) and tells
** what it holds: bit 1 a newline, bit 2 a character that needs an escape
** (control, non-printable, CR, tab), bit 4 a character that plain text
** cannot start with or hold somewhere (the caller looks closer). */
static int scan_string(Encoder *E, const char *s, size_t len, const Frame *f,
                       int iskey) {
  const unsigned char *p = (const unsigned char *)s, *e = p + len;
  int flags = 0;
  while (p < e) {
    unsigned c = *p;
    if (c >= 0x20 && c < 0x7F) { p++; continue; }
    if (c == '\n') { flags |= 1; p++; continue; }
    if (c < 0x80) { flags |= 2; p++; continue; }
    {
      size_t n = codec_utf8_len(p);
      if (n == 0 || p + n > e) {
        char what[80];
        snprintf(what, sizeof what, "cannot encode invalid UTF-8 (byte %d of "
                 "the %s)", (int)(p - (const unsigned char *)s) + 1,
                 iskey ? "key" : "string");
        codec_path_error(E->L, &yaml_codec, f, what);
      }
      if (!printable(utf8_cp(p, n))) flags |= 2;
      p += n;
    }
  }
  return flags;
}

/* Can the single-line string s be written plain, reading back as the
** same string (in YAML 1.2, and in YAML 1.1 too)? */
static int plain_ok(const char *s, size_t len) {
  lua_Integer i;
  double d;
  size_t k;
  unsigned char c0, c1;
  if (len == 0) return 0;
  c0 = (unsigned char)s[0];
  c1 = len > 1 ? (unsigned char)s[1] : 0;
  if (c0 == ' ' || s[len - 1] == ' ') return 0;
  if (strchr("?:,[]{}#&*!|>'\"%@`", c0) != NULL) return 0;
  if (c0 == '-' && (len == 1 || c1 == ' ' || c1 == '-')) return 0;
  if (len >= 3 && memcmp(s, "...", 3) == 0) return 0;
  if (s[len - 1] == ':') return 0;
  for (k = 0; k < len; k++) {
    unsigned char c = (unsigned char)s[k];
    if (c == ':' && k + 1 < len && s[k + 1] == ' ') return 0;
    if (c == '#' && k > 0 && s[k - 1] == ' ') return 0;
  }
  if (resolve_plain(s, len, &i, &d) != R_STRING) return 0;
  return !resolves_in_yaml11(s, len);
}

/* Can the multi-line string s be a literal block (|) that reads back the
** same?  Not with a CR, an escape-only character, or a line of spaces only
** (a block scalar's indentation rules would eat those spaces). */
static int literal_ok(const char *s, size_t len, int flags) {
  size_t k, start = 0;
  if (flags & 2) return 0;
  for (k = 0; k <= len; k++) {
    if (k == len || s[k] == '\n') {
      size_t j;
      int blank = 1;
      for (j = start; j < k; j++)
        if (s[j] != ' ') { blank = 0; break; }
      if (blank && k > start) return 0;
      start = k + 1;
    }
  }
  /* Text that is nothing but line breaks reads better quoted. */
  for (k = 0; k < len; k++)
    if (s[k] != '\n') return 1;
  return 0;
}

/* Writes s double-quoted, escaping what YAML needs escaped. */
static void put_double(Encoder *E, const char *s, size_t len) {
  lua_State *L = E->L;
  Buf *B = E->B;
  const unsigned char *p = (const unsigned char *)s, *e = p + len, *run = p;
  buf_putc(L, B, '"');
  while (p < e) {
    unsigned c = *p;
    size_t n = 1;
    unsigned long cp;
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') { p++; continue; }
    if (c >= 0x80) {
      n = codec_utf8_len(p);   /* valid: scan_string checked */
      cp = utf8_cp(p, n);
      if (printable(cp)) { p += n; continue; }
    }
    else
      cp = c;
    buf_putn(L, B, (const char *)run, (size_t)(p - run));
    switch (cp) {
      case '"': buf_puts(L, B, "\\\""); break;
      case '\\': buf_puts(L, B, "\\\\"); break;
      case '\0': buf_puts(L, B, "\\0"); break;
      case '\a': buf_puts(L, B, "\\a"); break;
      case '\b': buf_puts(L, B, "\\b"); break;
      case '\t': buf_puts(L, B, "\\t"); break;
      case '\n': buf_puts(L, B, "\\n"); break;
      case '\v': buf_puts(L, B, "\\v"); break;
      case '\f': buf_puts(L, B, "\\f"); break;
      case '\r': buf_puts(L, B, "\\r"); break;
      case 0x1B: buf_puts(L, B, "\\e"); break;
      case 0x85: buf_puts(L, B, "\\N"); break;
      case 0xA0: buf_puts(L, B, "\\_"); break;
      case 0x2028: buf_puts(L, B, "\\L"); break;
      case 0x2029: buf_puts(L, B, "\\P"); break;
      default: {
        char esc[24];
        if (cp <= 0xFF) snprintf(esc, sizeof esc, "\\x%02lX", cp);
        else if (cp <= 0xFFFF) snprintf(esc, sizeof esc, "\\u%04lX", cp);
        else snprintf(esc, sizeof esc, "\\U%08lX", cp);
        buf_putn(L, B, esc, strlen(esc));
      }
    }
    p += n;
    run = p;
  }
  buf_putn(L, B, (const char *)run, (size_t)(e - run));
  buf_putc(L, B, '"');
}

/* Writes s single-quoted (only for text without escapes or newlines). */
static void put_single(Encoder *E, const char *s, size_t len) {
  const char *p = s, *e = s + len, *q;
  buf_putc(E->L, E->B, '\'');
  while ((q = memchr(p, '\'', (size_t)(e - p))) != NULL) {
    buf_putn(E->L, E->B, p, (size_t)(q - p) + 1);
    buf_putc(E->L, E->B, '\'');
    p = q + 1;
  }
  buf_putn(E->L, E->B, p, (size_t)(e - p));
  buf_putc(E->L, E->B, '\'');
}

/* Writes s as a literal block: the header (|, |-, |+, with an indentation
** indicator when the first line starts with a space) then each line at
** 'indent' spaces; the caller has checked literal_ok. */
static void put_literal(Encoder *E, const char *s, size_t len, int indent) {
  lua_State *L = E->L;
  Buf *B = E->B;
  size_t trail = 0, k, start;
  const char *first = s;
  while (trail < len && s[len - 1 - trail] == '\n') trail++;
  while (first < s + len && *first == '\n') first++;
  buf_putc(L, B, '|');
  if (first < s + len && *first == ' ') buf_putc(L, B, '2');
  if (trail == 0) buf_putc(L, B, '-');
  else if (trail > 1) buf_putc(L, B, '+');
  start = 0;
  for (k = 0; k <= len - trail; k++) {
    if (k == len - trail || s[k] == '\n') {
      if (k > start) {   /* an empty line gets no spaces */
        buf_newline(L, B, (size_t)indent);
        buf_putn(L, B, s + start, k - start);
      }
      else
        buf_putc(L, B, '\n');
      start = k + 1;
    }
  }
  for (k = 1; k < trail; k++) buf_putc(L, B, '\n');
}

/* Writes the string s as a scalar: plain when it reads back the same,
** a literal block for multi-line text ('indent': its lines' indentation;
** -1 forbids blocks, as for keys), double-quoted otherwise. 'want' asks for
** a style (edit keeps the one the text had) when s allows it. */
static void put_string(Encoder *E, const char *s, size_t len, const Frame *f,
                       int indent, int iskey, int want) {
  int flags = scan_string(E, s, len, f, iskey);
  if (flags & 1) {
    if (indent >= 0 && want != S_DOUBLE && want != S_SINGLE &&
        literal_ok(s, len, flags))
      put_literal(E, s, len, indent);
    else
      put_double(E, s, len);
    return;
  }
  if (want == S_DOUBLE || (flags & 2)) { put_double(E, s, len); return; }
  if (want == S_SINGLE) { put_single(E, s, len); return; }
  if (plain_ok(s, len) && !(iskey && len == 2 && memcmp(s, "<<", 2) == 0))
    buf_putn(E->L, E->B, s, len);
  else if (want == S_LITERAL || memchr(s, '"', len) == NULL || memchr(s, '\'', len) != NULL)
    put_double(E, s, len);
  else
    put_single(E, s, len);   /* text with double quotes reads better in single */
}

/* Writes d in the fewest significant digits that read back as d, always
** with a '.' (so that YAML 1.1 readers see a float too): 1.0, 0.1,
** 1.0e+20; .inf, -.inf and .nan for what JSON cannot hold. */
static void put_float(Encoder *E, double d) {
  Buf *B = E->B;
  char *s, *e;
  size_t n;
  if (isnan(d)) { buf_puts(E->L, B, ".nan"); return; }
  if (isinf(d)) {
    if (d > 0) buf_puts(E->L, B, ".inf");
    else buf_puts(E->L, B, "-.inf");
    return;
  }
  buf_reserve(E->L, B, 64);   /* the float and a '.0': B->b stays put */
  n = buf_putfloat(E->L, B, d);   /* it has a '.' or an exponent */
  s = B->b + B->n - n;
  if ((e = memchr(s, 'e', n)) != NULL && memchr(s, '.', n) == NULL) {
    memmove(e + 2, e, (size_t)(s + n - e));   /* 1e+20 -> 1.0e+20 */
    e[0] = '.';
    e[1] = '0';
    B->n += 2;
  }
}

/* Pushes the keys of the mapping at idx in the order to write them: its
** recorded order (keys whose value is nil left out), then any other keys
** in byte order.  Returns how many.  Every key must be a string; 'total'
** is how many keys it has (the callers have counted them). */
static lua_Integer map_keys(lua_State *L, int idx, lua_Integer total) {
  lua_Integer n = 0, i, no;
  int list, set = 0;
  lua_createtable(L, (int)total, 0);
  list = lua_gettop(L);
  if (get_shape(L, idx) == LUA_TTABLE) {
    no = (lua_Integer)lua_rawlen(L, -1);
    for (i = 1; i <= no && n < total; i++) {
      if (lua_rawgeti(L, -1, i) == LUA_TSTRING) {
        lua_pushvalue(L, -1);
        if (lua_rawget(L, idx) != LUA_TNIL) {
          lua_pop(L, 1);
          lua_rawseti(L, list, ++n);
          continue;
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  if (n < total) {   /* keys without a place in the order: sorted, after */
    Key *keys;
    lua_Integer m = 0;
    if (n > 0) {
      lua_createtable(L, 0, (int)n);
      set = lua_gettop(L);
      for (i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        lua_pushboolean(L, 1);
        lua_rawset(L, set);
      }
    }
    keys = (Key *)lua_newuserdatauv(L, (size_t)(total - n) * sizeof(Key), 0);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      if (set) {
        lua_pushvalue(L, -1);
        if (lua_rawget(L, set) != LUA_TNIL) { lua_pop(L, 1); continue; }
        lua_pop(L, 1);
      }
      if (m < total - n) {
        keys[m].s = lua_tolstring(L, -1, &keys[m].n);
        m++;
      }
    }
    codec_sort_keys(keys, (size_t)m);
    for (i = 0; i < m; i++) {
      lua_pushlstring(L, keys[i].s, keys[i].n);
      lua_rawseti(L, list, ++n);
    }
    lua_pop(L, set ? 2 : 1);
  }
  return n;
}

static void encode_node(Encoder *E, const Frame *f, int indent, int depth);

/* Where a value is written, which decides how a block starts. */
enum { AT_TOP, AT_VALUE, AT_ITEM };

/* Writes the non-empty mapping at idx; its first member goes on the
** current line when 'inline_first' (after "- "), the others on new lines
** at 'indent' spaces. */
static void put_mapping(Encoder *E, int idx, const Frame *f, int indent,
                        int depth, int inline_first, lua_Integer n) {
  lua_State *L = E->L;
  int list = lua_gettop(L);   /* the keys: a shape, or a list from map_keys */
  lua_Integer i, written = 0;
  for (i = 1; i <= n; i++) {
    size_t klen;
    const char *k;
    Frame c = {f, NULL, 0, 0, NULL};
    lua_rawgeti(L, list, i);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, idx) == LUA_TNIL) {   /* a null member */
      lua_pop(L, 2);
      continue;
    }
    k = lua_tolstring(L, -2, &klen);
    c.key = k;
    c.keylen = klen;
    if (written++ > 0 || !inline_first)
      buf_newline(L, E->B, (size_t)indent);
    if (klen > YAML_KEY_MAX) {   /* too long for an implicit key */
      buf_puts(L, E->B, "? ");
      put_string(E, k, klen, &c, -1, 1, S_DOUBLE);
      buf_newline(L, E->B, (size_t)indent);
    }
    else
      put_string(E, k, klen, &c, -1, 1, S_PLAIN);
    buf_putc(L, E->B, ':');
    encode_node(E, &c, indent, depth);
    lua_pop(L, 2);
  }
}

/* Writes the non-empty sequence at idx ("- item" lines at 'indent'). */
static void put_sequence(Encoder *E, int idx, const Frame *f, int indent,
                         int depth, int inline_first, lua_Integer n) {
  lua_State *L = E->L;
  lua_Integer i;
  Frame c = {f, NULL, 0, 0, NULL};
  for (i = 1; i <= n; i++) {
    if (i > 1 || !inline_first)
      buf_newline(L, E->B, (size_t)indent);
    buf_putc(L, E->B, '-');
    c.index = i;
    lua_rawgeti(L, idx, i);
    encode_node(E, &c, indent, -depth - 1);   /* negative: an item */
    lua_pop(L, 1);
  }
}

/* Pushes the keys of the mapping at idx in the order to write them (see
** map_keys); returns how many, 0 for an empty mapping.  Every key must be
** a string (else the error at f). */
static lua_Integer push_write_order(Encoder *E, int idx, const Frame *f) {
  lua_State *L = E->L;
  lua_Integer total = codec_count_keys(L, &yaml_codec, f, idx);
  lua_Integer present = 0, i, n = 0;
  /* The shape lists every key (the usual case): walk it, allocating
  ** nothing; else a key list in the order to write. */
  if (get_shape(L, idx) == LUA_TTABLE) {
    n = (lua_Integer)lua_rawlen(L, -1);
    for (i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, i);
      if (lua_rawget(L, idx) != LUA_TNIL) present++;
      lua_pop(L, 1);
    }
  }
  if (present != total) {
    lua_pop(L, 1);
    n = map_keys(L, idx, total);
  }
  return total == 0 ? 0 : n;   /* a shape may list only null members */
}

/* Writes the table on top: {} or [] when empty, else a block.  'indent' is
** that of the line holding the key or the "-" before it; 'where' says
** which; the block's own lines go 2 spaces deeper. */
static void encode_table(Encoder *E, const Frame *pf, int indent, int depth,
                         int where) {
  lua_State *L = E->L;
  int idx = lua_gettop(L), kind;
  Frame f = *pf;
  lua_Integer n;
  /* No C stack guard: a level takes about 270 bytes of it here, so JSON's
  ** budget (a quarter of the stack) would refuse what max_depth allows. */
  codec_check_table(L, &yaml_codec, &f, idx, depth, E->maxdepth, NULL);
  /* (shapes are objects by their __jsontype) */
  kind = codec_table_kind(L, idx, E->arraymt, E->objectmt);
  if (kind == CODEC_AUTO) {
    lua_pushnil(L);
    if (lua_next(L, idx)) {
      kind = lua_type(L, -2) == LUA_TSTRING ? CODEC_OBJECT : CODEC_ARRAY;
      lua_pop(L, 2);
    }
    else
      kind = CODEC_OBJECT;
  }
  if (kind == CODEC_ARRAY) {
    lua_pushnil(L);
    n = lua_next(L, idx) ? codec_list_length(L, &yaml_codec, &f, idx, 0) : 0;
    lua_pushnil(L);   /* where a mapping has its key list */
  }
  else
    n = push_write_order(E, idx, &f);
  if (n == 0) {
    const char *empty = kind == CODEC_ARRAY ? " []" : " {}";
    if (where == AT_TOP) buf_putn(L, E->B, empty + 1, 2);
    else buf_putn(L, E->B, empty, 3);
  }
  else {
    /* the first line goes on this one, but for a value after a key */
    int inline_first = where != AT_VALUE;
    if (where == AT_ITEM) buf_putc(L, E->B, ' ');
    if (where != AT_TOP) indent += 2;
    if (kind == CODEC_ARRAY)
      put_sequence(E, idx, &f, indent, depth, inline_first, n);
    else
      put_mapping(E, idx, &f, indent, depth, inline_first, n);
  }
  lua_pop(L, 1);
}

/* Writes the value on top, reached through frame f.  A value after a key
** or a "-" starts with its separating space; 'depth' < 0 marks an item
** (its magnitude minus one the depth). */
static void encode_node(Encoder *E, const Frame *f, int indent, int depth) {
  lua_State *L = E->L;
  int where = depth < 0 ? AT_ITEM : (f->parent == NULL ? AT_TOP : AT_VALUE);
  if (depth < 0) depth = -depth - 1;
  if (where != AT_TOP && lua_type(L, -1) != LUA_TTABLE)
    buf_putc(L, E->B, ' ');
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      put_string(E, s, len, f, indent + 2, 0, S_PLAIN);
      break;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1)) buf_putint(L, E->B, lua_tointeger(L, -1));
      else put_float(E, lua_tonumber(L, -1));
      break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, -1)) buf_puts(L, E->B, "true");
      else buf_puts(L, E->B, "false");
      break;
    case LUA_TTABLE:
      encode_table(E, f, indent, depth + 1, where);
      break;
    case LUA_TNIL:
      buf_puts(L, E->B, "null");
      break;
    case LUA_TUSERDATA:
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, -1) == E->null) {
        buf_puts(L, E->B, "null");
        break;
      }
      /* FALLTHROUGH */
    default:
      codec_bad_value(L, &yaml_codec, f);
  }
}

/* Sets up an encoder on the stack: the null sentinel, the array and object
** marks and the output buffer. */
static void encoder_init(lua_State *L, Encoder *E, int maxdepth) {
  E->L = L;
  E->maxdepth = maxdepth;
  E->arraymt = codec_push_marks(L, &E->null) + 1;
  E->objectmt = E->arraymt + 1;
  E->B = buf_new(L);
}

/* encode(v [, {max_depth = n}]) -> string: one YAML document, ending with
** a line break. */
static int yaml_encode(lua_State *L) {
  Encoder E;
  Frame root = {NULL, NULL, 0, 0, NULL};
  int maxdepth;
  luaL_checkany(L, 1);
  maxdepth = depth_option(L, 2);
  lua_settop(L, 2);
  encoder_init(L, &E, maxdepth);
  lua_pushvalue(L, 1);
  encode_node(&E, &root, 0, 0);
  buf_putc(L, E.B, '\n');
  if (E.B->size - E.B->n > 65536) {   /* give back the slack before the copy */
    char *b = (char *)realloc(E.B->b, E.B->n);
    if (b != NULL) {
      E.B->b = b;
      E.B->size = E.B->n;
    }
  }
  lua_pushlstring(L, E.B->b, E.B->n);
  buf_free(E.B);   /* now, rather than at the next collection */
  return 1;
}

/* scalar(v, style, indent) -> string: v (a string, number, boolean or
** null) written as edit puts it into a document: in 'style' ("plain",
** "single", "double", "literal", "folded") when v allows it, a literal
** block's lines at 'indent' spaces. */
static int yaml_scalar(lua_State *L) {
  static const char *const styles[] = {"plain", "double", "literal", "single",
                                       "folded", NULL};
  Encoder E;
  Frame root = {NULL, NULL, 0, 0, NULL};
  int want, indent;
  luaL_checkany(L, 1);
  want = luaL_checkoption(L, 2, "plain", styles);
  if (want == 4) want = S_LITERAL;   /* folded text is rewritten as literal */
  indent = (int)luaL_optinteger(L, 3, 2);
  luaL_argcheck(L, indent >= 0 && indent <= 10000, 3, "indentation out of range");
  lua_settop(L, 3);
  encoder_init(L, &E, YAML_MAX_DEPTH);
  lua_pushvalue(L, 1);
  if (lua_type(L, -1) == LUA_TSTRING) {
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    put_string(&E, s, len, &root, indent, 0, want);
  }
  else if (lua_type(L, -1) == LUA_TTABLE)
    return luaL_argerror(L, 1, "a scalar expected");
  else
    encode_node(&E, &root, 0, 0);
  lua_pushlstring(L, E.B->b, E.B->n);
  buf_free(E.B);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Ordered mappings: the shapes' metamethods and the order helpers
** ======================================================================= */

/* Finds key k (at idx) in the key list at list; returns its position or 0. */
static lua_Integer find_key(lua_State *L, int list, int idx) {
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, list);
  for (i = 1; i <= n; i++) {
    int eq;
    lua_rawgeti(L, list, i);
    eq = lua_rawequal(L, -1, idx);
    lua_pop(L, 1);
    if (eq) return i;
  }
  return 0;
}

/* __newindex(t, k, v) of ordered mappings: a new key moves t to the shape
** with k appended (a key that was there keeps its place); assigning nil to
** an absent key that the shape lists (a null member) moves t to the shape
** without it, so that edit deletes it. */
static int map_newindex(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 3);
  if (lua_type(L, 2) == LUA_TSTRING && get_shape(L, 1) == LUA_TTABLE) {
    lua_Integer pos = find_key(L, 4, 2);
    if (lua_isnil(L, 3) && pos > 0) {
      shape_of(L, 4, 2);
      lua_setmetatable(L, 1);
    }
    else if (!lua_isnil(L, 3) && pos == 0) {
      shape_next(L, 4, 2);
      lua_setmetatable(L, 1);
    }
  }
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

/* Takes table t (argument 1) and pushes the list of its keys in the order
** encode writes them (see map_keys); raises unless they are strings. */
static void push_keys_of_arg(lua_State *L) {
  lua_Integer total = 0;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "yaml: mapping has a %s key (keys are strings)",
                 luaL_typename(L, -2));
    total++;
    lua_pop(L, 1);
  }
  map_keys(L, 1, total);
}

/* keys(t) -> list of t's keys in the order encode writes them: the order
** of the text and of assignments, then other keys sorted. */
static int yaml_keys(lua_State *L) {
  push_keys_of_arg(L);
  return 1;
}

/* Iterator of __pairs: upvalue 1 the key list, 2 the position. */
static int pairs_next(lua_State *L) {
  lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
  for (;;) {
    i++;
    if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 0;
    lua_pushvalue(L, -1);
    if (lua_rawget(L, 1) != LUA_TNIL) {   /* skip keys deleted meanwhile */
      lua_pushinteger(L, i);
      lua_replace(L, lua_upvalueindex(2));
      return 2;
    }
    lua_pop(L, 2);
  }
}

/* __pairs(t) of ordered mappings: iterates in the order of keys(t). */
static int map_pairs(lua_State *L) {
  push_keys_of_arg(L);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, pairs_next, 2);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* _order(t) -> the key list recorded for t (its shape: read it, do not
** change it), or nil: for edit, which tells a null member kept from one
** deleted by it. */
static int yaml_order(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  get_shape(L, 1);
  return 1;
}

/* _raise(message): raises harness.Error{kind = "yaml", message = message},
** for lua/harness/yaml.lua. */
static int yaml_raise(lua_State *L) {
  return hlua_error(L, "yaml", "%s", luaL_checkstring(L, 1));
}

/* mapping([t [, keys]]) -> t: marks t as a mapping that keeps key order;
** 'keys' (a list of strings) gives the order of the keys t holds or will
** hold; keys it does not list follow in byte order. */
static int yaml_mapping(lua_State *L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 2);
    lua_newtable(L);
    lua_replace(L, 1);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_getmetatable(L, 1)) {
    luaL_getmetatable(L, JSON_OBJECT_MT);
    if (!is_shape(L, -2) && !lua_rawequal(L, -2, -1))
      return luaL_argerror(L, 1, "table has a metatable of its own");
    lua_settop(L, 2);
  }
  if (!lua_isnil(L, 2)) {
    lua_Integer i, n;
    luaL_checktype(L, 2, LUA_TTABLE);
    n = (lua_Integer)luaL_len(L, 2);
    lua_createtable(L, (int)n, 0);
    for (i = 1; i <= n; i++) {
      if (lua_geti(L, 2, i) != LUA_TSTRING)
        return luaL_argerror(L, 2, "list of strings expected");
      if (find_key(L, 3, 4) > 0)
        return luaL_argerror(L, 2, "a key is listed twice");
      lua_rawseti(L, 3, i);
    }
    shape_of(L, 3, 0);
  }
  else if (get_shape(L, 1) != LUA_TTABLE) {
    lua_pop(L, 1);
    luaL_getmetatable(L, YAML_MAP_MT);
  }
  lua_setmetatable(L, 1);
  lua_settop(L, 1);
  return 1;
}

/* }====================================================================== */


/* Creates what the module keeps in the registry, once per state: the
** marks, null and buffer metatable it shares with harness.json (as
** codec_open makes them, when it has not yet), the mapping mark, the
** weak-values metatable of the shapes' key caches and the parser
** metatable. */
static void init_registry(lua_State *L) {
  codec_open(L);
  if (luaL_newmetatable(L, YAML_MAP_MT)) {   /* the shape of {}: no keys */
    lua_pushliteral(L, "object");
    lua_setfield(L, -2, "__jsontype");
    lua_pushcfunction(L, map_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, map_pairs);
    lua_setfield(L, -2, "__pairs");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "__yaml");
  }
  if (luaL_newmetatable(L, YAML_WEAKV)) {
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
  }
  if (luaL_newmetatable(L, YAML_PARSER_MT)) {
    lua_pushcfunction(L, parser_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 3);
}

/* require "hlua_yaml": leaves the module table (decode, decode_all,
** encode, events, scalar, keys, mapping, version and the private _order
** and _raise for lua/harness/yaml.lua).  The module's one exported
** symbol: the rest is compiled hidden (see the Makefile). */
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_hlua_yaml(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"decode", yaml_decode},
    {"decode_all", yaml_decode_all},
    {"encode", yaml_encode},
    {"events", yaml_events},
    {"scalar", yaml_scalar},
    {"keys", yaml_keys},
    {"mapping", yaml_mapping},
    {"_order", yaml_order},
    {"_raise", yaml_raise},
    {NULL, NULL}
  };
  init_registry(L);
  luaL_newlib(L, funcs);
  lua_pushfstring(L, "libyaml %s", yaml_get_version_string());
  lua_setfield(L, -2, "version");
  return 1;
}
