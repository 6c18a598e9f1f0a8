/* Running the image tools: posix_spawnp with an argv, stdout and stderr read
 * together with poll(), progress parsing, cancel. No global state: worker
 * threads call these at the same time. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "img/img-priv.h"
#include "img/img.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"

/* How long a cancelled child gets to end after SIGTERM before SIGKILL. */
#define CANCEL_GRACE_MS 5000
/* How often a cancellable run looks at the cancel flag. */
#define CANCEL_POLL_MS 50

static const char *tool_name(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	return slash ? slash + 1 : argv0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int decode_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 255;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Starts argv with stdin from /dev/null and stdout/stderr on new pipes whose
 * read ends it returns. Signals the child might inherit blocked or ignored
 * from our threads (the TUI ignores SIGPIPE) are reset to their defaults. */
static int spawn_start(const char *const argv[], pid_t *pid, int *outfd, int *errfd,
		       struct sd_err *err)
{
	static const int reset_sigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGHUP, SIGQUIT,
					 SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM};
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask, deflt;
	char ebuf[256];
	int rc;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		rc = errno;
		close_fd(&po[0]);
		close_fd(&po[1]);
		sd_err_set(err, SD_ERR_IO, _("cannot run %s: %s"), argv[0],
			   strerror_r(rc, ebuf, sizeof(ebuf)));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigemptyset(&deflt);
	for (size_t i = 0; i < SD_N_ELEMENTS(reset_sigs); i++)
		sigaddset(&deflt, reset_sigs[i]);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &deflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close_fd(&po[1]);
	close_fd(&pe[1]);
	if (rc != 0) {
		close_fd(&po[0]);
		close_fd(&pe[0]);
		sd_err_set(err, SD_ERR_IMG, _("cannot run %s: %s"), argv[0],
			   strerror_r(rc, ebuf, sizeof(ebuf)));
		return -1;
	}
	*outfd = po[0];
	*errfd = pe[0];
	return 0;
}

/* SIGTERM, a grace period, then SIGKILL; returns the decoded status. */
static int reap_cancelled(pid_t pid)
{
	int ws = 0;
	long waited = 0;

	kill(pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);

		if (r == pid)
			return decode_status(ws);
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= CANCEL_GRACE_MS)
			break;
		sleep_ms(10);
		waited += 10;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return -1;
	return decode_status(ws);
}

/* Waits for pid; with a cancel flag, keeps looking at it. Returns the
 * decoded status, or -2 when cancelled (*status then set by the reaping). */
static int wait_child(pid_t pid, volatile int *cancel, int *cstatus)
{
	int ws = 0;

	if (!cancel) {
		while (waitpid(pid, &ws, 0) < 0)
			if (errno != EINTR)
				return -1;
		return decode_status(ws);
	}
	for (;;) {
		pid_t r = waitpid(pid, &ws, WNOHANG);

		if (r == pid)
			return decode_status(ws);
		if (r < 0 && errno != EINTR)
			return -1;
		if (*cancel) {
			*cstatus = reap_cancelled(pid);
			return -2;
		}
		sleep_ms(5);
	}
}

/* The common run: out/errb collect the streams (out may be NULL: stdout is
 * read and dropped, or fed to progress when that is not NULL). */
static int spawn_run(const char *const argv[], struct sd_buf *out, struct sd_buf *errb,
		     struct img_progress_state *progress, volatile int *cancel, int *status,
		     struct sd_err *err)
{
	pid_t pid;
	struct pollfd pfd[2];
	char chunk[16384];
	bool cancelled = false;
	int st, cst = -1;

	if (status)
		*status = -1;
	if (!argv || !argv[0]) {
		sd_err_set(err, SD_ERR_INTERNAL, _("no program to run"));
		return -1;
	}
	if (cancel && *cancel) {
		sd_err_set(err, SD_ERR_IMG, _("%s: cancelled"), tool_name(argv[0]));
		return -1;
	}
	if (spawn_start(argv, &pid, &pfd[0].fd, &pfd[1].fd, err) < 0)
		return -1;
	pfd[0].events = pfd[1].events = POLLIN;
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if (cancel && *cancel) {
			cancelled = true;
			break;
		}
		if (poll(pfd, 2, cancel ? CANCEL_POLL_MS : -1) < 0) {
			if (errno == EINTR)
				continue;
			break; /* cannot happen with valid fds; the child gets EPIPE */
		}
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			r = read(pfd[i].fd, chunk, sizeof(chunk));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				close_fd(&pfd[i].fd);
				if (i == 0 && progress) /* a last line without its end */
					img_progress_parse("\n", 1, progress);
				continue;
			}
			if (i == 1)
				sd_buf_addn(errb, chunk, (size_t)r);
			else if (progress)
				img_progress_parse(chunk, (size_t)r, progress);
			else if (out)
				sd_buf_addn(out, chunk, (size_t)r);
		}
	}
	/* Closed before waiting, so that a child still writing gets EPIPE
	 * instead of blocking on a full pipe. */
	close_fd(&pfd[0].fd);
	close_fd(&pfd[1].fd);
	if (cancelled) {
		cst = reap_cancelled(pid);
		st = -2;
	} else {
		st = wait_child(pid, cancel, &cst);
	}
	if (st == -2) {
		if (status)
			*status = cst;
		sd_err_set(err, SD_ERR_IMG, _("%s: cancelled"), tool_name(argv[0]));
		return -1;
	}
	if (st < 0) {
		sd_err_set(err, SD_ERR_INTERNAL, _("cannot wait for %s: %s"), argv[0],
			   strerror_r(errno, chunk, sizeof(chunk)));
		return -1;
	}
	if (status)
		*status = st;
	return 0;
}

int img_spawn(const char *const argv[], char **out, char **errout, int *status, struct sd_err *err)
{
	struct sd_buf ob = SD_BUF_INIT, eb = SD_BUF_INIT;

	if (out)
		*out = NULL;
	if (errout)
		*errout = NULL;
	if (spawn_run(argv, out ? &ob : NULL, &eb, NULL, NULL, status, err) < 0) {
		sd_buf_free(&ob);
		sd_buf_free(&eb);
		return -1;
	}
	if (out)
		*out = sd_buf_steal(&ob);
	if (errout)
		*errout = sd_buf_steal(&eb);
	sd_buf_free(&eb);
	return 0;
}

int img_spawn_progress(const char *const argv[], void (*on_progress)(double fraction, void *opaque),
		       void *opaque, volatile int *cancel, char **errout, int *status,
		       struct sd_err *err)
{
	struct sd_buf eb = SD_BUF_INIT;
	struct img_progress_state st;

	if (errout)
		*errout = NULL;
	img_progress_init(&st, on_progress, opaque);
	if (spawn_run(argv, NULL, &eb, &st, cancel, status, err) < 0) {
		sd_buf_free(&eb);
		return -1;
	}
	if (errout)
		*errout = sd_buf_steal(&eb);
	sd_buf_free(&eb);
	return 0;
}

int img_run(const char *const argv[], char **out, struct sd_err *err)
{
	SD_AUTOFREE char *o = NULL;
	SD_AUTOFREE char *e = NULL;
	int status;

	if (out)
		*out = NULL;
	if (img_spawn(argv, &o, &e, &status, err) < 0)
		return -1;
	if (status != 0) {
		img_fail(err, tool_name(argv[0]), e, o, status);
		return -1;
	}
	if (out)
		*out = SD_STEAL(o);
	return 0;
}

/* The line of text that holds at, as img_first_line would give it. */
static char *line_at(const char *text, const char *at, const char *tool)
{
	const char *start = at, *end = at + strcspn(at, "\r\n");
	SD_AUTOFREE char *line = NULL;

	while (start > text && start[-1] != '\n' && start[-1] != '\r')
		start--;
	line = sd_strndup(start, (size_t)(end - start));
	return img_first_line(line, tool);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

char *img_first_line(const char *text, const char *tool)
{
	size_t tl = tool ? strlen(tool) : 0;

	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\r\n");
		const char *s = p;
		size_t m = n;

		while (m > 0 && is_space(s[0]))
			s++, m--;
		while (m > 0 && is_space(s[m - 1]))
			m--;
		if (tl && m > tl + 2 && strncmp(s, tool, tl) == 0 && s[tl] == ':' &&
		    s[tl + 1] == ' ') {
			s += tl + 2;
			m -= tl + 2;
		}
		if (m > 0)
			return sd_strndup(s, m);
		p += n;
		if (*p)
			p++;
	}
	return NULL;
}

void img_fail(struct sd_err *err, const char *tool, const char *errtext, const char *outtext,
	      int status)
{
	static const char nospace[] = "No space left on device";
	SD_AUTOFREE char *line = NULL;
	enum sd_err_code code = SD_ERR_IMG;
	const char *hit;

	if (errtext && (hit = strstr(errtext, nospace)) != NULL) {
		code = SD_ERR_NOSPACE;
		line = line_at(errtext, hit, tool);
	} else if (outtext && (hit = strstr(outtext, nospace)) != NULL) {
		code = SD_ERR_NOSPACE;
		line = line_at(outtext, hit, tool);
	}
	if (!line)
		line = img_first_line(errtext, tool);
	if (!line)
		line = img_first_line(outtext, tool);
	if (line)
		sd_err_set(err, code, _("%s failed: %s"), tool, line);
	else if (status > 128)
		sd_err_set(err, code, _("%s failed: killed by signal %d"), tool, status - 128);
	else
		sd_err_set(err, code, _("%s failed with exit status %d"), tool, status);
}

void img_progress_init(struct img_progress_state *st,
		       void (*on_progress)(double fraction, void *opaque), void *opaque)
{
	memset(st, 0, sizeof(*st));
	st->on_progress = on_progress;
	st->opaque = opaque;
	st->last = -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "    (12.34/100%)" -> 1234; false for anything else. Hand-made rather than
 * strtod, which would follow LC_NUMERIC (qemu-img always prints a '.'). */
static bool progress_value(const char *s, size_t len, int *value)
{
	static const char tail[] = "/100%)";
	size_t i = 0, digits = 0, fdigits = 0;
	int whole = 0, frac = 0;

	while (i < len && is_space(s[i]))
		i++;
	if (i >= len || s[i++] != '(')
		return false;
	for (; i < len && is_digit(s[i]); i++) {
		if (++digits > 3)
			return false;
		whole = whole * 10 + (s[i] - '0');
	}
	if (digits == 0)
		return false;
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++)
			if (++fdigits <= 2)
				frac = frac * 10 + (s[i] - '0');
		if (fdigits == 0)
			return false;
		if (fdigits == 1)
			frac *= 10;
	}
	if (len - i < sizeof(tail) - 1 || memcmp(s + i, tail, sizeof(tail) - 1) != 0)
		return false;
	for (i += sizeof(tail) - 1; i < len && is_space(s[i]); i++)
		;
	if (i != len)
		return false;
	*value = whole * 100 + frac;
	if (*value > 10000)
		*value = 10000;
	return true;
}

size_t img_progress_parse(const char *chunk, size_t len, struct img_progress_state *st)
{
	size_t calls = 0;

	for (size_t i = 0; i < len; i++) {
		char c = chunk[i];
		int v;

		if (c != '\r' && c != '\n') {
			if (st->len < sizeof(st->line))
				st->line[st->len++] = c;
			else
				st->overflow = true;
			continue;
		}
		if (!st->overflow && progress_value(st->line, st->len, &v) && v != st->last) {
			st->last = v;
			calls++;
			if (st->on_progress)
				st->on_progress(v / 10000.0, st->opaque);
		}
		st->len = 0;
		st->overflow = false;
	}
	return calls;
}
