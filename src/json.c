/*
** json.c: harness.json, strict RFC 8259 decoding and lossless encoding.
**
** Why the parser and printer are our own and not cJSON's: issue #4 asks for
** strict input, exact 64-bit integers, shortest round-trip floats, strings
** holding NUL bytes, array/object marks and errors with line, column and
** path.  cJSON 1.7.15 misses each of these (it accepts 01, 2., control
** characters and trailing bytes; holds every number as a double; ends
** strings at NUL; prints floats with a tolerant compare), and its tree
** costs a node per value on top of the Lua tables we must build anyway,
** which loses the speed and memory race against lua-cjson.  Patching it
** would mean a strict pre-scan of the text plus re-reading every number and
** string from the source, that is a second parser.  So, like lua-cjson,
** we convert text straight to and from the Lua stack in one pass.
** cJSON keeps the roles it serves well: the host reports cJSON_Version()
** in --version, and the decode fuzz target uses cJSON as a cross-check
** (whatever we accept, cJSON must accept too).
**
** Choices where RFC 8259 leaves room (documented in tests/json_spec.lua):
** - duplicate object keys: the last one wins;
** - lone surrogate escapes (\uD800) are rejected: they have no UTF-8 form,
**   and we never change data;
** - numbers: integers that fit in 64 bits become Lua integers, others
**   become floats; -0 becomes the float -0.0; a number too large for a
**   double is rejected;
** - a byte order mark is rejected (RFC 8259 section 8.1 forbids sending one);
** - encode refuses strings that are not valid UTF-8, naming the path;
** - decoded arrays carry the array mark, so [] and a list emptied by a
**   script still encode as [].
**
** No C-owned memory ever outlives an error: growing buffers live in a
** userdata whose __gc frees them, and everything else is on the C stack.
*/
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "hlua.h"

#define JSON_NULL      "harness.json.null"    /* registry: the null sentinel */
#define JSON_ARRAY_MT  "harness.json.array"   /* registry: array mark */
#define JSON_OBJECT_MT "harness.json.object"  /* registry: object mark */
#define JSON_BUFFER_MT "harness.json.buffer"  /* metatable of Buf userdata */

#define JSON_MAX_DEPTH   1000    /* default nesting limit */
#define JSON_DEPTH_LIMIT 10000   /* largest max_depth a caller may ask for */
#define JSON_CHUNK       256     /* values held on the stack before a table takes them */
#define JSON_EXCERPT     24      /* bytes of context either side in an error */


/* {======================================================================
** Growable byte buffer, owned by a userdata so that an error cannot leak it
** ======================================================================= */

typedef struct Buf {
  char *b;
  size_t n, size;
} Buf;

/* Frees the bytes; safe to call twice (the __gc runs after an early free). */
static void buf_free(Buf *B) {
  free(B->b);
  B->b = NULL;
  B->n = B->size = 0;
}

static int buf_gc(lua_State *L) {
  buf_free((Buf *)luaL_checkudata(L, 1, JSON_BUFFER_MT));
  return 0;
}

/* Pushes a new empty buffer; it is freed by __gc (or earlier by buf_gc). */
static Buf *buf_new(lua_State *L) {
  Buf *B = (Buf *)lua_newuserdatauv(L, sizeof(Buf), 0);
  B->b = NULL;
  B->n = B->size = 0;
  luaL_setmetatable(L, JSON_BUFFER_MT);
  return B;
}

/* Makes room for 'need' more bytes; raises a memory error on failure. */
static void buf_grow(lua_State *L, Buf *B, size_t need) {
  size_t size = B->size ? B->size : 256;
  char *b;
  if (need > SIZE_MAX / 2 - B->n)
    luaL_error(L, "json: buffer too large");
  while (size - B->n < need)
    size *= 2;
  b = (char *)realloc(B->b, size);
  if (b == NULL)
    luaL_error(L, "not enough memory");
  B->b = b;
  B->size = size;
}

static inline void buf_reserve(lua_State *L, Buf *B, size_t need) {
  if (B->size - B->n < need)
    buf_grow(L, B, need);
}

static inline void buf_putc(lua_State *L, Buf *B, char c) {
  buf_reserve(L, B, 1);
  B->b[B->n++] = c;
}

static inline void buf_putn(lua_State *L, Buf *B, const char *s, size_t n) {
  if (n == 0) return;   /* B->b may still be NULL: memcpy(NULL, .., 0) is UB */
  buf_reserve(L, B, n);
  memcpy(B->b + B->n, s, n);
  B->n += n;
}

/* Largest buffer kept for the next encode: its pages are mapped already,
** which spares the page faults of a fresh one (a large share of the time
** for documents of megabytes).  Bigger ones are freed after use. */
#define JSON_KEEP ((size_t)64 << 20)

/* Pushes the buffer kept by the last encode (upvalue 1 of the module's
** functions), emptied, or a new one.  The upvalue is cleared meanwhile, so
** an encode run from a finalizer in the middle of this one (or one that
** raised an error, whose buffer is then collected) never shares it. */
static Buf *buf_take(lua_State *L) {
  Buf *B;
  if (lua_type(L, lua_upvalueindex(1)) != LUA_TUSERDATA)
    return buf_new(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushboolean(L, 0);
  lua_replace(L, lua_upvalueindex(1));
  B = (Buf *)lua_touserdata(L, -1);
  B->n = 0;
  return B;
}

/* Keeps the buffer at idx for the next buf_take, or frees its bytes now
** (rather than at the next collection) when it is too big to keep. */
static void buf_keep(lua_State *L, int idx) {
  Buf *B = (Buf *)lua_touserdata(L, idx);
  if (B->size > JSON_KEEP) {
    buf_free(B);
    return;
  }
  lua_pushvalue(L, idx);
  lua_replace(L, lua_upvalueindex(1));
}

/* }====================================================================== */


/* {======================================================================
** Shared helpers
** ======================================================================= */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
** no surrogates, nothing above U+10FFFF), or 0.  p must point into a
** NUL-terminated string: a NUL is never a continuation byte, so the checks
** stop at the terminator. */
static size_t utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 0;
  if ((p[1] & 0xC0) != 0x80) return 0;
  if (c < 0xE0) return 2;
  if (c == 0xE0 && p[1] < 0xA0) return 0;
  if (c == 0xED && p[1] > 0x9F) return 0;
  if ((p[2] & 0xC0) != 0x80) return 0;
  if (c < 0xF0) return 3;
  if (c == 0xF0 && p[1] < 0x90) return 0;
  if (c == 0xF4 && p[1] > 0x8F) return 0;
  if (c > 0xF4 || (p[3] & 0xC0) != 0x80) return 0;
  return 4;
}

/* UTF-8 validation as a DFA (RFC 3629: no overlongs, no surrogates,
** nothing above U+10FFFF), for the hot loops: one table load and one shift
** a byte, no branches, so text mixing scripts (1 to 4 bytes a character)
** costs no mispredictions.  A state is a bit offset into a 64-bit row: the
** row of a byte's class holds, for each state, the next state ("shift-based
** DFA").  ACCEPT is 0 (between characters); REJECT is sticky. */
enum {
  U8_ACCEPT = 0, U8_REJECT = 6,
  U8_CONT1 = 12, U8_CONT2 = 18, U8_CONT3 = 24,  /* continuation bytes due */
  U8_E0 = 30, U8_ED = 36, U8_F0 = 42, U8_F4 = 48 /* second byte restricted */
};

/* Byte classes: ASCII; continuation 80-8F, 90-9F, A0-BF; never valid (C0,
** C1, F5-FF); leads C2-DF, E0, E1-EC EE-EF, ED, F0, F1-F3, F4. */
static const unsigned char utf8_class[256] = {
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
  3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3, 3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,
  4,4,5,5,5,5,5,5,5,5,5,5,5,5,5,5, 5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,5,
  6,7,7,7,7,7,7,7,7,7,7,7,7,8,7,7, 9,10,10,10,11,4,4,4,4,4,4,4,4,4,4,4
};

/* A row with every transition to REJECT, and one transition replaced. */
#define U8_ALL_REJECT \
  (((uint64_t)U8_REJECT << 0) | ((uint64_t)U8_REJECT << 6) | \
   ((uint64_t)U8_REJECT << 12) | ((uint64_t)U8_REJECT << 18) | \
   ((uint64_t)U8_REJECT << 24) | ((uint64_t)U8_REJECT << 30) | \
   ((uint64_t)U8_REJECT << 36) | ((uint64_t)U8_REJECT << 42) | \
   ((uint64_t)U8_REJECT << 48))
#define U8_T(from, to) ((uint64_t)((to) ^ U8_REJECT) << (from))

static const uint64_t utf8_rows[12] = {
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_ACCEPT),                   /* ASCII */
  U8_ALL_REJECT ^ U8_T(U8_CONT1, U8_ACCEPT) ^ U8_T(U8_CONT2, U8_CONT1) ^
    U8_T(U8_CONT3, U8_CONT2) ^ U8_T(U8_ED, U8_CONT1) ^
    U8_T(U8_F4, U8_CONT2),                                      /* 80-8F */
  U8_ALL_REJECT ^ U8_T(U8_CONT1, U8_ACCEPT) ^ U8_T(U8_CONT2, U8_CONT1) ^
    U8_T(U8_CONT3, U8_CONT2) ^ U8_T(U8_ED, U8_CONT1) ^
    U8_T(U8_F0, U8_CONT2),                                      /* 90-9F */
  U8_ALL_REJECT ^ U8_T(U8_CONT1, U8_ACCEPT) ^ U8_T(U8_CONT2, U8_CONT1) ^
    U8_T(U8_CONT3, U8_CONT2) ^ U8_T(U8_E0, U8_CONT1) ^
    U8_T(U8_F0, U8_CONT2),                                      /* A0-BF */
  U8_ALL_REJECT,                                                /* never */
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_CONT1),                    /* C2-DF */
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_E0),                       /* E0 */
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_CONT2),                    /* E1-EF */
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_ED),                       /* ED */
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_F0),                       /* F0 */
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_CONT3),                    /* F1-F3 */
  U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_F4)                        /* F4 */
};

static inline unsigned utf8_step(unsigned st, unsigned char c) {
  return (unsigned)(utf8_rows[utf8_class[c]] >> st) & 63;
}

/* The first byte at or after p that does not start a well-formed UTF-8
** sequence, skipping ASCII: where to report an error once the DFA has
** rejected something after p (p in a NUL-terminated string). */
static const unsigned char *utf8_first_bad(const unsigned char *p) {
  for (;;) {
    size_t n = *p < 0x80 ? 1 : utf8_len(p);
    if (n == 0) return p;
    p += n;
  }
}

/* Word-at-a-time scanning: 8 bytes are loaded as one integer and tested
** for the bytes that need work with the carry tricks of "Bit Twiddling
** Hacks" (haszero, hasless).  The lowest flagged byte is always a true one
** (false positives only appear above a true one), so on a little-endian
** machine the first byte needing work is the lowest set bit. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JSON_SWAR 1
#else
#define JSON_SWAR 0
#endif

#define ONES8  ((uint64_t)0x0101010101010101u)
#define HIGHS8 ((uint64_t)0x8080808080808080u)

static inline uint64_t load64(const unsigned char *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}

static inline void store64(char *p, uint64_t x) {
  memcpy(p, &x, 8);
}

/* Flags (high bit of the byte) the bytes of x that end a run of plain
** string text: controls, '"' and '\\' (bytes from 0x80 on are not flagged;
** x & HIGHS8 finds those). */
static inline uint64_t str_stops(uint64_t x) {
  uint64_t q = x ^ (ONES8 * '"'), b = x ^ (ONES8 * '\\');
  return (((x - ONES8 * 0x20) & ~x) | ((q - ONES8) & ~q) |
          ((b - ONES8) & ~b)) & HIGHS8;
}

/* Loads the n < 8 bytes at p as the low bytes of a word, the rest zero:
** the tail of a string, which may end at the end of its memory block. */
static inline uint64_t load_tail(const unsigned char *p, size_t n) {
  uint64_t x = 0;
  size_t k = 0;
  if (n & 4) {
    uint32_t t;
    memcpy(&t, p, 4);
    x = t;
    k = 4;
  }
  if (n & 2) {
    uint16_t t;
    memcpy(&t, p + k, 2);
    x |= (uint64_t)t << (8 * k);
    k += 2;
  }
  if (n & 1)
    x |= (uint64_t)p[k] << (8 * k);
  return x;
}

#if JSON_SWAR
/* The index of the first flagged byte of a nonzero mask. */
static inline size_t first_flagged(uint64_t m) {
  return (size_t)__builtin_ctzll(m) >> 3;
}
#endif

/* Reads an optional integer field of the options table at 'idx'. */
static int opt_int(lua_State *L, int idx, const char *field, int def,
                    int lo, int hi) {
  lua_Integer v;
  int isnum;
  if (lua_getfield(L, idx, field) == LUA_TNIL) {
    lua_pop(L, 1);
    return def;
  }
  v = lua_tointegerx(L, -1, &isnum);
  if (!isnum || v < lo || v > hi)
    return luaL_error(L, "json: option '%s' must be an integer from %d to %d",
                      field, lo, hi);
  lua_pop(L, 1);
  return (int)v;
}

/* }====================================================================== */


/* {======================================================================
** Decoding: text straight to the Lua stack, one pass, strict
** ======================================================================= */

typedef struct Decoder {
  lua_State *L;
  const char *s;      /* the whole input; Lua keeps a NUL after it */
  const char *p;      /* next byte to read */
  const char *end;    /* s + length */
  Buf *scratch;       /* unescaped bytes of the current string */
  int nullidx;        /* stack slot of the null sentinel */
  int arrayidx;       /* stack slot of the array mark */
  int base;           /* stack slot of the scratch buffer: the last fixed one */
  int maxdepth;
} Decoder;

/* Character classes inside a string: 0 copies as is, 1 ends the fast scan. */
static const unsigned char str_stop[256] = {
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,1,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
  1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1
};

#define is_digit(c) ((unsigned)((c) - '0') < 10)

/* Adds the bytes [a, b) to the error excerpt, escaping what would garble a
** message (control bytes, broken UTF-8). */
static void add_excerpt(luaL_Buffer *b, const char *a, const char *e) {
  const unsigned char *p = (const unsigned char *)a;
  while (p < (const unsigned char *)e) {
    size_t n = utf8_len(p);
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

/* Raises harness.Error{kind="json"} for the input at 'at':
** "json: <what> at line L column C near '<excerpt>'", with fields line,
** column (in characters) and offset (in bytes, 1-based). */
static int decode_error(Decoder *D, const char *at, const char *what) {
  lua_State *L = D->L;
  const char *line = D->s, *p, *a, *e;
  lua_Integer nline = 1, col = 1;
  luaL_Buffer b;
  lua_settop(L, D->base);   /* drop partial results: the stack may be full */
  for (p = D->s; p < at; p++) {
    if (*p == '\n') { nline++; line = p + 1; col = 1; }
    else if ((*p & 0xC0) != 0x80) col++;
  }
  a = (at - line > JSON_EXCERPT) ? at - JSON_EXCERPT : line;
  while (a < at && (*a & 0xC0) == 0x80) a++;   /* start on a character */
  for (e = at; e < D->end && e - at < JSON_EXCERPT && *e != '\n'; e++) {}
  while (e < D->end && (*e & 0xC0) == 0x80 && e - at < JSON_EXCERPT + 3) e++;
  luaL_buffinit(L, &b);
  lua_pushfstring(L, "json: %s at line %I column %I near '", what,
                  (LUAI_UACINT)nline, (LUAI_UACINT)col);
  luaL_addvalue(&b);
  if (a > line) luaL_addstring(&b, "...");
  add_excerpt(&b, a, e);
  if (e < D->end && *e != '\n') luaL_addstring(&b, "...");
  luaL_addchar(&b, '\'');
  luaL_pushresult(&b);
  hlua_newerror(L, "json", lua_tostring(L, -1));
  lua_pushinteger(L, nline);
  lua_setfield(L, -2, "line");
  lua_pushinteger(L, col);
  lua_setfield(L, -2, "column");
  lua_pushinteger(L, (lua_Integer)(at - D->s) + 1);
  lua_setfield(L, -2, "offset");
  return lua_error(L);
}

/* Raises "unexpected character 'x'" (or end of input) at 'at'. */
static int decode_unexpected(Decoder *D, const char *at, const char *ctx) {
  char what[96];
  unsigned char c = (unsigned char)*at;
  if (at >= D->end)
    snprintf(what, sizeof what, "unexpected end of input%s", ctx);
  else if (c > 0x20 && c < 0x7F)
    snprintf(what, sizeof what, "unexpected character '%c'%s", c, ctx);
  else if (c == 0xEF && (unsigned char)at[1] == 0xBB &&
           (unsigned char)at[2] == 0xBF)
    snprintf(what, sizeof what, "unexpected byte order mark%s", ctx);
  else
    snprintf(what, sizeof what, "unexpected byte 0x%02X%s", c, ctx);
  return decode_error(D, at, what);
}

static inline void skip_ws(Decoder *D) {
  const char *p = D->p;
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
    p++;
  D->p = p;
}

static void decode_value(Decoder *D, int depth);

/* Reads 4 hex digits at p; returns the code unit or -1. */
static long read_hex4(const char *p) {
  long v = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int c = (unsigned char)p[i], d;
    if (is_digit(c)) d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Writes code point cp as UTF-8 into the scratch buffer. */
static void put_utf8(lua_State *L, Buf *B, unsigned long cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) { u[0] = (char)cp; n = 1; }
  else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3F)); n = 2;
  }
  else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
  }
  else {
    u[0] = (char)(0xF0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  buf_putn(L, B, u, n);
}

/* Decodes the \u escape at p (pointing at the backslash) into the scratch
** buffer, joining surrogate pairs; returns the position after it. */
static const char *decode_uescape(Decoder *D, const char *p) {
  long hi = read_hex4(p + 2), lo = 0;
  if (hi < 0)
    decode_error(D, p, "invalid \\u escape (4 hex digits expected)");
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    decode_error(D, p, "lone low surrogate in \\u escape");
  if (hi < 0xD800 || hi > 0xDBFF) {
    put_utf8(D->L, D->scratch, (unsigned long)hi);
    return p + 6;
  }
  if (p[6] != '\\' || p[7] != 'u' || (lo = read_hex4(p + 8)) < 0xDC00 ||
      lo > 0xDFFF)
    decode_error(D, p, "lone high surrogate in \\u escape");
  put_utf8(D->L, D->scratch,
           0x10000 + (((unsigned long)hi - 0xD800) << 10) +
           ((unsigned long)lo - 0xDC00));
  return p + 12;
}

/* Raises the error for the byte at p that stopped a string scan and is not
** a quote, a backslash or valid UTF-8; 'open' is the opening quote. */
static int string_error(Decoder *D, const char *open, const char *p) {
  char what[64];
  unsigned char c = (unsigned char)*p;
  if (p >= D->end)
    return decode_error(D, open, "unterminated string");
  if (c < 0x20)
    snprintf(what, sizeof what, "unescaped control character U+%04X in string",
             c);
  else
    snprintf(what, sizeof what, "invalid UTF-8 byte 0x%02X in string", c);
  return decode_error(D, p, what);
}

/* Slow path of decode_string, for strings with escapes: unescapes into the
** scratch buffer from p (a backslash) on, then pushes the result. */
static void decode_string_escaped(Decoder *D, const char *open,
                                   const char *start, const char *p) {
  Buf *B = D->scratch;
  B->n = 0;
  buf_putn(D->L, B, start, (size_t)(p - start));
  for (;;) {
    const unsigned char *q = (const unsigned char *)p;
    while (!str_stop[*q]) q++;
    buf_putn(D->L, B, p, (size_t)((const char *)q - p));
    p = (const char *)q;
    if (*q == '"') break;
    if (*q >= 0x80) {
      size_t n = utf8_len(q);
      if (n == 0) string_error(D, open, p);
      buf_putn(D->L, B, p, n);
      p += n;
    }
    else if (*q == '\\') {
      char c;
      switch (p[1]) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': p = decode_uescape(D, p); continue;
        default:
          if (p + 1 >= D->end)
            decode_error(D, open, "unterminated string");
          decode_error(D, p, "invalid escape in string");
          return;
      }
      buf_putc(D->L, B, c);
      p += 2;
    }
    else
      string_error(D, open, p);
  }
  lua_pushlstring(D->L, B->b, B->n);
  D->p = p + 1;
}

/* Pushes the string whose opening quote is at D->p.  Strings without
** escapes (nearly all of them) are pushed straight from the input. */
static void decode_string(Decoder *D) {
  const char *open = D->p;
  const unsigned char *p = (const unsigned char *)open + 1;
  for (;;) {
    size_t n = 0;
    while (!str_stop[*p]) p++;
    if (*p == '"') {
      lua_pushlstring(D->L, open + 1, (size_t)((const char *)p - open - 1));
      D->p = (const char *)p + 1;
      return;
    }
    if (*p == '\\') {
      decode_string_escaped(D, open, open + 1, (const char *)p);
      return;
    }
    if (*p < 0x80 || (n = utf8_len(p)) == 0)
      string_error(D, open, (const char *)p);
    p += n;
  }
}

static const double pow10_exact[] = {
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
  1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Converts the number lexeme [a, e) to a double with correct rounding:
** strtod, with the lexeme copied if the locale's decimal point is not '.'. */
static double lexeme_to_double(Decoder *D, const char *a, const char *e) {
  char *end;
  double d = strtod(a, &end);
  if (end != e) {   /* the locale reads numbers differently */
    Buf *B = D->scratch;
    char *dot;
    B->n = 0;
    buf_putn(D->L, B, a, (size_t)(e - a));
    buf_putc(D->L, B, '\0');
    if ((dot = strchr(B->b, '.')) != NULL)
      *dot = localeconv()->decimal_point[0];
    d = strtod(B->b, NULL);
  }
  return d;
}

/* Pushes the number at D->p: a Lua integer when it has no fraction or
** exponent and fits in 64 bits, otherwise the nearest double. */
static void decode_number(Decoder *D) {
  const char *a = D->p, *p = a;
  uint64_t m = 0;          /* significant digits, as far as exact */
  int ndig = 0;            /* digits in m, leading zeros excluded */
  int lost = 0;            /* digits that did not fit in m */
  int exp10 = 0, isfloat = 0, neg = (*p == '-');
  double d;
  if (neg) p++;
  if (*p == '0') {
    p++;
    if (is_digit(*p)) decode_error(D, a, "leading zero in number");
  }
  else if (is_digit(*p)) {
    for (; is_digit(*p); p++) {
      if (ndig < 19) { m = m * 10 + (uint64_t)(*p - '0'); ndig++; }
      else { lost = 1; exp10++; }
    }
  }
  else
    decode_error(D, a, "digit expected in number");
  if (*p == '.') {
    p++;
    if (!is_digit(*p)) decode_error(D, a, "digit expected after '.' in number");
    isfloat = 1;
    for (; is_digit(*p); p++) {
      if (ndig < 19) {
        m = m * 10 + (uint64_t)(*p - '0');
        if (m) ndig++;
        exp10--;
      }
      else if (*p != '0') lost = 1;
    }
  }
  if (*p == 'e' || *p == 'E') {
    int esign = 1, ev = 0;
    p++;
    if (*p == '+' || *p == '-') esign = (*p++ == '-') ? -1 : 1;
    if (!is_digit(*p)) decode_error(D, a, "digit expected in exponent");
    isfloat = 1;
    for (; is_digit(*p); p++)
      if (ev < 100000) ev = ev * 10 + (*p - '0');
    exp10 += esign * ev;
  }
  D->p = p;
  if (!isfloat && !lost) {
    if (!neg && m <= (uint64_t)LUA_MAXINTEGER) {
      lua_pushinteger(D->L, (lua_Integer)m);
      return;
    }
    if (neg && m != 0 && m <= (uint64_t)LUA_MAXINTEGER + 1) {
      lua_pushinteger(D->L, m == (uint64_t)LUA_MAXINTEGER + 1
                              ? LUA_MININTEGER : -(lua_Integer)m);
      return;
    }
  }
  /* Exact case: both m and 10^|exp10| are exact doubles, so one rounding. */
  if (!lost && m <= ((uint64_t)1 << 53) && exp10 >= -22 && exp10 <= 22)
    d = exp10 < 0 ? (double)m / pow10_exact[-exp10]
                  : (double)m * pow10_exact[exp10];
  else
    d = lexeme_to_double(D, neg ? a + 1 : a, p);
  if (isinf(d))
    decode_error(D, a, "number out of range");
  lua_pushnumber(D->L, neg ? -d : d);
}

/* Pushes the literal at D->p if it is 'lit' (n bytes). */
static void decode_literal(Decoder *D, const char *lit, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)   /* stops at the NUL after the input */
    if (D->p[i] != lit[i])
      decode_unexpected(D, D->p + i, " (true, false or null expected)");
  D->p += n;
}

static void check_depth(Decoder *D, int depth) {
  if (depth > D->maxdepth) {
    char what[64];
    snprintf(what, sizeof what, "nesting deeper than %d", D->maxdepth);
    decode_error(D, D->p, what);
  }
  if (!lua_checkstack(D->L, JSON_CHUNK * 2 + 8))
    decode_error(D, D->p, "document too large for the Lua stack");
}

/* Moves the 'pending' values above the table slot 'base' into the table
** (creating it, exactly sized, on the first call), after the 'n' it holds. */
static void array_flush(lua_State *L, int base, lua_Integer *n, int pending) {
  int i;
  if (lua_isnil(L, base)) {
    lua_createtable(L, pending, 0);
    lua_replace(L, base);
  }
  for (i = 1; i <= pending; i++) {
    lua_pushvalue(L, base + i);
    lua_rawseti(L, base, *n + i);
  }
  *n += pending;
  lua_settop(L, base);
}

/* Pushes the array at D->p ('['), marked as an array.  Values gather on the
** stack, so a table is created once at its final size (for arrays of up to
** JSON_CHUNK items) instead of growing. */
static void decode_array(Decoder *D, int depth) {
  lua_State *L = D->L;
  lua_Integer n = 0;
  int pending = 0, base;
  check_depth(D, depth);
  lua_pushnil(L);
  base = lua_gettop(L);
  D->p++;
  skip_ws(D);
  if (*D->p == ']')
    D->p++;
  else {
    for (;;) {
      decode_value(D, depth);
      if (++pending == JSON_CHUNK) {
        array_flush(L, base, &n, pending);
        pending = 0;
      }
      skip_ws(D);
      if (*D->p == ',') { D->p++; skip_ws(D); }
      else if (*D->p == ']') { D->p++; break; }
      else decode_unexpected(D, D->p, " (',' or ']' expected)");
    }
  }
  array_flush(L, base, &n, pending);
  lua_pushvalue(L, D->arrayidx);
  lua_setmetatable(L, base);
}

/* Like array_flush for the key/value pairs of an object: in input order,
** so that of duplicate keys the last one wins. */
static void object_flush(lua_State *L, int base, int pending) {
  int i;
  if (lua_isnil(L, base)) {
    lua_createtable(L, 0, pending);
    lua_replace(L, base);
  }
  for (i = 1; i <= 2 * pending; i += 2) {
    lua_pushvalue(L, base + i);
    lua_pushvalue(L, base + i + 1);
    lua_rawset(L, base);
  }
  lua_settop(L, base);
}

/* Pushes the object at D->p ('{'). */
static void decode_object(Decoder *D, int depth) {
  lua_State *L = D->L;
  int pending = 0, base;
  check_depth(D, depth);
  lua_pushnil(L);
  base = lua_gettop(L);
  D->p++;
  skip_ws(D);
  if (*D->p == '}')
    D->p++;
  else {
    for (;;) {
      if (*D->p != '"')
        decode_unexpected(D, D->p, " (string key expected)");
      decode_string(D);
      skip_ws(D);
      if (*D->p != ':')
        decode_unexpected(D, D->p, " (':' expected)");
      D->p++;
      skip_ws(D);
      decode_value(D, depth);
      if (++pending == JSON_CHUNK) {
        object_flush(L, base, pending);
        pending = 0;
      }
      skip_ws(D);
      if (*D->p == ',') { D->p++; skip_ws(D); }
      else if (*D->p == '}') { D->p++; break; }
      else decode_unexpected(D, D->p, " (',' or '}' expected)");
    }
  }
  object_flush(L, base, pending);
}

/* Pushes the value at D->p (whitespace already skipped); containers count
** as one more level of nesting than 'depth'. */
static void decode_value(Decoder *D, int depth) {
  switch (*D->p) {
    case '"': decode_string(D); break;
    case '{': decode_object(D, depth + 1); break;
    case '[': decode_array(D, depth + 1); break;
    case 't': decode_literal(D, "true", 4); lua_pushboolean(D->L, 1); break;
    case 'f': decode_literal(D, "false", 5); lua_pushboolean(D->L, 0); break;
    case 'n': decode_literal(D, "null", 4); lua_pushvalue(D->L, D->nullidx); break;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      decode_number(D);
      break;
    default:
      decode_unexpected(D, D->p, "");
  }
}

/* harness.json.decode(s [, {max_depth = n}]) -> value */
static int json_decode(lua_State *L) {
  Decoder D;
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  D.maxdepth = JSON_MAX_DEPTH;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    D.maxdepth = opt_int(L, 2, "max_depth", JSON_MAX_DEPTH, 1, JSON_DEPTH_LIMIT);
  }
  lua_settop(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  D.nullidx = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_ARRAY_MT);
  D.arrayidx = lua_gettop(L);
  D.scratch = buf_new(L);
  D.base = lua_gettop(L);
  D.L = L;
  D.s = D.p = s;
  D.end = s + len;
  skip_ws(&D);
  decode_value(&D, 0);
  skip_ws(&D);
  if (D.p != D.end)
    decode_unexpected(&D, D.p, " after the value");
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Encoding: the Lua value to text, refusing what JSON cannot hold
** ======================================================================= */

/* How the encoder reached a value, for error paths ($.items[3].x) and cycle
** detection; frames live on the C stack of the recursive calls. */
typedef struct Frame {
  const struct Frame *parent;
  const char *key;        /* object key, or NULL for an array index */
  size_t keylen;
  lua_Integer index;      /* array index (1-based, as in Lua) */
  const void *table;      /* the table encoded at this frame, if any */
} Frame;

typedef struct Encoder {
  lua_State *L;
  Buf *B;
  const void *null;       /* the null sentinel */
  int arrayidx, objectidx;  /* stack slots of the marks */
  int indent;             /* spaces per level; 0 for compact output */
  int sort;               /* sort object keys? */
  int maxdepth;
} Encoder;

static int is_ident(const char *s, size_t n) {
  size_t i;
  if (n == 0 || is_digit(s[0])) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!(c == '_' || is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
      return 0;
  }
  return 1;
}

/* Adds the path of frame f, in Lua terms, to b. */
static void add_path(luaL_Buffer *b, const Frame *f) {
  if (f->parent == NULL) {
    luaL_addchar(b, '$');
    return;
  }
  add_path(b, f->parent);
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

/* Raises harness.Error{kind="json", path=...}: "json: <what> at <path>". */
static int encode_error(Encoder *E, const Frame *f, const char *what) {
  lua_State *L = E->L;
  luaL_Buffer b;
  /* The stack stays: it anchors the keys the frames point to. */
  luaL_checkstack(L, 10, "json: cannot report an encode error");
  luaL_buffinit(L, &b);
  add_path(&b, f);
  luaL_pushresult(&b);
  lua_pushfstring(L, "json: %s at %s", what, lua_tostring(L, -1));
  hlua_newerror(L, "json", lua_tostring(L, -1));
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "path");
  return lua_error(L);
}

/* The escape of each byte in a string: 0 for none (and for bytes from 0x80
** on, which are checked as UTF-8), else the letter after the backslash
** ('u' for \u00XX). */
static const char str_escape[256] = {
  'u','u','u','u','u','u','u','u','b','t','n','u','f','r','u','u',
  'u','u','u','u','u','u','u','u','u','u','u','u','u','u','u','u',
  0,0,'"',0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,'\\',0,0,0
};

/* Bytes of a string encoded per reservation: the output of a segment is at
** most 6 times its input (\u001f for a control byte), reserved at once so
** that the copy loop needs no bounds checks. */
#define JSON_SEGMENT 4096

/* Raises the error for the invalid UTF-8 that the DFA found in s. */
static int utf8_error(Encoder *E, const char *s, const Frame *f, int iskey) {
  char what[80];
  const unsigned char *bad = utf8_first_bad((const unsigned char *)s);
  snprintf(what, sizeof what, "cannot encode invalid UTF-8 (byte %d of the %s)",
           (int)(bad - (const unsigned char *)s) + 1, iskey ? "key" : "string");
  return encode_error(E, f, what);
}

/* Writes the escape of ASCII byte c (e its letter) at w; returns the end. */
static inline char *put_escape(char *w, unsigned char c, char e) {
  static const char hexd[] = "0123456789abcdef";
  w[0] = '\\';
  w[1] = e;
  if (e != 'u') return w + 2;
  w[2] = '0'; w[3] = '0'; w[4] = hexd[c >> 4]; w[5] = hexd[c & 15];
  return w + 6;
}

/* Writes s as a JSON string; refuses invalid UTF-8 (naming frame f, and
** whether the culprit is a key).  Text is copied 8 bytes at a time, each
** word tested for bytes to escape as it is copied; words with bytes from
** 0x80 on go through the UTF-8 DFA.  s must be NUL-terminated, as Lua's
** strings are. */
static void encode_string(Encoder *E, const char *s, size_t len,
                           const Frame *f, int iskey) {
  Buf *B = E->B;
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  unsigned st = U8_ACCEPT;
  char *w;
  buf_reserve(E->L, B, len < JSON_SEGMENT ? 6 * len + 8 + 2 : 2);
  w = B->b + B->n;
  *w++ = '"';
  while (p < end) {
    const unsigned char *seg = end - p > JSON_SEGMENT ? p + JSON_SEGMENT : end;
    if (len >= JSON_SEGMENT) {   /* long string: reserve per segment */
      B->n = (size_t)(w - B->b);
      buf_reserve(E->L, B, 6 * (size_t)(seg - p) + 8 + 1);
      w = B->b + B->n;
    }
#if JSON_SWAR
    while (p < seg) {
      size_t avail = (size_t)(seg - p), i, n;
      uint64_t x = avail >= 8 ? load64(p) : load_tail(p, avail), stops, high;
      size_t take = avail >= 8 ? 8 : avail;
      store64(w, x);   /* the reservation has 8 bytes of slack */
      stops = str_stops(x);
      high = x & HIGHS8;
      if (take < 8) {   /* the zero padding is no stop */
        stops &= ((uint64_t)1 << (8 * take)) - 1;
      }
      if ((stops | high | st) == 0) {
        p += take;
        w += take;
        continue;
      }
      n = stops ? first_flagged(stops) : take;
      if (high | st) {
        for (i = 0; i < n; i++) st = utf8_step(st, p[i]);
        if (st == U8_REJECT) utf8_error(E, s, f, iskey);
      }
      p += n;
      w += n;
      if (n < take) {   /* *p needs an escape, and must start a character */
        if (st != U8_ACCEPT) utf8_error(E, s, f, iskey);
        w = put_escape(w, *p, str_escape[*p]);
        p++;
      }
    }
#else
    for (; p < seg; p++) {
      unsigned c = *p;
      char e;
      if (c >= 0x80 || st != U8_ACCEPT) {
        st = utf8_step(st, (unsigned char)c);
        if (st == U8_REJECT) utf8_error(E, s, f, iskey);
        *w++ = (char)c;
      }
      else if ((e = str_escape[c]) == 0)
        *w++ = (char)c;
      else
        w = put_escape(w, (unsigned char)c, e);
    }
#endif
  }
  if (st != U8_ACCEPT) utf8_error(E, s, f, iskey);   /* cut short */
  *w++ = '"';
  B->n = (size_t)(w - B->b);
}

/* Writes the decimal digits of u ending at 'e'; returns where they start. */
static char *put_digits(char *e, uint64_t u) {
  do { *--e = (char)('0' + u % 10); u /= 10; } while (u);
  return e;
}

static void encode_integer(Encoder *E, lua_Integer i) {
  char tmp[24], *e = tmp + sizeof tmp, *p;
  uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  p = put_digits(e, u);
  if (i < 0) *--p = '-';
  buf_putn(E->L, E->B, p, (size_t)(e - p));
}

/* Formats finite d in the fewest significant digits that read back as d,
** always with a '.' or an exponent so that it decodes as a float again.
** Fast path: d = m / 10^k with m < 10^15 has a unique shortest form;
** otherwise try %.15g, %.16g, %.17g (the last always reads back), from
** %.1g for subnormals, which carry fewer digits. */
static size_t format_float(char *out, double d) {
  double a = fabs(d);
  int k, prec;
  char *p = out;
  if (signbit(d)) *p++ = '-';
  if (a < 1e15 && (a >= 1e-4 || a == 0)) {
    for (k = 0; k <= 17 && a * pow10_exact[k] < 1e15; k++) {
      double m = a * pow10_exact[k];
      if (m == floor(m) && m / pow10_exact[k] == a) {
        char tmp[24], *e = tmp + sizeof tmp, *q;
        uint64_t u = (uint64_t)m;
        int i;
        for (; k > 0 && u % 10 == 0; k--)   /* a*10^k rounded to an integer late */
          u /= 10;
        q = put_digits(e, u);
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
  for (prec = a < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
    snprintf(p, 32, "%.*g", prec, a);
    if (strtod(p, NULL) == a) break;
  }
  for (; *p; p++) {
    if (*p == 'e') return (size_t)(p - out) + strlen(p);
    if (!is_digit(*p)) *p = '.';   /* the locale's decimal point */
  }
  if (strchr(out, '.') == NULL) { *p++ = '.'; *p++ = '0'; }
  return (size_t)(p - out);
}

static void encode_float(Encoder *E, double d, const Frame *f) {
  char tmp[48];
  if (isnan(d)) encode_error(E, f, "cannot encode NaN");
  if (isinf(d)) encode_error(E, f, d > 0 ? "cannot encode inf" : "cannot encode -inf");
  buf_putn(E->L, E->B, tmp, format_float(tmp, d));
}

static void put_newline(Encoder *E, int depth) {
  size_t n = (size_t)E->indent * (size_t)depth;
  buf_reserve(E->L, E->B, n + 1);
  E->B->b[E->B->n++] = '\n';
  memset(E->B->b + E->B->n, ' ', n);
  E->B->n += n;
}

static void encode_value(Encoder *E, const Frame *f, int depth);

enum { KIND_AUTO, KIND_ARRAY, KIND_OBJECT };

/* The JSON kind asked for by the metatable of the table at idx: ours, or
** any metatable with __jsontype = "array" | "object". */
static int table_kind(Encoder *E, int idx) {
  lua_State *L = E->L;
  int kind = KIND_AUTO;
  if (!lua_getmetatable(L, idx))
    return KIND_AUTO;
  if (lua_rawequal(L, -1, E->arrayidx)) kind = KIND_ARRAY;
  else if (lua_rawequal(L, -1, E->objectidx)) kind = KIND_OBJECT;
  else {
    const char *t;
    lua_pushliteral(L, "__jsontype");
    lua_rawget(L, -2);
    t = lua_tostring(L, -1);
    if (t != NULL && strcmp(t, "array") == 0) kind = KIND_ARRAY;
    else if (t != NULL && strcmp(t, "object") == 0) kind = KIND_OBJECT;
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return kind;
}

/* Raises the error for key (at -2) that cannot be in a table of 'kind'. */
static int bad_key(Encoder *E, const Frame *f, int kind) {
  char what[96];
  int t = lua_type(E->L, -2);
  if (t == LUA_TNUMBER && !lua_isinteger(E->L, -2))
    snprintf(what, sizeof what, "cannot encode table with non-integer key %s",
             lua_tostring(E->L, -2));
  else if (t == LUA_TNUMBER && kind == KIND_ARRAY)
    snprintf(what, sizeof what, "cannot encode array with index %lld "
             "(arrays start at 1)", (long long)lua_tointeger(E->L, -2));
  else if ((t == LUA_TNUMBER && kind == KIND_OBJECT) ||
           (t == LUA_TSTRING && kind == KIND_ARRAY))
    snprintf(what, sizeof what, "cannot encode table mixing string and "
             "integer keys");
  else
    snprintf(what, sizeof what, "cannot encode table with %s key",
             luaL_typename(E->L, -2));
  return encode_error(E, f, what);
}

/* Raises the error for an array with n items, the largest index max. */
static int sparse_array(Encoder *E, const Frame *f, lua_Integer n,
                        lua_Integer max) {
  char what[96];
  snprintf(what, sizeof what, "cannot encode sparse array (%lld items, "
           "largest index %lld)", (long long)n, (long long)max);
  return encode_error(E, f, what);
}

/* Writes the array at idx, whose first key and value lua_next has pushed;
** its keys must be exactly 1..n.  Arrays built in order (decoded ones,
** lists filled from 1 on) give their keys to lua_next as 1, 2, 3..., so
** one pass both checks and writes them.  From the first key out of that
** order on, the remaining keys are checked first, then their values
** fetched by index. */
static void encode_array(Encoder *E, int idx, const Frame *f, int depth) {
  lua_State *L = E->L;
  lua_Integer i = 0, n, max;
  Frame c = {f, NULL, 0, 0, NULL};
  buf_putc(L, E->B, '[');
  do {
    if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) != i + 1)
      goto unordered;
    if (i > 0) buf_putc(L, E->B, ',');
    if (E->indent) put_newline(E, depth);
    c.index = ++i;
    encode_value(E, &c, depth);
    lua_pop(L, 1);
  } while (lua_next(L, idx));
  goto close;
unordered:
  /* Keys 1..i are written; the others must be i+1..n, in any order. */
  n = max = i;
  do {
    lua_Integer k = 0;
    if (!lua_isinteger(L, -2) || (k = lua_tointeger(L, -2)) < 1)
      bad_key(E, f, KIND_ARRAY);
    if (k > max) max = k;
    n++;
    lua_pop(L, 1);
  } while (lua_next(L, idx));
  if (max != n) sparse_array(E, f, n, max);
  while (i < n) {
    if (i > 0) buf_putc(L, E->B, ',');
    if (E->indent) put_newline(E, depth);
    c.index = ++i;
    lua_rawgeti(L, idx, i);   /* nil if a finalizer took it away: null */
    encode_value(E, &c, depth);
    lua_pop(L, 1);
  }
close:
  if (E->indent) put_newline(E, depth - 1);
  buf_putc(L, E->B, ']');
}

/* Writes one member: the key and the value on top of the stack. */
static void encode_member(Encoder *E, const char *k, size_t klen, int first,
                           const Frame *f, int depth) {
  Frame c = {f, k, klen, 0, NULL};
  if (!first) buf_putc(E->L, E->B, ',');
  if (E->indent) put_newline(E, depth);
  encode_string(E, k, klen, f, 1);
  if (E->indent) buf_putn(E->L, E->B, ": ", 2);
  else buf_putc(E->L, E->B, ':');
  encode_value(E, &c, depth);
}

/* A key to sort: its bytes, and its index in the table of keys that
** keeps the string alive. */
typedef struct Key { const char *s; size_t n; lua_Integer i; } Key;

static int key_cmp(const void *a, const void *b) {
  const Key *x = (const Key *)a, *y = (const Key *)b;
  int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
  return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/* Writes the members of the object at idx with their keys in byte order;
** returns how many.  Any allocation can run a finalizer that changes the
** table, so nothing here trusts it across one: the keys are copied into
** a new table (on the stack, so the strings stay alive whatever happens to
** the object), the C array that is sorted points into strings that table
** keeps, and each value is fetched again when it is written.  A key that a
** finalizer removes meanwhile is left out, one it adds is not seen. */
static lua_Integer encode_sorted(Encoder *E, int idx, const Frame *f,
                                 int depth) {
  lua_State *L = E->L;
  lua_Integer n = 0, i, written = 0;
  int keys;
  Key *k;
  lua_pushnil(L);
  while (lua_next(L, idx)) {   /* count (no allocation) */
    if (lua_type(L, -2) != LUA_TSTRING) bad_key(E, f, KIND_OBJECT);
    n++;
    lua_pop(L, 1);
  }
  lua_createtable(L, n < INT_MAX ? (int)n : INT_MAX, 0);
  keys = lua_gettop(L);
  n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {   /* the table may have changed: take what is there */
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pushnil(L);   /* bad_key reads the key at -2 */
      bad_key(E, f, KIND_OBJECT);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, keys, ++n);
  }
  if ((size_t)n > SIZE_MAX / sizeof(Key))
    luaL_error(L, "not enough memory");
  k = (Key *)lua_newuserdatauv(L, (size_t)n * sizeof(Key), 0);
  for (i = 0; i < n; i++) {   /* strings kept by 'keys', which only we see */
    lua_rawgeti(L, keys, i + 1);
    k[i].s = lua_tolstring(L, -1, &k[i].n);
    k[i].i = i + 1;
    lua_pop(L, 1);
  }
  if (n > 1) qsort(k, (size_t)n, sizeof(Key), key_cmp);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, keys, k[i].i);
    if (lua_rawget(L, idx) == LUA_TNIL) {   /* removed meanwhile */
      lua_pop(L, 1);
      continue;
    }
    encode_member(E, k[i].s, k[i].n, written++ == 0, f, depth);
    lua_pop(L, 1);
  }
  lua_pop(L, 2);
  return written;
}

/* Writes the object at idx, whose first key and value lua_next has pushed
** (or, sorting, pops them); keys must be strings. */
static void encode_object(Encoder *E, int idx, const Frame *f, int depth) {
  lua_State *L = E->L;
  int first = 1;
  buf_putc(L, E->B, '{');
  if (E->sort) {
    lua_pop(L, 2);
    first = encode_sorted(E, idx, f, depth) == 0;
  }
  else {
    do {
      size_t klen;
      const char *k;
      if (lua_type(L, -2) != LUA_TSTRING) bad_key(E, f, KIND_OBJECT);
      k = lua_tolstring(L, -2, &klen);
      encode_member(E, k, klen, first, f, depth);
      first = 0;
      lua_pop(L, 1);
    } while (lua_next(L, idx));
  }
  if (E->indent && !first) put_newline(E, depth - 1);
  buf_putc(L, E->B, '}');
}

/* Writes the table at idx as an array or an object: its mark decides, or
** else its first key (an empty table without a mark is an object). */
static void encode_table(Encoder *E, int idx, Frame *f, int depth) {
  lua_State *L = E->L;
  const Frame *g;
  int kind;
  f->table = lua_topointer(L, idx);
  for (g = f->parent; g != NULL; g = g->parent)
    if (g->table == f->table)
      encode_error(E, f, "cannot encode a table that contains itself");
  if (depth > E->maxdepth) {
    char what[64];
    snprintf(what, sizeof what, "cannot encode nesting deeper than %d",
             E->maxdepth);
    encode_error(E, f, what);
  }
  if (!lua_checkstack(L, 8))
    encode_error(E, f, "cannot encode: Lua stack exhausted");
  kind = table_kind(E, idx);
  lua_pushnil(L);
  if (!lua_next(L, idx)) {
    if (kind == KIND_ARRAY) buf_putn(L, E->B, "[]", 2);
    else buf_putn(L, E->B, "{}", 2);
    return;
  }
  if (kind == KIND_AUTO)
    kind = lua_type(L, -2) == LUA_TSTRING ? KIND_OBJECT : KIND_ARRAY;
  if (kind == KIND_ARRAY)
    encode_array(E, idx, f, depth);
  else
    encode_object(E, idx, f, depth);
}

/* Writes the value on top of the stack, reached through frame f. */
static void encode_value(Encoder *E, const Frame *f, int depth) {
  lua_State *L = E->L;
  switch (lua_type(L, -1)) {
    case LUA_TSTRING: {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      encode_string(E, s, len, f, 0);
      break;
    }
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1))
        encode_integer(E, lua_tointeger(L, -1));
      else
        encode_float(E, lua_tonumber(L, -1), f);
      break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, -1)) buf_putn(L, E->B, "true", 4);
      else buf_putn(L, E->B, "false", 5);
      break;
    case LUA_TTABLE: {
      Frame t = *f;   /* a copy that can record the table for cycle checks */
      encode_table(E, lua_gettop(L), &t, depth + 1);
      break;
    }
    case LUA_TNIL:
      buf_putn(L, E->B, "null", 4);
      break;
    case LUA_TUSERDATA:
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, -1) == E->null) {
        buf_putn(L, E->B, "null", 4);
        break;
      }
      /* FALLTHROUGH */
    default: {
      char what[64];
      snprintf(what, sizeof what, "cannot encode %s", luaL_typename(L, -1));
      encode_error(E, f, what);
    }
  }
}

/* harness.json.encode(v [, {indent = n, sort_keys = b, max_depth = n}])
** -> string */
static int json_encode(lua_State *L) {
  Encoder E;
  Frame root = {NULL, NULL, 0, 0, NULL};
  int bufidx;
  luaL_checkany(L, 1);
  E.indent = 0;
  E.sort = 0;
  E.maxdepth = JSON_MAX_DEPTH;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    E.indent = opt_int(L, 2, "indent", 0, 0, 64);
    E.maxdepth = opt_int(L, 2, "max_depth", JSON_MAX_DEPTH, 1, JSON_DEPTH_LIMIT);
    lua_getfield(L, 2, "sort_keys");
    E.sort = lua_toboolean(L, -1);
  }
  lua_settop(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  E.null = lua_touserdata(L, -1);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_ARRAY_MT);
  E.arrayidx = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_OBJECT_MT);
  E.objectidx = lua_gettop(L);
  E.B = buf_take(L);
  bufidx = lua_gettop(L);
  E.L = L;
  lua_pushvalue(L, 1);
  encode_value(&E, &root, 0);
  lua_pushlstring(L, E.B->b, E.B->n);
  buf_keep(L, bufidx);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Marks, null and the module table
** ======================================================================= */

/* Sets the mark 'mt' on table t (a new one if absent) and returns it.
** A table with a metatable of its own can use __jsontype instead. */
static int mark_table(lua_State *L, const char *mt) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  if (lua_getmetatable(L, 1)) {
    int ours;
    luaL_getmetatable(L, JSON_ARRAY_MT);
    luaL_getmetatable(L, JSON_OBJECT_MT);
    ours = lua_rawequal(L, -3, -2) || lua_rawequal(L, -3, -1);
    if (!ours)
      return luaL_argerror(L, 1, "table has a metatable (set __jsontype "
                           "= \"array\" or \"object\" in it instead)");
    lua_settop(L, 1);
  }
  luaL_setmetatable(L, mt);
  return 1;
}

/* harness.json.array([t]) -> t, marked to encode as a JSON array */
static int json_array(lua_State *L) {
  return mark_table(L, JSON_ARRAY_MT);
}

/* harness.json.object([t]) -> t, marked to encode as a JSON object */
static int json_object(lua_State *L) {
  return mark_table(L, JSON_OBJECT_MT);
}

static int null_tostring(lua_State *L) {
  lua_pushliteral(L, "null");
  return 1;
}

/* Creates the registry entries once per state: the marks, the buffer
** metatable and the null sentinel (a userdata printing as "null"). */
static void init_registry(lua_State *L) {
  if (luaL_newmetatable(L, JSON_ARRAY_MT)) {
    lua_pushliteral(L, "array");
    lua_setfield(L, -2, "__jsontype");
  }
  if (luaL_newmetatable(L, JSON_OBJECT_MT)) {
    lua_pushliteral(L, "object");
    lua_setfield(L, -2, "__jsontype");
  }
  if (luaL_newmetatable(L, JSON_BUFFER_MT)) {
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

int hlua_open_json(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"decode", json_decode},
    {"encode", json_encode},
    {"array", json_array},
    {"object", json_object},
    {NULL, NULL}
  };
  init_registry(L);
  luaL_newlibtable(L, funcs);
  lua_pushboolean(L, 0);   /* upvalue: the buffer kept between encodes */
  luaL_setfuncs(L, funcs, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  lua_setfield(L, -2, "null");
  return 1;
}

/* }====================================================================== */
