/* bench/tui-measure: the console's speed on one host, in-process. The
 * console draws with ncurses to a pty (100x30) whose other side a thread
 * reads and throws away, so that drawing never waits for a reader. Times:
 * the first complete frame (tui_new + tui_draw), then keystrokes through
 * tui_key (each one handled and drawn): moving in the VM list, moving and
 * collapsing/expanding in the snapshot tree, and the live filter of the VM
 * list; then the process's peak RSS, and for reference the time of the
 * controller's own part of the first frame (ctl_open, ctl_vm_list).
 *
 * Usage: tui-measure --uri URI --catalog PATH [--keys N] [--rounds R] [--snapshots M]
 *   --keys       keystrokes per move, tree move and expand phase (default 200)
 *   --rounds     filter rounds: '/', "vm05" typed, Esc (default 20)
 *   --snapshots  snapshots per VM (default 100): the 'k' presses that surely
 *                reach the tree's root
 *
 * This file includes <curses.h> for the key codes tui_key takes; it is a
 * harness of src/tui, outside the layers. */
#include "config.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <langinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "tui/tui.h"
#include "util/i18n.h"

#define GOAL_FIRST_MS 100.0
#define GOAL_KEY_MS 5.0
#define GOAL_RSS_MIB 64.0

static const char usage[] =
    "Usage: tui-measure --uri URI --catalog PATH [--keys N] [--rounds R] [--snapshots M]\n";

/* ---- the pty and its reader ---- */

struct pty {
	int master;
	FILE *in, *out; /* the slave side, for the console */
	pthread_t reader;
	unsigned long long bytes; /* read by the reader; read after join */
};

static void *pty_drain(void *arg)
{
	struct pty *p = arg;
	char buf[65536];

	for (;;) {
		ssize_t n = read(p->master, buf, sizeof(buf));

		if (n > 0)
			p->bytes += (unsigned long long)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break; /* EIO once the slave side is closed */
	}
	return NULL;
}

static int pty_open(struct pty *p, unsigned short cols, unsigned short rows)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	const char *name;
	int fd;

	memset(p, 0, sizeof(*p));
	p->master = posix_openpt(O_RDWR | O_NOCTTY);
	if (p->master < 0 || grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
	    !(name = ptsname(p->master))) {
		fprintf(stderr, "tui-measure: cannot open a pty: %s\n", strerror(errno));
		return -1;
	}
	fd = open(name, O_RDWR | O_NOCTTY);
	if (fd < 0 || ioctl(fd, TIOCSWINSZ, &ws) < 0) {
		fprintf(stderr, "tui-measure: cannot open %s: %s\n", name, strerror(errno));
		return -1;
	}
	p->in = fdopen(fd, "r");
	p->out = fdopen(dup(fd), "w");
	if (!p->in || !p->out) {
		fprintf(stderr, "tui-measure: fdopen: %s\n", strerror(errno));
		return -1;
	}
	if (pthread_create(&p->reader, NULL, pty_drain, p) != 0) {
		fprintf(stderr, "tui-measure: cannot start the pty reader\n");
		return -1;
	}
	return 0;
}

/* Closes the slave side; the reader sees EIO and ends. */
static void pty_close(struct pty *p)
{
	fclose(p->in);
	fclose(p->out);
	pthread_join(p->reader, NULL);
	close(p->master);
}

/* ---- timing ---- */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Key times of one phase, in ms. */
struct samples {
	const char *label;
	double *v;
	size_t n, cap;
};

static void samples_add(struct samples *s, double ms)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v) {
			fputs("tui-measure: out of memory\n", stderr);
			exit(1);
		}
	}
	s->v[s->n++] = ms;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* "move key: mean 0.8 ms p95 1.2 ms max 3.0 ms (200 keys, goal 5 ms)" */
static void samples_print(struct samples *s)
{
	double sum = 0;
	size_t p95;

	if (s->n == 0) {
		printf("%s: no keys\n", s->label);
		return;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	p95 = (s->n * 95 + 99) / 100; /* nearest rank */
	printf("%s: mean %.2f ms p95 %.2f ms max %.2f ms (%zu keys, goal %.0f ms)\n", s->label,
	       sum / (double)s->n, s->v[p95 - 1], s->v[s->n - 1], s->n, GOAL_KEY_MS);
}

/* Sends one key; records its time when s is given. False once the console
 * wants to quit (it should not, in this run). */
static bool key(struct tui *t, int k, struct samples *s)
{
	double t0 = now_ms();
	bool go_on = tui_key(t, k);

	if (s)
		samples_add(s, now_ms() - t0);
	if (!go_on)
		fprintf(stderr, "tui-measure: the console quit on key %d\n", k);
	return go_on;
}

/* A console on the pty; *ms gets the time to its first complete frame
 * (from the catalog: the VMs, the selected VM's tree, tasks), *live_ms the
 * time until the frame with libvirt's VM states is drawn too. */
static struct tui *open_console(const struct ctl_options *opts, struct pty *p, double *ms,
				double *live_ms)
{
	struct sd_err err = SD_ERR_INIT;
	double t0 = now_ms();
	struct tui *t = tui_new(opts, p->in, p->out, &err);

	if (!t) {
		fprintf(stderr, "tui-measure: %s\n", err.msg);
		return NULL;
	}
	tui_draw(t);
	*ms = now_ms() - t0;
	if (tui_connect(t, &err) < 0) {
		fprintf(stderr, "tui-measure: %s\n", err.msg);
		return NULL;
	}
	*live_ms = now_ms() - t0;
	return t;
}

/* What the console cannot do without: connecting (for test:///FILE,
 * libvirt parses the whole file then) and the controller's VM list. */
static int controller_parts(const struct ctl_options *opts, double *conn, double *list)
{
	struct sd_err err = SD_ERR_INIT;
	struct ctl_vm_row *rows = NULL;
	size_t n = 0;
	double t0 = now_ms();
	struct ctl *ctl = ctl_open(opts, &err);

	*conn = now_ms() - t0;
	*list = 0;
	if (ctl) {
		t0 = now_ms();
		if (ctl_vm_list(ctl, &rows, &n, &err) == 0)
			ctl_vm_rows_free(rows, n);
		*list = now_ms() - t0;
		ctl_close(ctl);
	}
	if (sd_err_is_set(&err)) {
		fprintf(stderr, "tui-measure: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static bool parse_count(const char *s, size_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0 || v > 100000)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"uri", required_argument, NULL, 'u'},	 {"catalog", required_argument, NULL, 'c'},
	    {"keys", required_argument, NULL, 'k'},	 {"rounds", required_argument, NULL, 'r'},
	    {"snapshots", required_argument, NULL, 's'}, {NULL, 0, NULL, 0},
	};
	static const char typed[] = "vm05";
	struct ctl_options opts = {0};
	size_t nkeys = 200, rounds = 20, depth = 100;
	struct samples move = {.label = "move key"}, tmove = {.label = "tree move key"},
		       expand = {.label = "expand key"}, filter = {.label = "filter key"};
	struct pty p;
	struct tui *t;
	struct rusage ru;
	double first, warm, first_live, warm_live, conn, list;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			opts.uri = optarg;
			break;
		case 'c':
			opts.catalog_path = optarg;
			break;
		case 'k':
		case 'r':
		case 's':
			if (!parse_count(optarg, c == 'k' ? &nkeys : c == 'r' ? &rounds : &depth)) {
				fprintf(stderr, "tui-measure: --%s wants 1 to 100000\n",
					c == 'k'   ? "keys"
					: c == 'r' ? "rounds"
						   : "snapshots");
				return 2;
			}
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!opts.uri || !opts.catalog_path || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	sd_i18n_init(); /* as src/main.c: the locale decides UTF-8 drawing */
	if (!getenv("TERM") || !*getenv("TERM"))
		setenv("TERM", "xterm-256color", 1);
	/* the size comes from the pty, not from the caller's terminal */
	unsetenv("LINES");
	unsetenv("COLUMNS");
	if (pty_open(&p, 100, 30) < 0)
		return 1;

	/* First frame, then the VM list (focused at start), then the tree. */
	t = open_console(&opts, &p, &first, &first_live);
	if (!t)
		return 1;
	for (size_t i = 0; i < nkeys; i++)
		if (!key(t, KEY_DOWN, &move))
			return 1;
	if (!key(t, '\t', NULL))
		return 1;
	/* Up 10, down 10: real moves from the current snapshot, which sits deep
	 * in the tree. Then up to the root (not timed), whose whole subtree the
	 * expand phase collapses and expands. */
	for (size_t i = 0; i < nkeys; i++)
		if (!key(t, i / 10 % 2 ? 'j' : 'k', &tmove))
			return 1;
	for (size_t i = 0; i < depth; i++)
		if (!key(t, 'k', NULL))
			return 1;
	for (size_t i = 0; i < nkeys; i++)
		if (!key(t, i % 2 ? 'l' : 'h', &expand))
			return 1;
	tui_key(t, 'q');
	tui_free(t);

	/* A second console (focus back on the VM list) for the filter. */
	t = open_console(&opts, &p, &warm, &warm_live);
	if (!t)
		return 1;
	for (size_t r = 0; r < rounds; r++) {
		if (!key(t, '/', &filter))
			return 1;
		for (const char *ch = typed; *ch; ch++)
			if (!key(t, *ch, &filter))
				return 1;
		if (!key(t, 27, &filter))
			return 1;
	}
	tui_key(t, 'q');
	tui_free(t);
	pty_close(&p);
	getrusage(RUSAGE_SELF, &ru);
	if (controller_parts(&opts, &conn, &list) < 0)
		return 1;

	printf("terminal: TERM=%s, %s, 100x30 pty\n", getenv("TERM"), nl_langinfo(CODESET));
	printf("first frame: %.1f ms (goal %.0f ms)\n", first, GOAL_FIRST_MS);
	printf("first frame, second console: %.1f ms\n", warm);
	printf("frame with libvirt's VM states: %.1f ms (second console %.1f ms)\n", first_live,
	       warm_live);
	samples_print(&move);
	samples_print(&tmove);
	samples_print(&expand);
	samples_print(&filter);
	printf("in-process parts (after the consoles): ctl_open %.1f ms, ctl_vm_list %.1f ms\n",
	       conn, list);
	printf("peak RSS: %.1f MiB (goal %.0f MiB)\n", (double)ru.ru_maxrss / 1024.0, GOAL_RSS_MIB);
	printf("terminal output: %llu bytes\n", p.bytes);
	free(move.v);
	free(tmove.v);
	free(expand.v);
	free(filter.v);
	return 0;
}
