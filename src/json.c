/*
** json.c: harness.json, strict RFC 8259 decoding and lossless encoding.
**
** Why the parser and printer are our own and not cJSON's: hlua promises
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
** Choices where RFC 8259 leaves room (documented in tests/unit/json_spec.lua):
** - duplicate object keys: the last one wins (with omit_nulls, a last null
**   removes the key);
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
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "codec.h"
#include "hlua.h"

#define JSON_MAX_DEPTH   1000    /* default nesting limit */
#define JSON_DEPTH_LIMIT 10000   /* largest max_depth a caller may ask for */
#define JSON_CHUNK       256     /* values held on the stack before a table takes them */
#define JSON_KEYS        256     /* entries of each string cache (2^n) */
#define JSON_KEY_MAX     40      /* longest string cached (Lua's short) */

/* Error paths and rare cases kept out of the recursive functions, whose
** frames (one per level of nesting) they would otherwise grow. */
#if defined(__GNUC__)
#define JSON_NOINLINE __attribute__((noinline))
#else
#define JSON_NOINLINE
#endif


/* {======================================================================
** The encode buffer kept between calls (Buf: codec.h)
** ======================================================================= */

/* Largest buffer kept for the next encode: its pages are mapped already,
** which spares the page faults of a fresh one (a large share of the time
** for documents of megabytes).  Bigger ones are freed after use, and so
** is one of over a megabyte that the last encode used less than an eighth
** of: a script that encoded one big document keeps no big buffer once it
** goes back to small ones. */
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
  if (B->size > JSON_KEEP ||
      (B->size > ((size_t)1 << 20) && B->n < B->size / 8)) {
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

/* UTF-8 validation as a DFA (RFC 3629: no overlongs, no surrogates,
** nothing above U+10FFFF), for the hot loops: one table load and one shift
** a byte, no branches, so text mixing scripts (1 to 4 bytes a character)
** costs no mispredictions.  A state is a bit offset into a 64-bit row: the
** row of a byte holds, for each state, the next state ("shift-based DFA").
** ACCEPT is 0 (between characters); REJECT is sticky. */
enum {
  U8_ACCEPT = 0, U8_REJECT = 6,
  U8_CONT1 = 12, U8_CONT2 = 18, U8_CONT3 = 24,  /* continuation bytes due */
  U8_E0 = 30, U8_ED = 36, U8_F0 = 42, U8_F4 = 48 /* second byte restricted */
};

/* A row with every transition to REJECT, and one transition replaced. */
#define U8_ALL_REJECT \
  (((uint64_t)U8_REJECT << 0) | ((uint64_t)U8_REJECT << 6) | \
   ((uint64_t)U8_REJECT << 12) | ((uint64_t)U8_REJECT << 18) | \
   ((uint64_t)U8_REJECT << 24) | ((uint64_t)U8_REJECT << 30) | \
   ((uint64_t)U8_REJECT << 36) | ((uint64_t)U8_REJECT << 42) | \
   ((uint64_t)U8_REJECT << 48))
#define U8_T(from, to) ((uint64_t)((to) ^ U8_REJECT) << (from))

/* The rows of the byte classes: continuation bytes 80-8F, 90-9F, A0-BF
** (which the restricted states tell apart), leads C2-DF, E0, E1-EC EE-EF,
** ED, F0, F1-F3, F4; ASCII; and C0, C1, F5-FF, never valid. */
#define U8_ASCII (U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_ACCEPT))
#define U8_80 (U8_ALL_REJECT ^ U8_T(U8_CONT1, U8_ACCEPT) ^ \
  U8_T(U8_CONT2, U8_CONT1) ^ U8_T(U8_CONT3, U8_CONT2) ^ \
  U8_T(U8_ED, U8_CONT1) ^ U8_T(U8_F4, U8_CONT2))
#define U8_90 (U8_ALL_REJECT ^ U8_T(U8_CONT1, U8_ACCEPT) ^ \
  U8_T(U8_CONT2, U8_CONT1) ^ U8_T(U8_CONT3, U8_CONT2) ^ \
  U8_T(U8_ED, U8_CONT1) ^ U8_T(U8_F0, U8_CONT2))
#define U8_A0 (U8_ALL_REJECT ^ U8_T(U8_CONT1, U8_ACCEPT) ^ \
  U8_T(U8_CONT2, U8_CONT1) ^ U8_T(U8_CONT3, U8_CONT2) ^ \
  U8_T(U8_E0, U8_CONT1) ^ U8_T(U8_F0, U8_CONT2))
#define U8_ROW(c) \
  ((c) < 0x80 ? U8_ASCII : (c) < 0x90 ? U8_80 : (c) < 0xA0 ? U8_90 : \
   (c) < 0xC0 ? U8_A0 : (c) < 0xC2 ? U8_ALL_REJECT : \
   (c) < 0xE0 ? U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_CONT1) : \
   (c) == 0xE0 ? U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_E0) : \
   (c) == 0xED ? U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_ED) : \
   (c) < 0xF0 ? U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_CONT2) : \
   (c) == 0xF0 ? U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_F0) : \
   (c) < 0xF4 ? U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_CONT3) : \
   (c) == 0xF4 ? U8_ALL_REJECT ^ U8_T(U8_ACCEPT, U8_F4) : U8_ALL_REJECT)
#define U8_ROW4(c) U8_ROW(c), U8_ROW(c + 1), U8_ROW(c + 2), U8_ROW(c + 3)
#define U8_ROW16(c) U8_ROW4(c), U8_ROW4(c + 4), U8_ROW4(c + 8), U8_ROW4(c + 12)

/* The row of every byte. */
static const uint64_t utf8_rows[256] = {
  U8_ROW16(0x00), U8_ROW16(0x10), U8_ROW16(0x20), U8_ROW16(0x30),
  U8_ROW16(0x40), U8_ROW16(0x50), U8_ROW16(0x60), U8_ROW16(0x70),
  U8_ROW16(0x80), U8_ROW16(0x90), U8_ROW16(0xA0), U8_ROW16(0xB0),
  U8_ROW16(0xC0), U8_ROW16(0xD0), U8_ROW16(0xE0), U8_ROW16(0xF0)
};

static inline unsigned utf8_step(unsigned st, unsigned char c) {
  return (unsigned)(utf8_rows[c] >> st) & 63;
}

/* The first byte at or after p that does not start a well-formed UTF-8
** sequence, skipping ASCII: where to report an error once the DFA has
** rejected something after p (p in a NUL-terminated string). */
static const unsigned char *utf8_first_bad(const unsigned char *p) {
  for (;;) {
    size_t n = *p < 0x80 ? 1 : codec_utf8_len(p);
    if (n == 0) return p;
    p += n;
  }
}

/* Block scanning of string text: 16 bytes at a time with SSE2 (every
** x86-64 has it), else and for the last bytes 8 at a time in a 64-bit word
** with the carry tricks of "Bit Twiddling Hacks" (haszero, hasless).  A
** scan gives two masks, bit i for byte i: the stops ('"', '\\' and
** controls, the bytes that end a run of plain text) and the bytes from
** 0x80 on (to check as UTF-8).  In a word, the lowest flagged byte is
** always a true one (false positives only appear above a true one), which
** is all the scans need: they act on the first stop and scan again after
** it (only with SSE2, whose masks are exact, does decode take more than
** one stop from a mask).  load64 puts the first byte of memory lowest on
** any machine. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JSON_LITTLE_ENDIAN 1
#else
#define JSON_LITTLE_ENDIAN 0
#endif

#define ONES8  ((uint64_t)0x0101010101010101u)
#define HIGHS8 ((uint64_t)0x8080808080808080u)

/* The 8 bytes at p, the first one lowest. */
static inline uint64_t load64(const unsigned char *p) {
  uint64_t x;
#if JSON_LITTLE_ENDIAN
  memcpy(&x, p, 8);
#else
  int i;
  for (x = 0, i = 7; i >= 0; i--) x = x << 8 | p[i];
#endif
  return x;
}

/* Stores x at p as load64 would read it back. */
static inline void store64(char *p, uint64_t x) {
#if JSON_LITTLE_ENDIAN
  memcpy(p, &x, 8);
#else
  int i;
  for (i = 0; i < 8; i++, x >>= 8) p[i] = (char)(x & 0xFF);
#endif
}

/* Loads the n < 8 bytes at p as the low bytes of a word, the rest zero:
** the tail of a string, which may end at the end of its memory block. */
static inline uint64_t load_tail(const unsigned char *p, size_t n) {
  uint64_t x = 0;
#if JSON_LITTLE_ENDIAN
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
#else
  while (n > 0) x = x << 8 | p[--n];
#endif
  return x;
}

/* The n < 8 bytes at p as the low bytes of a word, the rest zero, in at
** most three loads: two overlapping ones cover 4 to 7 bytes, and the
** first, middle and last byte cover 1 to 3. */
static inline uint64_t load_small(const unsigned char *p, size_t n) {
  if (n >= 4) {
    uint64_t lo = load_tail(p, 4), hi = load_tail(p + n - 4, 4);
    return lo | hi << (8 * (n - 4));
  }
  if (n == 0) return 0;
  return (uint64_t)p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) |
         (uint64_t)p[n - 1] << (8 * (n - 1));
}

#if defined(__SSE2__)
#include <emmintrin.h>
#define JSON_BLOCK 16
#define JSON_EXACT_MASKS 1   /* every flagged byte is a true one */

/* Scans the 16 bytes in v: returns the stops, and sets *high.  Signed
** compares: bytes from 0x80 on are below 0x20 too, so they are taken out
** of the stops. */
static inline unsigned scan_vector(__m128i v, unsigned *high) {
  __m128i stop = _mm_or_si128(
    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
  unsigned h = (unsigned)_mm_movemask_epi8(v);
  *high = h;
  return (unsigned)_mm_movemask_epi8(stop) & ~h;
}

/* Copies the JSON_BLOCK bytes at p to w. */
static inline void copy_block(char *w, const unsigned char *p) {
  _mm_storeu_si128((__m128i *)(void *)w,
                   _mm_loadu_si128((const __m128i *)(const void *)p));
}

/* Scans the 16 bytes at p (copied to w unless w is NULL). */
static inline unsigned scan_block(const unsigned char *p, char *w,
                                  unsigned *high) {
  __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
  if (w != NULL) _mm_storeu_si128((__m128i *)(void *)w, v);
  return scan_vector(v, high);
}

/* Scans the n < 16 bytes at p, the last of a string, in one go: 8 to 15
** as two overlapping words (the masks of the second moved to where its
** bytes are), fewer zero padded (the padding scans as stops). */
static inline unsigned scan_short(const unsigned char *p, size_t n, char *w,
                                  unsigned *high) {
  if (n >= 8) {
    uint64_t a = load64(p), b = load64(p + n - 8);
    unsigned h, m = scan_vector(_mm_set_epi64x((long long)b, (long long)a), &h);
    if (w != NULL) {
      store64(w, a);
      store64(w + n - 8, b);
    }
    *high = (h & 0xFF) | (h >> 8) << (n - 8);
    return (m & 0xFF) | (m >> 8) << (n - 8);
  }
  else {
    uint64_t x = load_small(p, n);
    if (w != NULL) store64(w, x);
    return scan_vector(_mm_set_epi64x(0, (long long)x), high);
  }
}
#else
#define JSON_BLOCK 8
#define JSON_EXACT_MASKS 0   /* only the lowest flagged byte is sure */

/* The mask with bit i for each byte i of the word whose high bit is set
** (the high bits gathered by one multiplication). */
static inline unsigned word_mask(uint64_t m) {
  return (unsigned)((((m & HIGHS8) >> 7) *
                     (uint64_t)0x0102040810204080u) >> 56);
}

/* Scans the word x (8 bytes of text; copied to w unless w is NULL):
** returns the stops, and sets *high. */
static inline unsigned scan_word(uint64_t x, char *w, unsigned *high) {
  uint64_t q = x ^ (ONES8 * '"'), b = x ^ (ONES8 * '\\');
  if (w != NULL) store64(w, x);
  *high = word_mask(x);
  return word_mask(((x - ONES8 * 0x20) & ~x) | ((q - ONES8) & ~q) |
                   ((b - ONES8) & ~b));
}

static inline void copy_block(char *w, const unsigned char *p) {
  memcpy(w, p, 8);
}

static inline unsigned scan_block(const unsigned char *p, char *w,
                                  unsigned *high) {
  return scan_word(load64(p), w, high);
}

static inline unsigned scan_short(const unsigned char *p, size_t n, char *w,
                                  unsigned *high) {
  return scan_word(load_small(p, n), w, high);
}
#endif

/* Scans text at p, n bytes of it left, copying it to w unless w is NULL:
** a block of JSON_BLOCK bytes, or the n < JSON_BLOCK left before the end
** of the memory.  Returns the stops and sets *high and *took (how many
** bytes the masks cover: fewer than JSON_BLOCK at the end). */
static inline unsigned scan_text_at(const unsigned char *p, size_t n, char *w,
                                    unsigned *high, size_t *took) {
  if (n >= JSON_BLOCK) {
    *took = JSON_BLOCK;
    return scan_block(p, w, high);
  }
  *took = n;
  return scan_short(p, n, w, high);
}

/* The index of the first flagged byte of a nonzero mask. */
static inline size_t first_flagged(unsigned m) {
#if defined(__GNUC__)
  return (size_t)__builtin_ctz(m);
#else
  size_t i = 0;
  while (!(m & 1)) { m >>= 1; i++; }
  return i;
#endif
}

/* Reads an optional boolean field of the options table at 'idx'. */
static int opt_bool(lua_State *L, int idx, const char *field, int def) {
  int t = lua_getfield(L, idx, field), v = def;
  if (t == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    return luaL_argerror(L, idx, lua_pushfstring(L, "option '%s' must be a "
                         "boolean", field));
  lua_pop(L, 1);
  return v;
}

/* }====================================================================== */


/* {======================================================================
** Decoding: text straight to the Lua stack, one pass, strict
** ======================================================================= */

/* What a decode keeps for the next one (upvalue 2 of the module's
** functions, taken out while in use like the encode buffer): the scratch
** buffer, and two string caches, for object keys and for short string
** values.  Keys repeat in nearly every document (a few dozen names,
** thousands of times), and so do many values (statuses, identifiers,
** tags); lua_pushlstring hashes each and looks it up in Lua's string
** table.  The caches, direct-mapped, hold strings already made, checked
** against the input bytes and pushed with lua_rawgeti.  Entry i is element
** i+1 of the user value (a table: keys first, then values), which keeps
** the strings alive.  Buf comes first: the buffer metatable's __gc frees
** it. */
typedef struct DecodeState {
  Buf scratch;
  struct { const char *s; size_t n; } cache[2 * JSON_KEYS];
  unsigned char members[JSON_KEYS];   /* see decode_object */
} DecodeState;

typedef struct Decoder {
  lua_State *L;
  const char *s;      /* the whole input; Lua keeps a NUL after it */
  const char *p;      /* next byte to read */
  const char *end;    /* s + length */
  Buf *scratch;       /* unescaped bytes of the current string */
  DecodeState *state;
  int cacheidx;       /* stack slot of the table holding the cached strings */
  int nullidx;        /* stack slot of the null sentinel */
  int arrayidx;       /* stack slot of the array mark */
  int base;           /* stack slot of the decode state: the last fixed one */
  int maxdepth;
  int omitnulls;      /* leave out object members that are null? */
  StackGuard stack;
} Decoder;

/* Pushes the table of cached strings and the decode state kept by the last
** decode (upvalue 2), or new ones; the upvalue is cleared meanwhile. */
static DecodeState *state_take(lua_State *L) {
  DecodeState *S;
  int i;
  if (lua_type(L, lua_upvalueindex(2)) == LUA_TUSERDATA) {
    lua_pushvalue(L, lua_upvalueindex(2));
    lua_pushboolean(L, 0);
    lua_replace(L, lua_upvalueindex(2));
    lua_getiuservalue(L, -1, 1);
    lua_insert(L, -2);
    S = (DecodeState *)lua_touserdata(L, -1);
    S->scratch.n = 0;
    return S;
  }
  lua_createtable(L, 2 * JSON_KEYS, 0);
  for (i = 1; i <= 2 * JSON_KEYS; i++) {   /* the array part, sized once */
    lua_pushboolean(L, 0);
    lua_rawseti(L, -2, i);
  }
  S = (DecodeState *)lua_newuserdatauv(L, sizeof(DecodeState), 1);
  S->scratch.b = NULL;
  S->scratch.n = S->scratch.size = 0;
  for (i = 0; i < 2 * JSON_KEYS; i++) {
    S->cache[i].s = NULL;
    S->cache[i].n = (size_t)-1;   /* matches no string */
  }
  memset(S->members, 0, sizeof S->members);
  luaL_setmetatable(L, CODEC_BUFFER_MT);
  lua_pushvalue(L, -2);
  lua_setiuservalue(L, -2, 1);
  return S;
}

/* Keeps the decode state at idx for the next decode, its scratch buffer
** freed first if it grew large. */
static void state_keep(lua_State *L, int idx) {
  DecodeState *S = (DecodeState *)lua_touserdata(L, idx);
  if (S->scratch.size > ((size_t)1 << 20))
    buf_free(&S->scratch);
  lua_pushvalue(L, idx);
  lua_replace(L, lua_upvalueindex(2));
}

/* Raises harness.Error{kind="json"} for the input at 'at' (see
** codec_text_error), dropping the partial results first. */
static JSON_NOINLINE int decode_error(Decoder *D, const char *at,
                                      const char *what) {
  lua_settop(D->L, D->base);   /* the stack may be full */
  return codec_text_error(D->L, "json", D->s, (size_t)(D->end - D->s),
                          (size_t)(at - D->s), what);
}

/* Raises "unexpected character 'x'" (or end of input) at 'at'. */
static JSON_NOINLINE int decode_unexpected(Decoder *D, const char *at,
                                           const char *ctx) {
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
    if (codec_is_digit(c)) d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/* Writes code point cp as UTF-8 at w; returns the end. */
static char *put_utf8(char *w, unsigned long cp) {
  if (cp < 0x80) { *w++ = (char)cp; }
  else if (cp < 0x800) {
    *w++ = (char)(0xC0 | (cp >> 6)); *w++ = (char)(0x80 | (cp & 0x3F));
  }
  else if (cp < 0x10000) {
    *w++ = (char)(0xE0 | (cp >> 12)); *w++ = (char)(0x80 | ((cp >> 6) & 0x3F));
    *w++ = (char)(0x80 | (cp & 0x3F));
  }
  else {
    *w++ = (char)(0xF0 | (cp >> 18)); *w++ = (char)(0x80 | ((cp >> 12) & 0x3F));
    *w++ = (char)(0x80 | ((cp >> 6) & 0x3F)); *w++ = (char)(0x80 | (cp & 0x3F));
  }
  return w;
}

/* Decodes the \u escape at p (pointing at the backslash) to UTF-8 at w,
** joining surrogate pairs; returns the end of the output and sets *next
** to the position after the escape. */
static char *decode_uescape(Decoder *D, const unsigned char *p, char *w,
                            const unsigned char **next) {
  const char *s = (const char *)p;
  long hi = read_hex4(s + 2), lo = 0;
  if (hi < 0)
    decode_error(D, s, "invalid \\u escape (4 hex digits expected)");
  if (hi >= 0xDC00 && hi <= 0xDFFF)
    decode_error(D, s, "lone low surrogate in \\u escape");
  if (hi < 0xD800 || hi > 0xDBFF) {
    *next = p + 6;
    return put_utf8(w, (unsigned long)hi);
  }
  if (s[6] != '\\' || s[7] != 'u' || (lo = read_hex4(s + 8)) < 0xDC00 ||
      lo > 0xDFFF)
    decode_error(D, s, "lone high surrogate in \\u escape");
  *next = p + 12;
  return put_utf8(w, 0x10000 + (((unsigned long)hi - 0xD800) << 10) +
                  ((unsigned long)lo - 0xDC00));
}

/* Raises the error for the byte at p that stopped a string scan and is not
** a quote, a backslash or valid UTF-8; 'open' is the opening quote. */
static JSON_NOINLINE int string_error(Decoder *D, const char *open,
                                      const char *p) {
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

/* Raises the error for the invalid UTF-8 that the DFA found in the string
** text that starts at 'from' (after the last escape, or the quote). */
static JSON_NOINLINE int text_error(Decoder *D, const char *open,
                                    const unsigned char *from) {
  return string_error(D, open, (const char *)utf8_first_bad(from));
}

/* Runs the UTF-8 DFA over the n bytes at p from state st; returns the new
** state.  Before the first byte from 0x80 on, ASCII leaves ACCEPT as is,
** so a part block starts there. */
static inline unsigned utf8_run(unsigned st, const unsigned char *p, size_t n,
                                unsigned high) {
  size_t i = 0;
  if (n == 16) {   /* a whole block: 16 steps and no branch to mispredict */
    for (; i < 16; i += 4) {
      st = utf8_step(st, p[i]);
      st = utf8_step(st, p[i + 1]);
      st = utf8_step(st, p[i + 2]);
      st = utf8_step(st, p[i + 3]);
    }
    return st;
  }
  if (st == U8_ACCEPT) i = first_flagged(high | (1u << n));
  for (; i + 4 <= n; i += 4) {   /* unrolled: the steps are a serial chain */
    st = utf8_step(st, p[i]);
    st = utf8_step(st, p[i + 1]);
    st = utf8_step(st, p[i + 2]);
    st = utf8_step(st, p[i + 3]);
  }
  for (; i < n; i++) st = utf8_step(st, p[i]);
  return st;
}

/* Skips string text from p, a block at a time, checking it as UTF-8:
** returns the first quote, backslash or control byte (or the end of the
** input: past it, the scan sees zero bytes). */
static const unsigned char *scan_text(Decoder *D, const char *open,
                                      const unsigned char *p) {
  const unsigned char *from = p, *end = (const unsigned char *)D->end;
  unsigned st = U8_ACCEPT;
  for (;;) {
    size_t took, n;
    unsigned high, stops = scan_text_at(p, (size_t)(end - p), NULL, &high,
                                        &took);
    if (took < JSON_BLOCK) stops |= 1u << took;   /* the end */
    if ((stops | high | st) == 0) {
      p += took;
      continue;
    }
    n = stops ? first_flagged(stops) : took;
    if (high | st) {
      st = utf8_run(st, p, n, high);
      if (st == U8_REJECT) text_error(D, open, from);
    }
    p += n;
    if (stops) {
      if (st != U8_ACCEPT) text_error(D, open, from);   /* cut short */
      return p;
    }
  }
}

/* Makes room for 'need' more bytes after w in the scratch buffer; returns
** w in the (maybe moved) buffer. */
static char *scratch_room(Decoder *D, char *w, size_t need) {
  Buf *B = D->scratch;
  B->n = (size_t)(w - B->b);
  buf_reserve(D->L, B, need);
  return B->b + B->n;
}

/* What each byte after a backslash stands for: the byte it unescapes to,
** 'u' for \uXXXX (handled apart), 0 for an invalid escape. */
static const char str_unescape[256] = {
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,'"',0,0,0,0,0,0,0,0,0,0,0,0,'/', 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
  0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,'\\',0,0,0,
  0,0,'\b',0,0,0,'\f',0,0,0,0,0,0,0,'\n',0,
  0,0,'\r',0,'\t','u',0,0,0,0,0,0,0,0,0,0
};

/* Slow path of decode_cached, for strings with escapes: unescapes the
** string into the scratch buffer, from 'start' (after the quote 'open'),
** p being its first backslash; then pushes it.  The text is copied a word
** at a time as it is scanned, and the scan goes on after each escape. */
static void decode_string_escaped(Decoder *D, const char *open,
                                  const unsigned char *start,
                                  const unsigned char *p) {
  Buf *B = D->scratch;
  const unsigned char *from = p;   /* text since the last escape */
  const unsigned char *end = (const unsigned char *)D->end;
  unsigned st = U8_ACCEPT;
  char *w, *wend;
  B->n = 0;
  buf_putn(D->L, B, (const char *)start, (size_t)(p - start));
  buf_reserve(D->L, B, 48);   /* before any pointer math: b may be NULL */
  w = B->b + B->n;
  wend = B->b + B->size;
  for (;;) {   /* p is at a stop */
    char c;
    if (st != U8_ACCEPT) text_error(D, open, from);   /* cut short */
    if (*p != '\\') break;
    c = str_unescape[p[1]];
    if (c != 'u' && c != 0) {
      *w++ = c;
      p += 2;
    }
    else if (c == 'u')
      w = decode_uescape(D, p, w, &p);
    else if (p + 1 >= end)
      decode_error(D, open, "unterminated string");
    else
      decode_error(D, (const char *)p, "invalid escape in string");
    from = p;
    /* the text up to the next stop, a block at a time */
    for (;;) {
      size_t took, n;
      unsigned high, stops;
      if (wend - w < 48) {   /* a block writes 16 bytes, an escape 4 */
        w = scratch_room(D, w, 48);
        wend = B->b + B->size;
      }
      stops = scan_text_at(p, (size_t)(end - p), w, &high, &took);
      if ((stops | high | st) == 0) {
        p += took;
        w += took;
        continue;
      }
      if (JSON_EXACT_MASKS && took == JSON_BLOCK && (high | st) == 0) {
        /* ASCII with stops, as in YAML bodies: the simple escapes of
        ** the block are taken from its mask, and the text after each is
        ** copied to its place with one more block store, not scanned
        ** again: the chain from one escape to the next stays short. */
        const unsigned char *blk = p;
        unsigned rest = stops;
        int at_stop = 1;
        for (;;) {
          size_t i = first_flagged(rest);
          w += blk + i - p;
          p = blk + i;
          if (*p != '\\' || (c = str_unescape[p[1]]) == 0 || c == 'u' ||
              end - p < 2 + JSON_BLOCK)
            break;   /* for the outer loop */
          *w++ = c;
          p += 2;
          from = p;
          copy_block(w, p);
          rest = p - blk >= JSON_BLOCK ? 0 : stops & (~0u << (p - blk));
          if (rest == 0) {   /* no more in this block */
            if (p < blk + JSON_BLOCK) {
              w += blk + JSON_BLOCK - p;
              p = blk + JSON_BLOCK;
            }
            at_stop = 0;
            break;
          }
        }
        if (at_stop) break;
        continue;
      }
      n = stops ? first_flagged(stops) : took;
      if (high | st) {
        st = utf8_run(st, p, n, high);
        if (st == U8_REJECT) text_error(D, open, from);
      }
      p += n;
      w += n;
      if (stops) break;
    }
  }
  if (*p != '"') string_error(D, open, (const char *)p);
  lua_pushlstring(D->L, B->b, (size_t)(w - B->b));
  D->p = (const char *)p + 1;
}

/* The slot of the string [a, a + n) in a string cache. */
static inline unsigned key_slot(const unsigned char *a, size_t n) {
  uint64_t x = n >= 8 ? load64(a) : load_tail(a, n);
  if (n > 8) x ^= load64(a + n - 8) * 31;
  x = (x ^ n) * (uint64_t)0x9E3779B97F4A7C15u;
  return (unsigned)(x >> 56) & (JSON_KEYS - 1);
}

/* Pushes the string whose opening quote is at D->p, through the cache
** whose entries start at 'first' (0 for keys, JSON_KEYS for values):
** from it when there, else made and cached (strings with escapes and long
** ones are not).  Returns the entry, or -1. */
static int decode_cached(Decoder *D, unsigned first) {
  const char *open = D->p;
  const unsigned char *start = (const unsigned char *)open + 1;
  const unsigned char *p = scan_text(D, open, start);
  size_t n = (size_t)(p - start);
  unsigned i;
  if (*p != '"') {
    if (*p == '\\') decode_string_escaped(D, open, start, p);   /* sets D->p */
    else string_error(D, open, (const char *)p);
    return -1;
  }
  D->p = (const char *)p + 1;
  if (n > JSON_KEY_MAX) {
    lua_pushlstring(D->L, (const char *)start, n);
    return -1;
  }
  i = first + key_slot(start, n);
  if (D->state->cache[i].n == n &&
      memcmp(D->state->cache[i].s, start, n) == 0) {
    lua_rawgeti(D->L, D->cacheidx, i + 1);
    return (int)i;
  }
  lua_pushlstring(D->L, (const char *)start, n);
  lua_pushvalue(D->L, -1);
  lua_rawseti(D->L, D->cacheidx, i + 1);   /* the array part: no allocation */
  D->state->cache[i].s = lua_tostring(D->L, -1);
  D->state->cache[i].n = n;
  return (int)i;
}

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
  int lost = 0;            /* digits that did not fit in m: strtod decides */
  int exp10 = 0, isfloat = 0, neg = (*p == '-');
  double d;
  if (neg) p++;
  if (*p == '0') {
    p++;
    if (codec_is_digit(*p)) decode_error(D, a, "leading zero in number");
  }
  else if (codec_is_digit(*p)) {
    for (; codec_is_digit(*p); p++) {
      if (ndig < 19) { m = m * 10 + (uint64_t)(*p - '0'); ndig++; }
      else lost = 1;   /* (counting exp10 on could overflow an int) */
    }
  }
  else
    decode_error(D, a, "digit expected in number");
  if (*p == '.') {
    p++;
    if (!codec_is_digit(*p))
      decode_error(D, a, "digit expected after '.' in number");
    isfloat = 1;
    for (; codec_is_digit(*p); p++) {
      if (ndig < 19 && exp10 > -40) {   /* (leading zeros are unbounded) */
        m = m * 10 + (uint64_t)(*p - '0');
        if (m) ndig++;
        exp10--;
      }
      else if (*p != '0' || ndig < 19) lost = 1;
    }
  }
  if (*p == 'e' || *p == 'E') {
    int esign = 1, ev = 0;
    p++;
    if (*p == '+' || *p == '-') esign = (*p++ == '-') ? -1 : 1;
    if (!codec_is_digit(*p)) decode_error(D, a, "digit expected in exponent");
    isfloat = 1;
    for (; codec_is_digit(*p); p++)
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
    d = exp10 < 0 ? (double)m / codec_pow10[-exp10]
                  : (double)m * codec_pow10[exp10];
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

/* Raises the error for nesting 'depth' deep that 'what' cannot hold. */
static JSON_NOINLINE int depth_error(Decoder *D, int depth, const char *what) {
  char msg[96];
  snprintf(msg, sizeof msg, "nesting deeper than %d%s", depth - 1, what);
  return decode_error(D, D->p, msg);
}

/* Checks that a container can start at nesting 'depth': within max_depth,
** room on the Lua stack for a chunk of values, and on the C stack. */
static void check_depth(Decoder *D, int depth) {
  if (depth > D->maxdepth)
    depth_error(D, depth, "");
  if (!lua_checkstack(D->L, JSON_CHUNK * 2 + 8))
    depth_error(D, depth, " with this many items: the Lua stack is full");
  if (depth >= CODEC_STACK_FROM && !codec_stack_ok(&D->stack))
    depth_error(D, depth, ": the C stack is too small for more");
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
        codec_flush_list(L, base, &n, pending);
        pending = 0;
      }
      skip_ws(D);
      if (*D->p == ',') { D->p++; skip_ws(D); }
      else if (*D->p == ']') { D->p++; break; }
      else decode_unexpected(D, D->p, " (',' or ']' expected)");
    }
  }
  codec_flush_list(L, base, &n, pending);
  lua_pushvalue(L, D->arrayidx);
  lua_setmetatable(L, base);
}

/* Like codec_flush_list for the key/value pairs of an object: in input
** order, so that of duplicate keys the last one wins. */
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

/* Parses the ':' and the value of a member whose key is pushed, and
** pushes the value (nil for a null that omit_nulls leaves out: it inserts
** nothing, or removes an earlier value of the key). */
static inline void decode_member_value(Decoder *D, int depth) {
  skip_ws(D);
  if (*D->p != ':')
    decode_unexpected(D, D->p, " (':' expected)");
  D->p++;
  skip_ws(D);
  if (*D->p == 'n' && D->omitnulls) {
    decode_literal(D, "null", 4);
    lua_pushnil(D->L);
  }
  else
    decode_value(D, depth);
}

/* Skips to the next member; returns 0 at the '}'. */
static inline int decode_next_member(Decoder *D) {
  skip_ws(D);
  if (*D->p == ',') {
    D->p++;
    skip_ws(D);
    if (*D->p != '"')
      decode_unexpected(D, D->p, " (string key expected)");
    return 1;
  }
  if (*D->p == '}') {
    D->p++;
    return 0;
  }
  return decode_unexpected(D, D->p, " (',' or '}' expected)");
}

/* Pushes the object at D->p ('{').  Objects in a list mostly have the same
** members, the first key telling which: how many the last object with
** that first key had (members[], by the key's cache entry) sizes the table
** as soon as that key is read, and each member goes in as it is parsed.
** Otherwise the members gather on the stack, in chunks, so that the table
** is made once at its final size. */
static void decode_object(Decoder *D, int depth) {
  lua_State *L = D->L;
  int pending = 0, base, entry, count = 1;
  check_depth(D, depth);
  lua_pushnil(L);
  base = lua_gettop(L);
  D->p++;
  skip_ws(D);
  if (*D->p == '}') {
    D->p++;
    lua_createtable(L, 0, 0);
    lua_replace(L, base);
    return;
  }
  if (*D->p != '"')
    decode_unexpected(D, D->p, " (string key expected)");
  entry = decode_cached(D, 0);
  if (entry >= 0 && D->state->members[entry] > 0) {
    lua_createtable(L, 0, D->state->members[entry]);
    lua_replace(L, base);
    for (;;) {
      decode_member_value(D, depth);
      lua_rawset(L, base);
      if (!decode_next_member(D)) break;
      decode_cached(D, 0);
      count++;
    }
  }
  else {
    for (;;) {
      decode_member_value(D, depth);
      if (++pending == JSON_CHUNK) {
        object_flush(L, base, pending);
        pending = 0;
      }
      if (!decode_next_member(D)) break;
      decode_cached(D, 0);
      count++;
    }
    object_flush(L, base, pending);
  }
  if (entry >= 0)   /* up to 64: a bad guess costs little */
    D->state->members[entry] = (unsigned char)(count < 64 ? count : 0);
}

/* Pushes the value at D->p (whitespace already skipped); containers count
** as one more level of nesting than 'depth'. */
static void decode_value(Decoder *D, int depth) {
  switch (*D->p) {
    case '"': decode_cached(D, JSON_KEYS); break;
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

/* harness.json.decode(s [, {max_depth = n, omit_nulls = b}]) -> value
** omit_nulls leaves out object members whose value is null, so that they
** read as nil (and "x or default" works); null items of arrays stay
** json.null, so positions hold.  By default every null is json.null. */
static int json_decode(lua_State *L) {
  Decoder D;
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  D.maxdepth = JSON_MAX_DEPTH;
  D.omitnulls = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    D.maxdepth = codec_opt_int(L, 2, "max_depth", JSON_MAX_DEPTH, 1,
                               JSON_DEPTH_LIMIT);
    D.omitnulls = opt_bool(L, 2, "omit_nulls", 0);
  }
  lua_settop(L, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  D.nullidx = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_ARRAY_MT);
  D.arrayidx = lua_gettop(L);
  D.state = state_take(L);
  D.cacheidx = lua_gettop(L) - 1;
  D.scratch = &D.state->scratch;
  D.base = lua_gettop(L);
  D.L = L;
  D.s = D.p = s;
  D.end = s + len;
  codec_stack_init(&D.stack);
  skip_ws(&D);
  decode_value(&D, 0);
  skip_ws(&D);
  if (D.p != D.end)
    decode_unexpected(&D, D.p, " after the value");
  state_keep(L, D.base);
  return 1;
}

/* }====================================================================== */


/* {======================================================================
** Encoding: the Lua value to text, refusing what JSON cannot hold
** ======================================================================= */

typedef struct Encoder {
  lua_State *L;
  Buf *B;
  const void *null;       /* the null sentinel */
  int arrayidx, objectidx;  /* stack slots of the marks */
  int indent;             /* spaces per level; 0 for compact output */
  int sort;               /* sort object keys? */
  int maxdepth;
  StackGuard stack;
} Encoder;

/* How encode errors name things. */
static const Codec json_codec = {"json", "array"};

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
static JSON_NOINLINE int utf8_error(Encoder *E, const char *s,
                                    const Frame *f, int iskey) {
  char what[80];
  const unsigned char *bad = utf8_first_bad((const unsigned char *)s);
  snprintf(what, sizeof what, "cannot encode invalid UTF-8 (byte %d of the %s)",
           (int)(bad - (const unsigned char *)s) + 1, iskey ? "key" : "string");
  return codec_path_error(E->L, &json_codec, f, what);
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
** whether the culprit is a key).  Text is copied a block (JSON_BLOCK
** bytes) at a time, each block tested for bytes to escape as it is copied;
** blocks with bytes from 0x80 on go through the UTF-8 DFA.  s must be NUL-terminated, as Lua's
** strings are. */
static void encode_string(Encoder *E, const char *s, size_t len,
                           const Frame *f, int iskey) {
  Buf *B = E->B;
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  unsigned st = U8_ACCEPT;
  char *w;
  buf_reserve(E->L, B, len < JSON_SEGMENT ? 6 * len + JSON_BLOCK + 2 : 2);
  w = B->b + B->n;
  *w++ = '"';
  while (p < end) {
    const unsigned char *seg = end - p > JSON_SEGMENT ? p + JSON_SEGMENT : end;
    if (len >= JSON_SEGMENT) {   /* long string: reserve per segment */
      B->n = (size_t)(w - B->b);
      buf_reserve(E->L, B, 6 * (size_t)(seg - p) + JSON_BLOCK + 1);
      w = B->b + B->n;
    }
    while (p < seg) {
      size_t took, n;
      unsigned high, stops = scan_text_at(p, (size_t)(seg - p), w, &high,
                                          &took);
      stops &= (2u << (took - 1)) - 1;   /* not the zero bytes after a tail */
      if ((stops | high | st) == 0) {
        p += took;
        w += took;
        continue;
      }
      n = stops ? first_flagged(stops) : took;
      if (high | st) {
        st = utf8_run(st, p, n, high);
        if (st == U8_REJECT) utf8_error(E, s, f, iskey);
      }
      p += n;
      w += n;
      if (stops) {   /* *p needs an escape, and must start a character */
        if (st != U8_ACCEPT) utf8_error(E, s, f, iskey);
        w = put_escape(w, *p, str_escape[*p]);
        p++;
      }
    }
  }
  if (st != U8_ACCEPT) utf8_error(E, s, f, iskey);   /* cut short */
  *w++ = '"';
  B->n = (size_t)(w - B->b);
}

/* Writes finite d (refuses NaN and infinities); out of line, as the
** error calls would otherwise weigh on every level's frame. */
static JSON_NOINLINE void encode_float(Encoder *E, double d, const Frame *f) {
  if (isnan(d)) codec_path_error(E->L, &json_codec, f, "cannot encode NaN");
  if (isinf(d))
    codec_path_error(E->L, &json_codec, f,
                     d > 0 ? "cannot encode inf" : "cannot encode -inf");
  buf_putfloat(E->L, E->B, d);
}

/* Starts a line at the indentation of nesting 'depth'. */
static void put_newline(Encoder *E, int depth) {
  buf_newline(E->L, E->B, (size_t)E->indent * (size_t)depth);
}

static void encode_value(Encoder *E, Frame *f, int depth);

/* Writes the array at idx, whose first key and value lua_next has pushed;
** its keys must be exactly 1..n.  Arrays built in order (decoded ones,
** lists filled from 1 on) give their keys to lua_next as 1, 2, 3..., so
** one pass both checks and writes them.  From the first key out of that
** order on, the remaining keys are checked first, then their values
** fetched by index. */
static void encode_array(Encoder *E, int idx, const Frame *f, int depth) {
  lua_State *L = E->L;
  lua_Integer i = 0, n;
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
  n = codec_list_length(L, &json_codec, f, idx, i);
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

/* Writes one member: the key and the value on top of the stack.  Inline:
** a frame of its own would be one more per level of nesting. */
static inline void encode_member(Encoder *E, const char *k, size_t klen,
                                 int first, const Frame *f, int depth) {
  Frame c = {f, k, klen, 0, NULL};
  if (!first) buf_putc(E->L, E->B, ',');
  if (E->indent) put_newline(E, depth);
  encode_string(E, k, klen, f, 1);
  if (E->indent) buf_puts(E->L, E->B, ": ");
  else buf_putc(E->L, E->B, ':');
  encode_value(E, &c, depth);
}

/* Collects the keys of the object at idx for sort_keys, sorted in byte
** order: pushes a table holding them and the array of Key that points into
** them; returns how many, and the array in *sorted.  Any allocation can run
** a finalizer that changes the object, so nothing here or in the writing
** (encode_object) trusts it across one: the keys are copied into a new
** table (on the stack, so the strings stay alive whatever happens to the
** object), the array sorted points into strings only that table holds, and
** each value is fetched again when it is written.  A key that a finalizer
** removes meanwhile is left out, one it adds is not seen. */
static JSON_NOINLINE lua_Integer sort_keys(Encoder *E, int idx,
                                           const Frame *f, Key **sorted) {
  lua_State *L = E->L;
  lua_Integer n = codec_count_keys(L, &json_codec, f, idx), i;
  int keys;
  Key *k;
  lua_createtable(L, n < INT_MAX ? (int)n : INT_MAX, 0);
  keys = lua_gettop(L);
  n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {   /* it may have changed: take what is there */
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) {
      lua_pushnil(L);   /* codec_bad_key reads the key at -2 */
      codec_bad_key(L, &json_codec, f, CODEC_OBJECT);
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
  codec_sort_keys(k, (size_t)n);
  *sorted = k;
  return n;
}

/* Writes the object at idx, whose first key and value lua_next has pushed
** (or, sorting, pops them); keys must be strings. */
static void encode_object(Encoder *E, int idx, const Frame *f, int depth) {
  lua_State *L = E->L;
  int first = 1;
  buf_putc(L, E->B, '{');
  if (E->sort) {
    Key *k;
    lua_Integer i, n;
    lua_pop(L, 2);
    n = sort_keys(E, idx, f, &k);
    for (i = 0; i < n; i++) {
      lua_rawgeti(L, -2, k[i].i);
      if (lua_rawget(L, idx) == LUA_TNIL) {   /* removed meanwhile */
        lua_pop(L, 1);
        continue;
      }
      encode_member(E, k[i].s, k[i].n, first, f, depth);
      first = 0;
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  else {
    do {
      size_t klen;
      const char *k;
      if (lua_type(L, -2) != LUA_TSTRING)
        codec_bad_key(L, &json_codec, f, CODEC_OBJECT);
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
  int kind;
  codec_check_table(L, &json_codec, f, idx, depth, E->maxdepth, &E->stack);
  kind = codec_table_kind(L, idx, E->arrayidx, E->objectidx);
  lua_pushnil(L);
  if (!lua_next(L, idx)) {
    if (kind == CODEC_ARRAY) buf_puts(L, E->B, "[]");
    else buf_puts(L, E->B, "{}");
    return;
  }
  if (kind == CODEC_AUTO)
    kind = lua_type(L, -2) == LUA_TSTRING ? CODEC_OBJECT : CODEC_ARRAY;
  if (kind == CODEC_ARRAY)
    encode_array(E, idx, f, depth);
  else
    encode_object(E, idx, f, depth);
}

/* Writes the value on top of the stack, reached through frame f (which
** records the table, if it is one, for the cycle checks below it). */
static void encode_value(Encoder *E, Frame *f, int depth) {
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
        buf_putint(L, E->B, lua_tointeger(L, -1));
      else
        encode_float(E, lua_tonumber(L, -1), f);
      break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, -1)) buf_puts(L, E->B, "true");
      else buf_puts(L, E->B, "false");
      break;
    case LUA_TTABLE:
      encode_table(E, lua_gettop(L), f, depth + 1);
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
      codec_bad_value(L, &json_codec, f);
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
    E.indent = codec_opt_int(L, 2, "indent", 0, 0, 64);
    E.maxdepth = codec_opt_int(L, 2, "max_depth", JSON_MAX_DEPTH, 1,
                               JSON_DEPTH_LIMIT);
    lua_getfield(L, 2, "sort_keys");
    E.sort = lua_toboolean(L, -1);
  }
  lua_settop(L, 2);
  E.arrayidx = codec_push_marks(L, &E.null) + 1;
  E.objectidx = E.arrayidx + 1;
  E.B = buf_take(L);
  bufidx = lua_gettop(L);
  E.L = L;
  codec_stack_init(&E.stack);
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

int hlua_open_json(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"decode", json_decode},
    {"encode", json_encode},
    {"array", json_array},
    {"object", json_object},
    {NULL, NULL}
  };
  codec_open(L);
  luaL_newlibtable(L, funcs);
  lua_pushboolean(L, 0);   /* upvalue 1: the buffer kept between encodes */
  lua_pushboolean(L, 0);   /* upvalue 2: the state kept between decodes */
  luaL_setfuncs(L, funcs, 2);
  lua_getfield(L, LUA_REGISTRYINDEX, JSON_NULL);
  lua_setfield(L, -2, "null");
  return 1;
}

/* }====================================================================== */
