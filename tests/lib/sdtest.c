#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"

extern char **environ;

char *sdtest_mkdtemp(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *path;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (asprintf(&path, "%s/sdtest-%s-XXXXXX", tmp, tag) < 0)
		abort();
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void sdtest_rm_rf(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *sdtest_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		r = fread(buf + len, 1, cap - len - 1, f);
		len += r;
	} while (r > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

char *sdtest_fixture(const char *name)
{
	const char *dir = getenv("SNAPDECK_FIXTURES");
	char *path;

	if (!dir)
		dir = "tests/fixtures";
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	return path;
}

struct sink {
	int fd;
	char *buf;
	size_t len, cap;
};

static void sink_read(struct sink *s)
{
	char tmp[4096];
	ssize_t r = read(s->fd, tmp, sizeof(tmp));

	if (r <= 0) {
		close(s->fd);
		s->fd = -1;
		return;
	}
	if (s->len + (size_t)r + 1 > s->cap) {
		s->cap = (s->len + (size_t)r + 1) * 2;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf)
			abort();
	}
	memcpy(s->buf + s->len, tmp, (size_t)r);
	s->len += (size_t)r;
	s->buf[s->len] = '\0';
}

int sdtest_run(char *const argv[], char **out, char **err)
{
	int po[2], pe[2], status;
	posix_spawn_file_actions_t fa;
	pid_t pid;
	struct sink s[2];

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	memset(s, 0, sizeof(s));
	s[0].fd = po[0];
	s[1].fd = pe[0];
	while (s[0].fd >= 0 || s[1].fd >= 0) {
		struct pollfd p[2] = { { s[0].fd, POLLIN, 0 }, { s[1].fd, POLLIN, 0 } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++)
			if (s[i].fd >= 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				sink_read(&s[i]);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (out)
		*out = s[0].buf ? s[0].buf : strdup("");
	else
		free(s[0].buf);
	if (err)
		*err = s[1].buf ? s[1].buf : strdup("");
	else
		free(s[1].buf);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int sdtest_snapdeck(char **out, char **err, ...)
{
	char *argv[64];
	size_t n = 0;
	va_list ap;
	const char *bin = getenv("SNAPDECK_BIN");

	argv[n++] = (char *)(bin ? bin : "src/snapdeck");
	va_start(ap, err);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 63;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return sdtest_run(argv, out, err);
}

void sdtest_require_libvirtd(void)
{
	char *const argv[] = { "virsh", "-q", "-c", "qemu:///system", "uri", NULL };
	const char *ci = getenv("CI");

	if (sdtest_run(argv, NULL, NULL) == 0)
		return;
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "libvirtd does not answer on qemu:///system, and CI=true\n");
		exit(1);
	}
	fprintf(stderr, "libvirtd does not answer on qemu:///system: skipped\n");
	exit(SDTEST_SKIP);
}
