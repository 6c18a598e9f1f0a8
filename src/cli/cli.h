/* The command line: one table of commands drives parsing, --help and the
 * man page's command list. Each command produces a JSON value; the text and
 * the --json output are two sinks of that one result. */
#ifndef SD_CLI_CLI_H
#define SD_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "ctl/ctl.h"
#include "util/err.h"

struct cli_ctx;

enum cli_opt_kind {
	CLI_FLAG,   /* --dry-run */
	CLI_VALUE,  /* --name N */
	CLI_REPEAT, /* --disk X, given any number of times */
};

struct cli_opt {
	const char *name; /* long name without the dashes */
	enum cli_opt_kind kind;
	const char *metavar; /* "NAME" for values */
	const char *help;    /* N_() marked */
};

struct cli_args {
	int npos;
	char **pos;
	/* options in the order given: name, value (NULL for flags) */
	size_t nopt;
	const char **opt_names;
	const char **opt_values;
};

/* The value of an option (the last one given), or NULL. */
const char *cli_arg(const struct cli_args *a, const char *name);
bool cli_flag(const struct cli_args *a, const char *name);

struct cli_cmd {
	const char *words;   /* "vm list" */
	const char *usage;   /* "VM [--dir DIR]" */
	const char *summary; /* N_() marked */
	int min_pos, max_pos;
	const struct cli_opt *opts; /* terminated by a NULL name; may be NULL */
	bool no_ctl;                /* runs without a libvirt connection */
	/* Does the work; on success *out holds the result (owned by the caller). */
	int (*run)(struct cli_ctx *ctx, const struct cli_args *a, json_t **out,
		   struct sd_err *err);
	/* The text sink: prints the result for people. */
	void (*print)(const json_t *out, FILE *fp);
	/* What the JSON sink prints, when not the result itself (new reference). */
	json_t *(*json)(json_t *out);
};

/* The result of an operation (a plan run, or only planned with --dry-run),
 * and its text sink. Steals plan. */
json_t *cli_op_result(json_t *plan, bool dry_run);
void cli_op_print(const json_t *out, FILE *fp);
/* The result of a task-running operation: cli_op_result with the task id
 * (null when none) and whether it was detached. Steals plan. */
json_t *cli_task_result(json_t *plan, bool dry_run, int64_t task, bool detach);
/* Prints a task result that only planned (--dry-run) or was detached; true
 * when it did, false when the caller prints what the task made. */
bool cli_task_print_pending(const json_t *out, FILE *fp);

/* The controller, opened on first use with the global options. */
struct ctl *cli_ctl(struct cli_ctx *ctx, struct sd_err *err);
/* A JSON string; bytes that are not UTF-8 become U+FFFD; NULL gives null. */
json_t *cli_json_str(const char *s);
/* A progress line for people (stderr, not with --json). */
void cli_say(const char *line, void *opaque);
/* Was --json given? (progress displays stay quiet then) */
bool cli_json(const struct cli_ctx *ctx);

/* The command families, each in its cmd-<family>.c, ending with a NULL words. */
extern const struct cli_cmd cli_cmds_vm[];
extern const struct cli_cmd cli_cmds_demo[];
extern const struct cli_cmd cli_cmds_snapshot[];
extern const struct cli_cmd cli_cmds_preview[];
extern const struct cli_cmd cli_cmds_sync[];
extern const struct cli_cmd cli_cmds_clone[];
extern const struct cli_cmd cli_cmds_deploy[];
extern const struct cli_cmd cli_cmds_policy[];

/* The whole CLI: global options, then a command, or with no command the
 * console (console may be NULL). Returns the exit status. */
int cli_main(int argc, char **argv, int (*console)(const struct ctl_options *opts));

#endif
