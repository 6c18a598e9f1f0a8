#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "util/auto.h"
#include "util/buf.h"
#include "util/conf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"

/* The central table: every family of commands, in help order. */
static const struct cli_cmd *const families[] = {
	cli_cmds_vm,
	cli_cmds_snapshot,
	cli_cmds_preview,
	cli_cmds_sync,
	cli_cmds_clone,
	cli_cmds_deploy,
	cli_cmds_policy,
	cli_cmds_demo,
};

struct cli_ctx {
	struct ctl_options opts;
	bool json;
	struct ctl *ctl;
};

struct ctl *cli_ctl(struct cli_ctx *ctx, struct sd_err *err)
{
	if (!ctx->ctl)
		ctx->ctl = ctl_open(&ctx->opts, err);
	return ctx->ctl;
}

json_t *cli_json_str(const char *s)
{
	struct sd_buf b = SD_BUF_INIT;
	const unsigned char *p = (const unsigned char *)s;
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	/* Not UTF-8 (a path from an odd file system): keep what is valid and
	 * show each invalid byte as U+FFFD, so the output stays valid JSON. */
	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		json_t *probe = NULL;
		if (n > 0 && strnlen((const char *)p, n) == n)
			probe = json_stringn((const char *)p, n);
		if (probe) {
			sd_buf_addn(&b, (const char *)p, n);
			json_decref(probe);
			p += n;
		} else {
			sd_buf_add(&b, "\xef\xbf\xbd");
			p++;
		}
	}
	j = json_string(b.data ? b.data : "");
	sd_buf_free(&b);
	return j ? j : json_string("");
}

void cli_say(const char *line, void *opaque)
{
	struct cli_ctx *ctx = opaque;

	if (ctx && ctx->json)
		return;
	cli_print_safe(stderr, line);
	fputc('\n', stderr);
}

bool cli_json(const struct cli_ctx *ctx)
{
	return ctx && ctx->json;
}

const char *cli_arg(const struct cli_args *a, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < a->nopt; i++)
		if (strcmp(a->opt_names[i], name) == 0)
			v = a->opt_values[i];
	return v;
}

bool cli_flag(const struct cli_args *a, const char *name)
{
	for (size_t i = 0; i < a->nopt; i++)
		if (strcmp(a->opt_names[i], name) == 0)
			return true;
	return false;
}

/* ---- help ---- */

static void print_global_usage(FILE *fp)
{
	fprintf(fp, _("Usage: snapdeck [OPTIONS]                 open the console\n"
		      "       snapdeck [OPTIONS] COMMAND [ARGS]  run one command\n"));
	fputc('\n', fp);
	fprintf(fp, _("Options:\n"
		      "  -c, --connect URI   libvirt URI (default: LIBVIRT_DEFAULT_URI, then\n"
		      "                      snapdeck.conf, then libvirt's own)\n"
		      "      --catalog PATH  catalog file (default: SNAPDECK_CATALOG, then\n"
		      "                      snapdeck.conf, then /var/lib/snapdeck/catalog.db for root)\n"
		      "      --read-only     connect read-only and change nothing\n"
		      "      --json          print results as JSON on stdout\n"
		      "  -h, --help          show this help, or a command's help\n"
		      "  -V, --version       show the version\n"));
}

static void print_commands(FILE *fp)
{
	const char *headers[] = { "", "" };
	struct cli_table *t = cli_table_new(2, headers);

	fprintf(fp, "\n%s\n", _("Commands:"));
	for (size_t f = 0; f < SD_N_ELEMENTS(families); f++)
		for (const struct cli_cmd *c = families[f]; c->words; c++) {
			SD_AUTOFREE char *left = sd_asprintf("  %s %s", c->words, c->usage);
			const char *cells[] = { left, _(c->summary) };
			cli_table_add(t, cells);
		}
	/* skip the empty header line */
	fflush(fp);
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		if (mem) {
			cli_table_print(t, mem);
			fclose(mem);
			const char *nl = strchr(buf, '\n');
			fputs(nl ? nl + 1 : buf, fp);
			free(buf);
		}
	}
	cli_table_free(t);
	fprintf(fp, "\n%s\n", _("Run 'snapdeck COMMAND --help' for a command's options."));
}

static void print_cmd_help(const struct cli_cmd *c, FILE *fp)
{
	fprintf(fp, _("Usage: snapdeck [OPTIONS] %s %s\n"), c->words, c->usage);
	fprintf(fp, "\n%s\n", _(c->summary));
	if (c->opts && c->opts[0].name) {
		fprintf(fp, "\n%s\n", _("Options:"));
		for (const struct cli_opt *o = c->opts; o->name; o++) {
			SD_AUTOFREE char *left =
				o->kind == CLI_FLAG ? sd_asprintf("--%s", o->name)
						    : sd_asprintf("--%s %s", o->name, o->metavar);
			fprintf(fp, "  %-24s %s\n", left, _(o->help));
		}
	}
	fprintf(fp, "  %-24s %s\n", "--json", _("print the result as JSON"));
}

/* ---- parsing ---- */

static const struct cli_cmd *find_cmd(int argc, char **argv, int *consumed)
{
	const struct cli_cmd *best = NULL;
	int best_words = 0;

	for (size_t f = 0; f < SD_N_ELEMENTS(families); f++)
		for (const struct cli_cmd *c = families[f]; c->words; c++) {
			char **w = sd_strv_split(c->words, ' ');
			int n = (int)sd_strv_len(w), i;
			for (i = 0; i < n && i < argc; i++)
				if (strcmp(w[i], argv[i]) != 0)
					break;
			if (i == n && n > best_words) {
				best = c;
				best_words = n;
			}
			sd_strv_free(w);
		}
	*consumed = best_words;
	return best;
}

/* Is word the first word of some command (a family such as "vm")? */
static bool is_family(const char *word)
{
	for (size_t f = 0; f < SD_N_ELEMENTS(families); f++)
		for (const struct cli_cmd *c = families[f]; c->words; c++) {
			size_t len = strlen(word);
			if (strncmp(c->words, word, len) == 0 && c->words[len] == ' ')
				return true;
		}
	return false;
}

static void print_family_help(const char *word, FILE *fp)
{
	fprintf(fp, _("Usage: snapdeck [OPTIONS] %s COMMAND\n\n"), word);
	for (size_t f = 0; f < SD_N_ELEMENTS(families); f++)
		for (const struct cli_cmd *c = families[f]; c->words; c++) {
			size_t len = strlen(word);
			if (strncmp(c->words, word, len) == 0 && c->words[len] == ' ')
				fprintf(fp, "  %s %s\n      %s\n", c->words, c->usage, _(c->summary));
		}
}

enum { GLOBAL_NONE, GLOBAL_TAKEN, GLOBAL_ERROR, GLOBAL_HELP, GLOBAL_VERSION };

/* Consumes one global option at argv[*i]; returns GLOBAL_NONE when argv[*i]
 * is not one. */
static int parse_global(struct cli_ctx *ctx, int argc, char **argv, int *i, struct sd_err *err)
{
	const char *a = argv[*i];
	const char *val = NULL;
	const char *name = NULL;

	if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
		return GLOBAL_HELP;
	if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0)
		return GLOBAL_VERSION;
	if (strcmp(a, "--json") == 0) {
		ctx->json = true;
		return GLOBAL_TAKEN;
	}
	if (strcmp(a, "--read-only") == 0) {
		ctx->opts.readonly = true;
		return GLOBAL_TAKEN;
	}
	if (strcmp(a, "-c") == 0 || strcmp(a, "--connect") == 0)
		name = "connect";
	else if (strncmp(a, "--connect=", 10) == 0)
		name = "connect", val = a + 10;
	else if (strcmp(a, "--catalog") == 0)
		name = "catalog";
	else if (strncmp(a, "--catalog=", 10) == 0)
		name = "catalog", val = a + 10;
	else
		return GLOBAL_NONE;
	if (!val) {
		if (*i + 1 >= argc) {
			sd_err_set(err, SD_ERR_USAGE, _("option %s needs a value"), a);
			return GLOBAL_ERROR;
		}
		val = argv[++*i];
	}
	if (strcmp(name, "connect") == 0)
		ctx->opts.uri = val;
	else
		ctx->opts.catalog_path = val;
	return GLOBAL_TAKEN;
}

static const struct cli_opt *find_opt(const struct cli_cmd *c, const char *name, size_t len)
{
	for (const struct cli_opt *o = c->opts; o && o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static void args_free(struct cli_args *a)
{
	free(a->pos);
	free(a->opt_names);
	free(a->opt_values);
}

/* Parses what follows the command words. */
static int parse_cmd_args(struct cli_ctx *ctx, const struct cli_cmd *c, int argc, char **argv,
			  struct cli_args *a, bool *help, struct sd_err *err)
{
	bool only_pos = false;

	a->pos = sd_calloc((size_t)argc + 1, sizeof(char *));
	a->opt_names = sd_calloc((size_t)argc + 1, sizeof(char *));
	a->opt_values = sd_calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		int g;

		if (only_pos || arg[0] != '-' || strcmp(arg, "-") == 0) {
			a->pos[a->npos++] = argv[i];
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_pos = true;
			continue;
		}
		g = parse_global(ctx, argc, argv, &i, err);
		if (g == GLOBAL_ERROR)
			return -1;
		if (g == GLOBAL_HELP) {
			*help = true;
			return 0;
		}
		if (g == GLOBAL_TAKEN)
			continue;
		if (g == GLOBAL_VERSION) {
			sd_err_set(err, SD_ERR_USAGE, _("--version goes before the command"));
			return -1;
		}
		if (strncmp(arg, "--", 2) == 0) {
			const char *name = arg + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			const struct cli_opt *o = find_opt(c, name, len);

			if (!o) {
				sd_err_set(err, SD_ERR_USAGE, _("unknown option --%.*s for '%s'"),
					   (int)len, name, c->words);
				return -1;
			}
			a->opt_names[a->nopt] = o->name;
			if (o->kind == CLI_FLAG) {
				if (eq) {
					sd_err_set(err, SD_ERR_USAGE,
						   _("option --%s takes no value"), o->name);
					return -1;
				}
				a->opt_values[a->nopt++] = NULL;
				continue;
			}
			if (eq) {
				a->opt_values[a->nopt++] = eq + 1;
			} else if (i + 1 < argc) {
				a->opt_values[a->nopt++] = argv[++i];
			} else {
				sd_err_set(err, SD_ERR_USAGE, _("option --%s needs a value"),
					   o->name);
				return -1;
			}
			if (o->kind == CLI_VALUE) {
				int seen = 0;
				for (size_t k = 0; k < a->nopt; k++)
					seen += strcmp(a->opt_names[k], o->name) == 0;
				if (seen > 1) {
					sd_err_set(err, SD_ERR_USAGE,
						   _("option --%s given more than once"), o->name);
					return -1;
				}
			}
			continue;
		}
		sd_err_set(err, SD_ERR_USAGE, _("unknown option %s for '%s'"), arg, c->words);
		return -1;
	}
	if (a->npos < c->min_pos || a->npos > c->max_pos) {
		sd_err_set(err, SD_ERR_USAGE, _("usage: snapdeck %s %s"), c->words, c->usage);
		return -1;
	}
	return 0;
}

/* The configuration file fills in what neither an option nor the
 * environment said (option > environment > snapdeck.conf > built-in). */
static int apply_conf(struct cli_ctx *ctx, struct sd_err *err)
{
	const struct sd_conf *conf;
	const char *env;

	if (sd_conf_init(err) < 0)
		return -1;
	conf = sd_conf_get();
	env = getenv("LIBVIRT_DEFAULT_URI");
	if (!ctx->opts.uri && !(env && *env) && conf->uri)
		ctx->opts.uri = conf->uri;
	env = getenv("SNAPDECK_CATALOG");
	if (!ctx->opts.catalog_path && !(env && *env) && conf->catalog)
		ctx->opts.catalog_path = conf->catalog;
	return 0;
}

static int report(struct cli_ctx *ctx, const struct sd_err *err)
{
	if (ctx->json) {
		json_t *e = json_pack("{s:{s:s,s:o}}", "error", "code", sd_err_code_name(err->code),
				      "message", cli_json_str(err->msg));
		json_dumpf(e, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(e);
	} else {
		fputs("snapdeck: ", stderr);
		cli_print_safe(stderr, err->msg);
		fputc('\n', stderr);
	}
	return sd_err_exit_status(err);
}

int cli_main(int argc, char **argv, int (*console)(const struct ctl_options *opts))
{
	struct cli_ctx ctx = { { NULL, NULL, false }, false, NULL };
	struct sd_err err = SD_ERR_INIT;
	struct cli_args a = { 0 };
	const struct cli_cmd *cmd;
	json_t *out = NULL;
	int i = 1, consumed = 0, status;
	bool help = false;

	/* Global options before the command. */
	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		int g = parse_global(&ctx, argc, argv, &i, &err);
		if (g == GLOBAL_ERROR)
			return report(&ctx, &err);
		if (g == GLOBAL_HELP) {
			print_global_usage(stdout);
			print_commands(stdout);
			return 0;
		}
		if (g == GLOBAL_VERSION) {
			printf("snapdeck %s\n", PACKAGE_VERSION);
			return 0;
		}
		if (g == GLOBAL_NONE) {
			sd_err_set(&err, SD_ERR_USAGE, _("unknown option %s"), argv[i]);
			return report(&ctx, &err);
		}
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		/* No command: the console. */
		if (ctx.json || !console) {
			sd_err_set(&err, SD_ERR_USAGE, _("no command given; see 'snapdeck --help'"));
			return report(&ctx, &err);
		}
		if (apply_conf(&ctx, &err) < 0)
			return report(&ctx, &err);
		return console(&ctx.opts);
	}
	cmd = find_cmd(argc - i, argv + i, &consumed);
	if (!cmd) {
		if (is_family(argv[i])) {
			bool want_help = i + 1 < argc && (strcmp(argv[i + 1], "--help") == 0 ||
							  strcmp(argv[i + 1], "-h") == 0);
			print_family_help(argv[i], want_help ? stdout : stderr);
			return want_help ? 0 : 2;
		}
		sd_err_set(&err, SD_ERR_USAGE, _("unknown command '%s'; see 'snapdeck --help'"),
			   argv[i]);
		return report(&ctx, &err);
	}
	i += consumed;
	if (parse_cmd_args(&ctx, cmd, argc - i, argv + i, &a, &help, &err) < 0) {
		args_free(&a);
		return report(&ctx, &err);
	}
	if (help) {
		print_cmd_help(cmd, stdout);
		args_free(&a);
		return 0;
	}
	if (apply_conf(&ctx, &err) < 0) {
		args_free(&a);
		return report(&ctx, &err);
	}
	if (cmd->run(&ctx, &a, &out, &err) < 0) {
		if (!sd_err_is_set(&err))
			sd_err_set(&err, SD_ERR_INTERNAL, _("'%s' failed"), cmd->words);
		status = report(&ctx, &err);
	} else {
		if (ctx.json) {
			json_t *shown = cmd->json ? cmd->json(out) : json_incref(out);
			json_dumpf(shown, stdout, JSON_INDENT(2));
			json_decref(shown);
			fputc('\n', stdout);
		} else if (cmd->print) {
			cmd->print(out, stdout);
		}
		status = 0;
	}
	if (fflush(stdout) != 0 && status == 0)
		status = 1;
	json_decref(out);
	args_free(&a);
	ctl_close(ctx.ctl);
	return status;
}
