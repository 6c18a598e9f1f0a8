/* The systemd units for policies (data/snapdeck-policy.service.in as built,
 * data/snapdeck-policy.timer): their syntax (sections, keys, values) is
 * checked here, and where systemd-analyze exists, `systemd-analyze verify`
 * must accept them without a word. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/sdtest.h"

#define MAXKEYS 32

struct unit {
	size_t n;
	char section[MAXKEYS][32];
	char key[MAXKEYS][64];
	char value[MAXKEYS][256];
};

/* Parses unit file text strictly: comments, [Section] headers from allowed,
 * Key=Value lines (no space around '='), nothing else. */
static void parse(const char *path, const char *const *allowed, struct unit *u)
{
	char *text = sdtest_read_file(path);
	char section[32] = "";
	char *save = NULL;
	unsigned lineno = 0;

	if (!text)
		fail_msg("cannot read %s", path);
	memset(u, 0, sizeof(*u));
	assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq;
		lineno++;
		if (line[0] == '#' || line[0] == ';')
			continue;
		if (strchr(line, '@'))
			fail_msg("%s:%u: an unsubstituted @variable@: %s", path, lineno, line);
		if (line[strlen(line) - 1] == ' ' || line[0] == ' ' || line[0] == '\t')
			fail_msg("%s:%u: stray blanks: [%s]", path, lineno, line);
		if (line[0] == '[') {
			bool ok = false;
			if (line[strlen(line) - 1] != ']' || strlen(line) >= sizeof(section) + 2)
				fail_msg("%s:%u: bad section header %s", path, lineno, line);
			snprintf(section, sizeof(section), "%.*s", (int)strlen(line) - 2, line + 1);
			for (size_t i = 0; allowed[i]; i++)
				ok |= strcmp(allowed[i], section) == 0;
			if (!ok)
				fail_msg("%s:%u: unexpected section [%s]", path, lineno, section);
			continue;
		}
		eq = strchr(line, '=');
		if (!eq || eq == line || eq[-1] == ' ' || eq[1] == ' ' || eq[1] == '\0')
			fail_msg("%s:%u: not Key=Value: %s", path, lineno, line);
		if (!section[0])
			fail_msg("%s:%u: a key before any section", path, lineno);
		assert_true(u->n < MAXKEYS);
		snprintf(u->section[u->n], sizeof(u->section[0]), "%s", section);
		snprintf(u->key[u->n], sizeof(u->key[0]), "%.*s", (int)(eq - line), line);
		snprintf(u->value[u->n], sizeof(u->value[0]), "%s", eq + 1);
		for (const char *k = u->key[u->n]; *k; k++)
			if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
			      (*k >= '0' && *k <= '9')))
				fail_msg("%s:%u: bad key %s", path, lineno, u->key[u->n]);
		u->n++;
	}
	free(text);
}

static const char *get(const struct unit *u, const char *section, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->section[i], section) == 0 && strcmp(u->key[i], key) == 0) {
			if (v)
				fail_msg("[%s] %s given twice", section, key);
			v = u->value[i];
		}
	return v;
}

static const char *need(const struct unit *u, const char *section, const char *key)
{
	const char *v = get(u, section, key);

	if (!v)
		fail_msg("[%s] lacks %s", section, key);
	return v;
}

static void test_service(void **state)
{
	static const char *const sections[] = {"Unit", "Service", NULL};
	struct unit u;
	const char *exec;

	(void)state;
	parse(SD_TOP_BUILDDIR "/snapdeck-policy.service", sections, &u);
	assert_non_null(strstr(need(&u, "Unit", "Description"), "snapdeck"));
	assert_non_null(strstr(need(&u, "Unit", "Documentation"), "man:snapdeck(1)"));
	assert_string_equal(need(&u, "Service", "Type"), "oneshot");
	exec = need(&u, "Service", "ExecStart");
	assert_true(exec[0] == '/');
	assert_non_null(strstr(exec, "/snapdeck policy run"));
	assert_string_equal(strstr(exec, "/snapdeck policy run"), "/snapdeck policy run");
	/* started by the timer, never enabled on its own */
	assert_null(get(&u, "Install", "WantedBy"));
}

static void test_timer(void **state)
{
	static const char *const sections[] = {"Unit", "Timer", "Install", NULL};
	struct unit u;

	(void)state;
	parse(SD_TOP_SRCDIR "/data/snapdeck-policy.timer", sections, &u);
	assert_non_null(need(&u, "Unit", "Description"));
	assert_string_equal(need(&u, "Timer", "OnCalendar"), "*:0/5"); /* every 5 minutes */
	assert_string_equal(need(&u, "Timer", "Persistent"), "true");
	assert_string_equal(need(&u, "Timer", "Unit"), "snapdeck-policy.service");
	assert_string_equal(need(&u, "Install", "WantedBy"), "timers.target");
}

static bool have(const char *prog)
{
	char *const argv[] = {"sh", "-c", "command -v \"$0\" >/dev/null", (char *)prog, NULL};

	return sdtest_run(argv, NULL, NULL) == 0;
}

/* Copies the built units into dir, ExecStart pointing at the snapdeck
 * under test (verify wants an executable there). */
static void copy_unit(const char *src, const char *dir, const char *name)
{
	char *text = sdtest_read_file(src);
	char path[4096], *exec;
	FILE *fp;

	assert_non_null(text);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	exec = strstr(text, "ExecStart=");
	if (exec && getenv("SNAPDECK_BIN")) {
		char *nl = strchr(exec, '\n');
		fprintf(fp, "%.*sExecStart=%s policy run%s", (int)(exec - text), text,
			getenv("SNAPDECK_BIN"), nl ? nl : "\n");
	} else {
		fputs(text, fp);
	}
	fclose(fp);
	free(text);
}

static void test_systemd_analyze(void **state)
{
	char *dir, timer[4096], service[4096];
	char *out = NULL, *err = NULL;
	int rc;

	(void)state;
	if (!have("systemd-analyze")) {
		fprintf(stderr, "no systemd-analyze here: only the syntax checks ran\n");
		skip();
	}
	dir = sdtest_mkdtemp("units");
	copy_unit(SD_TOP_BUILDDIR "/snapdeck-policy.service", dir, "snapdeck-policy.service");
	copy_unit(SD_TOP_SRCDIR "/data/snapdeck-policy.timer", dir, "snapdeck-policy.timer");
	snprintf(timer, sizeof(timer), "%s/snapdeck-policy.timer", dir);
	snprintf(service, sizeof(service), "%s/snapdeck-policy.service", dir);
	{
		char *const argv[] = {"systemd-analyze", "verify", "--man=no", timer,
				      service,		 NULL};
		rc = sdtest_run(argv, &out, &err);
	}
	/* verify only warns about unknown keys: any word about our files fails */
	if (rc != 0 || strstr(out ? out : "", "snapdeck-policy") ||
	    strstr(err ? err : "", "snapdeck-policy"))
		fail_msg("systemd-analyze verify: exit %d\n%s%s", rc, out, err);
	free(out);
	free(err);
	{
		char *const argv[] = {"systemd-analyze", "calendar", "*:0/5", NULL};
		rc = sdtest_run(argv, &out, &err);
		if (rc != 0 || !strstr(out, "*-*-* *:00/5:00"))
			fail_msg("systemd-analyze calendar: exit %d\n%s%s", rc, out, err);
		free(out);
		free(err);
	}
	sdtest_rm_rf(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_service),
	    cmocka_unit_test(test_timer),
	    cmocka_unit_test(test_systemd_analyze),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
