/*
** codec.h: what the two converters share, harness.json (json.c, in the
** host) and harness.yaml (yaml.c, the module hlua_yaml).  codec.c is
** compiled into both, so it is a leaf: it uses nothing of the other files
** but errors.c (harness.Error), which the module holds a copy of too.
**
** The buffer helpers that the encoders' inner loops call are static inline
** here, so that they inline in both; the rest lives in codec.c.
*/
#ifndef HLUA_CODEC_H
#define HLUA_CODEC_H

#include <stddef.h>
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

/* }====================================================================== */


/* {======================================================================
** Text: UTF-8, options, errors in the text
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

#endif
