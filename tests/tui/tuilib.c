#include "config.h"

#include <errno.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/tui/tuilib.h"

#ifndef SD_SCREENS_DIR
#define SD_SCREENS_DIR "tests/tui/expected"
#endif

/* ---- small helpers ---- */

struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static char *sb_take(struct sbuf *b)
{
	if (!b->s)
		sb_add(b, "", 0);
	return b->s;
}

/* Terminal columns of n bytes of UTF-8 (every character the console draws
 * takes one column). */
static size_t cols(const char *s, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool ci(void)
{
	const char *c = getenv("CI");
	return c && strcmp(c, "true") == 0;
}

/* ---- the servers this process started ---- */

#define TT_MAX_LIVE 16
static struct tt *live[TT_MAX_LIVE];
static struct sigaction old_actions[3];
static const int caught[3] = {SIGINT, SIGTERM, SIGHUP};
static bool hooks_installed;
static const char *term_name = "tmux-256color";

static void kill_server(const char *socket)
{
	char *const argv[] = {"tmux", "-L", (char *)socket, "kill-server", NULL};
	sdtest_run(argv, NULL, NULL);
}

void tt_stop(struct tt *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < TT_MAX_LIVE; i++)
		if (live[i] == t)
			live[i] = NULL;
	if (t->running)
		kill_server(t->socket);
	t->running = false;
	free(t->last);
	t->last = NULL;
}

void tt_stop_all(void)
{
	for (size_t i = 0; i < TT_MAX_LIVE; i++)
		if (live[i])
			tt_stop(live[i]);
}

/* Interrupted: no tmux server of ours may outlive us; then whatever handler
 * was there before (itlib's removes the demo). */
static void on_signal(int sig)
{
	tt_stop_all();
	for (size_t i = 0; i < 3; i++) {
		if (caught[i] != sig)
			continue;
		sigaction(sig, &old_actions[i], NULL);
		if (old_actions[i].sa_handler != SIG_DFL && old_actions[i].sa_handler != SIG_IGN) {
			old_actions[i].sa_handler(sig);
			return;
		}
	}
	raise(sig);
}

static void install_hooks(void)
{
	struct sigaction sa;

	if (hooks_installed)
		return;
	hooks_installed = true;
	atexit(tt_stop_all);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 3; i++)
		sigaction(caught[i], &sa, &old_actions[i]);
}

void tt_require_tmux(void)
{
	char *const v[] = {"tmux", "-V", NULL};
	char *const info[] = {"infocmp", "tmux-256color", NULL};

	if (sdtest_run(v, NULL, NULL) != 0) {
		fprintf(stderr, "tmux does not run%s\n", ci() ? ", and CI=true" : ": skipped");
		exit(ci() ? 1 : SDTEST_SKIP);
	}
	/* Debian 12 has both in ncurses-base; older hosts only screen-256color */
	if (sdtest_run(info, NULL, NULL) != 0)
		term_name = "screen-256color";
}

/* ---- running tmux ---- */

/* tmux -L socket ARGS...; fails the test unless it exits 0. Returns its
 * stdout (caller frees). */
static char *tmux_v(struct tt *t, char *const *args)
{
	char *argv[64], *out = NULL, *err = NULL;
	size_t n = 0;
	int rc;

	argv[n++] = "tmux";
	argv[n++] = "-L";
	argv[n++] = t->socket;
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = sdtest_run(argv, &out, &err);
	if (rc != 0) {
		if (t->last)
			fprintf(stderr, "the last screen:\n%s\n", t->last);
		fail_msg("tmux %s: exit %d: %s", args[0], rc, err ? err : "");
	}
	free(err);
	return out;
}

void tt_start(struct tt *t, const struct tt_opts *o, const char *prefix)
{
	static unsigned counter;
	char w[16], h[16], *env[16], *argv[64];
	size_t ne = 0, n = 0, slot;
	const char *bin = getenv("SNAPDECK_BIN");

	if (!bin)
		fail_msg("SNAPDECK_BIN is not set");
	install_hooks();
	for (slot = 0; slot < TT_MAX_LIVE && live[slot]; slot++)
		;
	if (slot == TT_MAX_LIVE)
		fail_msg("too many tmux servers at once");
	memset(t, 0, sizeof(*t));
	snprintf(t->socket, sizeof(t->socket), "sdtui-%d-%u", (int)getpid(), counter++);
	t->w = o->w;
	t->h = o->h;
	t->prefix = prefix;
	snprintf(w, sizeof(w), "%d", o->w);
	snprintf(h, sizeof(h), "%d", o->h);

	/* the pane's whole environment */
	env[ne++] = "env";
	env[ne++] = "-i";
	{
		static char path[4096], home[1024], tmpdir[1024], term[64], cat[4096], rate[64],
		    debug[1024];
		const char *p = getenv("PATH"), *hm = getenv("HOME"), *td = getenv("TMPDIR"),
			   *dbg = getenv("SNAPDECK_DEBUG");

		snprintf(path, sizeof(path), "PATH=%s", p ? p : "/usr/sbin:/usr/bin:/sbin:/bin");
		env[ne++] = path;
		snprintf(home, sizeof(home), "HOME=%s", hm ? hm : "/");
		env[ne++] = home;
		if (td && td[0]) {
			snprintf(tmpdir, sizeof(tmpdir), "TMPDIR=%s", td);
			env[ne++] = tmpdir;
		}
		env[ne++] = "LANG=C.UTF-8";
		env[ne++] = "LC_ALL=C.UTF-8";
		snprintf(term, sizeof(term), "TERM=%s", term_name);
		env[ne++] = term;
		if (o->catalog) {
			snprintf(cat, sizeof(cat), "SNAPDECK_CATALOG=%s", o->catalog);
			env[ne++] = cat;
		}
		if (o->no_color)
			env[ne++] = "NO_COLOR=1";
		if (o->copy_rate_limit) {
			snprintf(rate, sizeof(rate), "SNAPDECK_COPY_RATE_LIMIT=%s",
				 o->copy_rate_limit);
			env[ne++] = rate;
		}
		if (dbg && dbg[0] && strcmp(dbg, "1") != 0) {
			snprintf(debug, sizeof(debug), "SNAPDECK_DEBUG=%s", dbg);
			env[ne++] = debug;
		}
	}

	/* options first, in the same client call that starts the server, so
	 * that snapdeck starts at the full size (no status line) and a pane
	 * whose command ended stays readable */
	{
		char *const pre[] = {"-f",	    "/dev/null",
				     "set-option",  "-g",
				     "status",	    "off",
				     ";",	    "set-option",
				     "-g",	    "remain-on-exit",
				     "on",	    ";",
				     "new-session", "-d",
				     "-s",	    "t",
				     "-x",	    w,
				     "-y",	    h,
				     "--",	    NULL};
		for (size_t i = 0; pre[i]; i++)
			argv[n++] = pre[i];
	}
	for (size_t i = 0; i < ne; i++)
		argv[n++] = env[i];
	if (o->report_exit) {
		argv[n++] = "sh";
		argv[n++] = "-c";
		/* the shell stays (until kill-server): tmux may drop what a
		 * pane wrote just before its process ended */
		argv[n++] = "\"$@\"; echo \"EXITED $?\"; exec sleep 3600";
		argv[n++] = "sh";
	}
	argv[n++] = (char *)bin;
	argv[n++] = "-c";
	argv[n++] = (char *)(o->uri ? o->uri : "qemu:///system");
	argv[n] = NULL;
	live[slot] = t;
	t->running = true;
	free(tmux_v(t, argv));
}

/* tmux -L socket ARGS..., NULL-terminated; must succeed. */
static void tmux_call(struct tt *t, ...)
{
	char *args[48];
	size_t n = 0;
	va_list ap;

	va_start(ap, t);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 47;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	free(tmux_v(t, args));
}

void tt_keys(struct tt *t, ...)
{
	char *args[48];
	size_t n = 0;
	va_list ap;

	args[n++] = "send-keys";
	args[n++] = "-t";
	args[n++] = "t";
	va_start(ap, t);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 47;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	free(tmux_v(t, args));
}

void tt_type(struct tt *t, const char *text)
{
	tmux_call(t, "send-keys", "-t", "t", "-l", text, NULL);
}

void tt_resize(struct tt *t, int w, int h)
{
	char ws[16], hs[16];

	snprintf(ws, sizeof(ws), "%d", w);
	snprintf(hs, sizeof(hs), "%d", h);
	tmux_call(t, "resize-window", "-t", "t", "-x", ws, "-y", hs, NULL);
	t->w = w;
	t->h = h;
}

char *tt_capture(struct tt *t, bool escapes)
{
	char *const plain[] = {"capture-pane", "-p", "-t", "t", NULL};
	char *const esc[] = {"capture-pane", "-p", "-e", "-t", "t", NULL};
	char *s = tmux_v(t, escapes ? esc : plain);

	if (!escapes) {
		free(t->last);
		t->last = strdup(s);
	}
	return s;
}

char *tt_format(struct tt *t, const char *format)
{
	char *const args[] = {"display-message", "-p", "-t", "t", (char *)format, NULL};
	char *s = tmux_v(t, args);
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '\n')
		s[n - 1] = '\0';
	return s;
}

static const char *wait_screen(struct tt *t, const char *text, bool present, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	for (;;) {
		free(tt_capture(t, false));
		if ((strstr(t->last, text) != NULL) == present)
			return t->last;
		if (now_ms() > end)
			break;
		pause_ms(50);
	}
	fprintf(stderr, "the last screen (%dx%d):\n%s\n", t->w, t->h, t->last);
	fail_msg("waited %d ms for the screen %s '%s'", timeout_ms,
		 present ? "to show" : "to no longer show", text);
	return NULL;
}

const char *tt_wait_for(struct tt *t, const char *text, int timeout_ms)
{
	return wait_screen(t, text, true, timeout_ms);
}

const char *tt_wait_gone(struct tt *t, const char *text, int timeout_ms)
{
	return wait_screen(t, text, false, timeout_ms);
}

char *tt_row(const char *screen, int y)
{
	const char *p = screen, *e;

	for (int i = 0; i < y && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return strdup("");
	e = strchr(p, '\n');
	return strndup(p, e ? (size_t)(e - p) : strlen(p));
}

/* ---- masking ---- */

/* Replaces every match of the extended regex re in in (matches never span
 * a line) with what fn appends; returns the new string (caller frees). */
typedef void (*mask_fn)(struct sbuf *out, const char *m, size_t len, const char *after, void *arg);

static char *subst(const char *in, const char *re, mask_fn fn, void *arg)
{
	regex_t rx;
	regmatch_t m;
	struct sbuf out = {0};
	const char *p = in;
	int flags = 0;

	if (regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE) != 0)
		abort();
	while (*p && regexec(&rx, p, 1, &m, flags) == 0) {
		size_t len = (size_t)(m.rm_eo - m.rm_so);

		sb_add(&out, p, (size_t)m.rm_so);
		if (len == 0) {
			sb_add(&out, p + m.rm_so, 1);
			p += m.rm_so + 1;
		} else {
			fn(&out, p + m.rm_so, len, p + m.rm_eo, arg);
			p += m.rm_eo;
		}
		flags = REG_NOTBOL;
	}
	sb_str(&out, p);
	regfree(&rx);
	return sb_take(&out);
}

/* token in width columns: padded with fill on the right (or the left when
 * right_align), as is when it does not fit */
static void emit_fit(struct sbuf *out, const char *token, size_t width, const char *fill,
		     bool right_align)
{
	size_t tw = cols(token, strlen(token));

	if (right_align)
		for (size_t i = tw; i < width; i++)
			sb_str(out, fill);
	sb_str(out, token);
	if (!right_align)
		for (size_t i = tw; i < width; i++)
			sb_str(out, fill);
}

static void fixed(struct sbuf *out, const char *m, size_t len, const char *after, void *arg)
{
	(void)after;
	emit_fit(out, arg, cols(m, len), " ", false);
}

static bool is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
			return false;
	}
	return true;
}

/* a path to a qcow2 file, and the blanks after it: the folder (a temp
 * folder) and a UUID name masked, in the same width */
static void path_fn(struct sbuf *out, const char *m, size_t len, const char *after, void *arg)
{
	size_t plen = len, blen;
	const char *base;
	struct sbuf tok = {0};

	(void)after;
	(void)arg;
	while (plen > 0 && m[plen - 1] == ' ')
		plen--;
	base = m + plen;
	while (base > m && base[-1] != '/')
		base--;
	blen = (size_t)(m + plen - base);
	sb_str(&tok, "<dir>/");
	if (blen == 36 + 6 && is_uuid(base, 36))
		sb_str(&tok, "<uuid>.qcow2");
	else
		sb_add(&tok, base, blen);
	emit_fit(out, sb_take(&tok), cols(m, len), " ", false);
	free(tok.s);
}

/* a size ("6.6 MiB", "0 B") with the blanks before it, right-aligned as the
 * console aligns sizes; not when a word goes on after the unit */
static void size_fn(struct sbuf *out, const char *m, size_t len, const char *after, void *arg)
{
	(void)arg;
	if ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z')) {
		sb_add(out, m, len);
		return;
	}
	emit_fit(out, "<size>", cols(m, len), " ", true);
}

/* "of 7 ────" in the VM list's title: the host's VM count */
static void count_fn(struct sbuf *out, const char *m, size_t len, const char *after, void *arg)
{
	(void)after;
	(void)arg;
	sb_str(out, "of N ");
	for (size_t i = cols("of N ", 5); i < cols(m, len); i++)
		sb_str(out, "─");
}

static void two_blanks(struct sbuf *out, const char *m, size_t len, const char *after, void *arg)
{
	(void)m;
	(void)len;
	(void)after;
	(void)arg;
	sb_str(out, "  ");
}

static char *replace_literal(const char *in, const char *what, const char *with)
{
	struct sbuf out = {0};
	const char *p = in, *hit;
	size_t n = strlen(what);

	if (n == 0)
		return strdup(in);
	while ((hit = strstr(p, what))) {
		sb_add(&out, p, (size_t)(hit - p));
		sb_str(&out, with);
		p = hit + n;
	}
	sb_str(&out, p);
	return sb_take(&out);
}

/* the header row: the host's VM count (other VMs come and go) moves the
 * centred text, so its blanks collapse */
static char *mask_header(const char *in)
{
	const char *nl = strchr(in, '\n');
	char *row, *a, *b, *res;
	struct sbuf out = {0};

	if (strncmp(in, " snapdeck ", 10) != 0)
		return strdup(in);
	row = strndup(in, nl ? (size_t)(nl - in) : strlen(in));
	a = subst(row, "[0-9]+ VMs?", fixed, "N VMs");
	b = subst(a, "   +", two_blanks, NULL);
	sb_str(&out, b);
	if (nl)
		sb_str(&out, nl);
	res = sb_take(&out);
	free(row);
	free(a);
	free(b);
	return res;
}

char *tt_mask(const char *screen, const char *prefix)
{
	static const struct {
		const char *re;
		mask_fn fn;
		const char *token;
	} rules[] = {
	    {"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", fixed,
	     "YYYY-MM-DDTHH:MM:SSZ"},
	    {"[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}", fixed, "MM-DD hh:mm"},
	    {"[0-9]{2}:[0-9]{2}:[0-9]{2}", fixed, "HH:MM:SS"},
	    {"/[^ \n]*\\.qcow2 *", path_fn, NULL},
	    {"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", fixed,
	     "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"},
	    {" *[0-9]+(\\.[0-9]+)? (B|KiB|MiB|GiB|TiB|PiB)", size_fn, NULL},
	    {"of [0-9]+ (─)*", count_fn, NULL},
	};
	char *s, *next;

	if (prefix && prefix[0]) {
		/* the same width: its digits become X */
		char *masked = strdup(prefix);
		for (char *p = masked; *p; p++)
			if (*p >= '0' && *p <= '9')
				*p = 'X';
		s = replace_literal(screen, prefix, masked);
		free(masked);
	} else {
		s = strdup(screen);
	}
	next = mask_header(s);
	free(s);
	s = next;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		next = subst(s, rules[i].re, rules[i].fn, (void *)rules[i].token);
		free(s);
		s = next;
	}
	return s;
}

/* ---- expected screens ---- */

static char *screen_path(const char *name)
{
	const char *dir = getenv("SNAPDECK_SCREENS");
	char *path;

	if (!dir || !dir[0])
		dir = SD_SCREENS_DIR;
	if (asprintf(&path, "%s/%s.txt", dir, name) < 0)
		abort();
	return path;
}

/* The rows that differ, each both ways. */
static void print_diff(const char *want, const char *got)
{
	const char *a = want, *b = got;

	for (int y = 0; (*a || *b) && y < 1000; y++) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (la != lb || memcmp(a, b, la) != 0)
			fprintf(stderr, "row %d\n  expected |%.*s|\n  actual   |%.*s|\n", y,
				(int)la, a, (int)lb, b);
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
}

/* Regenerating: a screen several scenarios expect is written by the first
 * and compared by the others. */
static bool written_before(const char *name)
{
	static char *names[64];
	static size_t n;

	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	if (n < 64)
		names[n++] = strdup(name);
	return false;
}

void tt_expect_screen(struct tt *t, const char *name, int timeout_ms)
{
	const char *regen = getenv("SNAPDECK_REGEN_SCREENS");
	char *path = screen_path(name), *want = NULL, *got = NULL;
	long long end = now_ms() + timeout_ms;

	if (regen && strcmp(regen, "1") == 0 && !written_before(name)) {
		/* settled: the same twice in a row, a quarter second apart */
		char *prev = NULL;
		FILE *f;

		for (;;) {
			free(tt_capture(t, false));
			got = tt_mask(t->last, t->prefix);
			if (prev && strcmp(prev, got) == 0)
				break;
			free(prev);
			prev = got;
			got = NULL;
			if (now_ms() > end)
				fail_msg("screen %s: it did not settle", name);
			pause_ms(250);
		}
		free(prev);
		f = fopen(path, "w");
		if (!f || fputs(got, f) < 0 || fclose(f) != 0)
			fail_msg("cannot write %s: %s", path, strerror(errno));
		printf("wrote %s\n", path);
		free(got);
		free(path);
		return;
	}
	want = sdtest_read_file(path);
	if (!want)
		fail_msg("no expected screen %s (make regen-screens writes it)", path);
	for (;;) {
		free(tt_capture(t, false));
		free(got);
		got = tt_mask(t->last, t->prefix);
		if (strcmp(want, got) == 0)
			break;
		if (now_ms() > end) {
			fprintf(stderr, "screen %s differs from %s (masked, %dx%d):\n%s\n", name,
				path, t->w, t->h, got);
			print_diff(want, got);
			fail_msg("screen %s is not as expected (after %d ms); if the change is "
				 "meant, make regen-screens",
				 name, timeout_ms);
		}
		pause_ms(50);
	}
	free(want);
	free(got);
	free(path);
}
