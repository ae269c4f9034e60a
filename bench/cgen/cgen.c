/*
 * ferry-cgen: the C load generator of the e2e benchmark (bench/README.md, "The C generator").
 *
 * The Node workers of bench/e2e saturate before a broker does in connect storms and add their own
 * event-loop jitter to latency. This program is one epoll loop over raw non-blocking sockets with a
 * minimal MQTT 3.1.1 encoder (CONNECT, SUBSCRIBE, PUBLISH, PUBACK, PINGREQ, DISCONNECT) and
 * OpenSSL for TLS. Not libmosquitto: it opens a socket pair next to every client's socket
 * (mosquitto__connect_init), three descriptors a client, so 19,900 clients do not fit under a
 * 20,000 open-files limit in one process (bench/README.md).
 *
 * Modes, each bounded in count and time; every result is one JSON line on stdout (with --events,
 * lines {"event":...} mark the measurement window so a driver can sample the broker's CPU):
 *   connect       --count N clients, --concurrency C connects in flight: socket → CONNECT → CONNACK;
 *                 connects/s from the first socket() to the last CONNACK, failures by reason. Then
 *                 hold them (PINGREQ every keep-alive) for --hold S or, with --hold-stdin, until a
 *                 line on stdin ("storm" or "end"); --storm / "storm": every connection drops at
 *                 once (no DISCONNECT) and all reconnect with clean session 0.
 *   connect_rate  C parallel loops of connect → CONNACK → DISCONNECT → close for --seconds S.
 *   latency       one publisher at a steady --rate R msg/s (open loop, CLOCK_MONOTONIC send time
 *                 and a sequence number in the payload), one subscriber, --qos 0|1: percentiles
 *                 from every sample sent inside the window, lost and duplicate counts.
 * The generator's own CPU (getrusage, all threads) inside each phase is part of every result.
 *
 * Build: cc -O2 -std=c11 -Wall -Wextra -o ferry-cgen cgen.c -lssl -lcrypto -lpthread
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NS 1000000000ull

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ferry-cgen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

/* ------------------------------------------------------------------------------------------ */
/* options */

static struct {
  const char *mode;
  struct sockaddr_in addr;
  int tls;
  const char *cafile;
  unsigned count, concurrency, keepalive, size, qos, sources;
  double hold, seconds, warmup, timeout, rate;
  int hold_stdin, storm, clean, events;
  const char *topic, *prefix, *dump;
} o;

static double num_arg(const char *flag, const char *v, double lo, double hi) {
  char *end;
  double d = v ? strtod(v, &end) : NAN;
  if (!v || *end || !(d >= lo && d <= hi)) die("%s needs a number in [%g, %g], got '%s'", flag, lo, hi, v ? v : "");
  return d;
}

static void usage(void) {
  fputs("usage: ferry-cgen connect|connect_rate|latency [--host 127.0.0.1] [--port 1883]\n"
        "  connect:      --count N --concurrency C [--keepalive S] [--timeout S] [--hold S] [--hold-stdin]\n"
        "                [--storm] [--clean 0|1] [--tls --cafile F] [--prefix P] [--sources N]\n"
        "  connect_rate: --concurrency C --seconds S [--warmup S] [--timeout S] [--tls --cafile F]\n"
        "  latency:      --rate R --seconds S [--warmup S] [--qos 0|1] [--size BYTES] [--topic T] [--dump FILE]\n"
        "  --events      print {\"event\":\"window_start\"|\"window_end\"} lines at the window's edges\n",
        stderr);
  exit(2);
}

static void parse_args(int argc, char **argv) {
  if (argc < 2) usage();
  o.mode = argv[1];
  if (strcmp(o.mode, "connect") && strcmp(o.mode, "connect_rate") && strcmp(o.mode, "latency")) usage();
  int is_connect = !strcmp(o.mode, "connect");
  const char *host = "127.0.0.1";
  unsigned port = 1883;
  o.count = 1000;
  o.concurrency = is_connect ? 500 : 64;
  o.keepalive = 60;
  o.size = 64;
  o.seconds = 5;
  o.warmup = 1;
  o.timeout = 30;
  o.rate = 10000;
  o.clean = -1;
  o.topic = "cgen/latency";
  static char prefix[48];
  snprintf(prefix, sizeof prefix, "cgen%d", (int)getpid());
  o.prefix = prefix;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define FLAG(name) (!strcmp(a, name))
#define TAKE(expr) \
  do {             \
    expr;          \
    i++;           \
  } while (0)
    if (FLAG("--host")) TAKE(host = v);
    else if (FLAG("--port")) TAKE(port = (unsigned)num_arg(a, v, 1, 65535));
    else if (FLAG("--count")) TAKE(o.count = (unsigned)num_arg(a, v, 1, 1000000));
    else if (FLAG("--concurrency")) TAKE(o.concurrency = (unsigned)num_arg(a, v, 1, 100000));
    else if (FLAG("--keepalive")) TAKE(o.keepalive = (unsigned)num_arg(a, v, 5, 65535));
    else if (FLAG("--timeout")) TAKE(o.timeout = num_arg(a, v, 0.1, 3600));
    else if (FLAG("--hold")) TAKE(o.hold = num_arg(a, v, 0, 86400));
    else if (FLAG("--seconds")) TAKE(o.seconds = num_arg(a, v, 0.1, 3600));
    else if (FLAG("--warmup")) TAKE(o.warmup = num_arg(a, v, 0, 600));
    else if (FLAG("--rate")) TAKE(o.rate = num_arg(a, v, 1, 1000000));
    else if (FLAG("--qos")) TAKE(o.qos = (unsigned)num_arg(a, v, 0, 1));
    else if (FLAG("--size")) TAKE(o.size = (unsigned)num_arg(a, v, 16, 65536));
    else if (FLAG("--clean")) TAKE(o.clean = (int)num_arg(a, v, 0, 1));
    else if (FLAG("--sources")) TAKE(o.sources = (unsigned)num_arg(a, v, 1, 254));
    else if (FLAG("--topic")) TAKE(o.topic = v);
    else if (FLAG("--prefix")) TAKE(o.prefix = v);
    else if (FLAG("--dump")) TAKE(o.dump = v);
    else if (FLAG("--cafile")) TAKE(o.cafile = v);
    else if (FLAG("--tls")) o.tls = 1;
    else if (FLAG("--hold-stdin")) o.hold_stdin = 1;
    else if (FLAG("--storm")) o.storm = 1;
    else if (FLAG("--events")) o.events = 1;
    else if (FLAG("--help") || FLAG("-h")) usage();
    else die("unknown option %s (try --help)", a);
  }
  if (!o.topic || !o.prefix || !host) die("an option is missing its value");
  if (strlen(o.prefix) > 64) die("--prefix is longer than 64 characters");
  if (strlen(o.topic) > 1024) die("--topic is longer than 1024 characters");
  /* A reconnect storm resumes persistent sessions: clean session 0 unless said otherwise (a storm
   * asked for on stdin reconnects with clean session 0 too; give --clean 0 to resume sessions). */
  if (o.clean < 0) o.clean = o.storm ? 0 : 1;
  if (o.tls && !o.cafile) die("--tls needs --cafile (the broker's CA certificate, PEM)");
  if (o.tls && !strcmp(o.mode, "latency")) die("latency has no --tls");
  memset(&o.addr, 0, sizeof o.addr);
  o.addr.sin_family = AF_INET;
  o.addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &o.addr.sin_addr) != 1) die("--host must be an IPv4 address, got '%s'", host);
  /* Source addresses for connect / connect_rate: 127.0.0.1..8 towards a loopback broker, else the kernel's choice. */
  int loopback = (ntohl(o.addr.sin_addr.s_addr) >> 24) == 127;
  if (!o.sources) o.sources = loopback ? 8 : 1;
  if (o.sources > 1 && !loopback) die("--sources needs a loopback --host (127.x.x.x)");
}

/* ------------------------------------------------------------------------------------------ */
/* small helpers: CPU, percentiles, failure reasons, JSON */

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array, in µs. */
static double pct_us(const uint64_t *s, size_t n, double p) {
  if (n == 0) return 0;
  size_t k = (size_t)ceil(p * (double)n);
  if (k < 1) k = 1;
  return (double)s[k - 1] / 1e3;
}

static void print_dist(const char *name, uint64_t *s, size_t n) {
  qsort(s, n, sizeof *s, cmp_u64);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += (double)s[i];
  printf(",\"%s\":{\"n\":%zu,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}", name, n, pct_us(s, n, 0.5),
         pct_us(s, n, 0.9), pct_us(s, n, 0.99), pct_us(s, n, 0.999), n ? (double)s[n - 1] / 1e3 : 0, n ? sum / (double)n / 1e3 : 0);
}

#define MAX_REASONS 32
typedef struct {
  char name[MAX_REASONS][72];
  uint64_t n[MAX_REASONS];
  int len;
} reasons_t;

static void reason_add(reasons_t *r, const char *name) {
  for (int i = 0; i < r->len; i++)
    if (!strcmp(r->name[i], name)) {
      r->n[i]++;
      return;
    }
  int i = r->len < MAX_REASONS ? r->len++ : MAX_REASONS - 1; /* the last slot collects the rest */
  if (i == MAX_REASONS - 1 && r->n[i]) name = "other";
  snprintf(r->name[i], sizeof r->name[i], "%s", name);
  r->n[i]++;
}

static void print_reasons(const char *key, const reasons_t *r) {
  printf(",\"%s\":{", key);
  for (int i = 0; i < r->len; i++) {
    printf("%s\"", i ? "," : "");
    for (const char *p = r->name[i]; *p; p++) {
      if (*p == '"' || *p == '\\') putchar('\\');
      putchar((unsigned char)*p < 0x20 ? ' ' : *p);
    }
    printf("\":%llu", (unsigned long long)r->n[i]);
  }
  putchar('}');
}

static void event(const char *name) {
  if (!o.events) return;
  printf("{\"event\":\"%s\",\"t_ns\":%llu}\n", name, (unsigned long long)now_ns());
  fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */
/* MQTT 3.1.1 packets (only what this generator sends) */

static size_t put_varint(uint8_t *b, size_t v) {
  size_t i = 0;
  do {
    uint8_t d = v % 128;
    v /= 128;
    b[i++] = d | (v ? 0x80 : 0);
  } while (v);
  return i;
}

static size_t mqtt_connect(uint8_t *b, const char *id, unsigned keepalive, int clean) {
  size_t idlen = strlen(id);
  size_t rem = 10 + 2 + idlen;
  size_t i = 0;
  b[i++] = 0x10;
  i += put_varint(b + i, rem);
  memcpy(b + i, "\0\4MQTT\4", 7);
  i += 7;
  b[i++] = clean ? 0x02 : 0x00;
  b[i++] = (uint8_t)(keepalive >> 8);
  b[i++] = (uint8_t)keepalive;
  b[i++] = (uint8_t)(idlen >> 8);
  b[i++] = (uint8_t)idlen;
  memcpy(b + i, id, idlen);
  return i + idlen;
}

/* Fixed header: 1 on a complete one (*hdr = its length, *rem = remaining length), 0 if more bytes are
 * needed, -1 if malformed. */
static int mqtt_header(const uint8_t *b, size_t n, size_t *hdr, size_t *rem) {
  size_t v = 0, mul = 1;
  for (size_t i = 1; i < n && i <= 4; i++) {
    v += (size_t)(b[i] & 127) * mul;
    mul *= 128;
    if (!(b[i] & 128)) {
      *hdr = i + 1;
      *rem = v;
      return 1;
    }
  }
  return n > 4 ? -1 : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* connect and connect_rate: many non-blocking clients in one epoll loop */

enum { ST_FREE, ST_TCP, ST_TLS, ST_CONNACK, ST_UP };

typedef struct {
  int fd;
  uint8_t st, inlen, outlen, outoff;
  uint8_t got_connack, ack_rc, ack_sp;
  uint32_t ev, gen, skip, seq;
  uint64_t t0, t_tx;
  SSL *ssl;
  uint8_t in[8];
  uint8_t out[112];
} client_t;

typedef struct {
  int ep;
  client_t *c;
  unsigned n, next, inflight, conc;
  int clean, rate_mode, running;
  uint64_t t_first, t_last;
  unsigned connected, failed, sp, dropped, pings;
  reasons_t why, why_idle;
  uint64_t *lat;
  size_t nlat, caplat;
  uint64_t win_start, win_end, win_cycles, win_failed;
} eng_t;

static SSL_CTX *ssl_ctx;

static void tls_init(void) {
  ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (!ssl_ctx) die("SSL_CTX_new failed");
  if (SSL_CTX_load_verify_locations(ssl_ctx, o.cafile, NULL) != 1) die("cannot load CA file %s", o.cafile);
  SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
  /* A full handshake per connect, as a fleet of devices that each connect once; idle connections
   * give back their record buffers; a close without close_notify is an EOF, not an error. */
  SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
}

static const char *tls_error(void) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  return r ? r : "TLS error";
}

/* Plain or TLS I/O: bytes moved, 0 on EOF (reads), -EAGAIN when it would block, else -errno. */
static ssize_t io_write(client_t *c, const void *b, size_t n) {
  if (!c->ssl) {
    ssize_t r = send(c->fd, b, n, MSG_NOSIGNAL);
    return r >= 0 ? r : (errno == EAGAIN || errno == EWOULDBLOCK) ? -EAGAIN : -errno;
  }
  ERR_clear_error();
  int r = SSL_write(c->ssl, b, (int)n);
  if (r > 0) return r;
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return -EAGAIN;
  return e == SSL_ERROR_SYSCALL && errno ? -errno : -EPROTO;
}

static ssize_t io_read(client_t *c, void *b, size_t n) {
  if (!c->ssl) {
    ssize_t r = recv(c->fd, b, n, 0);
    return r >= 0 ? r : (errno == EAGAIN || errno == EWOULDBLOCK) ? -EAGAIN : -errno;
  }
  ERR_clear_error();
  int r = SSL_read(c->ssl, b, (int)n);
  if (r > 0) return r;
  int e = SSL_get_error(c->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -EAGAIN;
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  return e == SSL_ERROR_SYSCALL && errno ? -errno : -EPROTO;
}

static void set_ev(eng_t *e, client_t *c, uint32_t ev) {
  if (c->ev == ev) return;
  struct epoll_event x = {.events = ev, .data.u64 = (uint64_t)(c - e->c) | ((uint64_t)c->gen << 32)};
  if (epoll_ctl(e->ep, c->ev ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &x) < 0) die("epoll_ctl: %s", strerror(errno));
  c->ev = ev;
}

static void client_close(client_t *c) {
  if (c->ssl) SSL_free(c->ssl);
  if (c->fd >= 0) close(c->fd); /* also leaves the epoll set */
  c->ssl = NULL;
  c->fd = -1;
  c->st = ST_FREE;
  c->ev = 0;
  c->gen++; /* events already fetched for the old socket are ignored */
  c->inlen = c->outlen = c->outoff = 0;
  c->skip = 0;
  c->got_connack = 0;
}

static void fail(eng_t *e, client_t *c, const char *why) {
  if (c->st == ST_UP) {
    e->dropped++;
    reason_add(&e->why_idle, why);
  } else {
    e->inflight--;
    e->failed++;
    reason_add(&e->why, why);
    uint64_t t = now_ns();
    if (e->rate_mode && t >= e->win_start && t < e->win_end) e->win_failed++;
  }
  client_close(c);
}

static void fail_errno(eng_t *e, client_t *c, const char *what, int err) {
  char why[72];
  snprintf(why, sizeof why, "%s: %s", what, err == EPROTO && c->ssl ? tls_error() : strerror(err));
  fail(e, c, why);
}

static void launch(eng_t *e, client_t *c) {
  uint64_t t = now_ns();
  if (!e->t_first) e->t_first = t;
  c->t0 = t;
  c->st = ST_TCP;
  e->inflight++;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return fail_errno(e, c, "socket", errno);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (o.sources > 1) {
    /* Many clients to one address:port from one source address make the kernel's ephemeral-port
     * search long (every port in use is a 4-tuple clash, tried in turn): past ~14,000 it cost this
     * process ~250 µs per connect. Loopback clients spread over 127.0.0.1..N, the port picked at
     * connect() (IP_BIND_ADDRESS_NO_PORT), so ports are shared across source addresses. */
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7F000001u + (uint32_t)((c - e->c) % o.sources))};
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) return fail_errno(e, c, "bind", errno);
  }
  if (connect(c->fd, (struct sockaddr *)&o.addr, sizeof o.addr) < 0 && errno != EINPROGRESS) return fail_errno(e, c, "connect", errno);
  set_ev(e, c, EPOLLOUT);
}

/* Write what is queued in c->out; 1 when all is out, 0 when waiting for the socket, -1 failed. */
static int flush(eng_t *e, client_t *c) {
  while (c->outoff < c->outlen) {
    ssize_t r = io_write(c, c->out + c->outoff, c->outlen - c->outoff);
    if (r == -EAGAIN) {
      set_ev(e, c, EPOLLIN | EPOLLOUT);
      return 0;
    }
    if (r < 0) {
      fail_errno(e, c, c->st == ST_UP ? "write while idle" : "write CONNECT", (int)-r);
      return -1;
    }
    c->outoff += (uint8_t)r;
  }
  c->outoff = c->outlen = 0;
  set_ev(e, c, EPOLLIN);
  return 1;
}

static void send_connect(eng_t *e, client_t *c) {
  char id[96];
  unsigned idx = (unsigned)(c - e->c);
  if (e->rate_mode) snprintf(id, sizeof id, "%s-%u-%u", o.prefix, idx, c->seq++);
  else snprintf(id, sizeof id, "%s-%u", o.prefix, idx);
  c->outlen = (uint8_t)mqtt_connect(c->out, id, o.keepalive, e->clean);
  c->outoff = 0;
  c->st = ST_CONNACK;
  flush(e, c);
}

static void handshake(eng_t *e, client_t *c) {
  ERR_clear_error();
  int r = SSL_connect(c->ssl);
  if (r == 1) return send_connect(e, c);
  int err = SSL_get_error(c->ssl, r);
  if (err == SSL_ERROR_WANT_READ) return set_ev(e, c, EPOLLIN);
  if (err == SSL_ERROR_WANT_WRITE) return set_ev(e, c, EPOLLOUT);
  char why[72];
  snprintf(why, sizeof why, "TLS handshake: %s", err == SSL_ERROR_SYSCALL && errno ? strerror(errno) : tls_error());
  fail(e, c, why);
}

/* Feed bytes to the client's packet reader: CONNACK and PINGRESP are read, anything else skipped. */
static int feed(client_t *c, const uint8_t *p, size_t n) {
  while (n) {
    if (c->skip) {
      size_t k = c->skip < n ? c->skip : n;
      c->skip -= (uint32_t)k;
      p += k;
      n -= k;
      continue;
    }
    c->in[c->inlen++] = *p++;
    n--;
    size_t hdr, rem;
    int h = mqtt_header(c->in, c->inlen, &hdr, &rem);
    if (h < 0) return -1;
    if (h == 0) continue;
    if ((c->in[0] & 0xF0) == 0x20 && rem == 2) { /* CONNACK */
      if (c->inlen < hdr + 2) continue;
      c->got_connack = 1;
      c->ack_sp = c->in[hdr] & 1;
      c->ack_rc = c->in[hdr + 1];
    } else {
      c->skip = (uint32_t)rem; /* PINGRESP (rem 0) or anything unexpected */
    }
    c->inlen = 0;
  }
  return 0;
}

static void on_connack(eng_t *e, client_t *c) {
  uint64_t t = now_ns();
  if (c->ack_rc) {
    char why[48];
    snprintf(why, sizeof why, "CONNACK return code %u", c->ack_rc);
    return fail(e, c, why);
  }
  e->inflight--;
  e->connected++;
  e->t_last = t;
  if (e->rate_mode) {
    if (t >= e->win_start && t < e->win_end) {
      e->win_cycles++;
      if (e->nlat == e->caplat) {
        e->caplat = e->caplat ? e->caplat * 2 : 65536;
        e->lat = realloc(e->lat, e->caplat * sizeof *e->lat);
        if (!e->lat) die("out of memory");
      }
      e->lat[e->nlat++] = t - c->t0;
    }
    static const uint8_t disconnect[2] = {0xE0, 0x00};
    io_write(c, disconnect, 2);
    if (c->ssl) SSL_shutdown(c->ssl); /* sends close_notify, does not wait for the broker's */
    client_close(c);
    if (e->running) launch(e, c);
    return;
  }
  c->st = ST_UP;
  c->t_tx = t;
  e->sp += c->ack_sp;
  e->lat[e->nlat++] = t - c->t0;
}

static void handle_in(eng_t *e, client_t *c) {
  uint8_t buf[512];
  for (;;) {
    ssize_t r = io_read(c, buf, sizeof buf);
    if (r == -EAGAIN) return;
    if (r == 0) return fail(e, c, c->st == ST_UP ? "closed by the broker" : "closed before CONNACK");
    if (r < 0) return fail_errno(e, c, c->st == ST_UP ? "read while idle" : "read before CONNACK", (int)-r);
    if (feed(c, buf, (size_t)r) < 0) return fail(e, c, "malformed packet from the broker");
    if (c->got_connack) {
      c->got_connack = 0;
      if (c->st != ST_CONNACK) return fail(e, c, "unexpected CONNACK");
      on_connack(e, c);
      if (c->st != ST_UP) return;
    }
    if (!c->ssl && (size_t)r < sizeof buf) return; /* level-triggered: the rest wakes us again */
  }
}

static void dispatch(eng_t *e, uint64_t data, uint32_t events) {
  client_t *c = &e->c[(uint32_t)data];
  if (c->st == ST_FREE || c->gen != (uint32_t)(data >> 32)) return;
  switch (c->st) {
  case ST_TCP: {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return fail_errno(e, c, "connect", err);
    if (!(events & EPOLLOUT)) return;
    if (!ssl_ctx) return send_connect(e, c);
    c->ssl = SSL_new(ssl_ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) die("SSL_new failed");
    c->st = ST_TLS;
    return handshake(e, c);
  }
  case ST_TLS:
    return handshake(e, c);
  default:
    if ((events & EPOLLOUT) && c->outlen && flush(e, c) < 0) return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) handle_in(e, c);
  }
}

/* Fail connects older than --timeout; keep idle clients alive with PINGREQ. */
static void sweep(eng_t *e, uint64_t t, int pings) {
  uint64_t timeout = (uint64_t)(o.timeout * 1e9), ka = (uint64_t)o.keepalive * NS;
  unsigned n = e->rate_mode ? e->conc : e->n;
  for (unsigned i = 0; i < n; i++) {
    client_t *c = &e->c[i];
    if (c->st == ST_FREE) continue;
    if (c->st != ST_UP) {
      if (t - c->t0 > timeout) {
        char why[48];
        snprintf(why, sizeof why, "no CONNACK within %g s", o.timeout);
        fail(e, c, why);
        if (e->rate_mode && e->running) launch(e, c);
      }
    } else if (pings && t - c->t_tx >= ka && c->outlen == 0) {
      c->out[0] = 0xC0;
      c->out[1] = 0x00;
      c->outlen = 2;
      c->t_tx = t;
      e->pings++;
      flush(e, c);
    }
  }
}

/* The last command read from stdin ('s' storm, 'e' end or EOF), kept until the hold loop takes it. */
static int stdin_cmd;

static void wait_events(eng_t *e, int timeout_ms) {
  struct epoll_event evs[512];
  int k = epoll_wait(e->ep, evs, 512, timeout_ms);
  if (k < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
  for (int i = 0; i < k; i++) {
    if (evs[i].data.u64 == UINT64_MAX) {
      char line[64];
      ssize_t r = read(0, line, sizeof line - 1);
      if (r > 0) line[r] = 0;
      stdin_cmd = r > 0 && strncmp(line, "storm", 5) == 0 ? 's' : 'e';
      if (r <= 0) epoll_ctl(e->ep, EPOLL_CTL_DEL, 0, NULL); /* EOF stays readable: stop watching */
      continue;
    }
    dispatch(e, evs[i].data.u64, evs[i].events);
  }
}

static void eng_init(eng_t *e, unsigned n) {
  memset(e, 0, sizeof *e);
  e->ep = epoll_create1(EPOLL_CLOEXEC);
  if (e->ep < 0) die("epoll_create1: %s", strerror(errno));
  e->n = n;
  e->c = calloc(n, sizeof *e->c);
  if (!e->c) die("out of memory");
  for (unsigned i = 0; i < n; i++) e->c[i].fd = -1;
}

/* One connect storm: every client from socket() to CONNACK, at most --concurrency at a time. */
static void connect_phase(eng_t *e, const char *phase, uint64_t t_begin) {
  double cpu0 = cpu_s();
  e->next = e->inflight = e->connected = e->failed = e->sp = 0;
  e->t_first = 0;
  e->t_last = 0;
  e->nlat = 0;
  memset(&e->why, 0, sizeof e->why);
  uint64_t next_sweep = now_ns() + NS / 10;
  while (e->inflight || e->next < e->n) {
    while (e->inflight < e->conc && e->next < e->n) launch(e, &e->c[e->next++]);
    wait_events(e, e->inflight ? 50 : 0);
    uint64_t t = now_ns();
    if (t >= next_sweep) {
      sweep(e, t, 1);
      next_sweep = t + NS / 10;
    }
  }
  double cpu = cpu_s() - cpu0;
  if (!t_begin) t_begin = e->t_first;
  double secs = e->t_last > t_begin ? (double)(e->t_last - t_begin) / 1e9 : 0;
  printf("{\"mode\":\"connect\",\"phase\":\"%s\",\"tls\":%s,\"clients\":%u,\"concurrency\":%u,\"clean_session\":%d,\"connected\":%u,"
         "\"failed\":%u",
         phase, o.tls ? "true" : "false", e->n, e->conc, e->clean, e->connected, e->failed);
  print_reasons("reasons", &e->why);
  printf(",\"session_present\":%u,\"seconds\":%.6f,\"rate\":%.1f", e->sp, secs, secs > 0 ? e->connected / secs : 0);
  print_dist("connect_us", e->lat, e->nlat);
  printf(",\"cpu_s\":%.3f,\"cpu_pct\":%.1f}\n", cpu, secs >= 0.001 ? cpu / secs * 100 : 0);
  fflush(stdout);
}

static void mode_connect(void) {
  eng_t e;
  eng_init(&e, o.count);
  e.conc = o.concurrency;
  e.clean = o.clean;
  e.lat = calloc(o.count, sizeof *e.lat);
  if (!e.lat) die("out of memory");
  connect_phase(&e, "connect", 0);

  if (o.hold_stdin) {
    struct epoll_event x = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    if (epoll_ctl(e.ep, EPOLL_CTL_ADD, 0, &x) < 0) die("stdin cannot be watched (epoll_ctl: %s)", strerror(errno));
  }
  int stormed = 0;
  for (;;) {
    /* Hold: idle clients, PINGREQ every keep-alive, until --hold runs out or stdin says what next. */
    uint64_t until = now_ns() + (uint64_t)((o.hold_stdin && o.hold == 0 ? 3600 : o.hold) * 1e9);
    double cpu0 = cpu_s();
    uint64_t h0 = now_ns();
    e.pings = 0;
    while (!stdin_cmd && now_ns() < until) {
      wait_events(&e, 200);
      sweep(&e, now_ns(), 1);
    }
    int cmd = stdin_cmd ? stdin_cmd : o.storm && !stormed ? 's' : 'e';
    stdin_cmd = 0;
    double held = (double)(now_ns() - h0) / 1e9, hold_cpu = cpu_s() - cpu0;
    unsigned up = 0;
    for (unsigned i = 0; i < e.n; i++) up += e.c[i].st == ST_UP;
    printf("{\"mode\":\"connect\",\"phase\":\"hold\",\"seconds\":%.3f,\"up\":%u,\"dropped\":%u", held, up, e.dropped);
    print_reasons("drop_reasons", &e.why_idle);
    printf(",\"pings\":%u,\"cpu_s\":%.3f,\"cpu_pct\":%.1f}\n", e.pings, hold_cpu, held >= 0.1 ? hold_cpu / held * 100 : 0);
    fflush(stdout);
    if (cmd != 's') break;
    /* The storm: every connection drops at once, no DISCONNECT; all come back with clean session 0. */
    uint64_t t_drop = now_ns();
    for (unsigned i = 0; i < e.n; i++) client_close(&e.c[i]);
    e.clean = 0;
    e.dropped = 0;
    memset(&e.why_idle, 0, sizeof e.why_idle);
    connect_phase(&e, "storm", t_drop);
    stormed = 1;
  }
  for (unsigned i = 0; i < e.n; i++) client_close(&e.c[i]);
}

static void mode_connect_rate(void) {
  eng_t e;
  eng_init(&e, o.concurrency);
  e.conc = o.concurrency;
  e.clean = 1;
  e.rate_mode = 1;
  e.running = 1;
  uint64_t t0 = now_ns();
  e.win_start = t0 + (uint64_t)(o.warmup * 1e9);
  e.win_end = e.win_start + (uint64_t)(o.seconds * 1e9);
  for (unsigned i = 0; i < e.conc; i++) launch(&e, &e.c[i]);
  int in_window = 0;
  double cpu0 = 0, cpu1 = 0;
  uint64_t next_sweep = t0 + NS / 10;
  for (;;) {
    uint64_t t = now_ns();
    if (!in_window && t >= e.win_start) {
      cpu0 = cpu_s();
      in_window = 1;
      event("window_start");
    }
    if (t >= e.win_end) {
      cpu1 = cpu_s();
      event("window_end");
      break;
    }
    uint64_t edge = in_window ? e.win_end : e.win_start;
    int ms = (int)((edge - t) / 1000000) + 1;
    wait_events(&e, ms < 50 ? ms : 50);
    t = now_ns();
    if (t >= next_sweep) {
      sweep(&e, t, 0);
      next_sweep = t + NS / 10;
    }
    /* A slot whose socket() or connect() failed at once is started again here, not in a tight loop. */
    for (unsigned i = 0; i < e.conc; i++)
      if (e.c[i].st == ST_FREE) launch(&e, &e.c[i]);
  }
  e.running = 0;
  for (unsigned i = 0; i < e.conc; i++) client_close(&e.c[i]);
  printf("{\"mode\":\"connect_rate\",\"tls\":%s,\"concurrency\":%u,\"seconds\":%.3f,\"cycles\":%llu,\"rate\":%.1f,\"failed\":%llu",
         o.tls ? "true" : "false", e.conc, o.seconds, (unsigned long long)e.win_cycles, (double)e.win_cycles / o.seconds,
         (unsigned long long)e.win_failed);
  print_reasons("reasons", &e.why);
  print_dist("connect_us", e.lat, e.nlat);
  printf(",\"cpu_s\":%.3f,\"cpu_pct\":%.1f}\n", cpu1 - cpu0, (cpu1 - cpu0) / o.seconds * 100);
  fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */
/* latency: a publisher (this thread) and a subscriber (its own thread), blocking sockets */

static struct {
  int pub, sub;
  uint64_t w0, w1; /* sequence numbers inside the window: [w0, w1) */
  uint64_t *lat, *lag, *sent; /* sent: the send time of each, kept only for --dump */
  uint8_t *got;
  atomic_ullong received, win_received, dups;
  atomic_int stop;
} L;

static void write_all(int fd, const uint8_t *b, size_t n, const char *what) {
  while (n) {
    ssize_t r = send(fd, b, n, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("%s: write failed: %s", what, r < 0 ? strerror(errno) : "closed");
    b += r;
    n -= (size_t)r;
  }
}

static int mqtt_client(const char *id, const char *what) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("%s: socket: %s", what, strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&o.addr, sizeof o.addr) < 0) die("%s: connect: %s", what, strerror(errno));
  uint8_t b[256];
  write_all(fd, b, mqtt_connect(b, id, 60, 1), what);
  size_t hdr, rem, n = 0;
  while (n < 4) {
    ssize_t r = recv(fd, b + n, 4 - n, 0);
    if (r <= 0) die("%s: no CONNACK (%s)", what, r < 0 ? strerror(errno) : "closed by the broker");
    n += (size_t)r;
  }
  if (mqtt_header(b, n, &hdr, &rem) != 1 || b[0] != 0x20 || rem != 2) die("%s: expected CONNACK", what);
  if (b[3]) die("%s: CONNACK return code %u", what, b[3]);
  return fd;
}

static void *subscriber(void *arg) {
  (void)arg;
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap), acks[4 * 4096];
  if (!buf) die("out of memory");
  struct timeval tv = {.tv_usec = 100000}; /* wake up to see the stop flag */
  setsockopt(L.sub, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  uint64_t last_tx = now_ns();
  while (!atomic_load(&L.stop)) {
    ssize_t r = recv(L.sub, buf + len, cap - len, 0);
    uint64_t t = now_ns();
    if (t - last_tx > 30 * NS) { /* keep-alive 60 s: a PINGREQ now and then */
      static const uint8_t ping[2] = {0xC0, 0x00};
      write_all(L.sub, ping, 2, "subscriber");
      last_tx = t;
    }
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
    if (r <= 0) {
      if (atomic_load(&L.stop)) break;
      die("subscriber: %s", r < 0 ? strerror(errno) : "closed by the broker");
    }
    len += (size_t)r;
    size_t off = 0, nacks = 0;
    for (;;) {
      size_t hdr, rem;
      int h = mqtt_header(buf + off, len - off, &hdr, &rem);
      if (h < 0) die("subscriber: malformed packet");
      if (h == 0 || len - off < hdr + rem) break;
      const uint8_t *p = buf + off;
      if ((p[0] & 0xF0) == 0x30) {
        unsigned qos = (p[0] >> 1) & 3;
        size_t i = hdr, end = hdr + rem;
        size_t tlen = (size_t)p[i] << 8 | p[i + 1];
        i += 2 + tlen;
        if (qos) {
          acks[nacks * 4] = 0x40;
          acks[nacks * 4 + 1] = 2;
          acks[nacks * 4 + 2] = p[i];
          acks[nacks * 4 + 3] = p[i + 1];
          nacks++;
          i += 2;
        }
        if (i + 16 <= end) {
          uint64_t ts, seq;
          memcpy(&ts, p + i, 8);
          memcpy(&seq, p + i + 8, 8);
          if (seq >= L.w0 && seq < L.w1) {
            if (L.got[seq - L.w0]) atomic_fetch_add(&L.dups, 1);
            else {
              L.got[seq - L.w0] = 1;
              L.lat[seq - L.w0] = t - ts;
              if (L.sent) L.sent[seq - L.w0] = ts;
              atomic_fetch_add(&L.win_received, 1);
              atomic_fetch_add(&L.received, 1);
            }
          } else atomic_fetch_add(&L.received, 1);
        }
        if (nacks == sizeof acks / 4) {
          write_all(L.sub, acks, nacks * 4, "subscriber");
          nacks = 0;
        }
      }
      off += hdr + rem;
    }
    if (nacks) {
      write_all(L.sub, acks, nacks * 4, "subscriber");
      last_tx = t;
    }
    memmove(buf, buf + off, len - off);
    len -= off;
    if (len == cap) {
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) die("out of memory");
    }
  }
  free(buf);
  return NULL;
}

/* Count the PUBACKs that have arrived for the publisher (non-blocking, or wait up to ms). */
static uint64_t pub_acks(uint8_t *buf, size_t *len, size_t cap, int wait_ms) {
  uint64_t acks = 0;
  for (;;) {
    if (wait_ms) {
      struct timeval tv = {.tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000};
      setsockopt(L.pub, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ssize_t r = recv(L.pub, buf + *len, cap - *len, wait_ms ? 0 : MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return acks;
    if (r <= 0) die("publisher: %s", r < 0 ? strerror(errno) : "closed by the broker");
    *len += (size_t)r;
    size_t off = 0;
    for (;;) {
      size_t hdr, rem;
      int h = mqtt_header(buf + off, *len - off, &hdr, &rem);
      if (h < 0) die("publisher: malformed packet");
      if (h == 0 || *len - off < hdr + rem) break;
      if ((buf[off] & 0xF0) == 0x40) acks++;
      off += hdr + rem;
    }
    memmove(buf, buf + off, *len - off);
    *len -= off;
    if (wait_ms) return acks;
  }
}

/* --dump FILE: one line per message of the window, "seq send_ns latency_ns lag_ns" (CLOCK_MONOTONIC,
 * the clock of process.hrtime and perf), latency 0 if it never arrived: to lay single messages
 * against a broker's GC pauses and timers (bench/e2e/tail-probe.ts). */
static void dump_latency(uint64_t wn) {
  FILE *f = fopen(o.dump, "w");
  if (!f) die("--dump %s: %s", o.dump, strerror(errno));
  for (uint64_t j = 0; j < wn; j++)
    fprintf(f, "%llu %llu %llu %llu\n", (unsigned long long)(L.w0 + j), (unsigned long long)L.sent[j], (unsigned long long)(L.got[j] ? L.lat[j] : 0),
            (unsigned long long)L.lag[j]);
  if (fclose(f)) die("--dump %s: %s", o.dump, strerror(errno));
}

static void mode_latency(void) {
  char id[96];
  snprintf(id, sizeof id, "%s-sub", o.prefix);
  L.sub = mqtt_client(id, "subscriber");
  size_t tlen = strlen(o.topic);
  uint8_t b[1100];
  size_t i = 0, rem = 2 + 2 + tlen + 1;
  b[i++] = 0x82;
  i += put_varint(b + i, rem);
  b[i++] = 0;
  b[i++] = 1;
  b[i++] = (uint8_t)(tlen >> 8);
  b[i++] = (uint8_t)tlen;
  memcpy(b + i, o.topic, tlen);
  i += tlen;
  b[i++] = (uint8_t)o.qos;
  write_all(L.sub, b, i, "subscriber");
  size_t n = 0;
  while (n < 5) {
    ssize_t r = recv(L.sub, b + n, 5 - n, 0);
    if (r <= 0) die("subscriber: no SUBACK (%s)", r < 0 ? strerror(errno) : "closed by the broker");
    n += (size_t)r;
  }
  if (b[0] != 0x90 || b[4] > 1) die("subscriber: SUBSCRIBE refused (SUBACK %02x %02x)", b[0], b[4]);
  snprintf(id, sizeof id, "%s-pub", o.prefix);
  L.pub = mqtt_client(id, "publisher");

  /* The window: messages whose scheduled send time is in [warmup, warmup + seconds). */
  double period = 1e9 / o.rate;
  L.w0 = (uint64_t)ceil(o.warmup * o.rate - 1e-6); /* 0.2 s × 1000/s is 200 messages, not 201 */
  L.w1 = (uint64_t)ceil((o.warmup + o.seconds) * o.rate - 1e-6);
  uint64_t total = L.w1, wn = L.w1 - L.w0;
  L.lat = calloc(wn, sizeof *L.lat);
  L.lag = calloc(wn, sizeof *L.lag);
  L.got = calloc(wn, 1);
  if (o.dump && !(L.sent = calloc(wn, sizeof *L.sent))) die("out of memory");
  if (!L.lat || !L.lag || !L.got) die("out of memory");
  pthread_t th;
  if (pthread_create(&th, NULL, subscriber, NULL)) die("pthread_create failed");

  /* The PUBLISH packet, built once: [fixed header][topic][packet id if QoS 1][send ns][seq][padding]. */
  size_t prem = 2 + tlen + (o.qos ? 2 : 0) + o.size;
  uint8_t *pkt = calloc(1, prem + 5);
  if (!pkt) die("out of memory");
  size_t p = 0;
  pkt[p++] = (uint8_t)(0x30 | (o.qos << 1));
  p += put_varint(pkt + p, prem);
  pkt[p++] = (uint8_t)(tlen >> 8);
  pkt[p++] = (uint8_t)tlen;
  memcpy(pkt + p, o.topic, tlen);
  p += tlen;
  size_t pid_off = p;
  if (o.qos) p += 2;
  size_t pay_off = p, plen = p + o.size;
  uint8_t ackbuf[4096];
  size_t acklen = 0;
  uint64_t acked = 0;
  unsigned pid = 0;
  double cpu0 = 0, cpu1 = 0;
  uint8_t *batch = malloc(plen * 64);
  if (!batch) die("out of memory");
  uint64_t t0 = now_ns() + NS / 20;
  for (uint64_t s = 0; s < total;) {
    uint64_t due = t0 + (uint64_t)((double)s * period);
    if (s == L.w0) {
      struct timespec d = {.tv_sec = (time_t)(due / NS), .tv_nsec = (long)(due % NS)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL) == EINTR) {}
      cpu0 = cpu_s();
      event("window_start");
    }
    uint64_t t = now_ns();
    if (t < due) {
      struct timespec d = {.tv_sec = (time_t)(due / NS), .tv_nsec = (long)(due % NS)};
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &d, NULL) == EINTR) {}
      t = now_ns();
    }
    /* Every message due by now goes out in this one write: on time that is one message; when the
     * generator was held up, the ones it owes (at most 64, not across the window's start).
     * Stamped when written, so the generator's own wake-up delay is not counted as the broker's;
     * how late each was against its schedule is reported as send_lag_us. */
    size_t k = 0;
    do {
      uint64_t d = t0 + (uint64_t)((double)s * period);
      if (k && (d > t || s == L.w0 || k == 64)) break;
      uint8_t *m = batch + k * plen;
      memcpy(m, pkt, plen);
      memcpy(m + pay_off, &t, 8);
      memcpy(m + pay_off + 8, &s, 8);
      if (o.qos) {
        pid = pid % 65535 + 1; /* open loop: ids cycle, acknowledgements are only counted */
        m[pid_off] = (uint8_t)(pid >> 8);
        m[pid_off + 1] = (uint8_t)pid;
      }
      if (s >= L.w0) L.lag[s - L.w0] = t - d;
      k++;
      s++;
    } while (s < total);
    write_all(L.pub, batch, k * plen, "publisher");
    if (o.qos) acked += pub_acks(ackbuf, &acklen, sizeof ackbuf, 0);
  }
  cpu1 = cpu_s();
  event("window_end");
  uint64_t t_end = now_ns();
  while (o.qos && acked < total && now_ns() - t_end < 5 * NS) acked += pub_acks(ackbuf, &acklen, sizeof ackbuf, 100);
  /* Drain: until everything sent has arrived, or nothing new for 1 s (at most 10 s). */
  uint64_t last = atomic_load(&L.received), since = now_ns();
  while (last < total && now_ns() - since < NS && now_ns() - t_end < 10 * NS) {
    usleep(20000);
    uint64_t r = atomic_load(&L.received);
    if (r != last) since = now_ns();
    last = r;
  }
  atomic_store(&L.stop, 1);
  pthread_join(th, NULL);

  uint64_t got = atomic_load(&L.win_received);
  if (o.dump) dump_latency(wn);
  size_t k = 0;
  for (uint64_t j = 0; j < wn; j++)
    if (L.got[j]) L.lat[k++] = L.lat[j];
  printf("{\"mode\":\"latency\",\"qos\":%u,\"rate\":%.0f,\"size\":%u,\"warmup\":%.3f,\"seconds\":%.3f,\"sent\":%llu,\"window_sent\":%llu,"
         "\"received\":%llu,\"lost\":%llu,\"dup\":%llu",
         o.qos, o.rate, o.size, o.warmup, o.seconds, (unsigned long long)total, (unsigned long long)wn, (unsigned long long)got,
         (unsigned long long)(wn - got), (unsigned long long)atomic_load(&L.dups));
  if (o.qos) printf(",\"acked\":%llu", (unsigned long long)acked);
  print_dist("latency_us", L.lat, k);
  print_dist("send_lag_us", L.lag, wn);
  printf(",\"cpu_s\":%.3f,\"cpu_pct\":%.1f}\n", cpu1 - cpu0, (cpu1 - cpu0) / o.seconds * 100);
  fflush(stdout);
  close(L.pub);
  close(L.sub);
  free(batch);
  free(pkt);
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  /* Timed sleeps wake when asked, not up to 50 µs later (the default timer slack). */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  /* One descriptor per client: raise the soft open-files limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  unsigned need = (!strcmp(o.mode, "connect") ? o.count : !strcmp(o.mode, "connect_rate") ? o.concurrency : 2) + 16;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && need > rl.rlim_cur)
    die("%u clients need %u open files; the limit is %llu", need - 16, need, (unsigned long long)rl.rlim_cur);
  if (o.tls) tls_init();
  if (!strcmp(o.mode, "connect")) mode_connect();
  else if (!strcmp(o.mode, "connect_rate")) mode_connect_rate();
  else mode_latency();
  return 0;
}
