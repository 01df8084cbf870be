/*
** codec.c: what harness.json (json.c) and harness.yaml (yaml.c) share:
** the registry values, the growable buffer, float formatting, options,
** the errors with a place in the text or a path in the value, and the
** checks of the tables to encode.  See codec.h.
**
** Compiled into the host (with json.c) and into the module hlua_yaml
** (with yaml.c), so it uses nothing of the host but errors.c, which the
** module holds a copy of as well.
*/
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>

#include <lauxlib.h>
#include <lua.h>

#include "codec.h"
#include "hlua.h"

#define CODEC_EXCERPT 24   /* bytes of context either side in a text error */
#define CODEC_FLOAT_ROOM 48   /* bytes format_float may write, its NUL too */


/* {======================================================================
** The registry values and the buffer
** ======================================================================= */

/* __tostring of the null sentinel: takes it, leaves "null". */
static int null_tostring(lua_State *L) {
  lua_pushliteral(L, "null");
  return 1;
}

/* __gc of a buffer: takes the userdata, leaves nothing.  Also the __gc of
** any userdata that starts with a Buf (json.c's decode state). */
static int buf_gc(lua_State *L) {
  buf_free((Buf *)luaL_checkudata(L, 1, CODEC_BUFFER_MT));
  return 0;
}

void codec_open(lua_State *L) {
  if (luaL_newmetatable(L, JSON_ARRAY_MT)) {
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
  }
  if (luaL_newmetatable(L, JSON_OBJECT_MT)) {
    lua_pushliteral(L, "object");
    lua_setfield(L, -2, "__jsontype");
  }
  if (luaL_newmetatable(L, CODEC_BUFFER_MT)) {
    lua_pushcfunction(L, buf_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 3);
  if (lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL) == LUA_TNIL) {
    lua_newuserdatauv(L, 0, 0);
    lua_newtable(L);
    lua_pushcfunction(L, null_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, JSON_NULL);
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  }
  lua_pop(L, 1);
}

void buf_free(Buf *B) {
  free(B->b);
  B->b = NULL;
  B->n = B->size = 0;
}

Buf *buf_new(lua_State *L) {
  Buf *B = (Buf *)lua_newuserdatauv(L, sizeof(Buf), 0);
  B->b = NULL;
  B->n = B->size = 0;
  luaL_setmetatable(L, CODEC_BUFFER_MT);
  return B;
}

void buf_grow(lua_State *L, Buf *B, size_t need) {
  size_t size = B->size ? B->size : 256;
  char *b;
  if (need > SIZE_MAX / 2 - B->n)   /* the doubling below would overflow */
    luaL_error(L, "buffer too large");
  while (size - B->n < need)
    size *= 2;
  b = (char *)realloc(B->b, size);
  if (b == NULL)
    luaL_error(L, "not enough memory");
  B->b = b;
  B->size = size;
}

/* }====================================================================== */


/* {======================================================================
** Floats, options, errors in the text
** ======================================================================= */

const double codec_pow10[23] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Writes the significant digits 'digits' (nd of them, the first at
** 10^x) as printf's %.*g would with precision max(15, nd): the form the
** shortest %.15g, %.16g or %.17g that reads back gives; a '.0' is added
** when there is neither a point nor an exponent.  Returns the length. */
static size_t put_float_digits(char *out, uint64_t digits, int nd, int x) {
  char tmp[24], *e = tmp + sizeof tmp, *q = codec_put_digits(e, digits);
  char *p = out;
  int prec = nd > 15 ? nd : 15;
  if (x < -4 || x >= prec) {   /* d.ddde+XX */
    int ax = x < 0 ? -x : x;
    *p++ = q[0];
    if (nd > 1) {
      *p++ = '.';
      memcpy(p, q + 1, (size_t)nd - 1);
      p += nd - 1;
    }
    *p++ = 'e';
    *p++ = x < 0 ? '-' : '+';
    if (ax >= 100) *p++ = (char)('0' + ax / 100);
    *p++ = (char)('0' + ax / 10 % 10);
    *p++ = (char)('0' + ax % 10);
  }
  else if (x < 0) {   /* 0.000ddd */
    *p++ = '0';
    *p++ = '.';
    memset(p, '0', (size_t)(-x - 1));
    p += -x - 1;
    memcpy(p, q, (size_t)nd);
    p += nd;
  }
  else if (nd <= x + 1) {   /* ddd000.0 */
    memcpy(p, q, (size_t)nd);
    p += nd;
    memset(p, '0', (size_t)(x + 1 - nd));
    p += x + 1 - nd;
    *p++ = '.';
    *p++ = '0';
  }
  else {   /* ddd.ddd */
    memcpy(p, q, (size_t)x + 1);
    p += x + 1;
    *p++ = '.';
    memcpy(p, q + x + 1, (size_t)(nd - x - 1));
    p += nd - x - 1;
  }
  return (size_t)(p - out);
}

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;

/* The shortest digits that read back as a, exactly, for a in [2^-14,
** 2^53) (where 128-bit integers hold every product below): sets *digits
** and *x (the power of ten of the first digit) and returns how many
** digits, or 0 when a is out of that range.  a = f * 2^e lies in the
** interval of reals that round to it (ends included when f is even,
** as strtod rounds ties to even; the gap below is half as wide when f is
** a power of two); scaled by 10^k to 17 or 18 digits, the ends become
** integers L..H, and the shortest are the multiples of the largest power
** of ten with one in L..H, of which the nearest to a (ties to even) is
** taken, as %.17g would. */
static int shortest_digits(double a, uint64_t *digits, int *x) {
  uint64_t bits, f, m, vq, lo, hi, p, q, low, r;
  int b, e, k, s, j, nd, even;
  u128 pk, nv, nl, nh, mask, vr, g;
  memcpy(&bits, &a, 8);
  b = (int)((bits >> 52) & 0x7FF) - 1023;
  if (b < -14 || b > 52) return 0;
  m = bits & (((uint64_t)1 << 52) - 1);
  f = m | ((uint64_t)1 << 52);
  e = b - 52;                             /* a = f * 2^e, e in [-66, 0] */
  /* k = 16 - floor(b log10 2): a * 10^k has 17 or 18 digits */
  k = 16 - (b >= 0 ? (b * 1233) >> 12 : -((-b * 1233 + 4095) >> 12));
  for (pk = 1, j = 0; j < k; j++) pk *= 10;   /* k <= 21: below 2^70 */
  s = 2 - e;                              /* in units of 2^(e-2) */
  mask = ((u128)1 << s) - 1;
  nv = (u128)(4 * f) * pk;
  nh = (u128)(4 * f + 2) * pk;
  nl = (u128)(4 * f - (m == 0 ? 1 : 2)) * pk;
  even = (f & 1) == 0;
  vq = (uint64_t)(nv >> s);
  vr = nv & mask;
  hi = (uint64_t)(nh >> s);
  if (!even && (nh & mask) == 0) hi--;
  lo = (uint64_t)(nl >> s);
  if ((nl & mask) != 0 || !even) lo++;
  if (lo > hi) return 0;                  /* too narrow at this scale */
  for (p = 1, j = 0; (q = p * 10) <= hi && (lo + q - 1) / q * q <= hi; j++)
    p = q;
  /* the multiples of p around v = vq + vr/2^s: low and low + p */
  low = vq / p * p;
  r = vq - low;
  g = 2 * vr;                             /* 2(v - low) = 2r + g/2^s */
  q = 2 * r + (g > mask);
  if (g > mask) g -= mask + 1;
  if (q < p) r = low;
  else if (q > p || g != 0) r = low + p;
  else r = (low / p) % 2 == 0 ? low : low + p;   /* a tie */
  if (r > hi) r = low;
  if (r < lo) r = low + p;
  *digits = r / p;
  for (nd = 1, q = *digits; q >= 10; q /= 10) nd++;
  *x = nd - 1 + j - k;
  return nd;
}
#endif

/* Formats finite d as buf_putfloat says into out (CODEC_FLOAT_ROOM
** bytes); returns the length.  Fast path: d = m / 10^k with m < 10^15 has
** a unique shortest form; then the exact integer search of
** shortest_digits; elsewhere %.15g, %.16g, %.17g (the last always reads
** back), from %.1g for subnormals, which carry fewer digits. */
static size_t format_float(char *out, double d) {
  double a = fabs(d);
  int k, prec;
  char *p = out;
  if (signbit(d)) *p++ = '-';
  if (a < 1e15 && (a >= 1e-4 || a == 0)) {
    for (k = 0; k <= 17 && a * codec_pow10[k] < 1e15; k++) {
      double m = a * codec_pow10[k];
      if (m == floor(m) && m / codec_pow10[k] == a) {
        char tmp[24], *e = tmp + sizeof tmp, *q;
        uint64_t u = (uint64_t)m;
        int i;
        for (; k > 0 && u % 10 == 0; k--)   /* a*10^k rounded to an integer late */
          u /= 10;
        q = codec_put_digits(e, u);
        while (e - q <= k) *--q = '0';          /* 0.05 needs leading zeros */
        memcpy(p, q, (size_t)(e - q - k));
        p += e - q - k;
        *p++ = '.';
        if (k == 0) *p++ = '0';
        for (i = 0; i < k; i++) *p++ = e[i - k];
        return (size_t)(p - out);
      }
    }
  }
#if defined(__SIZEOF_INT128__)
  {
    uint64_t digits;
    int x, nd = shortest_digits(a, &digits, &x);
    if (nd > 0)
      return (size_t)(p - out) + put_float_digits(p, digits, nd, x);
  }
#endif
  for (prec = a < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
    snprintf(p, 32, "%.*g", prec, a);
    if (strtod(p, NULL) == a) break;
  }
  for (; *p; p++) {
    if (*p == 'e') return (size_t)(p - out) + strlen(p);
    if (!codec_is_digit(*p)) *p = '.';   /* the locale's decimal point */
  }
  if (strchr(out, '.') == NULL) { *p++ = '.'; *p++ = '0'; }
  return (size_t)(p - out);
}

/* Formatted in place: no copy from a buffer on the C stack. */
size_t buf_putfloat(lua_State *L, Buf *B, double d) {
  size_t n;
  buf_reserve(L, B, CODEC_FLOAT_ROOM);
  n = format_float(B->b + B->n, d);
  B->n += n;
  return n;
}

int codec_opt_int(lua_State *L, int idx, const char *field, int def,
                  int lo, int hi) {
  lua_Integer v;
  int isnum;
  if (lua_getfield(L, idx, field) == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  v = lua_tointegerx(L, -1, &isnum);
  if (!isnum || v < lo || v > hi)
    return luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be an "
                         "integer from %d to %d", field, lo, hi));
  lua_pop(L, 1);
  return (int)v;
}

/* Adds the bytes [a, e) to an error excerpt, escaping what would garble a
** one-line message (control bytes, broken UTF-8). */
static void add_excerpt(luaL_Buffer *b, const char *a, const char *e) {
  const unsigned char *p = (const unsigned char *)a;
  while (p < (const unsigned char *)e) {
    size_t n = codec_utf8_len(p);
    if (*p < 0x20 || *p == 0x7F || n == 0 ||
        p + n > (const unsigned char *)e) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02X", *p);
      luaL_addstring(b, hex);
      n = 1;
    }
    else
      luaL_addlstring(b, (const char *)p, n);
    p += n;
  }
}

/* Does the byte at p end a line of the excerpt?  CR too: a line of CRLF
** text shows without it. */
#define is_line_end(p) (*(p) == '\n' || *(p) == '\r')

int codec_text_error(lua_State *L, const char *kind, const char *s,
                     size_t len, size_t at, const char *what) {
  const char *line = s, *end = s + len, *p, *a, *e, *pos;
  lua_Integer nline = 1, col = 1;
  luaL_Buffer b;
  if (at > len) at = len;
  pos = s + at;
  for (p = s; p < pos; p++) {
    if (*p == '\n') { nline++; line = p + 1; col = 1; }
    else if ((*p & 0xC0) != 0x80) col++;
  }
  /* up to CODEC_EXCERPT bytes either side, on the line, whole characters */
  a = (pos - line > CODEC_EXCERPT) ? pos - CODEC_EXCERPT : line;
  while (a < pos && (*a & 0xC0) == 0x80) a++;
  for (e = pos; e < end && e - pos < CODEC_EXCERPT && !is_line_end(e); e++) {}
  while (e < end && (*e & 0xC0) == 0x80 && e - pos < CODEC_EXCERPT + 3) e++;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "%s: %s at line %I column %I near '", kind, what,
                  (LUAI_UACINT)nline, (LUAI_UACINT)col);
  luaL_addvalue(&b);
  if (a > line) luaL_addstring(&b, "...");
  add_excerpt(&b, a, e);
  if (e < end && !is_line_end(e)) luaL_addstring(&b, "...");
  luaL_addchar(&b, '\'');
  luaL_pushresult(&b);
  hlua_newerror(L, kind, lua_tostring(L, -1));
  lua_pushinteger(L, nline);
  lua_setfield(L, -2, "line");
  lua_pushinteger(L, col);
  lua_setfield(L, -2, "column");
  lua_pushinteger(L, (lua_Integer)at + 1);
  lua_setfield(L, -2, "offset");
  return lua_error(L);
}

/* }====================================================================== */


/* {======================================================================
** Nesting: the C stack guard
** ======================================================================= */

/* An address in the current frame. */
#if defined(__GNUC__)
#define stack_here() ((uintptr_t)__builtin_frame_address(0))
#else
static uintptr_t stack_here(void) {
  volatile char c = 0;
  return (uintptr_t)&c;
}
#endif

void codec_stack_init(StackGuard *G) {
  G->base = stack_here();
  G->budget = 0;
}

/* The stack grows down on nearly every machine; the distance is taken
** either way. */
int codec_stack_ok(StackGuard *G) {
  uintptr_t here = stack_here();
  size_t used = (size_t)(here < G->base ? G->base - here : here - G->base);
  if (G->budget == 0) {
    struct rlimit rl;
    size_t limit = (size_t)8 << 20;   /* when unlimited or unknown */
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)SIZE_MAX)
      limit = (size_t)rl.rlim_cur;
    G->budget = limit / 4;
  }
  return used <= G->budget;
}

/* }====================================================================== */


/* {======================================================================
** Encoding: paths, checks and errors
** ======================================================================= */

/* Can key s (n bytes) follow a '.' in a path ($.a.b), or must it be ["..."]? */
static int is_ident(const char *s, size_t n) {
  size_t i;
  if (n == 0 || codec_is_digit(s[0])) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(c == '_' || codec_is_digit(c) ||
          ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
      return 0;
  }
  return 1;
}

/* Adds one step of a path, frame f, in Lua terms, to b. */
static void add_step(luaL_Buffer *b, const Frame *f) {
  if (f->key == NULL) {
    lua_pushfstring(b->L, "[%I]", (LUAI_UACINT)f->index);
    luaL_addvalue(b);
  }
  else if (is_ident(f->key, f->keylen)) {
    luaL_addchar(b, '.');
    luaL_addlstring(b, f->key, f->keylen);
  }
  else {
    size_t i, n = f->keylen > 40 ? 40 : f->keylen;
    luaL_addstring(b, "[\"");
    for (i = 0; i < n; i++) {
      unsigned char c = (unsigned char)f->key[i];
      if (c == '"' || c == '\\') {
        luaL_addchar(b, '\\');
        luaL_addchar(b, (char)c);
      }
      else if (c < 0x20 || c >= 0x7F) {
        char hex[8];
        snprintf(hex, sizeof hex, "\\x%02X", c);
        luaL_addstring(b, hex);
      }
      else
        luaL_addchar(b, (char)c);
    }
    luaL_addstring(b, n < f->keylen ? "...\"]" : "\"]");
  }
}

/* The frames run from the value back to the root; they are put in order
** in an array first, not by recursion: the error may be about a stack
** that is nearly full. */
int codec_path_error(lua_State *L, const Codec *C, const Frame *f,
                     const char *what) {
  luaL_Buffer b;
  const Frame *g, **steps;
  size_t n = 0, i;
  if (!lua_checkstack(L, 10))
    luaL_error(L, "stack overflow (%s: cannot report an encode error)",
               C->kind);
  for (g = f; g->parent != NULL; g = g->parent) n++;
  steps = (const Frame **)lua_newuserdatauv(L, n * sizeof(Frame *), 0);
  for (i = n, g = f; i > 0; g = g->parent) steps[--i] = g;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '$');
  for (i = 0; i < n; i++) add_step(&b, steps[i]);
  luaL_pushresult(&b);
  lua_pushfstring(L, "%s: %s at %s", C->kind, what, lua_tostring(L, -1));
  hlua_newerror(L, C->kind, lua_tostring(L, -1));
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "path");
  return lua_error(L);
}

int codec_bad_value(lua_State *L, const Codec *C, const Frame *f) {
  char what[64];
  snprintf(what, sizeof what, "cannot encode %s", luaL_typename(L, -1));
  return codec_path_error(L, C, f, what);
}

int codec_bad_key(lua_State *L, const Codec *C, const Frame *f, int kind) {
  char what[96];
  int t = lua_type(L, -2);
  if (t == LUA_TNUMBER && !lua_isinteger(L, -2))
    snprintf(what, sizeof what, "cannot encode table with non-integer key %s",
             lua_tostring(L, -2));
  else if (t == LUA_TNUMBER && kind == CODEC_ARRAY)
    snprintf(what, sizeof what, "cannot encode %s with index %lld (%ss start "
             "at 1)", C->list, (long long)lua_tointeger(L, -2), C->list);
  else if ((t == LUA_TNUMBER && kind == CODEC_OBJECT) ||
           (t == LUA_TSTRING && kind == CODEC_ARRAY))
    snprintf(what, sizeof what, "cannot encode table mixing string and "
             "integer keys");
  else
    snprintf(what, sizeof what, "cannot encode table with %s key",
             luaL_typename(L, -2));
  return codec_path_error(L, C, f, what);
}

int codec_jsontype(lua_State *L) {
  int kind = CODEC_AUTO;
  const char *t;
  lua_pushliteral(L, "__jsontype");
  lua_rawget(L, -2);
  t = lua_tostring(L, -1);
  if (t != NULL && strcmp(t, "array") == 0) kind = CODEC_ARRAY;
  else if (t != NULL && strcmp(t, "object") == 0) kind = CODEC_OBJECT;
  lua_pop(L, 1);
  return kind;
}

int codec_depth_error(lua_State *L, const Codec *C, const Frame *f,
                      int depth, const char *what) {
  char msg[96];
  snprintf(msg, sizeof msg, "cannot encode nesting deeper than %d%s",
           depth - 1, what);
  return codec_path_error(L, C, f, msg);
}

lua_Integer codec_list_length(lua_State *L, const Codec *C, const Frame *f,
                              int idx, lua_Integer n) {
  lua_Integer max = n;
  do {
    lua_Integer k = 0;
    if (!lua_isinteger(L, -2) || (k = lua_tointeger(L, -2)) < 1)
      codec_bad_key(L, C, f, CODEC_ARRAY);
    if (k > max) max = k;
    n++;
    lua_pop(L, 1);
  } while (lua_next(L, idx));
  if (max != n) {
    char what[96];
    snprintf(what, sizeof what, "cannot encode sparse %s (%lld items, "
             "largest index %lld)", C->list, (long long)n, (long long)max);
    codec_path_error(L, C, f, what);
  }
  return n;
}

lua_Integer codec_count_keys(lua_State *L, const Codec *C, const Frame *f,
                             int idx) {
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      codec_bad_key(L, C, f, CODEC_OBJECT);
    n++;
    lua_pop(L, 1);
  }
  return n;
}

/* qsort's comparison of two keys: byte order, shorter first on a tie. */
static int key_cmp(const void *a, const void *b) {
  const Key *x = (const Key *)a, *y = (const Key *)b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

void codec_sort_keys(Key *k, size_t n) {
  if (n > 1) qsort(k, n, sizeof(Key), key_cmp);
}

int codec_push_marks(lua_State *L, const void **null) {
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  *null = lua_touserdata(L, -1);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_ARRAY_MT);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_OBJECT_MT);
  return lua_gettop(L) - 2;
}

/* }====================================================================== */


/* {======================================================================
** Decoding
** ======================================================================= */

void codec_flush_list(lua_State *L, int base, lua_Integer *n, int pending) {
  int i;
  if (lua_isnil(L, base)) {
    lua_createtable(L, pending, 0);
    lua_replace(L, base);
  }
  for (i = pending; i >= 1; i--)   /* each pops the top: item i */
    lua_rawseti(L, base, *n + i);
  *n += pending;
}

/* }====================================================================== */
