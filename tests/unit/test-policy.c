/* Recurring snapshot policies (src/model/policy.c): --at parsing, due
 * times (month ends, leap years, missed runs count once; UTC, so DST never
 * matters), names, retention that touches only a policy's own snapshots,
 * and the limit arithmetic. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "model/plan.h"
#include "model/policy.h"
#include "tests/lib/sdtest.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/time.h"

static time_t T(const char *iso)
{
	time_t t;

	if (!sd_time_parse_iso(iso, &t))
		fail_msg("bad time in the test: %s", iso);
	return t;
}

static void assert_time(time_t got, const char *want)
{
	char iso[SD_ISO_LEN];

	sd_time_iso(got, iso);
	if (strcmp(iso, want) != 0)
		fail_msg("got %s, wanted %s", iso, want);
}

static struct policy_sched sched(enum policy_every every, const char *at)
{
	struct policy_sched s;
	struct sd_err err = SD_ERR_INIT;

	if (policy_at_parse(every, at, &s, NULL, &err) < 0)
		fail_msg("--at '%s': %s", at ? at : "(null)", err.msg);
	return s;
}

static void test_every(void **state)
{
	enum policy_every e;

	(void)state;
	assert_true(policy_every_parse("hourly", &e));
	assert_int_equal(e, POLICY_HOURLY);
	assert_true(policy_every_parse("monthly", &e));
	assert_int_equal(e, POLICY_MONTHLY);
	assert_string_equal(policy_every_name(POLICY_WEEKLY), "weekly");
	assert_false(policy_every_parse("Hourly", &e));
	assert_false(policy_every_parse("yearly", &e));
	assert_false(policy_every_parse("", &e));
	assert_false(policy_every_parse(NULL, &e));
}

static void test_at_parse(void **state)
{
	static const struct {
		enum policy_every every;
		const char *at, *norm;
	} good[] = {
	    {POLICY_HOURLY, NULL, "00"},
	    {POLICY_HOURLY, "", "00"},
	    {POLICY_HOURLY, "5", "05"},
	    {POLICY_HOURLY, "59", "59"},
	    {POLICY_DAILY, NULL, "00:00"},
	    {POLICY_DAILY, "2:30", "02:30"},
	    {POLICY_DAILY, "23:59", "23:59"},
	    {POLICY_WEEKLY, NULL, "mon 00:00"},
	    {POLICY_WEEKLY, "sun 03:00", "sun 03:00"},
	    {POLICY_WEEKLY, "Saturday 1:05", "sat 01:05"},
	    {POLICY_WEEKLY, "WED 12:00", "wed 12:00"},
	    {POLICY_MONTHLY, NULL, "1 00:00"},
	    {POLICY_MONTHLY, "31 23:00", "31 23:00"},
	    {POLICY_MONTHLY, "07 04:00", "7 04:00"},
	};
	static const struct {
		enum policy_every every;
		const char *at;
	} bad[] = {
	    {POLICY_HOURLY, "60"},	 {POLICY_HOURLY, "-1"},
	    {POLICY_HOURLY, "05:00"},	 {POLICY_HOURLY, "123"},
	    {POLICY_HOURLY, "x"},	 {POLICY_HOURLY, " 5"},
	    {POLICY_DAILY, "24:00"},	 {POLICY_DAILY, "12:60"},
	    {POLICY_DAILY, "12"},	 {POLICY_DAILY, "12:"},
	    {POLICY_DAILY, ":30"},	 {POLICY_DAILY, "1:2:3"},
	    {POLICY_DAILY, "mon 12:00"}, {POLICY_WEEKLY, "12:00"},
	    {POLICY_WEEKLY, "mo 12:00"}, {POLICY_WEEKLY, "funday 12:00"},
	    {POLICY_WEEKLY, "mon"},	 {POLICY_WEEKLY, "mon  12:00"},
	    {POLICY_MONTHLY, "0 12:00"}, {POLICY_MONTHLY, "32 12:00"},
	    {POLICY_MONTHLY, "1"},	 {POLICY_MONTHLY, "last 12:00"},
	    {POLICY_MONTHLY, "1 25:00"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct policy_sched s;
		char norm[POLICY_AT_LEN];
		struct sd_err err = SD_ERR_INIT;
		if (policy_at_parse(good[i].every, good[i].at, &s, norm, &err) < 0)
			fail_msg("'%s' refused: %s", good[i].at, err.msg);
		assert_string_equal(norm, good[i].norm);
		/* the canonical spelling parses to the same */
		{
			struct policy_sched again;
			assert_int_equal(policy_at_parse(good[i].every, norm, &again, NULL, NULL),
					 0);
			assert_memory_equal(&s, &again, sizeof(s));
		}
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy_sched s;
		struct sd_err err = SD_ERR_INIT;
		if (policy_at_parse(bad[i].every, bad[i].at, &s, NULL, &err) == 0)
			fail_msg("--at '%s' for %s accepted", bad[i].at,
				 policy_every_name(bad[i].every));
		assert_int_equal(err.code, SD_ERR_INVALID);
		assert_non_null(strstr(err.msg, bad[i].at));
		assert_non_null(strstr(err.msg, "UTC"));
	}
}

static void test_slots_hourly_daily_weekly(void **state)
{
	struct policy_sched h = sched(POLICY_HOURLY, "15");
	struct policy_sched d = sched(POLICY_DAILY, "02:30");
	struct policy_sched w = sched(POLICY_WEEKLY, "sun 03:00"); /* 2026-11-22 is a Sunday */

	(void)state;
	assert_time(policy_slot_before(&h, T("2026-11-22T10:20:00Z")), "2026-11-22T10:15:00Z");
	assert_time(policy_slot_before(&h, T("2026-11-22T10:15:00Z")), "2026-11-22T10:15:00Z");
	assert_time(policy_slot_before(&h, T("2026-11-22T10:14:59Z")), "2026-11-22T09:15:00Z");
	assert_time(policy_slot_before(&h, T("2026-01-01T00:05:00Z")), "2025-12-31T23:15:00Z");
	assert_time(policy_slot_after(&h, T("2026-11-22T10:15:00Z")), "2026-11-22T11:15:00Z");
	assert_time(policy_slot_after(&h, T("2026-11-22T10:14:59Z")), "2026-11-22T10:15:00Z");

	assert_time(policy_slot_before(&d, T("2026-11-22T02:29:59Z")), "2026-11-21T02:30:00Z");
	assert_time(policy_slot_before(&d, T("2026-11-22T23:00:00Z")), "2026-11-22T02:30:00Z");
	assert_time(policy_slot_before(&d, T("2026-03-01T01:00:00Z")), "2026-02-28T02:30:00Z");
	assert_time(policy_slot_after(&d, T("2026-12-31T12:00:00Z")), "2027-01-01T02:30:00Z");

	assert_time(policy_slot_before(&w, T("2026-11-22T10:00:00Z")), "2026-11-22T03:00:00Z");
	assert_time(policy_slot_before(&w, T("2026-11-22T02:59:00Z")), "2026-11-15T03:00:00Z");
	assert_time(policy_slot_before(&w, T("2026-11-21T23:00:00Z")), "2026-11-15T03:00:00Z");
	assert_time(policy_slot_after(&w, T("2026-11-22T03:00:00Z")), "2026-11-29T03:00:00Z");
	/* the default: Monday 00:00 */
	w = sched(POLICY_WEEKLY, NULL);
	assert_time(policy_slot_before(&w, T("2026-11-22T10:00:00Z")), "2026-11-16T00:00:00Z");
	assert_time(policy_slot_after(&w, T("2026-11-22T10:00:00Z")), "2026-11-23T00:00:00Z");
}

static void test_slots_monthly(void **state)
{
	struct policy_sched m31 = sched(POLICY_MONTHLY, "31 22:00");
	struct policy_sched m29 = sched(POLICY_MONTHLY, "29 01:00");
	struct policy_sched m1 = sched(POLICY_MONTHLY, NULL);

	(void)state;
	/* past a short month's end: its last day */
	assert_time(policy_slot_before(&m31, T("2026-11-22T10:00:00Z")), "2026-10-31T22:00:00Z");
	assert_time(policy_slot_before(&m31, T("2026-12-01T00:00:00Z")), "2026-11-30T22:00:00Z");
	assert_time(policy_slot_after(&m31, T("2026-11-30T22:00:00Z")), "2026-12-31T22:00:00Z");
	assert_time(policy_slot_after(&m31, T("2027-01-31T22:00:00Z")), "2027-02-28T22:00:00Z");
	assert_time(policy_slot_after(&m31, T("2027-02-28T22:00:00Z")), "2027-03-31T22:00:00Z");
	assert_time(policy_slot_before(&m31, T("2027-03-15T00:00:00Z")), "2027-02-28T22:00:00Z");
	/* leap years: 2028 is one, 2100 is not, 2000 was */
	assert_time(policy_slot_before(&m31, T("2028-03-01T00:00:00Z")), "2028-02-29T22:00:00Z");
	assert_time(policy_slot_before(&m29, T("2100-03-01T00:00:00Z")), "2100-02-28T01:00:00Z");
	assert_time(policy_slot_before(&m29, T("2000-03-01T00:00:00Z")), "2000-02-29T01:00:00Z");
	/* across the year */
	assert_time(policy_slot_before(&m1, T("2026-01-01T00:00:00Z")), "2026-01-01T00:00:00Z");
	assert_time(policy_slot_before(&m1, T("2025-12-31T23:59:59Z")), "2025-12-01T00:00:00Z");
	assert_time(policy_slot_after(&m1, T("2025-12-15T00:00:00Z")), "2026-01-01T00:00:00Z");
	assert_time(policy_slot_before(&m31, T("2026-01-15T00:00:00Z")), "2025-12-31T22:00:00Z");
}

/* Walks every slot of a year: slot_after(slot_before(t)) is the next one,
 * always later, never more than a period away. */
static void test_slots_walk(void **state)
{
	static const char *const ats[] = {"0", "02:30", "fri 23:59", "31 12:00"};

	(void)state;
	for (int e = POLICY_HOURLY; e <= POLICY_MONTHLY; e++) {
		struct policy_sched s = sched((enum policy_every)e, ats[e]);
		time_t t = T("2026-12-31T23:59:59Z"), end = T("2028-01-01T00:00:00Z");
		time_t max = e == POLICY_HOURLY	  ? 3600
			     : e == POLICY_DAILY  ? 86400
			     : e == POLICY_WEEKLY ? 7 * 86400
						  : 31 * 86400;
		size_t n = 0;

		for (time_t next; (next = policy_slot_after(&s, t)) < end;) {
			assert_true(next > t);
			assert_true(next - t <= max);
			assert_int_equal(policy_slot_before(&s, next), next);
			assert_int_equal(policy_slot_before(&s, next - 1),
					 policy_slot_before(&s, t));
			t = next;
			n++;
		}
		switch (e) {
		case POLICY_HOURLY:
			assert_int_equal(n, 8760);
			break;
		case POLICY_DAILY:
			assert_int_equal(n, 365);
			break;
		case POLICY_WEEKLY:
			assert_int_equal(n, 53);
			break; /* 2027: 53 Fridays */
		case POLICY_MONTHLY:
			assert_int_equal(n, 12);
			break;
		}
	}
}

static void test_due(void **state)
{
	struct policy_sched h = sched(POLICY_HOURLY, "00");
	struct policy_sched d = sched(POLICY_DAILY, "02:00");
	time_t slot = 0;

	(void)state;
	/* never ran: due at once, for the latest slot */
	assert_true(policy_due(&h, -1, T("2026-11-22T10:20:00Z"), &slot));
	assert_time(slot, "2026-11-22T10:00:00Z");
	/* ran in this slot: not again until the next */
	assert_false(policy_due(&h, T("2026-11-22T10:00:00Z"), T("2026-11-22T10:59:59Z"), &slot));
	assert_false(policy_due(&h, T("2026-11-22T10:05:00Z"), T("2026-11-22T10:30:00Z"), NULL));
	assert_true(policy_due(&h, T("2026-11-22T10:05:00Z"), T("2026-11-22T11:00:00Z"), &slot));
	assert_time(slot, "2026-11-22T11:00:00Z");
	/* five missed hours: due once, for the latest; after it, not due */
	assert_true(policy_due(&h, T("2026-11-22T10:00:00Z"), T("2026-11-22T15:30:00Z"), &slot));
	assert_time(slot, "2026-11-22T15:00:00Z");
	assert_false(policy_due(&h, T("2026-11-22T15:30:00Z"), T("2026-11-22T15:35:00Z"), NULL));
	/* set at 14:00 (last_run then): the first snapshot comes at 02:00 */
	assert_false(policy_due(&d, T("2026-11-22T14:00:00Z"), T("2026-11-23T01:59:00Z"), NULL));
	assert_true(policy_due(&d, T("2026-11-22T14:00:00Z"), T("2026-11-23T02:00:00Z"), NULL));
	/* a clock set back (last run in the future): not due */
	assert_false(policy_due(&d, T("2026-11-24T14:00:00Z"), T("2026-11-23T03:00:00Z"), NULL));
}

static void test_names(void **state)
{
	static const char *const good[] = {"hourly", "a", "Nightly_2", "db.daily", "0-9", NULL};
	static const char *const bad[] = {"", "-x", "_x", ".x", "a b", "a/b", "näme", "a:b", NULL};
	char long_name[66];
	char *n;

	(void)state;
	for (size_t i = 0; good[i]; i++)
		assert_true(policy_name_valid(good[i], NULL));
	for (size_t i = 0; bad[i]; i++) {
		struct sd_err err = SD_ERR_INIT;
		assert_false(policy_name_valid(bad[i], &err));
		assert_int_equal(err.code, SD_ERR_INVALID);
	}
	assert_false(policy_name_valid(NULL, NULL));
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_false(policy_name_valid(long_name, NULL));
	long_name[64] = '\0';
	assert_true(policy_name_valid(long_name, NULL));

	n = policy_snapshot_name("hourly", T("2026-11-22T10:00:00Z"));
	assert_string_equal(n, "hourly-2026-11-22T10:00:00Z");
	assert_true(plan_name_valid(n, NULL));
	free(n);
	n = policy_snapshot_name(long_name, T("2026-11-22T10:00:00Z"));
	assert_true(plan_name_valid(n, NULL));
	free(n);
}

/* A VM with snapshots (name, created, policy id); 0 is manual. */
struct srow {
	const char *name, *created;
	int64_t policy;
};

static struct model_vm *vm_with(const struct srow *rows)
{
	struct model_vm *vm = sd_calloc(1, sizeof(*vm));
	size_t n = 0;

	while (rows[n].name)
		n++;
	vm->name = sd_strdup("web01");
	vm->snapshots = sd_calloc(n + 1, sizeof(*vm->snapshots));
	vm->nsnapshots = n;
	for (size_t i = 0; i < n; i++) {
		vm->snapshots[i].id = sd_asprintf("id-%s", rows[i].name);
		vm->snapshots[i].name = sd_strdup(rows[i].name);
		vm->snapshots[i].created = sd_strdup(rows[i].created);
		vm->snapshots[i].policy_id = rows[i].policy;
	}
	return vm;
}

static void assert_selected(const struct model_snapshot **v, size_t n, const char *want)
{
	char got[512] = "";

	for (size_t i = 0; i < n; i++) {
		strncat(got, i ? " " : "", sizeof(got) - strlen(got) - 1);
		strncat(got, v[i]->name, sizeof(got) - strlen(got) - 1);
	}
	assert_string_equal(got, want);
}

static void test_prune_select(void **state)
{
	/* tree order is not age order: a branch made later comes first */
	static const struct srow rows[] = {
	    {"base", "2026-11-20T00:00:00Z", 0},
	    {"h3", "2026-11-22T03:00:00Z", 1},
	    {"manual-old", "2026-11-19T00:00:00Z", 0},
	    {"h1", "2026-11-22T01:00:00Z", 1},
	    {"d1", "2026-11-21T00:00:00Z", 2},
	    {"h2", "2026-11-22T02:00:00Z", 1},
	    {"d2", "2026-11-22T00:00:00Z", 2},
	    {"h4", "2026-11-22T04:00:00Z", 1},
	    {"h4b", "2026-11-22T04:00:00Z", 1}, /* same second: by name */
	    {NULL, NULL, 0},
	};
	struct model_vm *vm = vm_with(rows);
	const struct model_snapshot *v[16];

	(void)state;
	assert_int_equal(policy_own_count(vm, 1), 5);
	assert_int_equal(policy_own_count(vm, 2), 2);
	assert_int_equal(policy_own_count(vm, 3), 0);
	assert_int_equal(policy_own_count(vm, 0), 0); /* manual ones belong to no policy */

	assert_int_equal(policy_prune_select(vm, 1, 3, v, 16), 2);
	assert_selected(v, 2, "h1 h2");
	assert_int_equal(policy_prune_select(vm, 1, 1, v, 16), 4);
	assert_selected(v, 4, "h1 h2 h3 h4");
	assert_int_equal(policy_prune_select(vm, 1, 5, v, 16), 0);
	assert_int_equal(policy_prune_select(vm, 1, 0, v, 16), 5);
	assert_selected(v, 5, "h1 h2 h3 h4 h4b");
	/* the other policy prunes independently; manual ones never appear */
	assert_int_equal(policy_prune_select(vm, 2, 1, v, 16), 1);
	assert_selected(v, 1, "d1");
	assert_int_equal(policy_prune_select(vm, 0, 0, v, 16), 0);
	/* max caps what is written, not what is counted */
	assert_int_equal(policy_prune_select(vm, 1, 0, v, 2), 5);
	assert_selected(v, 2, "h1 h2");
	model_vm_free(vm);
}

static void test_limits(void **state)
{
	(void)state;
	assert_int_equal(policy_limit_effective(0, 0), 0);
	assert_int_equal(policy_limit_effective(0, 10), 10);
	assert_int_equal(policy_limit_effective(5, 10), 5);
	assert_int_equal(policy_limit_effective(50, 10), 50);
	assert_int_equal(policy_limit_effective(-1, 10), 0); /* exempt */

	assert_false(policy_limit_reached(100, 0));
	assert_false(policy_limit_reached(4, 5));
	assert_true(policy_limit_reached(5, 5));
	assert_true(policy_limit_reached(6, 5));

	/* no limit, or room left: nothing to delete first */
	assert_int_equal(policy_limit_room(100, 0, 0), 0);
	assert_int_equal(policy_limit_room(4, 0, 5), 0);
	/* at the limit: one of its own goes */
	assert_int_equal(policy_limit_room(5, 2, 5), 1);
	/* beyond it (the limit was lowered): enough of its own to get under */
	assert_int_equal(policy_limit_room(7, 4, 5), 3);
	/* not enough of its own: it cannot fit */
	assert_int_equal(policy_limit_room(7, 2, 5), -1);
	assert_int_equal(policy_limit_room(5, 0, 5), -1);
	/* all of its own may go, for the one it takes */
	assert_int_equal(policy_limit_room(5, 1, 5), 1);

	assert_true(policy_space_ok(100, 40, 60));
	assert_false(policy_space_ok(99, 40, 60));
	assert_true(policy_space_ok(10, 0, 0));
	assert_false(policy_space_ok(UINT64_MAX, UINT64_MAX, 1)); /* overflow */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every),
	    cmocka_unit_test(test_at_parse),
	    cmocka_unit_test(test_slots_hourly_daily_weekly),
	    cmocka_unit_test(test_slots_monthly),
	    cmocka_unit_test(test_slots_walk),
	    cmocka_unit_test(test_due),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_prune_select),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
