/* err: messages and names for the error table, and the detail setter. */
#include <stdarg.h>
#include <stdio.h>
#include "graph/err.h"

const char *err_str(int code) {
  switch (code) {
#define ERR_CASE(name, val, msg) case (val): return (msg);
    ERR_MAP(ERR_CASE)
#undef ERR_CASE
  case 0: return "ok";
  }
  return "unknown error";
}

const char *err_name(int code) {
  switch (code) {
#define ERR_CASE(name, val, msg) case (val): return #name;
    ERR_MAP(ERR_CASE)
#undef ERR_CASE
  case 0: return "OK";
  }
  return "UNKNOWN";
}

int err_set(struct err_detail *d, int code, const char *path, const char *fmt, ...) {
  if (d) {
    snprintf(d->path, sizeof d->path, "%s", path ? path : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}
