#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img/img.h"
#include "tests/lib/sdtest.h"
#include "util/auto.h"
#include "util/mem.h"
#include "util/time.h"

#define KiB 1024ULL
#define MiB (1024ULL * 1024ULL)

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static struct img_chain *parse_fixture(const char *name, struct sd_err *err)
{
	SD_AUTOFREE char *path = sdtest_fixture(name);
	SD_AUTOFREE char *json = sdtest_read_file(path);

	if (!json)
		fail_msg("cannot read fixture %s", path);
	return img_chain_parse(json, err);
}

/* --- qemu-img info JSON, from fixtures saved from qemu-img 7.2 --- */

static void test_parse_chain3(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(img_chain) *c = parse_fixture("qemu-img-info-chain3.json", &err);
	const struct img_layer *l;

	assert_non_null(c);
	assert_false(sd_err_is_set(&err));
	assert_int_equal(c->n, 3);
	l = &c->layers[0];
	assert_string_equal(l->filename, "/tmp/sdfix/top.qcow2");
	assert_string_equal(l->format, "qcow2");
	assert_int_equal(l->virtual_size, 64 * MiB);
	assert_int_equal(l->actual_size, 200704);
	assert_int_equal(l->cluster_size, 65536);
	assert_string_equal(l->backing_filename, "/tmp/sdfix/mid.qcow2");
	assert_string_equal(l->backing_format, "qcow2");
	assert_string_equal(l->compat, "1.1");
	assert_false(l->dirty);
	l = &c->layers[1];
	assert_string_equal(l->filename, "/tmp/sdfix/mid.qcow2");
	assert_int_equal(l->actual_size, 790528);
	assert_string_equal(l->backing_filename, "/tmp/sdfix/base.qcow2");
	assert_string_equal(l->backing_format, "qcow2");
	l = &c->layers[2];
	assert_string_equal(l->filename, "/tmp/sdfix/base.qcow2");
	assert_int_equal(l->virtual_size, 64 * MiB);
	assert_int_equal(l->actual_size, 1314816);
	assert_null(l->backing_filename);
	assert_null(l->backing_format);
	assert_string_equal(l->compat, "1.1");
}

static void test_parse_single_objects(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTO(img_chain) *single = parse_fixture("qemu-img-info-single.json", &err);
	SD_AUTO(img_chain) *raw = parse_fixture("qemu-img-info-raw.json", &err);
	SD_AUTO(img_chain) *dirty = parse_fixture("qemu-img-info-dirty.json", &err);
	SD_AUTO(img_chain) *old = parse_fixture("qemu-img-info-compat010.json", &err);
	SD_AUTO(img_chain) *rel = parse_fixture("qemu-img-info-relative.json", &err);
	SD_AUTO(img_chain) *fallback = img_chain_parse(
	    "{\"filename\": \"a.qcow2\", \"format\": \"qcow2\", \"virtual-size\": 1048576,"
	    " \"backing-filename\": \"b.qcow2\", \"future-field\": [1, {}]}",
	    &err);

	assert_false(sd_err_is_set(&err));
	assert_non_null(single);
	assert_int_equal(single->n, 1);
	assert_string_equal(single->layers[0].filename, "/tmp/sdfix/mid.qcow2");
	assert_string_equal(single->layers[0].backing_filename, "/tmp/sdfix/base.qcow2");

	assert_non_null(raw);
	assert_int_equal(raw->n, 1);
	assert_string_equal(raw->layers[0].format, "raw");
	assert_int_equal(raw->layers[0].virtual_size, 32 * MiB);
	assert_int_equal(raw->layers[0].actual_size, 4096);
	assert_int_equal(raw->layers[0].cluster_size, 0);
	assert_null(raw->layers[0].backing_filename);
	assert_null(raw->layers[0].compat);
	assert_false(raw->layers[0].dirty);

	/* A crash (qemu-io "abort") with lazy refcounts leaves the dirty flag. */
	assert_non_null(dirty);
	assert_true(dirty->layers[0].dirty);

	assert_non_null(old);
	assert_string_equal(old->layers[0].compat, "0.10");

	/* full-backing-filename wins over the name stored in the image. */
	assert_non_null(rel);
	assert_string_equal(rel->layers[0].backing_filename, "/tmp/sdfix/base.qcow2");

	assert_non_null(fallback);
	assert_string_equal(fallback->layers[0].backing_filename, "b.qcow2");
	assert_null(fallback->layers[0].backing_format);
	assert_int_equal(fallback->layers[0].actual_size, 0);
}

static void test_parse_rejects(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} bad[] = {
	    {"", "invalid JSON"},
	    {"not json", "invalid JSON"},
	    {"{\"filename\": ", "invalid JSON"},
	    {"{} {}", "invalid JSON"},
	    {"{\"filename\": \"a\", \"filename\": \"b\", \"format\": \"raw\", \"virtual-size\": 1}",
	     "invalid JSON"},
	    {"42", "neither an object nor an array"},
	    {"null", "neither an object nor an array"},
	    {"\"x\"", "neither an object nor an array"},
	    {"[]", "no layer"},
	    {"[1]", "layer 0 is not an object"},
	    {"{\"format\": \"qcow2\", \"virtual-size\": 1}", "layer 0 has no \"filename\""},
	    {"{\"filename\": \"a\", \"virtual-size\": 1}", "layer 0 has no \"format\""},
	    {"{\"filename\": \"a\", \"format\": \"raw\"}", "layer 0 has no \"virtual-size\""},
	    {"[{\"filename\": \"a\", \"format\": \"raw\", \"virtual-size\": 1},"
	     " {\"filename\": \"b\", \"format\": \"raw\"}]",
	     "layer 1 has no \"virtual-size\""},
	    {"{\"filename\": \"a\", \"format\": \"raw\", \"virtual-size\": \"1\"}",
	     "\"virtual-size\" of layer 0 is not a byte count"},
	    {"{\"filename\": \"a\", \"format\": \"raw\", \"virtual-size\": -1}",
	     "\"virtual-size\" of layer 0 is not a byte count"},
	    {"{\"filename\": \"a\", \"format\": \"raw\", \"virtual-size\": 1.5}",
	     "\"virtual-size\" of layer 0 is not a byte count"},
	    {"{\"filename\": 7, \"format\": \"raw\", \"virtual-size\": 1}",
	     "\"filename\" of layer 0 is not a string"},
	    {"{\"filename\": \"a\", \"format\": \"raw\", \"virtual-size\": 1,"
	     " \"full-backing-filename\": false}",
	     "\"full-backing-filename\" of layer 0 is not a string"},
	    {"{\"filename\": \"a\", \"format\": \"raw\", \"virtual-size\": 1, \"dirty-flag\": 1}",
	     "\"dirty-flag\" of layer 0 is not a boolean"},
	};

	for (size_t i = 0; i < SD_N_ELEMENTS(bad); i++) {
		struct sd_err err = SD_ERR_INIT;
		struct img_chain *c = img_chain_parse(bad[i].json, &err);

		if (c || err.code != SD_ERR_INVALID || !strstr(err.msg, bad[i].msg))
			fail_msg("input %zu '%s': got code %d, message '%s'", i, bad[i].json,
				 err.code, err.msg);
	}
	{
		struct sd_err err = SD_ERR_INIT;

		assert_null(img_chain_parse(NULL, &err));
		assert_int_equal(err.code, SD_ERR_INVALID);
	}
	img_chain_free(NULL);
}

/* --- progress parsing --- */

struct rec {
	double v[256];
	size_t n;
	volatile int *cancel; /* set at the first report when not NULL */
	int64_t first_ms;
};

static void rec_cb(double fraction, void *opaque)
{
	struct rec *r = opaque;

	if (r->n == 0)
		r->first_ms = sd_mono_ms();
	if (r->n < SD_N_ELEMENTS(r->v))
		r->v[r->n++] = fraction;
	if (r->cancel)
		*r->cancel = 1;
}

static void test_progress_parse_chunks(void **state)
{
	struct img_progress_state st;
	struct rec r = {0};

	img_progress_init(&st, rec_cb, &r);
	/* a line cut in the middle across two reads */
	assert_int_equal(img_progress_parse("    (0.00/100%)\r    (12.3", 25, &st), 1);
	assert_int_equal(r.n, 1);
	assert_float_equal(r.v[0], 0.0, 1e-9);
	/* repeated values are reported once */
	const char *b = "4/100%)\r    (12.34/100%)\r    (12.34/100%)\r    (50.00/1";
	assert_int_equal(img_progress_parse(b, strlen(b), &st), 1);
	assert_int_equal(r.n, 2);
	assert_float_equal(r.v[1], 0.1234, 1e-6);
	/* a jump, then the end: the last line twice and a final newline */
	const char *c = "00%)\r    (100.00/100%)\r    (100.00/100%)\r\n";
	assert_int_equal(img_progress_parse(c, strlen(c), &st), 2);
	assert_int_equal(r.n, 4);
	assert_float_equal(r.v[2], 0.5, 1e-9);
	assert_float_equal(r.v[3], 1.0, 1e-9);
	/* nothing pending after the final newline */
	assert_int_equal(img_progress_parse("\n", 1, &st), 0);
}

static void test_progress_parse_odd_lines(void **state)
{
	struct img_progress_state st;
	struct rec r = {0};
	char longline[200];

	img_progress_init(&st, rec_cb, &r);
	const char *junk = "garbage\r(12.34/99%)\r(abc/100%)\r(1.2.3/100%)\r( 5/100%)\r"
			   "(1234.00/100%)\r    (3.00/100%) x\r(./100%)\r\r\n";
	assert_int_equal(img_progress_parse(junk, strlen(junk), &st), 0);
	/* an over-long line is dropped whole, even if it ends like progress */
	memset(longline, 'x', sizeof(longline));
	assert_int_equal(img_progress_parse(longline, sizeof(longline), &st), 0);
	assert_int_equal(img_progress_parse("    (5.00/100%)\r", 16, &st), 0);
	const char *odd = "(7.5/100%)\r(8/100%)\r  (150.00/100%)  \r(40.00/100%)";
	assert_int_equal(img_progress_parse(odd, strlen(odd), &st), 3);
	assert_int_equal(r.n, 3);
	assert_float_equal(r.v[0], 0.075, 1e-6);
	assert_float_equal(r.v[1], 0.08, 1e-6);
	assert_float_equal(r.v[2], 1.0, 1e-9); /* clamped */
	/* the unterminated last line counts once its end comes */
	assert_int_equal(img_progress_parse("\n", 1, &st), 1);
	assert_float_equal(r.v[3], 0.4, 1e-6);
	/* no callback is fine */
	img_progress_init(&st, NULL, NULL);
	assert_int_equal(img_progress_parse("(1.00/100%)\r", 12, &st), 1);
}

/* The real output of `qemu-img convert -p` fed in chunks of many sizes gives
 * the same reports every time. */
static void test_progress_parse_real_output(void **state)
{
	SD_AUTOFREE char *path = sdtest_fixture("qemu-img-convert-progress.txt");
	SD_AUTOFREE char *text = sdtest_read_file(path);
	static const size_t sizes[] = {1, 2, 3, 7, 13, 16, 17, 64, 4096};
	struct rec whole = {0};
	struct img_progress_state st;
	size_t len;

	assert_non_null(text);
	len = strlen(text);
	img_progress_init(&st, rec_cb, &whole);
	img_progress_parse(text, len, &st);
	assert_true(whole.n >= 10);
	assert_float_equal(whole.v[0], 0.0, 1e-9);
	assert_float_equal(whole.v[whole.n - 1], 1.0, 1e-9);
	for (size_t i = 1; i < whole.n; i++)
		assert_true(whole.v[i] > whole.v[i - 1]);
	for (size_t s = 0; s < SD_N_ELEMENTS(sizes); s++) {
		struct rec r = {0};

		img_progress_init(&st, rec_cb, &r);
		for (size_t off = 0; off < len; off += sizes[s])
			img_progress_parse(text + off, len - off < sizes[s] ? len - off : sizes[s],
					   &st);
		assert_int_equal(r.n, whole.n);
		assert_memory_equal(r.v, whole.v, whole.n * sizeof(double));
	}
}

static void test_path_arg(void **state)
{
	static const char *const cases[][2] = {
	    {"/var/lib/libvirt/images/a.qcow2", "/var/lib/libvirt/images/a.qcow2"},
	    {"/abs/nbd:x", "/abs/nbd:x"},
	    {"a.qcow2", "a.qcow2"},
	    {"dir/x:y.qcow2", "dir/x:y.qcow2"},
	    {"-x.qcow2", "./-x.qcow2"},
	    {"--help", "./--help"},
	    {"nbd:localhost:10809", "./nbd:localhost:10809"},
	    {"json:{\"driver\":\"null-co\"}", "./json:{\"driver\":\"null-co\"}"},
	    {"./-x", "./-x"},
	};

	for (size_t i = 0; i < SD_N_ELEMENTS(cases); i++) {
		SD_AUTOFREE char *got = img_path_arg(cases[i][0]);

		assert_string_equal(got, cases[i][1]);
	}
	assert_null(img_path_arg(NULL));
}

/* --- spawning --- */

static void test_spawn_basics(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	char *out = NULL, *errout = NULL;
	int status = -7;

	const char *const a1[] = {"sh", "-c", "printf out; printf err >&2; exit 3", NULL};
	assert_int_equal(img_spawn(a1, &out, &errout, &status, &err), 0);
	assert_int_equal(status, 3);
	assert_string_equal(out, "out");
	assert_string_equal(errout, "err");
	free(out);
	free(errout);

	/* stdin is /dev/null: cat ends at once */
	const char *const a2[] = {"sh", "-c", "readlink /proc/self/fd/0; cat", NULL};
	assert_int_equal(img_spawn(a2, &out, NULL, &status, &err), 0);
	assert_int_equal(status, 0);
	assert_string_equal(out, "/dev/null\n");
	free(out);

	/* killed by a signal: 128 + signal */
	const char *const a3[] = {"sh", "-c", "kill -TERM $$", NULL};
	assert_int_equal(img_spawn(a3, NULL, NULL, &status, &err), 0);
	assert_int_equal(status, 128 + SIGTERM);

	/* arguments reach the program literally */
	const char *const a4[] = {"printf", "%s|", "a b", "$(x)", "`y`", ";z", "*", NULL};
	assert_int_equal(img_spawn(a4, &out, NULL, &status, &err), 0);
	assert_string_equal(out, "a b|$(x)|`y`|;z|*|");
	free(out);
	assert_false(sd_err_is_set(&err));
}

/* 1 MiB on stderr before 1 MiB on stdout: a reader that drained stdout first
 * would wait forever on a child blocked on a full stderr pipe. */
static void test_spawn_chatty_stderr(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *out = NULL;
	SD_AUTOFREE char *errout = NULL;
	int status;
	const char *const argv[] = {"sh", "-c",
				    "head -c 1048576 /dev/zero | tr '\\000' e >&2;"
				    "head -c 1048576 /dev/zero | tr '\\000' o; echo end >&2",
				    NULL};

	assert_int_equal(img_spawn(argv, &out, &errout, &status, &err), 0);
	assert_int_equal(status, 0);
	assert_int_equal(strlen(out), MiB);
	assert_int_equal(strlen(errout), MiB + 4);
	assert_true(out[0] == 'o' && out[MiB - 1] == 'o');
	assert_string_equal(errout + MiB, "end\n");
	/* and with nobody keeping the output */
	assert_int_equal(img_spawn(argv, NULL, NULL, &status, &err), 0);
	assert_int_equal(status, 0);
}

static void test_spawn_missing_program(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	char *out = (char *)"x", *errout = (char *)"x";
	int status;
	const char *const argv[] = {"snapdeck-no-such-program", "--help", NULL};

	assert_int_equal(img_spawn(argv, &out, &errout, &status, &err), -1);
	assert_null(out);
	assert_null(errout);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_string_equal(err.msg,
			    "cannot run snapdeck-no-such-program: No such file or directory");
	sd_err_clear(&err);
	assert_int_equal(img_run(argv, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	sd_err_clear(&err);
	assert_int_equal(img_spawn_progress(argv, NULL, NULL, NULL, &errout, &status, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
}

struct spawner {
	int id;
	int bad;
	int64_t slowest_ms;
};

static void *spawner_main(void *opaque)
{
	struct spawner *s = opaque;

	for (int i = 0; i < 25; i++) {
		struct sd_err err = SD_ERR_INIT;
		char word[32], want[40];
		char *out = NULL;
		int status;
		int64_t t0 = sd_mono_ms();

		snprintf(word, sizeof(word), "t%d-%d", s->id, i);
		snprintf(want, sizeof(want), "%s\n", word);
		const char *const argv[] = {"sh", "-c", "echo \"$1\"", "sh", word, NULL};
		if (img_spawn(argv, &out, NULL, &status, &err) < 0 || status != 0 ||
		    strcmp(out, want) != 0)
			s->bad++;
		if (sd_mono_ms() - t0 > s->slowest_ms)
			s->slowest_ms = sd_mono_ms() - t0;
		free(out);
	}
	return NULL;
}

static void *sleeper_main(void *opaque)
{
	for (int i = 0; i < 3; i++) {
		const char *const argv[] = {"sleep", "1", NULL};
		int status;

		img_spawn(argv, NULL, NULL, &status, NULL);
	}
	return NULL;
}

/* Spawns from several threads at once. Long children started meanwhile must
 * not inherit (and hold open) the pipes of the others: a quick spawn never
 * waits for a sleeper. */
static void test_spawn_threads(void **state)
{
	struct spawner s[4];
	pthread_t t[4], sleeper;

	assert_int_equal(pthread_create(&sleeper, NULL, sleeper_main, NULL), 0);
	for (int i = 0; i < 4; i++) {
		s[i] = (struct spawner){.id = i};
		assert_int_equal(pthread_create(&t[i], NULL, spawner_main, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(s[i].bad, 0);
		assert_true(s[i].slowest_ms < 900);
	}
	assert_int_equal(pthread_join(sleeper, NULL), 0);
}

static void test_run_errors(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *out = NULL;

	const char *const ok[] = {"qemu-img", "--version", NULL};
	assert_int_equal(img_run(ok, &out, &err), 0);
	assert_true(strncmp(out, "qemu-img version ", 17) == 0);

	/* the tool's own message, on one line, without its "qemu-img: " */
	const char *const info[] = {"qemu-img", "info", "--", "/nonexistent/dir/x.qcow2", NULL};
	assert_int_equal(img_run(info, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_string_equal(err.msg, "qemu-img failed: Could not open '/nonexistent/dir/x.qcow2': "
				     "Could not open '/nonexistent/dir/x.qcow2': "
				     "No such file or directory");

	sd_err_clear(&err);
	const char *const full[] = {"sh", "-c",
				    "echo; echo 'qemu-img: starting' >&2;"
				    "echo 'qemu-img: error while writing at byte 0: "
				    "No space left on device' >&2; exit 1",
				    NULL};
	assert_int_equal(img_run(full, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_NOSPACE);
	assert_string_equal(err.msg, "sh failed: qemu-img: error while writing at byte 0: No "
				     "space left on device");

	/* qemu-io reports failed commands on stdout */
	sd_err_clear(&err);
	const char *const io[] = {"sh", "-c",
				  "echo; echo '  write failed: Input/output error'; exit 1", NULL};
	assert_int_equal(img_run(io, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_string_equal(err.msg, "sh failed: write failed: Input/output error");

	sd_err_clear(&err);
	const char *const quiet[] = {"sh", "-c", "exit 4", NULL};
	assert_int_equal(img_run(quiet, NULL, &err), -1);
	assert_string_equal(err.msg, "sh failed with exit status 4");

	sd_err_clear(&err);
	const char *const killed[] = {"sh", "-c", "echo >&2; kill -KILL $$", NULL};
	assert_int_equal(img_run(killed, NULL, &err), -1);
	assert_string_equal(err.msg, "sh failed: killed by signal 9");
}

/* --- live: real qemu-img and qemu-io on images in a temporary folder --- */

static void test_live_create_info(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *dir = sdtest_mkdtemp("img");
	SD_AUTOFREE char *base = sd_asprintf("%s/base.qcow2", dir);
	SD_AUTOFREE char *top = sd_asprintf("%s/top.qcow2", dir);
	SD_AUTOFREE char *raw = sd_asprintf("%s/disk.raw", dir);
	SD_AUTOFREE char *nodir = sd_asprintf("%s/missing/x.qcow2", dir);

	assert_int_equal(img_create(base, "qcow2", 4 * MiB, NULL, NULL, &err), 0);
	assert_int_equal(img_create(top, "qcow2", 0, base, "qcow2", &err), 0);
	assert_int_equal(img_create(raw, "raw", MiB, NULL, NULL, &err), 0);
	assert_false(sd_err_is_set(&err));
	{
		SD_AUTO(img_chain) *c = img_info_chain(top, false, &err);

		assert_non_null(c);
		assert_int_equal(c->n, 2);
		assert_string_equal(c->layers[0].filename, top);
		assert_string_equal(c->layers[0].format, "qcow2");
		assert_string_equal(c->layers[0].backing_filename, base);
		assert_string_equal(c->layers[0].backing_format, "qcow2");
		assert_int_equal(c->layers[0].virtual_size, 4 * MiB); /* size from the base */
		assert_string_equal(c->layers[0].compat, "1.1");
		assert_string_equal(c->layers[1].filename, base);
		assert_null(c->layers[1].backing_filename);
		assert_string_equal(c->layers[1].compat, "1.1");
		assert_int_equal(c->layers[1].cluster_size, 65536);
		assert_false(c->layers[0].dirty || c->layers[1].dirty);
	}
	{
		SD_AUTO(img_chain) *c = img_info_chain(top, true, &err);

		assert_non_null(c);
		assert_int_equal(c->n, 2);
	}
	{
		SD_AUTO(img_chain) *c = img_info_chain(raw, false, &err);

		assert_non_null(c);
		assert_int_equal(c->n, 1);
		assert_string_equal(c->layers[0].format, "raw");
		assert_int_equal(c->layers[0].virtual_size, MiB);
		assert_null(c->layers[0].compat);
	}
	assert_int_equal(img_check(base, "qcow2", &err), 0);
	assert_int_equal(img_check(top, "qcow2", &err), 0);
	assert_int_equal(img_check(raw, "raw", &err), 0); /* nothing to check */
	assert_false(sd_err_is_set(&err));

	/* refused before anything runs */
	assert_int_equal(img_create(nodir, "qcow2", 0, base, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	assert_int_equal(img_create(nodir, "qcow2 -o x", MiB, NULL, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	assert_int_equal(img_create("", "qcow2", MiB, NULL, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	/* failures of the tool */
	assert_int_equal(img_create(nodir, "qcow2", MiB, NULL, NULL, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_true(strncmp(err.msg, "qemu-img failed: ", 17) == 0);
	assert_non_null(strstr(err.msg, "missing/x.qcow2"));
	sd_err_clear(&err);
	assert_null(img_info_chain(nodir, false, &err));
	assert_int_equal(err.code, SD_ERR_IMG);
	sd_err_clear(&err);
	assert_int_equal(img_check(nodir, "qcow2", &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	sdtest_rm_rf(dir);
}

struct region {
	uint64_t off, len;
	int pattern; /* -1: zeros */
};

static void expect_regions(const char *path, const struct region *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sd_err err = SD_ERR_INIT;
		int got = img_read_pattern(path, "qcow2", r[i].pattern, r[i].off, r[i].len, &err);

		if (got != 1)
			fail_msg("%s: [%llu, +%llu) is not %d: %d (%s)", path,
				 (unsigned long long)r[i].off, (unsigned long long)r[i].len,
				 r[i].pattern, got, err.msg);
	}
}

static void test_live_patterns(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *dir = sdtest_mkdtemp("img");
	SD_AUTOFREE char *base = sd_asprintf("%s/base.qcow2", dir);
	SD_AUTOFREE char *top = sd_asprintf("%s/top.qcow2", dir);
	SD_AUTOFREE char *missing = sd_asprintf("%s/missing.qcow2", dir);
	const uint64_t part = 64 * KiB + 512; /* inside the second cluster */
	const struct region through_top[] = {
	    {0, 64 * KiB, 0xaa},
	    {64 * KiB, 512, 0xaa},
	    {part, 4 * KiB, 0xcc},
	    {part + 4 * KiB, 128 * KiB - part - 4 * KiB, 0xaa},
	    {128 * KiB, MiB - 128 * KiB, 0xaa},
	    {MiB, 64 * KiB, -1},
	    {MiB + 64 * KiB, MiB - 64 * KiB, 0xbb},
	    {2 * MiB, MiB, -1},
	    {3 * MiB, 64 * KiB, 0xdd},
	    {3 * MiB + 64 * KiB, MiB - 64 * KiB, -1},
	};
	const struct region in_base[] = {
	    {0, MiB, 0xaa},
	    {MiB, MiB, 0xbb},
	    {2 * MiB, 2 * MiB, -1},
	};

	assert_int_equal(img_create(base, "qcow2", 4 * MiB, NULL, NULL, &err), 0);
	assert_int_equal(img_write_pattern(base, "qcow2", 0xaa, 0, MiB, &err), 0);
	assert_int_equal(img_write_pattern(base, "qcow2", 0xbb, MiB, MiB, &err), 0);
	assert_int_equal(img_create(top, "qcow2", 0, base, "qcow2", &err), 0);
	assert_int_equal(img_write_pattern(top, "qcow2", 0xcc, part, 4 * KiB, &err), 0);
	assert_int_equal(img_write_pattern(top, "qcow2", -1, MiB, 64 * KiB, &err), 0);
	assert_int_equal(img_write_pattern(top, "qcow2", 0xdd, 3 * MiB, 64 * KiB, &err), 0);
	assert_false(sd_err_is_set(&err));

	expect_regions(top, through_top, SD_N_ELEMENTS(through_top));
	expect_regions(base, in_base, SD_N_ELEMENTS(in_base));

	/* wrong patterns read as mismatches (0), not as errors */
	assert_int_equal(img_read_pattern(top, "qcow2", 0xbb, 0, 64 * KiB, &err), 0);
	assert_int_equal(img_read_pattern(top, "qcow2", 0xbb, MiB, 64 * KiB, &err), 0);
	assert_int_equal(img_read_pattern(top, "qcow2", 0xaa, part, 4 * KiB, &err), 0);
	assert_int_equal(img_read_pattern(top, "qcow2", -1, 3 * MiB, 4 * KiB, &err), 0);
	assert_int_equal(img_read_pattern(top, "qcow2", 0xaa, 0, MiB + 512, &err), 0);
	assert_false(sd_err_is_set(&err));

	assert_int_equal(img_check(base, "qcow2", &err), 0);
	assert_int_equal(img_check(top, "qcow2", &err), 0);
	assert_false(sd_err_is_set(&err));

	/* errors are -1, never a mismatch */
	assert_int_equal(img_read_pattern(missing, "qcow2", 0xaa, 0, 512, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	sd_err_clear(&err);
	assert_int_equal(img_read_pattern(top, "qcow2", 0xaa, 4 * MiB, 4 * KiB, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_string_equal(err.msg, "qemu-io failed: read failed: Input/output error");
	sd_err_clear(&err);
	assert_int_equal(img_read_pattern(top, "raw", 0xaa, 0, 4 * KiB, &err), 0); /* header */
	assert_int_equal(img_write_pattern(top, "qcow2", 0xee, 4 * MiB, 4 * KiB, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_string_equal(err.msg, "qemu-io failed: write failed: Input/output error");
	sd_err_clear(&err);
	assert_int_equal(img_write_pattern(top, "qcow2", 256, 0, 512, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	assert_int_equal(img_read_pattern(top, "qcow2", 0x100, 0, 512, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sdtest_rm_rf(dir);
}

/* A crash with lazy refcounts leaves an image that check finds broken. */
static void test_live_check_corrupt(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *dir = sdtest_mkdtemp("img");
	SD_AUTOFREE char *img = sd_asprintf("%s/crashed.qcow2", dir);
	char *const create[] = {
	    "qemu-img", "create", "-q", "-f", "qcow2", "-o", "compat=1.1,lazy_refcounts=on",
	    img,	"1M",	  NULL};
	char *const crash[] = {"qemu-io", "-f",	   "qcow2", "-c", "write -P 1 0 64k",
			       "-c",	  "abort", img,	    NULL};

	assert_int_equal(sdtest_run(create, NULL, NULL), 0);
	assert_int_equal(sdtest_run(crash, NULL, NULL), 128 + SIGABRT);
	{
		SD_AUTO(img_chain) *c = img_info_chain(img, false, &err);

		assert_non_null(c);
		assert_true(c->layers[0].dirty);
	}
	assert_int_equal(img_check(img, "qcow2", &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	if (!strstr(err.msg, "is corrupted"))
		fail_msg("unexpected: %s", err.msg);
	assert_non_null(strstr(err.msg, "(ERROR cluster "));
	sdtest_rm_rf(dir);
}

/* Chain surgery: base, mid and top each with their own pattern, a zero write
 * over older data and a partial-cluster write. */
static void test_live_chain_ops(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *dir = sdtest_mkdtemp("img");
	SD_AUTOFREE char *base = sd_asprintf("%s/base.qcow2", dir);
	SD_AUTOFREE char *mid = sd_asprintf("%s/mid it's \"ü\" & co.qcow2", dir);
	SD_AUTOFREE char *top = sd_asprintf("%s/top.qcow2", dir);
	SD_AUTOFREE char *empty = sd_asprintf("%s/empty.qcow2", dir);
	SD_AUTOFREE char *view = sd_asprintf("%s/view.qcow2", dir);
	SD_AUTOFREE char *view_raw = sd_asprintf("%s/view.raw", dir);
	SD_AUTOFREE char *safe = sd_asprintf("%s/safe.qcow2", dir);
	SD_AUTOFREE char *unsafe = sd_asprintf("%s/unsafe.qcow2", dir);
	SD_AUTOFREE char *alone = sd_asprintf("%s/alone.qcow2", dir);
	SD_AUTOFREE char *raw = sd_asprintf("%s/plain.raw", dir);
	SD_AUTOFREE char *missing = sd_asprintf("%s/missing.qcow2", dir);
	const uint64_t part = MiB + 512; /* inside a cluster mid wrote */
	/* what top shows */
	const struct region through_top[] = {
	    {0, 512 * KiB, 0xa1},
	    /* zeros over base's data */
	    {512 * KiB, 64 * KiB, -1},
	    {576 * KiB, 448 * KiB, 0xa1},
	    {MiB, 512, 0xb2},
	    {part, 4 * KiB, 0xd4},
	    {part + 4 * KiB, MiB - 512 - 4 * KiB, 0xb2},
	    {2 * MiB, MiB, 0xc3},
	    {3 * MiB, MiB, -1},
	};
	/* what top shows without mid */
	const struct region top_on_base[] = {
	    {0, 512 * KiB, 0xa1},
	    {512 * KiB, 64 * KiB, -1},
	    {576 * KiB, 448 * KiB, 0xa1},
	    /* the cluster of the partial write was copied up from mid */
	    {MiB, 512, 0xb2},
	    {part, 4 * KiB, 0xd4},
	    {part + 4 * KiB, 64 * KiB - 512 - 4 * KiB, 0xb2},
	    {MiB + 64 * KiB, MiB - 64 * KiB, 0xa1}, /* mid's 0xb2 is gone */
	    {2 * MiB, MiB, 0xc3},
	    {3 * MiB, MiB, -1},
	};
	uint64_t bytes = 1, top_bytes = 0;

	assert_int_equal(img_create(base, "qcow2", 4 * MiB, NULL, NULL, &err), 0);
	assert_int_equal(img_write_pattern(base, "qcow2", 0xa1, 0, 3 * MiB, &err), 0);
	assert_int_equal(img_create(mid, "qcow2", 0, base, "qcow2", &err), 0);
	assert_int_equal(img_write_pattern(mid, "qcow2", 0xb2, MiB, MiB, &err), 0);
	assert_int_equal(img_create(top, "qcow2", 0, mid, "qcow2", &err), 0);
	assert_int_equal(img_write_pattern(top, "qcow2", 0xc3, 2 * MiB, MiB, &err), 0);
	assert_int_equal(img_write_pattern(top, "qcow2", -1, 512 * KiB, 64 * KiB, &err), 0);
	assert_int_equal(img_write_pattern(top, "qcow2", 0xd4, part, 4 * KiB, &err), 0);
	assert_int_equal(img_create(empty, "qcow2", 0, top, "qcow2", &err), 0);
	assert_int_equal(img_create(raw, "raw", MiB, NULL, NULL, &err), 0);
	assert_false(sd_err_is_set(&err));
	expect_regions(top, through_top, SD_N_ELEMENTS(through_top));
	expect_regions(empty, through_top, SD_N_ELEMENTS(through_top));

	/* --- what each layer itself holds --- */
	assert_int_equal(img_allocated_top(empty, "qcow2", &bytes, &err), 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(img_allocated_top(mid, "qcow2", &bytes, &err), 0);
	assert_int_equal(bytes, MiB); /* not base's 3 MiB */
	assert_int_equal(img_allocated_top(top, "qcow2", &top_bytes, &err), 0);
	/* 1 MiB of data, a zeroed cluster and the partly written one */
	assert_int_equal(top_bytes, MiB + 2 * 64 * KiB);
	assert_int_equal(img_allocated_top(base, "qcow2", &bytes, &err), 0);
	assert_int_equal(bytes, 3 * MiB);
	assert_int_equal(img_allocated_top(raw, "raw", &bytes, &err), 0);
	assert_int_equal(bytes, MiB); /* a raw file holds all of itself */
	assert_false(sd_err_is_set(&err));
	assert_int_equal(img_allocated_top(missing, "qcow2", &bytes, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	sd_err_clear(&err);
	assert_int_equal(img_allocated_top(top, "qcow2 -U", &bytes, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);

	/* --- compare: the guest's view, whatever the format --- */
	{
		char *const to_qcow2[] = {"qemu-img", "convert", "-f", "qcow2", "-O",
					  "qcow2",    top,	 view, NULL};
		char *const to_raw[] = {"qemu-img", "convert", "-f",	 "qcow2", "-O",
					"raw",	    top,       view_raw, NULL};

		assert_int_equal(sdtest_run(to_qcow2, NULL, NULL), 0);
		assert_int_equal(sdtest_run(to_raw, NULL, NULL), 0);
	}
	assert_int_equal(img_compare(top, "qcow2", view, "qcow2", &err), 1);
	assert_int_equal(img_compare(empty, "qcow2", view_raw, "raw", &err), 1);
	assert_int_equal(img_compare(view, "qcow2", top, "qcow2", &err), 1);
	assert_int_equal(img_compare(mid, "qcow2", view, "qcow2", &err), 0);
	assert_int_equal(img_compare(base, "qcow2", top, "qcow2", &err), 0);
	assert_false(sd_err_is_set(&err));
	assert_int_equal(img_compare(top, "qcow2", missing, "qcow2", &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_non_null(strstr(err.msg, "missing.qcow2"));
	sd_err_clear(&err);
	assert_int_equal(img_compare(top, "qcow2", view, "", &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);

	/* --- rebase, on copies of top (they still sit on mid) --- */
	{
		char *const cp1[] = {"cp", top, safe, NULL};
		char *const cp2[] = {"cp", top, unsafe, NULL};
		char *const cp3[] = {"cp", top, alone, NULL};

		assert_int_equal(sdtest_run(cp1, NULL, NULL), 0);
		assert_int_equal(sdtest_run(cp2, NULL, NULL), 0);
		assert_int_equal(sdtest_run(cp3, NULL, NULL), 0);
	}
	/* safe, dropping mid: what mid held moves into the top, the view
	 * stays byte-identical */
	assert_int_equal(img_rebase(safe, "qcow2", base, "qcow2", true, &err), 0);
	{
		SD_AUTO(img_chain) *c = img_info_chain(safe, false, &err);

		assert_non_null(c);
		assert_int_equal(c->n, 2);
		assert_string_equal(c->layers[0].backing_filename, base);
		assert_string_equal(c->layers[0].backing_format, "qcow2");
	}
	assert_int_equal(img_compare(safe, "qcow2", view, "qcow2", &err), 1);
	expect_regions(safe, through_top, SD_N_ELEMENTS(through_top));
	assert_int_equal(img_allocated_top(safe, "qcow2", &bytes, &err), 0);
	assert_true(bytes > top_bytes);
	assert_int_equal(img_check(safe, "qcow2", &err), 0);
	/* unsafe: only the backing name changes, mid's data is not copied */
	assert_int_equal(img_rebase(unsafe, "qcow2", base, "qcow2", false, &err), 0);
	{
		SD_AUTO(img_chain) *c = img_info_chain(unsafe, false, &err);

		assert_non_null(c);
		assert_int_equal(c->n, 2);
		assert_string_equal(c->layers[0].backing_filename, base);
	}
	assert_int_equal(img_allocated_top(unsafe, "qcow2", &bytes, &err), 0);
	assert_int_equal(bytes, top_bytes);
	expect_regions(unsafe, top_on_base, SD_N_ELEMENTS(top_on_base));
	assert_int_equal(img_compare(unsafe, "qcow2", view, "qcow2", &err), 0);
	/* no backing file at all: standalone, same view */
	assert_int_equal(img_rebase(alone, "qcow2", NULL, NULL, true, &err), 0);
	{
		SD_AUTO(img_chain) *c = img_info_chain(alone, false, &err);

		assert_non_null(c);
		assert_int_equal(c->n, 1);
		assert_null(c->layers[0].backing_filename);
	}
	assert_int_equal(img_compare(alone, "qcow2", view, "qcow2", &err), 1);
	assert_false(sd_err_is_set(&err));
	/* refused before anything runs */
	assert_int_equal(img_rebase(alone, "qcow2", base, NULL, true, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	assert_int_equal(img_rebase(alone, "qcow2", "", "qcow2", true, &err), -1);
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	assert_int_equal(img_rebase(missing, "qcow2", base, "qcow2", true, &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	sd_err_clear(&err);

	/* --- commit top into mid: mid then reads what top showed, and top
	 * keeps its data (-d) --- */
	assert_int_equal(img_commit(top, "qcow2", &err), 0);
	assert_false(sd_err_is_set(&err));
	expect_regions(mid, through_top, SD_N_ELEMENTS(through_top));
	assert_int_equal(img_compare(mid, "qcow2", view, "qcow2", &err), 1);
	assert_int_equal(img_allocated_top(top, "qcow2", &bytes, &err), 0);
	assert_int_equal(bytes, top_bytes);
	assert_int_equal(img_compare(top, "qcow2", view, "qcow2", &err), 1);
	assert_int_equal(img_check(mid, "qcow2", &err), 0);
	/* base, which mid sits on, is untouched */
	assert_int_equal(img_allocated_top(base, "qcow2", &bytes, &err), 0);
	assert_int_equal(bytes, 3 * MiB);
	assert_int_equal(img_read_pattern(base, "qcow2", 0xa1, 0, 3 * MiB, &err), 1);
	assert_false(sd_err_is_set(&err));
	/* nothing to commit into */
	assert_int_equal(img_commit(base, "qcow2", &err), -1);
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_non_null(strstr(err.msg, "backing file"));
	sdtest_rm_rf(dir);
}

/* Names a shell would act on, and names qemu would read as options or
 * protocols, are plain file names here. */
static void test_live_hostile_names(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *dir = sdtest_mkdtemp("img");
	SD_AUTOFREE char *marker = sd_asprintf("sdtest-pwned-%ld", (long)getpid());
	SD_AUTOFREE char *tmp_marker = sd_asprintf("/tmp/%s", marker);
	SD_AUTOFREE char *evil = sd_asprintf("%s/a b $(touch %s) `touch %s`; touch %s 'q\" *.qcow2",
					     dir, marker, marker, marker);
	SD_AUTOFREE char *evil_top = sd_asprintf("%s/top $(touch %s).qcow2", dir, marker);
	const char *const relative[] = {"-x.qcow2", "--help", "nbd:localhost:10809",
					"json:{\"driver\":\"null-co\"}"};
	char cwd[PATH_MAX];
	uint64_t bytes;

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(img_create(evil, "qcow2", MiB, NULL, NULL, &err), 0);
	assert_true(exists(evil));
	assert_int_equal(img_write_pattern(evil, "qcow2", 0x42, 0, 64 * KiB, &err), 0);
	assert_int_equal(img_create(evil_top, "qcow2", 0, evil, "qcow2", &err), 0);
	assert_true(exists(evil_top));
	assert_int_equal(img_read_pattern(evil_top, "qcow2", 0x42, 0, 64 * KiB, &err), 1);
	assert_int_equal(img_check(evil_top, "qcow2", &err), 0);
	{
		SD_AUTO(img_chain) *c = img_info_chain(evil_top, false, &err);

		assert_non_null(c);
		assert_int_equal(c->n, 2);
		assert_string_equal(c->layers[0].backing_filename, evil);
		assert_string_equal(c->layers[1].filename, evil);
	}
	assert_false(sd_err_is_set(&err));

	assert_int_equal(chdir(dir), 0);
	for (size_t i = 0; i < SD_N_ELEMENTS(relative); i++) {
		const char *name = relative[i];

		if (img_create(name, "qcow2", MiB, NULL, NULL, &err) < 0)
			fail_msg("create '%s': %s", name, err.msg);
		assert_true(exists(name));
		assert_int_equal(img_write_pattern(name, "qcow2", 0x24, 512, 512, &err), 0);
		assert_int_equal(img_read_pattern(name, "qcow2", 0x24, 512, 512, &err), 1);
		assert_int_equal(img_read_pattern(name, "qcow2", 0x25, 512, 512, &err), 0);
		assert_int_equal(img_check(name, "qcow2", &err), 0);
		assert_int_equal(img_compare(name, "qcow2", name, "qcow2", &err), 1);
		assert_int_equal(img_allocated_top(name, "qcow2", &bytes, &err), 0);
		assert_int_equal(bytes, 64 * KiB);
		SD_AUTO(img_chain) *c = img_info_chain(name, false, &err);
		assert_non_null(c);
		assert_int_equal(c->n, 1);
		assert_string_equal(c->layers[0].format, "qcow2");
		assert_false(sd_err_is_set(&err));
	}
	/* an overlay whose backing name looks like a protocol */
	assert_int_equal(img_create("over.qcow2", "qcow2", 0, "nbd:localhost:10809", "qcow2", &err),
			 0);
	assert_int_equal(img_read_pattern("over.qcow2", "qcow2", 0x24, 512, 512, &err), 1);
	/* moved onto a name that looks like an option, and committed into it */
	assert_int_equal(img_rebase("over.qcow2", "qcow2", "-x.qcow2", "qcow2", true, &err), 0);
	assert_int_equal(img_write_pattern("over.qcow2", "qcow2", 0x33, 0, 512, &err), 0);
	assert_int_equal(img_commit("over.qcow2", "qcow2", &err), 0);
	assert_int_equal(img_read_pattern("-x.qcow2", "qcow2", 0x33, 0, 512, &err), 1);
	assert_int_equal(img_compare("over.qcow2", "qcow2", "-x.qcow2", "qcow2", &err), 1);
	assert_int_equal(img_rebase("over.qcow2", "qcow2", NULL, NULL, false, &err), 0);
	assert_false(sd_err_is_set(&err));
	assert_false(exists(marker));
	assert_int_equal(chdir(cwd), 0);
	assert_false(exists(marker));
	assert_false(exists(tmp_marker));
	sdtest_rm_rf(dir);
}

struct progress_env {
	char *dir;
	char *src;
};

static int live_progress_setup(void **state)
{
	struct progress_env *env = sd_calloc(1, sizeof(*env));
	struct sd_err err = SD_ERR_INIT;

	env->dir = sdtest_mkdtemp("img");
	env->src = sd_asprintf("%s/src.qcow2", env->dir);
	if (img_create(env->src, "qcow2", 64 * MiB, NULL, NULL, &err) < 0 ||
	    img_write_pattern(env->src, "qcow2", 0x5a, 0, 64 * MiB, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	*state = env;
	return 0;
}

static int live_progress_teardown(void **state)
{
	struct progress_env *env = *state;

	if (env) {
		sdtest_rm_rf(env->dir);
		free(env->dir);
		free(env->src);
		free(env);
	}
	return 0;
}

static void test_live_progress(void **state)
{
	struct progress_env *env = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *dst = sd_asprintf("%s/copy.qcow2", env->dir);
	SD_AUTOFREE char *errout = NULL;
	struct rec r = {0};
	volatile int cancel = 0;
	int status = -1;
	const char *const argv[] = {"qemu-img", "convert", "-p",     "-f", "qcow2", "-O",
				    "qcow2",	"--",	   env->src, dst,  NULL};

	assert_int_equal(img_spawn_progress(argv, rec_cb, &r, &cancel, &errout, &status, &err), 0);
	assert_int_equal(status, 0);
	assert_string_equal(errout, "");
	assert_true(r.n >= 2);
	for (size_t i = 1; i < r.n; i++)
		assert_true(r.v[i] > r.v[i - 1]);
	assert_true(r.v[0] >= 0.0 && r.v[0] < 1.0);
	assert_float_equal(r.v[r.n - 1], 1.0, 1e-9);
	assert_int_equal(img_read_pattern(dst, "qcow2", 0x5a, 0, 64 * MiB, &err), 1);
	assert_false(sd_err_is_set(&err));

	/* a failing job: status and stderr come back, no error set */
	free(SD_STEAL(errout));
	const char *const bad[] = {"qemu-img", "convert", "-p", "-f", "qcow2",
				   "-O",       "qcow2",	  "--", dst,  "/nonexistent/dir/x.qcow2",
				   NULL};
	assert_int_equal(img_spawn_progress(bad, NULL, NULL, NULL, &errout, &status, &err), 0);
	assert_int_equal(status, 1);
	assert_non_null(strstr(errout, "/nonexistent/dir/x.qcow2"));
	assert_false(sd_err_is_set(&err));
}

/* Cancel from the callback at the first report. The copy is throttled to
 * take about 8 s, so a cancel that does not work fails the test (0 and a
 * finished copy) rather than passing by luck. */
static void test_live_cancel(void **state)
{
	struct progress_env *env = *state;
	struct sd_err err = SD_ERR_INIT;
	SD_AUTOFREE char *dst = sd_asprintf("%s/cancelled.qcow2", env->dir);
	SD_AUTOFREE char *errout = NULL;
	volatile int cancel = 0;
	struct rec r = {.cancel = &cancel};
	int status = -1;
	int64_t t0, t1;
	const char *const argv[] = {"qemu-img", "convert", "-p", "-r",	   "8M", "-f", "qcow2",
				    "-O",	"qcow2",   "--", env->src, dst,	 NULL};

	t0 = sd_mono_ms();
	assert_int_equal(img_spawn_progress(argv, rec_cb, &r, &cancel, &errout, &status, &err), -1);
	t1 = sd_mono_ms();
	assert_int_equal(err.code, SD_ERR_IMG);
	assert_non_null(strstr(err.msg, "cancelled"));
	assert_int_equal(r.n, 1);
	assert_true(r.v[0] < 1.0);
	assert_int_equal(status, 128 + SIGTERM);
	if (t1 - r.first_ms > 2000)
		fail_msg("the cancel took %lld ms", (long long)(t1 - r.first_ms));
	assert_true(t1 - t0 < 6000);
	assert_null(errout);

	/* already cancelled: nothing runs */
	sd_err_clear(&err);
	r = (struct rec){0};
	assert_int_equal(img_spawn_progress(argv, rec_cb, &r, &cancel, NULL, &status, &err), -1);
	assert_non_null(strstr(err.msg, "cancelled"));
	assert_int_equal(r.n, 0);
}

int main(void)
{
	const struct rlimit nocore = {0, 0};
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_chain3),
	    cmocka_unit_test(test_parse_single_objects),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_progress_parse_chunks),
	    cmocka_unit_test(test_progress_parse_odd_lines),
	    cmocka_unit_test(test_progress_parse_real_output),
	    cmocka_unit_test(test_path_arg),
	    cmocka_unit_test(test_spawn_basics),
	    cmocka_unit_test(test_spawn_chatty_stderr),
	    cmocka_unit_test(test_spawn_missing_program),
	    cmocka_unit_test(test_spawn_threads),
	    cmocka_unit_test(test_run_errors),
	    cmocka_unit_test(test_live_create_info),
	    cmocka_unit_test(test_live_patterns),
	    cmocka_unit_test(test_live_check_corrupt),
	    cmocka_unit_test(test_live_chain_ops),
	    cmocka_unit_test(test_live_hostile_names),
	    cmocka_unit_test_setup_teardown(test_live_progress, live_progress_setup,
					    live_progress_teardown),
	    cmocka_unit_test_setup_teardown(test_live_cancel, live_progress_setup,
					    live_progress_teardown),
	};

	/* Run by hand from the build tree, the fixtures are in the source tree. */
	setenv("SNAPDECK_FIXTURES", SD_TEST_FIXTURES, 0);
	/* The crash test aborts qemu-io on purpose: no core file. */
	setrlimit(RLIMIT_CORE, &nocore);
	/* A deadlocked spawn fails the run instead of hanging it. */
	alarm(300);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
