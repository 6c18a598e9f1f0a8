/* Recurring snapshot policies (DESIGN.md 10): when one is due, what its
 * snapshots are called, which of them retention deletes, and the per-VM
 * snapshot limit. Pure: times are passed in (UTC), nothing is read. */
#ifndef SD_MODEL_POLICY_H
#define SD_MODEL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model/state.h"
#include "util/err.h"

enum policy_every { POLICY_HOURLY, POLICY_DAILY, POLICY_WEEKLY, POLICY_MONTHLY };

/* "hourly", "daily", "weekly", "monthly". */
const char *policy_every_name(enum policy_every every);
bool policy_every_parse(const char *s, enum policy_every *out);

/* When in its period a policy runs, in UTC. */
struct policy_sched {
	enum policy_every every;
	int minute; /* 0..59 */
	int hour;   /* 0..23 (daily, weekly, monthly) */
	int wday;   /* 0 Sunday .. 6 Saturday (weekly) */
	int mday;   /* 1..31 (monthly; past a short month's end: its last day) */
};

#define POLICY_AT_LEN 16
/* Parses --at for every: hourly "MM", daily "HH:MM", weekly "DOW HH:MM"
 * (DOW mon..sun, or a whole day name, any case), monthly "DOM HH:MM" (DOM
 * 1..31). NULL or "" gives the default (minute 0, 00:00, Monday, the 1st).
 * norm (may be NULL) gets the canonical spelling ("05", "02:30",
 * "mon 02:30", "1 02:30"). */
int policy_at_parse(enum policy_every every, const char *at, struct policy_sched *out,
		    char norm[POLICY_AT_LEN], struct sd_err *err);

/* The latest scheduled time at or before t. */
time_t policy_slot_before(const struct policy_sched *s, time_t t);
/* The first scheduled time after t. */
time_t policy_slot_after(const struct policy_sched *s, time_t t);
/* Is the policy due at now, having last run at last_run (-1: never)? It is
 * when a scheduled time has passed since last_run; however many have
 * passed, it is due once. *slot (may be NULL) gets the latest one. */
bool policy_due(const struct policy_sched *s, time_t last_run, time_t now, time_t *slot);

/* A policy's name: 1 to 64 letters, digits, '-', '_' or '.', starting with
 * a letter or a digit. */
bool policy_name_valid(const char *name, struct sd_err *err);
/* "<policy>-<UTC time>", e.g. "hourly-2026-11-22T10:00:00Z" (caller frees). */
char *policy_snapshot_name(const char *policy, time_t t);

/* The snapshots of vm made by policy_id (oldest first) beyond the newest
 * keep, which retention deletes. out gets up to max pointers into vm;
 * returns how many there are (may exceed max). Other snapshots never
 * appear. */
size_t policy_prune_select(const struct model_vm *vm, int64_t policy_id, size_t keep,
			   const struct model_snapshot **out, size_t max);
/* Counts the snapshots of vm made by policy_id. */
size_t policy_own_count(const struct model_vm *vm, int64_t policy_id);

/* The limit that applies: the VM's own (> 0), none (< 0: the VM is exempt),
 * or the default (the VM's is 0). 0 means no limit. */
int64_t policy_limit_effective(int64_t vm_limit, int64_t default_limit);
/* Before a policy takes one more snapshot of a VM holding total snapshots,
 * own of them its own: how many of its own it must delete first to stay
 * within limit (0: none), or -1 when even all of its own would not make
 * room. */
int64_t policy_limit_room(size_t total, size_t own, int64_t limit);
/* Would one more snapshot exceed limit? (manual snapshots are refused) */
bool policy_limit_reached(size_t total, int64_t limit);

/* Is there room for a snapshot: free bytes against what the policy's last
 * snapshot took plus a margin? */
bool policy_space_ok(uint64_t free_bytes, uint64_t last_took, uint64_t margin);

#endif
