/*
 * thread-sampler: CPU time per thread of a few processes, sampled every INTERVAL_US
 * (`backlog_drain` with BENCH_DRAIN_THREADS, bench/README.md). Usage:
 *
 *   ferry-thread-sampler INTERVAL_US PID...
 *
 * Every interval it prints one line per thread: "<monotonic ns> <pid> <tid> <cpu ns> <wait ns>",
 * the thread's run time so far and its time runnable but waiting for a core, from
 * /proc/PID/task/TID/schedstat (nanoseconds; the utime/stime of `stat` count whole 10 ms ticks, too
 * coarse for a phase of ~100 ms). A thread
 * seen for the first time gets a line "T <pid> <tid> <syscall nr it waits in>" first (tells an
 * event-loop thread, waiting in epoll, from a pool thread, waiting on a futex). It runs until
 * SIGTERM or until every process is gone; the schedstat files stay open and are re-read with
 * pread, and the task lists are re-scanned every 20 samples, so a sample costs a few µs.
 * Output is buffered and flushed at exit.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 512

struct thread {
  int pid, tid, fd;
};

static struct thread threads[MAX_THREADS];
static int n_threads;
static volatile sig_atomic_t stop;

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int known(int tid) {
  for (int i = 0; i < n_threads; i++)
    if (threads[i].tid == tid) return 1;
  return 0;
}

/* The syscall number a thread is blocked in (first field of /proc/.../syscall), -1 if running. */
static int waiting_in(int pid, int tid) {
  char path[96], buf[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", pid, tid);
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  return buf[0] == 'r' ? -1 : atoi(buf); /* "running" */
}

static void scan(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n_threads < MAX_THREADS) {
    int tid = atoi(e->d_name);
    if (tid <= 0 || known(tid)) continue;
    char sp[96];
    snprintf(sp, sizeof sp, "/proc/%d/task/%d/schedstat", pid, tid);
    int fd = open(sp, O_RDONLY);
    if (fd < 0) continue;
    threads[n_threads++] = (struct thread){pid, tid, fd};
    printf("T %d %d %d\n", pid, tid, waiting_in(pid, tid));
  }
  closedir(d);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s INTERVAL_US PID...\n", argv[0]);
    return 2;
  }
  long interval_us = atol(argv[1]);
  if (interval_us < 100) interval_us = 100;
  int n_pids = argc - 2;
  int *pids = calloc((size_t)n_pids, sizeof *pids);
  for (int i = 0; i < n_pids; i++) pids[i] = atoi(argv[2 + i]);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  static char out[1 << 22];
  setvbuf(stdout, out, _IOFBF, sizeof out);

  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (long round = 0; !stop; round++) {
    if (round % 20 == 0)
      for (int i = 0; i < n_pids; i++) scan(pids[i]);
    long long t = now_ns();
    int alive = 0;
    for (int i = 0; i < n_threads; i++) {
      if (threads[i].fd < 0) continue;
      char buf[128];
      ssize_t n = pread(threads[i].fd, buf, sizeof buf - 1, 0);
      if (n <= 0) { /* the thread ended */
        close(threads[i].fd);
        threads[i].fd = -1;
        continue;
      }
      buf[n] = 0;
      alive++;
      char *rest;
      long long run = strtoll(buf, &rest, 10);
      long long wait = strtoll(rest, NULL, 10);
      printf("%lld %d %d %lld %lld\n", t, threads[i].pid, threads[i].tid, run, wait);
    }
    if (alive == 0 && round > 0) break;
    next.tv_nsec += interval_us * 1000;
    while (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  fflush(stdout);
  return 0;
}
