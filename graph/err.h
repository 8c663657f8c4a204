/* err: the one table of error codes every module returns, and the detail that goes with them.
 *
 * Functions return int: 0 on success or a negative ERR_* code. The code says what kind of
 * failure it was; the human detail (where, and why) goes into a struct err_detail that the
 * caller owns, never into the code itself. */
#ifndef FLOWD_ERR_H
#define FLOWD_ERR_H

#define ERR_MAP(X)                                   \
  X(NOMEM, -1, "out of memory")                      \
  X(INVAL, -2, "invalid argument")                   \
  X(PARSE, -3, "parse error")                        \
  X(TYPE, -4, "wrong type")                          \
  X(NOTFOUND, -5, "not found")                       \
  X(EXISTS, -6, "already exists")                    \
  X(CONFLICT, -7, "conflict")                        \
  X(TOODEEP, -8, "nested too deeply")                \
  X(TOOBIG, -9, "too large")                         \
  X(RANGE, -10, "out of range")                      \
  X(DB, -11, "database error")                       \
  X(DBDOWN, -12, "database unavailable")             \
  X(IO, -13, "input/output error")                   \
  X(CANCELLED, -14, "cancelled")                     \
  X(TIMEOUT, -15, "timed out")                       \
  X(EVAL, -16, "evaluation error")                   \
  X(UNSUPPORTED, -17, "not supported")               \
  X(BADSTATE, -18, "not allowed in this state")

enum err_code {
#define ERR_ENUM(name, val, msg) ERR_##name = (val),
  ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
};

/* Where and why, for the human. path is a JSON Pointer into the input being processed
 * ("" for the whole input); msg is one sentence. Both are always NUL-terminated. */
struct err_detail {
  char path[256];
  char msg[512];
};

/* Returns the fixed message of a code ("unknown error" for codes outside the table). */
const char *err_str(int code);

/* Returns the short name of a code ("PARSE", ...), for logs and API error codes. */
const char *err_name(int code);

/* Fills d (which may be NULL) and returns code, so callers can write
 * `return err_set(d, ERR_PARSE, "/and/0", "unknown operator \"%s\"", op);`. */
int err_set(struct err_detail *d, int code, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
