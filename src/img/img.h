/* Image tools: qemu-img and qemu-io, always spawned with an argv (never a
 * shell). Only src/img spawns processes. */
#ifndef SD_IMG_IMG_H
#define SD_IMG_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/auto.h"
#include "util/err.h"

/* Runs argv[0] (looked up on PATH) with argv, stdin from /dev/null, and
 * collects stdout and stderr (either out pointer may be NULL). *status gets
 * the exit status (128+signal when killed). Returns 0 when the program ran
 * (whatever its status), -1 when it could not be started. */
int img_spawn(const char *const argv[], char **out, char **errout, int *status,
	      struct sd_err *err);
/* img_spawn that also requires status 0; otherwise err says
 * "<tool> failed: <first line of its stderr>". out may be NULL. */
int img_run(const char *const argv[], char **out, struct sd_err *err);

/* img_spawn for long jobs run with -p (qemu-img convert, rebase, commit):
 * parses the progress on the tool's stdout and calls on_progress (may be
 * NULL) with a fraction in [0, 1] each time the value changes. When *cancel
 * (may be NULL) becomes non-zero, the child gets SIGTERM, is reaped, and the
 * call returns -1 with a "cancelled" error (code SD_ERR_IMG); *status then
 * holds the reaped status. errout (may be NULL) gets the tool's stderr.
 * Returns 0 when the program ran to its end (whatever its status). */
int img_spawn_progress(const char *const argv[], void (*on_progress)(double fraction, void *opaque),
		       void *opaque, volatile int *cancel, char **errout, int *status,
		       struct sd_err *err);

/* Incremental parser of `qemu-img -p` output: "    (12.34/100%)" lines ended
 * by '\r' (or a final '\n'), fed in chunks cut anywhere. */
struct img_progress_state {
	void (*on_progress)(double fraction, void *opaque);
	void *opaque;
	char line[64]; /* the unfinished line */
	size_t len;
	bool overflow; /* the unfinished line is too long to be progress */
	int last;      /* last value reported, in 1/100 of a percent; -1 before any */
};
void img_progress_init(struct img_progress_state *st,
		       void (*on_progress)(double fraction, void *opaque), void *opaque);
/* Feeds len bytes; calls st->on_progress for each new value. Returns the
 * number of calls made. Pure. */
size_t img_progress_parse(const char *chunk, size_t len, struct img_progress_state *st);

/* path as it may be given to qemu-img / qemu-io: a relative path that they
 * would read as an option ("-x") or a protocol ("nbd:x", "json:{...}") gets
 * "./" in front; anything else is returned as is. Caller frees. */
char *img_path_arg(const char *path);

/* One layer as `qemu-img info --output=json` reports it. */
struct img_layer {
	char *filename;
	char *format;
	uint64_t virtual_size;
	uint64_t actual_size;
	uint64_t cluster_size;         /* 0 when not reported */
	char *backing_filename;        /* full-backing-filename, or NULL */
	char *backing_format;          /* or NULL */
	bool dirty;
	char *compat;                  /* qcow2 "1.1" or "0.10"; NULL for other formats */
};

/* A backing chain, top first, base last. */
struct img_chain {
	struct img_layer *layers;
	size_t n;
};
void img_chain_free(struct img_chain *chain);
SD_DEFINE_AUTO(img_chain, struct img_chain, img_chain_free)

/* Parses the JSON of `qemu-img info --output=json --backing-chain` (an
 * array) or of a plain `info --output=json` (one object). Pure. */
struct img_chain *img_chain_parse(const char *json, struct sd_err *err);
/* Runs qemu-img info --backing-chain on path. force_share adds -U (for images
 * a running QEMU holds; metadata may be stale). */
struct img_chain *img_info_chain(const char *path, bool force_share, struct sd_err *err);

/* qemu-img create -f qcow2 -o compat=1.1 [...] path size. */
int img_create(const char *path, const char *format, uint64_t size, const char *backing,
	       const char *backing_format, struct sd_err *err);
/* qemu-img check; 0 when the image is clean. */
int img_check(const char *path, const char *format, struct sd_err *err);
/* qemu-io -c "write -P pattern offset len" (or -z with pattern < 0). */
int img_write_pattern(const char *path, const char *format, int pattern, uint64_t offset,
		      uint64_t len, struct sd_err *err);
/* qemu-io -r -c "read -P pattern offset len"; 1 when it matches, 0 when it
 * does not, -1 when qemu-io could not run. */
int img_read_pattern(const char *path, const char *format, int pattern, uint64_t offset,
		     uint64_t len, struct sd_err *err);

/* ---- chain surgery on images no VM has open (chain-ops.c) ---- */

/* Bytes of data the top file itself holds (not its backing chain): the sum
 * of `qemu-img map --output=json` extents with depth 0 and present true
 * (zeroed clusters count: they hide the backing file's data; a raw file
 * counts whole). */
int img_allocated_top(const char *path, const char *format, uint64_t *bytes, struct sd_err *err);
/* qemu-img commit -q -d -f FMT -- TOP: writes TOP's data into its direct
 * backing file and leaves TOP as it was (never -b: see LIBVIRT-NOTES). Only
 * safe when that backing file has no other child. */
int img_commit(const char *top, const char *format, struct sd_err *err);
/* qemu-img rebase -q -f FMT [-u] -F BFMT -b BACKING -- TOP; backing NULL
 * makes TOP standalone (-b "", no -F; backing_format ignored). safe=false
 * adds -u (metadata only: the backing name changes, no data is copied). */
int img_rebase(const char *top, const char *format, const char *backing, const char *backing_format,
	       bool safe, struct sd_err *err);
/* qemu-img compare -q -f FMT1 -F FMT2 -- A B: 1 identical (guest view), 0
 * differ, -1 error (exit status 2 and above). */
int img_compare(const char *a, const char *format_a, const char *b, const char *format_b,
		struct sd_err *err);

/* ---- flattened copies (convert.c) ---- */

/* qemu-img measure -f FMT -O OUT_FMT --output=json SRC: *required gets the
 * bytes a copy of SRC (read through its backing chain) needs as OUT_FMT. */
int img_measure(const char *src, const char *src_format, const char *out_format,
		uint64_t *required, struct sd_err *err);
/* qemu-img convert -p -f FMT -O DST_FMT [-o compat=1.1] [-r RATE] SRC DST:
 * DST becomes a standalone copy of what SRC's chain reads; then DST is
 * fsynced (convert does not). rate_limit 0: none. Progress and cancel as
 * img_spawn_progress; a cancelled copy returns -1 with a "cancelled" error.
 * DST is left as it is on failure (the caller removes it). */
int img_convert(const char *src, const char *src_format, const char *dst, const char *dst_format,
		uint64_t rate_limit, void (*on_progress)(double fraction, void *opaque),
		void *opaque, volatile int *cancel, struct sd_err *err);
/* open + fsync + close of a file. */
int img_fsync_path(const char *path, struct sd_err *err);

/* Does a qcow2 file hold data of its own (any L2 table: written or zeroed
 * clusters)? Reads the header and L1 table directly: no process. */
int img_qcow2_has_data(const char *path, bool *has_data, struct sd_err *err);

#endif
