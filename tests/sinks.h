/* sinks: the delivery test sinks, started by tests on free loopback ports.
 *
 * An HTTP sink (tests/tools/http_sink.py) records every request as a JSON line and answers as
 * its control file says; an SMTP sink (python3-aiosmtpd with tests/tools/smtp_sink.py) writes
 * every message it accepts as a JSON line. Both run under Debian's /usr/bin/python3, in the
 * test's process group, so the runner reaps them even when a test fails. */
#ifndef FLOWD_TEST_SINKS_H
#define FLOWD_TEST_SINKS_H
#include <cjson/cJSON.h>
#include <sys/types.h>

struct sink {
  pid_t pid;
  int port;
  char url[64];       /* http://127.0.0.1:PORT (HTTP sink) */
  char log[512];      /* the JSON-lines record */
  char control[512];  /* HTTP sink: the control file */
};

/* Starts an HTTP sink on port (0: a free one) and waits until it answers. control_json (may
 * be NULL) is written to its control file first. */
void sink_http_start(struct sink *s, int port, const char *control_json);
/* Replaces the HTTP sink's control file (read again on every request). */
void sink_control(const struct sink *s, const char *control_json);
/* Starts an SMTP sink on a free port and waits until it accepts connections. */
void sink_smtp_start(struct sink *s);
void sink_stop(struct sink *s);
/* The records so far, as a JSON array (a new reference; never NULL). */
cJSON *sink_records(const struct sink *s);
int sink_count(const struct sink *s);

#endif
