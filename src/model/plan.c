#include "config.h"

#include <string.h>

#include "model/plan.h"
#include "util/buf.h"
#include "util/i18n.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/uuid.h"

json_t *plan_new(const char *op, const char *vm)
{
	return json_pack("{s:s,s:s?,s:I,s:[],s:{}}", "op", op, "vm", vm, "pnr", (json_int_t)0,
			 "steps", "summary");
}

void plan_add_step(json_t *plan, const char *kind, json_t *args, json_t *undo, bool destructive,
		   const char *label)
{
	json_t *steps = json_object_get(plan, "steps");

	json_array_append_new(steps, json_pack("{s:s,s:o,s:o,s:b,s:s?}", "kind", kind, "args",
					       args ? args : json_object(), "undo",
					       undo ? undo : json_null(), "destructive", destructive,
					       "label", label));
	if (json_integer_value(json_object_get(plan, "pnr")) < 0)
		json_object_set_new(plan, "pnr", json_integer((json_int_t)json_array_size(steps)));
}

void plan_set_pnr_next(json_t *plan)
{
	if (json_integer_value(json_object_get(plan, "pnr")) == 0)
		json_object_set_new(plan, "pnr", json_integer(-1));
}

size_t plan_nsteps(const json_t *plan)
{
	return json_array_size(json_object_get(plan, "steps"));
}

char *plan_describe(const json_t *plan)
{
	struct sd_buf b = SD_BUF_INIT;
	const json_t *steps = json_object_get(plan, "steps"), *st;
	json_int_t pnr = json_integer_value(json_object_get(plan, "pnr"));
	size_t i;

	sd_buf_addf(&b, _("Plan for %s of %s:\n"), json_string_value(json_object_get(plan, "op")),
		    json_string_value(json_object_get(plan, "vm")));
	json_array_foreach(steps, i, st) {
		const char *label = json_string_value(json_object_get(st, "label"));
		sd_buf_addf(&b, "  %2zu. %s%s\n", i + 1,
			    label ? label : json_string_value(json_object_get(st, "kind")),
			    (json_int_t)(i + 1) == pnr ? _("  (point of no return)") : "");
	}
	return sd_buf_steal(&b);
}

char *plan_explain(const json_t *plan)
{
	struct sd_buf b = SD_BUF_INIT;
	const json_t *sum = json_object_get(plan, "summary");
	const json_t *files = json_object_get(sum, "files"), *f;
	size_t i;

	if (!json_object_get(plan, "steps")) {
		/* a revert: a preview, then a commit */
		SD_AUTOFREE char *a = plan_explain(json_object_get(plan, "preview"));
		SD_AUTOFREE char *c = plan_explain(json_object_get(plan, "commit"));
		sd_buf_addf(&b, "%s%s", a, c);
		return sd_buf_steal(&b);
	}
	{
		SD_AUTOFREE char *steps = plan_describe(plan);
		sd_buf_addf(&b, "%s", steps);
	}
	if (json_is_integer(json_object_get(sum, "bytes_to_move"))) {
		char size[32];
		sd_str_bytes((uint64_t)json_integer_value(json_object_get(sum, "bytes_to_move")), size,
			     sizeof(size));
		sd_buf_addf(&b, _("Data to move: %s\n"), size);
	}
	if (json_array_size(files) > 0) {
		sd_buf_addf(&b, "%s\n", _("Files touched:"));
		json_array_foreach(files, i, f)
			sd_buf_addf(&b, "  %s\n", json_string_value(f));
	}
	return sd_buf_steal(&b);
}

bool plan_name_valid(const char *name, struct sd_err *err)
{
	static const char *const reserved[] = { "current", "exclude", "now", "" };
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > 200) {
		sd_err_set(err, SD_ERR_INVALID, _("a snapshot name has 1 to 200 bytes"));
		return false;
	}
	if (!sd_str_printable_utf8(name)) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("a snapshot name must be UTF-8 text without control characters"));
		return false;
	}
	if (name[0] == ' ' || name[len - 1] == ' ' || name[0] == '-') {
		sd_err_set(err, SD_ERR_INVALID,
			   _("a snapshot name must not start with a space or '-', nor end with a space"));
		return false;
	}
	for (size_t i = 0; reserved[i][0]; i++)
		if (strcmp(name, reserved[i]) == 0) {
			sd_err_set(err, SD_ERR_INVALID, _("'%s' is a reserved word, not a snapshot name"),
				   name);
			return false;
		}
	if (sd_uuid_valid(name)) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("a snapshot name must not look like an id (a UUID)"));
		return false;
	}
	return true;
}
