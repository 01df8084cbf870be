/*
** codec.h: what the two converters share, harness.json (json.c, in the
** host) and harness.yaml (yaml.c, the module hlua_yaml).  codec.c is
** compiled into both, so it is a leaf: it uses nothing of the other files
** but errors.c (harness.Error), which the module holds a copy of too.
**
** The buffer helpers that the encoders' inner loops call are static inline
** here, so that they inline in both; the rest lives in codec.c, out of
** line, which is what the error paths want: the frames of the recursive
** encoders and decoders stay small.
*/
#ifndef HLUA_CODEC_H
#define HLUA_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lua.h>

/* Registry keys of harness.json's values, which harness.yaml uses too:
** YAML's null is JSON's, its sequences carry JSON's array mark. */
#define JSON_NULL      "harness.json.null"    /* the null sentinel */
#define JSON_ARRAY_MT  "harness.json.array"   /* array mark */
#define JSON_OBJECT_MT "harness.json.object"  /* object mark */
#define CODEC_BUFFER_MT "harness.codec.buffer" /* metatable of Buf userdata */

#define codec_is_digit(c) ((unsigned)((c) - '0') < 10)

/* Creates what both converters keep in the registry, once per state (each
** calls it, whichever loads first makes them): the array and object
** marks, the buffer metatable and the null sentinel (a userdata printing
** as "null").  Leaves the stack as it was. */
void codec_open(lua_State *L);


/* {======================================================================
** Growable byte buffer, owned by a userdata so that an error cannot leak it
** ======================================================================= */

typedef struct Buf {
  char *b;
  size_t n, size;
} Buf;

/* Frees the bytes; safe to call twice (the __gc runs after an early free). */
void buf_free(Buf *B);

/* Pushes a new empty buffer; it is freed by __gc (or earlier by buf_free). */
Buf *buf_new(lua_State *L);

/* Makes room for 'need' more bytes; raises a memory error on failure.
** Leaves the stack as it was. */
void buf_grow(lua_State *L, Buf *B, size_t need);

/* Makes sure 'need' more bytes fit. */
static inline void buf_reserve(lua_State *L, Buf *B, size_t need) {
  if (B->size - B->n < need)
    buf_grow(L, B, need);
}

/* Appends one byte. */
static inline void buf_putc(lua_State *L, Buf *B, char c) {
  buf_reserve(L, B, 1);
  B->b[B->n++] = c;
}

/* Appends the n bytes at s. */
static inline void buf_putn(lua_State *L, Buf *B, const char *s, size_t n) {
  if (n == 0) return;   /* B->b may still be NULL: memcpy(NULL, .., 0) is UB */
  buf_reserve(L, B, n);
  memcpy(B->b + B->n, s, n);
  B->n += n;
}

/* Appends a string literal. */
#define buf_puts(L, B, lit) buf_putn((L), (B), (lit), sizeof(lit) - 1)

/* Appends a line break and n spaces: the start of an indented line. */
static inline void buf_newline(lua_State *L, Buf *B, size_t n) {
  buf_reserve(L, B, n + 1);
  B->b[B->n++] = '\n';
  memset(B->b + B->n, ' ', n);
  B->n += n;
}

/* Writes the decimal digits of u ending at 'e'; returns where they start. */
static inline char *codec_put_digits(char *e, uint64_t u) {
  do { *--e = (char)('0' + u % 10); u /= 10; } while (u);
  return e;
}

/* Appends integer i in decimal. */
static inline void buf_putint(lua_State *L, Buf *B, lua_Integer i) {
  char tmp[24], *e = tmp + sizeof tmp, *p;
  uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
  p = codec_put_digits(e, u);
  if (i < 0) *--p = '-';
  buf_putn(L, B, p, (size_t)(e - p));
}

/* }====================================================================== */


/* {======================================================================
** Text: UTF-8, floats, options, errors in the text
** ======================================================================= */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
** no surrogates, nothing above U+10FFFF), or 0.  p must point into a
** NUL-terminated string: a NUL is never a continuation byte, so the checks
** stop at the terminator. */
static inline size_t codec_utf8_len(const unsigned char *p) {
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

/* 10^0 .. 10^22: the powers of ten that doubles hold exactly. */
extern const double codec_pow10[23];

/* Appends finite d in the fewest significant digits that read back as d,
** with a '.' or an exponent (where printf's %.17g would place them, never
** the locale's decimal point); returns how many bytes it appended. */
size_t buf_putfloat(lua_State *L, Buf *B, double d);

/* Reads the optional integer field 'field' of the options table at idx,
** from lo to hi, def when absent; raises a "bad argument" error for idx
** otherwise.  Leaves the stack as it was. */
int codec_opt_int(lua_State *L, int idx, const char *field, int def,
                  int lo, int hi);

/* Raises harness.Error{kind = kind} for byte 'at' of the text s (len
** bytes): "<kind>: <what> at line L column C near '<excerpt>'", with
** fields line, column (in characters) and offset (in bytes, 1-based).
** The caller drops what it built first: the stack may be full. */
int codec_text_error(lua_State *L, const char *kind, const char *s,
                     size_t len, size_t at, const char *what);

/* }====================================================================== */


/* {======================================================================
** Nesting: the C stack guard of the decoders and encoders
** ======================================================================= */

/* The C stack guard.  Nesting recurses on the C stack, up to 10,000
** levels (max_depth), which a small stack (ulimit -s 1024, a thread) cannot
** hold.  Each level past CODEC_STACK_FROM measures how far the stack has
** grown since the decode or encode began (the distance between two frame
** addresses) against a budget of a quarter of the stack limit, and the
** caller raises an error instead of crashing.  The limit is read once
** per call, and only for documents that nest that deep. */
typedef struct StackGuard {
  uintptr_t base;     /* where the decode or encode call began */
  size_t budget;      /* bytes its nesting may use; 0 until measured */
} StackGuard;

#define CODEC_STACK_FROM 32      /* nesting from which the C stack is watched */

/* Starts the guard at the caller's frame. */
void codec_stack_init(StackGuard *G);

/* Does the caller's frame stay within the budget? */
int codec_stack_ok(StackGuard *G);

/* }====================================================================== */


/* {======================================================================
** Encoding: paths, checks and errors
** ======================================================================= */

/* How a converter names things in its encode errors: the error kind (and
** the messages' prefix), and what a list is called. */
typedef struct Codec {
  const char *kind;       /* "json", "yaml" */
  const char *list;       /* "array", "sequence" */
} Codec;

/* How the encoder reached a value, for error paths ($.items[3].x) and cycle
** detection; frames live on the C stack of the recursive calls. */
typedef struct Frame {
  const struct Frame *parent;   /* NULL at the root */
  const char *key;        /* key in an object (mapping), or NULL for an index */
  size_t keylen;
  lua_Integer index;      /* list index (1-based, as in Lua) */
  const void *table;      /* the table encoded at this frame, if any */
} Frame;

/* Raises harness.Error{kind, path}: "<kind>: <what> at <path>", the path
** of frame f ($.items[3].x).  The stack stays: it anchors the keys the
** frames point to. */
int codec_path_error(lua_State *L, const Codec *C, const Frame *f,
                     const char *what);

/* Raises the error for the value on top, of a type that cannot be
** encoded. */
int codec_bad_value(lua_State *L, const Codec *C, const Frame *f);

enum { CODEC_AUTO, CODEC_ARRAY, CODEC_OBJECT };

/* Raises the error for the key at -2 (its value at -1) that cannot be in
** a table of 'kind' (CODEC_ARRAY or CODEC_OBJECT). */
int codec_bad_key(lua_State *L, const Codec *C, const Frame *f, int kind);

/* Raises the error for a table nested 'depth' deep that 'what' cannot
** hold. */
int codec_depth_error(lua_State *L, const Codec *C, const Frame *f,
                      int depth, const char *what);

/* Checks that the table at idx can be encoded at nesting 'depth' through
** frame f, and records it in f for the cycle checks below: not a table it
** is in, within maxdepth, room on the Lua stack and, unless G is NULL, on
** the C stack.  Raises the error at f otherwise.  Leaves the stack as it
** was.  Inline, as is codec_table_kind: both run for every table an
** encoder meets. */
static inline void codec_check_table(lua_State *L, const Codec *C, Frame *f,
                                     int idx, int depth, int maxdepth,
                                     StackGuard *G) {
  const Frame *g;
  f->table = lua_topointer(L, idx);
  for (g = f->parent; g != NULL; g = g->parent)
    if (g->table == f->table)
      codec_path_error(L, C, f, "cannot encode a table that contains itself");
  if (depth > maxdepth)
    codec_depth_error(L, C, f, depth, "");
  if (!lua_checkstack(L, 16))
    codec_depth_error(L, C, f, depth, ": the Lua stack is full");
  if (G != NULL && depth >= CODEC_STACK_FROM && !codec_stack_ok(G))
    codec_depth_error(L, C, f, depth, ": the C stack is too small for more");
}

/* The kind the metatable on top asks for with __jsontype = "array" or
** "object", else CODEC_AUTO.  Leaves the stack as it was. */
int codec_jsontype(lua_State *L);

/* The kind asked for by the metatable of the table at idx: the marks at
** arrayidx and objectidx, or __jsontype; else CODEC_AUTO.  Leaves the
** stack as it was. */
static inline int codec_table_kind(lua_State *L, int idx, int arrayidx,
                                   int objectidx) {
  int kind;
  if (!lua_getmetatable(L, idx))
    return CODEC_AUTO;
  if (lua_rawequal(L, -1, arrayidx)) kind = CODEC_ARRAY;
  else if (lua_rawequal(L, -1, objectidx)) kind = CODEC_OBJECT;
  else kind = codec_jsontype(L);
  lua_pop(L, 1);
  return kind;
}

/* Counts the items of the list at idx: the n keys 1..n seen so far, then
** the key and value lua_next pushed last and the keys after it (it pops
** them all).  The keys must be exactly 1..total, in any order: returns
** total, or raises the error at f. */
lua_Integer codec_list_length(lua_State *L, const Codec *C, const Frame *f,
                              int idx, lua_Integer n);

/* Counts the keys of the object at idx, which must all be strings (else
** the error at f).  Allocates nothing.  Leaves the stack as it was. */
lua_Integer codec_count_keys(lua_State *L, const Codec *C, const Frame *f,
                             int idx);

/* A key to sort: its bytes, and where the caller keeps the string alive
** (json.c: the index in a table of the keys). */
typedef struct Key { const char *s; size_t n; lua_Integer i; } Key;

/* Sorts the n keys at k in byte order, a shorter key first on a tie. */
void codec_sort_keys(Key *k, size_t n);

/* Pushes the null sentinel, the array mark and the object mark; returns
** the stack slot of the first (the marks follow it) and sets *null. */
int codec_push_marks(lua_State *L, const void **null);

/* }====================================================================== */


/* {======================================================================
** Decoding
** ======================================================================= */

/* Moves the 'pending' values above the table slot 'base' into the table
** (creating it, exactly sized, on the first call), after the *n it holds;
** leaves the top at base. */
void codec_flush_list(lua_State *L, int base, lua_Integer *n, int pending);

/* }====================================================================== */

#endif
