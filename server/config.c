/* config: environment variables and the matching flags. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "graph/err.h"
#include "graph/timefmt.h"
#include "server/config.h"
#include "server/log.h"

static const char usage[] =
    "Usage: flowd [options]\n"
    "\n"
    "flowd runs sales-automation flows: events in, durable runs, live status over websockets.\n"
    "\n"
    "Options (each also read from the environment variable in brackets; flags win):\n"
    "  --listen HOST:PORT   address to serve HTTP and websockets on [FLOWD_LISTEN]\n"
    "                       default 127.0.0.1:8080\n"
    "  --db CONNINFO        PostgreSQL connection string [FLOWD_DB]; when unset, flowd runs\n"
    "                       its own cluster under DATA/pg\n"
    "  --data DIR           data folder for the embedded cluster [FLOWD_DATA], default ./var\n"
    "  --log LEVEL          debug, info, warn or error [FLOWD_LOG], default info\n"
    "  --admin-token TOKEN  a bearer token with the admin role [FLOWD_ADMIN_TOKEN]\n"
    "  --web-dir DIR        the built editor to serve at / [FLOWD_WEB_DIR]\n"
    "  --db-pool N          database connections [FLOWD_DB_POOL], default 4\n"
    "  --retention DAYS     run history kept, e.g. 30d or 2w [FLOWD_RETENTION], default 30d\n"
    "\n"
    "More settings, from the environment only (README: Configuration):\n"
    "  FLOWD_LEASE_MS, FLOWD_SESSION_TTL, FLOWD_RATE_LIMIT, FLOWD_RATE_LIMIT_EVENTS,\n"
    "  FLOWD_HTTP_IDLE_TIMEOUT, FLOWD_HTTP_BODY_TIMEOUT, FLOWD_SECRET_KEY, FLOWD_HTTP_ALLOW,\n"
    "  FLOWD_OUTBOX_LEASE_MS, FLOWD_PG_BINDIR, FLOWD_WS_HEARTBEAT_MS\n"
    "\n"
    "  --help               show this text\n"
    "  --version            show the version\n";

int config_parse_listen(const char *s, char *host, int hostlen, int *port) {
  const char *colon = strrchr(s, ':');
  if (!colon)
    return ERR_INVAL;
  const char *h = s;
  size_t hl = colon - s;
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl == 0) {
    h = "127.0.0.1";
    hl = strlen(h);
  }
  if ((int)hl >= hostlen)
    return ERR_INVAL;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535 || end == colon + 1)
    return ERR_INVAL;
  memcpy(host, h, hl);
  host[hl] = '\0';
  *port = (int)p;
  return 0;
}

static void copy(char *dst, size_t len, const char *src) {
  if (src)
    snprintf(dst, len, "%s", src);
}

static int set_listen(struct config *cfg, const char *v) {
  if (config_parse_listen(v, cfg->listen_host, sizeof cfg->listen_host, &cfg->listen_port)) {
    fprintf(stderr, "flowd: invalid listen address \"%s\" (expected HOST:PORT)\n", v);
    return -1;
  }
  return 0;
}

static int set_log(struct config *cfg, const char *v) {
  int l = log_parse_level(v);
  if (l < 0) {
    fprintf(stderr, "flowd: invalid log level \"%s\" (debug, info, warn, error)\n", v);
    return -1;
  }
  cfg->log_level = l;
  return 0;
}

static int set_pool(struct config *cfg, const char *v) {
  int n = atoi(v);
  if (n < 1 || n > 64) {
    fprintf(stderr, "flowd: invalid pool size \"%s\" (1 to 64)\n", v);
    return -1;
  }
  cfg->db_pool_size = n;
  return 0;
}

static int set_retention(struct config *cfg, const char *v) {
  int64_t ms;
  if (duration_parse(v, &ms, NULL) != 0 || ms < 86400000LL || ms % 86400000LL) {
    fprintf(stderr, "flowd: invalid retention \"%s\" (whole days, at least 1d: 30d, 2w)\n", v);
    return -1;
  }
  cfg->retention_days = (int)(ms / 86400000LL);
  return 0;
}

static int from_env(struct config *cfg) {
  const char *v;
  if ((v = getenv("FLOWD_LISTEN")) && *v && set_listen(cfg, v))
    return -1;
  copy(cfg->db, sizeof cfg->db, getenv("FLOWD_DB"));
  if ((v = getenv("FLOWD_DATA")) && *v)
    copy(cfg->data_dir, sizeof cfg->data_dir, v);
  if ((v = getenv("FLOWD_LOG")) && *v && set_log(cfg, v))
    return -1;
  copy(cfg->admin_token, sizeof cfg->admin_token, getenv("FLOWD_ADMIN_TOKEN"));
  copy(cfg->web_dir, sizeof cfg->web_dir, getenv("FLOWD_WEB_DIR"));
  if ((v = getenv("FLOWD_DB_POOL")) && *v && set_pool(cfg, v))
    return -1;
  if ((v = getenv("FLOWD_RETENTION")) && *v && set_retention(cfg, v))
    return -1;
  return 0;
}

enum config_result config_load(struct config *cfg, int argc, char **argv) {
  memset(cfg, 0, sizeof *cfg);
  strcpy(cfg->listen_host, "127.0.0.1");
  cfg->listen_port = 8080;
  strcpy(cfg->data_dir, "./var");
  cfg->log_level = LOG_INFO;
  cfg->db_pool_size = 4;
  cfg->retention_days = 30;
  if (from_env(cfg))
    return CONFIG_EXIT_ERROR;

  static const struct option opts[] = {
      {"listen", required_argument, 0, 'l'},  {"db", required_argument, 0, 'd'},
      {"data", required_argument, 0, 'D'},    {"log", required_argument, 0, 'L'},
      {"admin-token", required_argument, 0, 't'}, {"web-dir", required_argument, 0, 'w'},
      {"db-pool", required_argument, 0, 'p'}, {"retention", required_argument, 0, 'R'},
      {"help", no_argument, 0, 'h'},
      {"version", no_argument, 0, 'V'},       {0, 0, 0, 0}};
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'l': bad = set_listen(cfg, optarg); break;
    case 'd': copy(cfg->db, sizeof cfg->db, optarg); break;
    case 'D': copy(cfg->data_dir, sizeof cfg->data_dir, optarg); break;
    case 'L': bad = set_log(cfg, optarg); break;
    case 't': copy(cfg->admin_token, sizeof cfg->admin_token, optarg); break;
    case 'w': copy(cfg->web_dir, sizeof cfg->web_dir, optarg); break;
    case 'p': bad = set_pool(cfg, optarg); break;
    case 'R': bad = set_retention(cfg, optarg); break;
    case 'h': fputs(usage, stdout); return CONFIG_EXIT_OK;
    case 'V': printf("flowd %s\n", FLOWD_VERSION); return CONFIG_EXIT_OK;
    default: fputs(usage, stderr); return CONFIG_EXIT_ERROR;
    }
    if (bad)
      return CONFIG_EXIT_ERROR;
  }
  if (optind < argc) {
    fprintf(stderr, "flowd: unexpected argument \"%s\"\n%s", argv[optind], usage);
    return CONFIG_EXIT_ERROR;
  }
  return CONFIG_RUN;
}
