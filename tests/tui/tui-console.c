/* The console as a user drives it, through tmux, against a real libvirtd
 * and the demo VMs: the VM list filtered to our demo and its snapshot tree;
 * a custom preview from the grid (configuration, vda and vdb from different
 * points in time), undone, then another one committed, checked against
 * `vm show --json`; a clone whose progress grows in the tasks pane; resizing
 * (small, too small, back); NO_COLOR; the help; a refused operation; quit.
 *
 * Expected screens are files, tests/tui/expected/NAME.txt, compared after
 * masking what varies (tests/tui/tuilib.c). After a deliberate change of
 * the console, regenerate them with
 *
 *     make regen-screens
 *
 * (this program with SNAPDECK_REGEN_SCREENS=1) and review the diff. */
#include "config.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/itlib.h"
#include "tests/tui/tuilib.h"

#define W 100
#define H 30
#define WAIT TT_TIMEOUT_MS
/* a screen may still be drawing when compared: it gets this long to match */
#define SETTLE 10000
/* slow enough that the clone's copy takes a few seconds */
#define COPY_RATE "1M"

static struct it it;
static char web[64], clone_name[96];
static struct tt tt;

/* ---- helpers ---- */

static void open_console(struct tt *t, bool no_color, const char *rate, bool report_exit)
{
	struct tt_opts o = {W, H, NULL, it.catalog, no_color, rate, report_exit};

	tt_start(t, &o, it.prefix);
	tt_wait_for(t, "F1 or ? for help", WAIT);
}

/* '/' filters the list to our demo (other VMs of the host go), moves to
 * PFX-web (Down Down, or End), Tab to the tree. */
static void go_to_web(struct tt *t, bool arrows)
{
	char want[160];

	tt_keys(t, "/", NULL);
	tt_wait_for(t, "filter: ", WAIT);
	tt_type(t, it.prefix);
	snprintf(want, sizeof(want), "VMs /%s ", it.prefix);
	tt_wait_for(t, want, WAIT);
	tt_keys(t, "Enter", NULL);
	tt_wait_gone(t, "filter: ", WAIT);
	if (arrows)
		tt_keys(t, "Down", "Down", NULL);
	else
		tt_keys(t, "End", NULL);
	snprintf(want, sizeof(want), "▶%s ", web);
	tt_wait_for(t, want, WAIT);
	tt_keys(t, "Tab", NULL);
	snprintf(want, sizeof(want), "┌ %s · ", web);
	tt_wait_for(t, want, WAIT);
}

/* TT_VERBOSE=1: each scenario's name and when it starts. */
static void say(const char *what)
{
	static time_t start;

	if (!start)
		start = time(NULL);
	if (getenv("TT_VERBOSE"))
		fprintf(stderr, "[%s at +%lds]\n", what, (long)(time(NULL) - start));
}

/* The id of web's snapshot name (snapshot list --json). */
static char *snap_id(const char *name)
{
	json_t *list = it_sd(&it, 0, "snapshot", "list", web, NULL), *s;
	char *id = NULL;
	size_t i;

	json_array_foreach(list, i, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
			id = strdup(json_string_value(json_object_get(s, "id")));
	}
	json_decref(list);
	if (!id)
		fail_msg("%s has no snapshot %s", web, name);
	return id;
}

/* vm show --json says web is in a preview of exactly: configuration from
 * snapshot config, vda and vdb as given (snapshot names, or "exclude"). */
static void assert_preview(const char *config, const char *vda, const char *vdb)
{
	json_t *vm = it_sd(&it, 0, "vm", "show", web, NULL);
	json_t *p = json_object_get(vm, "in_preview"), *disks;
	const char *want_disks[2][2] = {{"vda", vda}, {"vdb", vdb}};
	char *cid = snap_id(config);
	char *dump = json_dumps(vm, JSON_INDENT(2));

	if (!json_is_object(p))
		fail_msg("%s is not in a preview:\n%s", web, dump);
	if (!json_is_string(json_object_get(p, "config")) ||
	    strcmp(json_string_value(json_object_get(p, "config")), cid) != 0)
		fail_msg("the preview's configuration is not %s (%s):\n%s", config, cid, dump);
	if (json_object_get(p, "memory") != json_false())
		fail_msg("the preview has memory:\n%s", dump);
	disks = json_object_get(p, "disks");
	if (json_object_size(disks) != 2)
		fail_msg("the preview has not exactly vda and vdb:\n%s", dump);
	for (size_t k = 0; k < 2; k++) {
		const char *got = json_string_value(json_object_get(disks, want_disks[k][0]));
		char *want = strcmp(want_disks[k][1], "exclude") == 0 ? strdup("exclude")
								      : snap_id(want_disks[k][1]);
		if (!got || strcmp(got, want) != 0)
			fail_msg("the preview's %s is not %s (%s):\n%s", want_disks[k][0],
				 want_disks[k][1], want, dump);
		free(want);
	}
	free(dump);
	free(cid);
	json_decref(vm);
}

static void assert_no_preview(void)
{
	json_t *vm = it_sd(&it, 0, "vm", "show", web, NULL);
	json_t *p = json_object_get(vm, "in_preview");

	if (!json_is_null(p)) {
		char *dump = json_dumps(vm, JSON_INDENT(2));
		fail_msg("%s is still in a preview:\n%s", web, dump);
	}
	json_decref(vm);
}

/* Every name of names is a snapshot of web. */
static void assert_snapshots(const char *const *names, size_t n)
{
	json_t *list = it_sd(&it, 0, "snapshot", "list", web, NULL), *s;

	for (size_t k = 0; k < n; k++) {
		bool found = false;
		size_t i;
		json_array_foreach(list, i, s)
		{
			found |=
			    strcmp(json_string_value(json_object_get(s, "name")), names[k]) == 0;
		}
		if (!found)
			fail_msg("snapshot %s of %s is gone", names[k], web);
	}
	json_decref(list);
}

/* Does the screen (with escapes) set a colour: SGR 30-38, 40-48, 90-97,
 * 100-107 (39 and 49, the default colours, are no colour)? *what gets the
 * first such sequence. */
static bool has_colour(const char *s, char *what, size_t len)
{
	for (const char *p = s; (p = strstr(p, "\033[")) != NULL;) {
		const char *q = p + 2, *e = q + strspn(q, "0123456789;:");

		if (*e != 'm') {
			p = e;
			continue;
		}
		for (const char *a = q; a < e;) {
			int v = atoi(a);
			if ((v >= 30 && v <= 38) || (v >= 40 && v <= 48) || (v >= 90 && v <= 97) ||
			    (v >= 100 && v <= 107)) {
				snprintf(what, len, "ESC[%.*sm", (int)(e - q), q);
				return true;
			}
			if (v == 38 || v == 48)
				break;
			a += strcspn(a, ";:");
			if (a < e)
				a++;
		}
		p = e;
	}
	return false;
}

/* The percentage on the task row of the clone, or -1. */
static int clone_percent(const char *screen)
{
	char want[160];
	const char *row, *pct;

	snprintf(want, sizeof(want), "clone %s@base-install", web);
	row = strstr(screen, want);
	if (!row)
		return -1;
	pct = strchr(row, '%');
	if (!pct || memchr(row, '\n', (size_t)(pct - row)))
		return -1;
	while (pct > row && pct[-1] >= '0' && pct[-1] <= '9')
		pct--;
	return atoi(pct);
}

/* ---- scenarios ---- */

static void test_navigate(void **state)
{
	(void)state;
	say("navigate");
	open_console(&tt, false, NULL, false);
	go_to_web(&tt, true);
	tt_expect_screen(&tt, "vms-tree", SETTLE);
}

static void test_no_color(void **state)
{
	char what[64];
	char *esc;

	(void)state;
	say("no colour");
	open_console(&tt, false, NULL, false);
	go_to_web(&tt, false);
	tt_expect_screen(&tt, "vms-tree", SETTLE);
	esc = tt_capture(&tt, true);
	if (!has_colour(esc, what, sizeof(what)))
		fail_msg("without NO_COLOR the console shows no colour:\n%s", esc);
	free(esc);
	tt_stop(&tt);

	open_console(&tt, true, NULL, false);
	go_to_web(&tt, false);
	tt_expect_screen(&tt, "vms-tree", SETTLE);
	esc = tt_capture(&tt, true);
	if (has_colour(esc, what, sizeof(what)))
		fail_msg("with NO_COLOR=1 the console still sets a colour (%s)", what);
	/* attributes remain: the selection is reverse video */
	if (!strstr(esc, ";7m") && !strstr(esc, "[7m"))
		fail_msg("with NO_COLOR=1 the selection is not in reverse video");
	free(esc);
}

static void test_help(void **state)
{
	(void)state;
	say("help");
	open_console(&tt, false, NULL, false);
	tt_keys(&tt, "?", NULL);
	tt_wait_for(&tt, "Help · keys", WAIT);
	if (!strstr(tt.last, "F3 p") || !strstr(tt.last, "F10 q"))
		fail_msg("the help lacks F3 p or F10 q:\n%s", tt.last);
	tt_keys(&tt, "Escape", NULL);
	tt_wait_gone(&tt, "Help · keys", WAIT);
	tt_keys(&tt, "F1", NULL);
	tt_wait_for(&tt, "Help · keys", WAIT);
	tt_keys(&tt, "Escape", NULL);
	tt_wait_gone(&tt, "Help · keys", WAIT);
	tt_wait_for(&tt, "F1Help", WAIT);
}

static void test_resize(void **state)
{
	char want[160];

	(void)state;
	say("resize");
	open_console(&tt, false, NULL, false);
	go_to_web(&tt, false);
	tt_resize(&tt, 80, 24);
	tt_expect_screen(&tt, "small-80x24", SETTLE);
	tt_resize(&tt, 60, 20);
	tt_wait_for(&tt, "terminal too small: 60x20, need 80x24", WAIT);
	tt_resize(&tt, W, H);
	snprintf(want, sizeof(want), "VMs /%s ", it.prefix);
	tt_wait_for(&tt, want, WAIT);
	/* the same as before: filter, selection and focus kept */
	tt_expect_screen(&tt, "vms-tree", SETTLE);
}

/* A refused operation says why on the status line, in one line, and leaves
 * the rest of the screen as it was. */
static void test_refused(void **state)
{
	char want[160], *before, *after = NULL;
	int status_row = H - 2, hits = 0;

	(void)state;
	say("refused");
	open_console(&tt, false, NULL, false);
	go_to_web(&tt, false);
	tt_expect_screen(&tt, "vms-tree", SETTLE);
	before = tt_mask(tt.last, it.prefix);
	tt_keys(&tt, "c", NULL);
	snprintf(want, sizeof(want), "%s has no open preview to commit", web);
	tt_wait_for(&tt, want, WAIT);
	after = tt_mask(tt.last, it.prefix);
	for (int y = 0; y < H; y++) {
		char *a = tt_row(before, y), *b = tt_row(after, y), *raw = tt_row(tt.last, y);
		bool here = strstr(raw, "no open preview") != NULL;

		hits += here;
		if (here && y != status_row)
			fail_msg("the refusal shows on row %d, not the status line:\n%s", y,
				 tt.last);
		if (y != status_row && strcmp(a, b) != 0)
			fail_msg("row %d changed:\n  before |%s|\n  after  |%s|", y, a, b);
		free(a);
		free(b);
		free(raw);
	}
	if (hits != 1)
		fail_msg("the refusal shows on %d rows:\n%s", hits, tt.last);
	free(before);
	free(after);
	assert_no_preview();
}

static void test_custom_preview(void **state)
{
	static const char *const all[] = {"base-install", "before-upgrade", "nightly",
					  "test-branch"};
	char want[200];

	(void)state;
	say("custom preview");
	open_console(&tt, false, NULL, false);
	go_to_web(&tt, false);

	/* the grid starts on the tree's selection, the current snapshot
	 * (test-branch); rows: now, test-branch, nightly, before-upgrade,
	 * base-install; columns: config, memory, vda, vdb */
	tt_keys(&tt, "p", NULL);
	snprintf(want, sizeof(want), "Custom preview · %s", web);
	tt_wait_for(&tt, want, WAIT);
	tt_keys(&tt, "Down", "Space", NULL);		       /* config: nightly */
	tt_keys(&tt, "Right", "Right", "Down", "Space", NULL); /* vda: before-upgrade */
	tt_keys(&tt, "Right", "x", NULL);		       /* vdb: excluded */
	tt_wait_for(&tt, "excluded (not attached during the preview)", WAIT);
	tt_expect_screen(&tt, "grid", SETTLE);
	tt_keys(&tt, "Enter", NULL);
	snprintf(want, sizeof(want), "Preview of %s open", web);
	tt_wait_for(&tt, want, WAIT);
	tt_wait_for(&tt, "now (preview)", WAIT);
	tt_wait_for(&tt, "before the preview", WAIT);
	tt_expect_screen(&tt, "preview-open", SETTLE);
	assert_preview("nightly", "before-upgrade", "exclude");

	/* Enter alone on the undo prompt cancels (Cancel is the default) */
	tt_keys(&tt, "u", NULL);
	snprintf(want, sizeof(want), "Undo the preview of %s?", web);
	tt_wait_for(&tt, want, WAIT);
	tt_keys(&tt, "Enter", NULL);
	tt_wait_gone(&tt, want, WAIT);
	tt_wait_for(&tt, " cancelled", WAIT);
	assert_preview("nightly", "before-upgrade", "exclude");
	/* u on the prompt undoes */
	tt_keys(&tt, "u", NULL);
	tt_wait_for(&tt, want, WAIT);
	tt_keys(&tt, "u", NULL);
	snprintf(want, sizeof(want), "Preview of %s undone.", web);
	tt_wait_for(&tt, want, WAIT);
	tt_wait_gone(&tt, "before the preview", WAIT);
	assert_no_preview();
	assert_snapshots(all, 4);

	/* again, every part from another snapshot, then commit */
	tt_keys(&tt, "p", NULL);
	snprintf(want, sizeof(want), "Custom preview · %s", web);
	tt_wait_for(&tt, want, WAIT);
	tt_keys(&tt, "End", "Space", NULL);			       /* config: base-install */
	tt_keys(&tt, "Right", "Right", "Home", "Down", "Space", NULL); /* vda: test-branch */
	tt_keys(&tt, "Right", "Down", "Down", "Space", NULL);	       /* vdb: before-upgrade */
	tt_keys(&tt, "Enter", NULL);
	snprintf(want, sizeof(want), "Preview of %s open", web);
	tt_wait_for(&tt, want, WAIT);
	tt_wait_for(&tt, "before the preview", WAIT);
	assert_preview("base-install", "test-branch", "before-upgrade");

	tt_keys(&tt, "c", NULL);
	snprintf(want, sizeof(want), "Commit the preview of %s?", web);
	tt_wait_for(&tt, want, WAIT);
	tt_expect_screen(&tt, "commit-prompt", SETTLE);
	tt_keys(&tt, "c", NULL);
	snprintf(want, sizeof(want), "Preview of %s committed.", web);
	tt_wait_for(&tt, want, WAIT);
	tt_wait_gone(&tt, "before the preview", WAIT);
	assert_no_preview();
	assert_snapshots(all, 4);
}

static void test_clone(void **state)
{
	char want[200];
	const char *s;
	int first = -1, later = -1;

	(void)state;
	say("clone");
	open_console(&tt, false, COPY_RATE, false);
	go_to_web(&tt, false);
	tt_keys(&tt, "Home", NULL); /* base-install, the root */
	tt_keys(&tt, "C", NULL);
	snprintf(want, sizeof(want), "Clone %s@base-install", web);
	tt_wait_for(&tt, want, WAIT);
	tt_wait_for(&tt, clone_name, WAIT); /* the name, prefilled */
	tt_keys(&tt, "Enter", NULL);
	tt_keys(&tt, "t", NULL);

	/* the percentage grows while it copies */
	snprintf(want, sizeof(want), "clone %s@base-install", web);
	s = tt_wait_for(&tt, want, WAIT);
	for (int i = 0; i < WAIT / 50 && (first = clone_percent(s)) < 0; i++) {
		usleep(50 * 1000);
		free(tt_capture(&tt, false));
		s = tt.last;
	}
	if (first < 0 || first >= 100 || strstr(s, "100% done"))
		fail_msg("the clone did not show its progress (%d%%):\n%s", first, s);
	for (int i = 0; i < WAIT / 50; i++) {
		free(tt_capture(&tt, false));
		later = clone_percent(tt.last);
		if (later > first)
			break;
		usleep(50 * 1000);
	}
	if (later <= first)
		fail_msg("the clone's progress stayed at %d%%:\n%s", first, tt.last);
	if (getenv("TT_VERBOSE"))
		fprintf(stderr, "clone progress: %d%% then %d%%\n", first, later);

	snprintf(want, sizeof(want), "Clone of %s@base-install made", web);
	tt_wait_for(&tt, want, 60000);
	tt_wait_for(&tt, "100% done", WAIT);
	{
		char *const argv[] = {"virsh",	    "-q",	"-c", "qemu:///system",
				      "domblklist", clone_name, NULL};
		char *out = it_must(argv);
		if (!strstr(out, "vda") || !strstr(out, "vdb"))
			fail_msg("the clone %s lacks vda or vdb:\n%s", clone_name, out);
		free(out);
	}
	/* the list shows it (it matches the filter) */
	snprintf(want, sizeof(want), "│ copy_of_%s", it.prefix);
	tt_wait_for(&tt, want, WAIT);
}
/* A VM started outside (virsh) shows running (libvirt's events reach the
 * console); H offers shut down or power off, and power off stops it; S
 * starts it again from the console. */
static void test_domain_events(void **state)
{
	char want[160];
	char *const start[] = {"virsh", "-q", "-c", "qemu:///system", "start", web, NULL};

	(void)state;
	say("domain events");
	open_console(&tt, false, NULL, false);
	go_to_web(&tt, false);
	free(it_must(start));
	snprintf(want, sizeof(want), "%s · running", web);
	tt_wait_for(&tt, want, WAIT);
	tt_keys(&tt, "H", NULL);
	snprintf(want, sizeof(want), "Stop %s?", web);
	tt_wait_for(&tt, want, WAIT);
	tt_wait_for(&tt, "[ Power off ]", WAIT);
	tt_keys(&tt, "f", NULL);
	snprintf(want, sizeof(want), "VM %s powered off", web);
	tt_wait_for(&tt, want, WAIT);
	snprintf(want, sizeof(want), "%s · shutoff", web);
	tt_wait_for(&tt, want, WAIT);
	tt_keys(&tt, "S", NULL);
	snprintf(want, sizeof(want), "VM %s started", web);
	tt_wait_for(&tt, want, WAIT);
	snprintf(want, sizeof(want), "%s · running", web);
	tt_wait_for(&tt, want, WAIT);
	tt_keys(&tt, "H", NULL);
	tt_wait_for(&tt, "[ Power off ]", WAIT);
	tt_keys(&tt, "f", NULL);
	snprintf(want, sizeof(want), "%s · shutoff", web);
	tt_wait_for(&tt, want, WAIT);
}


static void test_quit(void **state)
{
	char *f;

	(void)state;
	say("quit");
	open_console(&tt, false, NULL, true);
	f = tt_format(&tt, "#{alternate_on}");
	assert_string_equal(f, "1");
	free(f);
	tt_keys(&tt, "q", NULL);
	tt_wait_for(&tt, "EXITED 0", WAIT);
	if (strstr(tt.last, "F1Help") || strstr(tt.last, "┌"))
		fail_msg("the console's screen stayed after it quit:\n%s", tt.last);
	/* the terminal is as it was: the normal screen, the cursor shown */
	f = tt_format(&tt, "#{alternate_on} #{cursor_flag}");
	assert_string_equal(f, "0 1");
	free(f);
}

/* ---- the world ---- */

static void remove_clone(void)
{
	char *const d[] = {"virsh", "-q", "-c", "qemu:///system", "destroy", clone_name, NULL};
	char *const u[] = {"virsh", "-q", "-c", "qemu:///system", "undefine", clone_name, NULL};

	if (!clone_name[0])
		return;
	/* its disks are in the demo pool's folder, which it_cleanup removes */
	sdtest_run(d, NULL, NULL);
	sdtest_run(u, NULL, NULL);
}

static struct sigaction it_actions[3];
static const int caught[3] = {SIGINT, SIGTERM, SIGHUP};

/* Interrupted: the clone goes too, then itlib's handler (the demo). */
static void on_signal(int sig)
{
	remove_clone();
	for (size_t i = 0; i < 3; i++)
		if (caught[i] == sig) {
			sigaction(sig, &it_actions[i], NULL);
			if (it_actions[i].sa_handler != SIG_DFL &&
			    it_actions[i].sa_handler != SIG_IGN) {
				it_actions[i].sa_handler(sig);
				return;
			}
		}
	raise(sig);
}

/* A fixed-width prefix ("tui" and 5 digits, from the pid) that no domain
 * of the host contains, so that columns do not move and the filter shows
 * only ours. */
static void pick_prefix(void)
{
	char *const argv[] = {"virsh", "-q",	"-c",	  "qemu:///system",
			      "list",  "--all", "--name", NULL};
	char *out = NULL;

	sdtest_run(argv, &out, NULL);
	for (int k = 0; k < 1000; k++) {
		snprintf(it.prefix, sizeof(it.prefix), "tui%05d", ((int)getpid() + k) % 100000);
		if (!out || !strstr(out, it.prefix))
			break;
	}
	free(out);
	snprintf(web, sizeof(web), "%s-web", it.prefix);
}

static int group_setup(void **state)
{
	(void)state;
	it_demo_setup(&it);
	snprintf(clone_name, sizeof(clone_name), "copy_of_%s", web);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tt_stop_all();
	remove_clone();
	return 0;
}

static int stop_console(void **state)
{
	(void)state;
	tt_stop_all();
	return 0;
}

int main(void)
{
	/* one order: the screens of the demo as it is first, then what
	 * changes it */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_navigate, stop_console),
	    cmocka_unit_test_teardown(test_no_color, stop_console),
	    cmocka_unit_test_teardown(test_help, stop_console),
	    cmocka_unit_test_teardown(test_resize, stop_console),
	    cmocka_unit_test_teardown(test_refused, stop_console),
	    cmocka_unit_test_teardown(test_custom_preview, stop_console),
	    cmocka_unit_test_teardown(test_clone, stop_console),
	    cmocka_unit_test_teardown(test_domain_events, stop_console),
	    cmocka_unit_test_teardown(test_quit, stop_console),
	};
	struct sigaction sa;
	int rc;

	it_init(&it, "tui", 't');
	tt_require_tmux();
	pick_prefix();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < 3; i++)
		sigaction(caught[i], &sa, &it_actions[i]);
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	it_cleanup(&it);
	return rc;
}
