/* config: flowd's settings, from the environment and then from flags (flags win). */
#ifndef FLOWD_CONFIG_H
#define FLOWD_CONFIG_H

struct config {
  char listen_host[128]; /* FLOWD_LISTEN host part, default 127.0.0.1 */
  int listen_port;       /* FLOWD_LISTEN port, default 8080 */
  char db[1024];         /* FLOWD_DB libpq conninfo; empty: run the embedded cluster */
  char data_dir[512];    /* FLOWD_DATA, default ./var */
  int log_level;         /* FLOWD_LOG, default info */
  char admin_token[256]; /* FLOWD_ADMIN_TOKEN; empty: none */
  char web_dir[4200];    /* FLOWD_WEB_DIR: the built editor; default: found next to the binary */
  int db_pool_size;      /* FLOWD_DB_POOL, default 4 */
  int retention_days;    /* FLOWD_RETENTION (a duration of whole days), default 30 */
};

enum config_result { CONFIG_RUN = 0, CONFIG_EXIT_OK = 1, CONFIG_EXIT_ERROR = 2 };

/* Fills cfg from the environment and argv. Prints --help / --version / errors itself and
 * says whether to run or exit. */
enum config_result config_load(struct config *cfg, int argc, char **argv);

/* Splits "host:port" or "[::1]:port" or ":port"; returns 0 or ERR_INVAL. */
int config_parse_listen(const char *s, char *host, int hostlen, int *port);

#endif
