/* log: logfmt lines on stderr. Each line is written with one write() so lines from several
 * processes sharing a terminal or file do not interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "server/log.h"

static enum log_level min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

int log_parse_level(const char *s) {
  for (int i = 0; i < 4; i++)
    if (s && strcmp(s, names[i]) == 0)
      return i;
  return -1;
}

void log_set_level(enum log_level level) { min_level = level; }
int log_enabled(enum log_level level) { return level >= min_level; }

const char *log_quote(const char *s) {
  static char ring[8][512];
  static int next;
  char *out = ring[next++ & 7];
  if (!s)
    s = "";
  int plain = *s != '\0';
  for (const char *p = s; *p; p++)
    if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
      plain = 0;
  if (plain) {
    snprintf(out, 512, "%s", s);
    return out;
  }
  size_t o = 0;
  out[o++] = '"';
  for (const char *p = s; *p && o < 508; p++) {
    if (*p == '"' || *p == '\\') {
      out[o++] = '\\';
      out[o++] = *p;
    } else if (*p == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if ((unsigned char)*p < 0x20) {
      out[o++] = ' ';
    } else {
      out[o++] = *p;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}

void log_msg(enum log_level level, const char *msg, const char *fmt, ...) {
  if (level < min_level)
    return;
  char line[4096];
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  int n = snprintf(line, sizeof line,
                   "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s pid=%d msg=%s",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                   tm.tm_sec, (int)(tv.tv_usec / 1000), names[level], (int)getpid(),
                   log_quote(msg));
  if (fmt && n < (int)sizeof line - 2) {
    line[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n += m < 0 ? 0 : m;
    if (n > (int)sizeof line - 2)
      n = sizeof line - 2;
  }
  line[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, n);
  (void)w;
}
