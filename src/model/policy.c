/* Recurring snapshot policies: schedules, names, retention, limits. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model/policy.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

static const char *const every_names[] = {
    [POLICY_HOURLY] = "hourly",
    [POLICY_DAILY] = "daily",
    [POLICY_WEEKLY] = "weekly",
    [POLICY_MONTHLY] = "monthly",
};

static const char *const day_names[] = {"sunday",   "monday", "tuesday", "wednesday",
					"thursday", "friday", "saturday"};

const char *policy_every_name(enum policy_every every)
{
	return (size_t)every < SD_N_ELEMENTS(every_names) ? every_names[every] : "?";
}

bool policy_every_parse(const char *s, enum policy_every *out)
{
	for (size_t i = 0; s && i < SD_N_ELEMENTS(every_names); i++)
		if (strcmp(s, every_names[i]) == 0) {
			*out = (enum policy_every)i;
			return true;
		}
	return false;
}

/* 1 or 2 digits in lo..hi, the whole of s. */
static bool parse_num(const char *s, size_t len, int lo, int hi, int *out)
{
	int v = 0;

	if (len < 1 || len > 2)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* "HH:MM" */
static bool parse_hm(const char *s, int *hour, int *minute)
{
	const char *colon = strchr(s, ':');

	return colon && parse_num(s, (size_t)(colon - s), 0, 23, hour) &&
	       parse_num(colon + 1, strlen(colon + 1), 0, 59, minute);
}

static bool parse_day(const char *s, size_t len, int *wday)
{
	for (int d = 0; d < 7; d++)
		if ((len == 3 || len == strlen(day_names[d])) &&
		    strncasecmp(s, day_names[d], len) == 0) {
			*wday = d;
			return true;
		}
	return false;
}

int policy_at_parse(enum policy_every every, const char *at, struct policy_sched *out,
		    char norm[POLICY_AT_LEN], struct sd_err *err)
{
	static const char *const forms[] = {
	    [POLICY_HOURLY] = N_("MM (a minute, 0-59)"),
	    [POLICY_DAILY] = N_("HH:MM"),
	    [POLICY_WEEKLY] = N_("DOW HH:MM (DOW: mon..sun)"),
	    [POLICY_MONTHLY] = N_("DOM HH:MM (DOM: 1-31)"),
	};
	struct policy_sched s = {.every = every, .wday = 1, .mday = 1};
	const char *space;
	bool ok = true;

	if ((size_t)every >= SD_N_ELEMENTS(every_names)) {
		sd_err_set(err, SD_ERR_INVALID, _("unknown schedule"));
		return -1;
	}
	if (at && *at) {
		space = strchr(at, ' ');
		switch (every) {
		case POLICY_HOURLY:
			ok = parse_num(at, strlen(at), 0, 59, &s.minute);
			break;
		case POLICY_DAILY:
			ok = parse_hm(at, &s.hour, &s.minute);
			break;
		case POLICY_WEEKLY:
			ok = space && parse_day(at, (size_t)(space - at), &s.wday) &&
			     parse_hm(space + 1, &s.hour, &s.minute);
			break;
		case POLICY_MONTHLY:
			ok = space && parse_num(at, (size_t)(space - at), 1, 31, &s.mday) &&
			     parse_hm(space + 1, &s.hour, &s.minute);
			break;
		}
	}
	if (!ok) {
		sd_err_set(err, SD_ERR_INVALID, _("--at '%s' does not fit %s: use %s (UTC)"), at,
			   every_names[every], _(forms[every]));
		return -1;
	}
	if (norm) {
		switch (every) {
		case POLICY_HOURLY:
			snprintf(norm, POLICY_AT_LEN, "%02d", s.minute);
			break;
		case POLICY_DAILY:
			snprintf(norm, POLICY_AT_LEN, "%02d:%02d", s.hour, s.minute);
			break;
		case POLICY_WEEKLY:
			snprintf(norm, POLICY_AT_LEN, "%.3s %02d:%02d", day_names[s.wday], s.hour,
				 s.minute);
			break;
		case POLICY_MONTHLY:
			snprintf(norm, POLICY_AT_LEN, "%d %02d:%02d", s.mday, s.hour, s.minute);
			break;
		}
	}
	*out = s;
	return 0;
}

static int days_in_month(int year, int mon /* 0..11 */)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 1 && leap ? 29 : days[mon];
}

/* The monthly slot of the month (year is tm_year + 1900, mon 0..11). */
static time_t month_slot(const struct policy_sched *s, int year, int mon)
{
	struct tm tm = {0};
	int dim = days_in_month(year, mon);

	tm.tm_year = year - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = s->mday < dim ? s->mday : dim;
	tm.tm_hour = s->hour;
	tm.tm_min = s->minute;
	return timegm(&tm);
}

time_t policy_slot_before(const struct policy_sched *s, time_t t)
{
	struct tm tm;
	time_t day, slot;

	gmtime_r(&t, &tm);
	day = t - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
	switch (s->every) {
	case POLICY_HOURLY:
		slot = t - (tm.tm_min * 60 + tm.tm_sec) + s->minute * 60;
		return slot > t ? slot - 3600 : slot;
	case POLICY_DAILY:
		slot = day + s->hour * 3600 + s->minute * 60;
		return slot > t ? slot - 86400 : slot;
	case POLICY_WEEKLY:
		slot = day - ((tm.tm_wday - s->wday + 7) % 7) * 86400 + s->hour * 3600 +
		       s->minute * 60;
		return slot > t ? slot - 7 * 86400 : slot;
	case POLICY_MONTHLY: {
		int year = tm.tm_year + 1900, mon = tm.tm_mon;
		slot = month_slot(s, year, mon);
		if (slot <= t)
			return slot;
		if (--mon < 0) {
			mon = 11;
			year--;
		}
		return month_slot(s, year, mon);
	}
	}
	return t;
}

time_t policy_slot_after(const struct policy_sched *s, time_t t)
{
	time_t slot = policy_slot_before(s, t);
	struct tm tm;

	switch (s->every) {
	case POLICY_HOURLY:
		return slot + 3600;
	case POLICY_DAILY:
		return slot + 86400;
	case POLICY_WEEKLY:
		return slot + 7 * 86400;
	case POLICY_MONTHLY:
		/* the slot's month, or (clamped at a short month's end) the one
		 * before it; either way the next month's slot follows */
		gmtime_r(&slot, &tm);
		for (int k = 1; k <= 2; k++) {
			int mon = tm.tm_mon + k, year = tm.tm_year + 1900;
			time_t next;
			if (mon > 11) {
				mon -= 12;
				year++;
			}
			next = month_slot(s, year, mon);
			if (next > t)
				return next;
		}
		break;
	}
	return t + 1;
}

bool policy_due(const struct policy_sched *s, time_t last_run, time_t now, time_t *slot)
{
	time_t latest = policy_slot_before(s, now);

	if (slot)
		*slot = latest;
	return last_run < 0 || last_run < latest;
}

bool policy_name_valid(const char *name, struct sd_err *err)
{
	size_t len = name ? strlen(name) : 0;

	if (len < 1 || len > 64) {
		sd_err_set(err, SD_ERR_INVALID, _("a policy name has 1 to 64 characters"));
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum =
		    (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.'))) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("a policy name is made of letters, digits, '-', '_' and '.', "
				     "and starts with a letter or a digit"));
			return false;
		}
	}
	return true;
}

char *policy_snapshot_name(const char *policy, time_t t)
{
	char iso[SD_ISO_LEN];

	sd_time_iso(t, iso);
	return sd_asprintf("%s-%s", policy, iso);
}

size_t policy_own_count(const struct model_vm *vm, int64_t policy_id)
{
	size_t n = 0;

	for (size_t i = 0; policy_id > 0 && i < vm->nsnapshots; i++)
		n += vm->snapshots[i].policy_id == policy_id;
	return n;
}

/* Oldest first: by creation time, then by name (the time is in it). */
static int snapshot_age_cmp(const void *a, const void *b)
{
	const struct model_snapshot *x = *(const struct model_snapshot *const *)a;
	const struct model_snapshot *y = *(const struct model_snapshot *const *)b;
	int c = strcmp(x->created ? x->created : "", y->created ? y->created : "");

	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

size_t policy_prune_select(const struct model_vm *vm, int64_t policy_id, size_t keep,
			   const struct model_snapshot **out, size_t max)
{
	size_t own = policy_own_count(vm, policy_id), n = 0, extra;
	const struct model_snapshot **all;

	if (own <= keep)
		return 0;
	extra = own - keep;
	all = sd_calloc(own, sizeof(*all));
	for (size_t i = 0; i < vm->nsnapshots; i++)
		if (vm->snapshots[i].policy_id == policy_id)
			all[n++] = &vm->snapshots[i];
	qsort(all, n, sizeof(*all), snapshot_age_cmp);
	for (size_t i = 0; i < extra && i < max; i++)
		out[i] = all[i];
	free(all);
	return extra;
}

int64_t policy_limit_effective(int64_t vm_limit, int64_t default_limit)
{
	if (vm_limit < 0)
		return 0;
	if (vm_limit > 0)
		return vm_limit;
	return default_limit > 0 ? default_limit : 0;
}

int64_t policy_limit_room(size_t total, size_t own, int64_t limit)
{
	int64_t need;

	if (limit <= 0)
		return 0;
	need = (int64_t)total + 1 - limit;
	if (need <= 0)
		return 0;
	return need > (int64_t)own ? -1 : need;
}

bool policy_limit_reached(size_t total, int64_t limit)
{
	return limit > 0 && (int64_t)total >= limit;
}

bool policy_space_ok(uint64_t free_bytes, uint64_t last_took, uint64_t margin)
{
	uint64_t need = last_took + margin;

	if (need < last_took) /* overflow */
		return false;
	return free_bytes >= need;
}
