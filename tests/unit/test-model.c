/* The pure planners of src/model: a VM's state is built from small tables,
 * a planner is called with a fixed clock and predictable ids, and the JSON
 * plan is checked step by step. Where it helps, the plan's catalog changes
 * are applied to the model (as catalog_apply would) to check the state that
 * follows. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "model/plan.h"
#include "model/state.h"
#include "tests/lib/sdtest.h"
#include "util/auto.h"
#include "util/err.h"
#include "util/mem.h"
#include "util/str.h"

#define NOW "2026-11-22T10:00:00Z"
#define XML_NOW "<domain><name>web01</name><!-- now --></domain>"
#define VM_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f"

/* ---- building a VM from tables ---- */

struct img_row {
	const char *id, *path, *parent;
	uint64_t allocated;
	const char *pool; /* NULL: "pool1" for /p1 paths, none otherwise */
};
struct disk_row {
	const char *target, *active; /* disk id: "d-" target */
};
struct snap_row {
	const char *id, *name, *parent, *xml, *memory;
	const char *disks; /* "vda=a0 vdb=b0" */
};

static struct model_vm *vm_build(const struct img_row *imgs, const struct disk_row *disks,
				 const struct snap_row *snaps, const char *current)
{
	struct model_vm *vm = sd_calloc(1, sizeof(*vm));
	size_t n;

	vm->id = 7;
	vm->host_id = 1;
	vm->uuid = sd_strdup(VM_UUID);
	vm->name = sd_strdup("web01");
	vm->current_snapshot = sd_strdup(current);
	for (n = 0; imgs && imgs[n].id; n++)
		;
	vm->images = sd_calloc(n + 1, sizeof(*vm->images));
	vm->nimages = n;
	for (size_t i = 0; i < n; i++) {
		struct model_image *m = &vm->images[i];
		m->id = sd_strdup(imgs[i].id);
		m->path = imgs[i].path ? sd_strdup(imgs[i].path)
				       : sd_asprintf("/p1/%s.qcow2", imgs[i].id);
		m->format = sd_strdup("qcow2");
		m->parent_id = sd_strdup(imgs[i].parent);
		m->pool = sd_strdup(imgs[i].pool		       ? imgs[i].pool
				    : strncmp(m->path, "/p1/", 4) == 0 ? "pool1"
								       : NULL);
		m->virtual_size = 10ULL << 30;
		m->allocated = imgs[i].allocated;
	}
	for (n = 0; disks && disks[n].target; n++)
		;
	vm->disks = sd_calloc(n + 1, sizeof(*vm->disks));
	vm->ndisks = n;
	for (size_t i = 0; i < n; i++) {
		vm->disks[i].id = sd_asprintf("d-%s", disks[i].target);
		vm->disks[i].target = sd_strdup(disks[i].target);
		vm->disks[i].active_image_id = sd_strdup(disks[i].active);
	}
	for (n = 0; snaps && snaps[n].id; n++)
		;
	vm->snapshots = sd_calloc(n + 1, sizeof(*vm->snapshots));
	vm->nsnapshots = n;
	for (size_t i = 0; i < n; i++) {
		struct model_snapshot *s = &vm->snapshots[i];
		char **pairs = sd_strv_split(snaps[i].disks, ' ');

		s->id = sd_strdup(snaps[i].id);
		s->name = sd_strdup(snaps[i].name);
		s->parent_id = sd_strdup(snaps[i].parent);
		s->created = sd_strdup("2026-11-01T09:00:00Z");
		s->description = sd_strdup("");
		s->domain_xml = snaps[i].xml ? sd_strdup(snaps[i].xml)
					     : sd_asprintf("<domain><!-- %s --></domain>", s->name);
		s->memory_path = sd_strdup(snaps[i].memory);
		s->ndisks = sd_strv_len(pairs);
		s->disks = sd_calloc(s->ndisks + 1, sizeof(*s->disks));
		for (size_t d = 0; d < s->ndisks; d++) {
			char *eq = strchr(pairs[d], '=');
			assert_non_null(eq);
			s->disks[d].target = sd_strndup(pairs[d], (size_t)(eq - pairs[d]));
			s->disks[d].disk_id = sd_asprintf("d-%s", s->disks[d].target);
			s->disks[d].image_id = sd_strdup(eq + 1);
		}
		sd_strv_free(pairs);
	}
	return vm;
}

static struct model_image *vm_img(struct model_vm *vm, const char *id)
{
	return (struct model_image *)model_vm_image(vm, id);
}

static void preview_free(struct model_preview *p)
{
	if (!p)
		return;
	free(p->config_snapshot);
	free(p->disks_json);
	free(p->saved_xml);
	free(p->saved_tops);
	free(p->saved_current);
	free(p->created);
	free(p);
}

/* ---- the environment: fixed clock, counted ids ---- */

struct ids {
	int n;
};

static void new_id(char out[37], void *opaque)
{
	struct ids *ids = opaque;

	snprintf(out, 37, "00000000-0000-4000-8000-%012d", ++ids->n);
}

static const char *id_n(int n)
{
	static char buf[8][37];
	static int slot;
	char *b = buf[slot++ % 8];

	snprintf(b, 37, "00000000-0000-4000-8000-%012d", n);
	return b;
}

static struct plan_env env_make(struct ids *ids, const char *xml)
{
	struct plan_env env = {
	    .now = NOW,
	    .domain_xml = xml ? xml : XML_NOW,
	    .domain_name = "web01",
	    .domain_uuid = VM_UUID,
	    .new_id = new_id,
	    .opaque = ids,
	};
	ids->n = 0;
	return env;
}

/* ---- looking into a plan ---- */

/* JSON from text written with single quotes (easier in C). */
static json_t *J(const char *text)
{
	SD_AUTOFREE char *t = sd_strdup(text);
	json_error_t jerr;
	json_t *j;

	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(t, JSON_DECODE_ANY, &jerr);
	if (!j)
		fail_msg("bad expected JSON %s: %s", text, jerr.text);
	return j;
}

/* Asserts that got equals the JSON written (single quotes) in want. */
#define assert_json(got, want) assert_json_at(got, want, __FILE__, __LINE__)
static void assert_json_at(const json_t *got, const char *want, const char *file, int line)
{
	json_t *w = J(want);

	if (!json_equal((json_t *)got, w)) {
		SD_AUTOFREE char *g =
		    got ? json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
			: sd_strdup("(nothing)");
		SD_AUTOFREE char *e =
		    json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		json_decref(w);
		print_error("got  %s\nwant %s\n", g, e);
		_fail(file, line);
	}
	json_decref(w);
}

/* Step n (1-based). */
static json_t *step(const json_t *plan, size_t n)
{
	json_t *s = json_array_get(json_object_get(plan, "steps"), n - 1);

	assert_non_null(s);
	return s;
}

static json_t *args(const json_t *plan, size_t n)
{
	return json_object_get(step(plan, n), "args");
}

/* "kind,kind,..." of all steps; destructive ones marked with '!'. */
static char *kinds(const json_t *plan)
{
	char out[2048] = "";
	const json_t *st;
	size_t i;

	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		if (i)
			strcat(out, ",");
		strcat(out, json_string_value(json_object_get(st, "kind")));
		if (json_is_true(json_object_get(st, "destructive")))
			strcat(out, "!");
	}
	return sd_strdup(out);
}

#define assert_kinds(plan, want)                                                                   \
	do {                                                                                       \
		SD_AUTOFREE char *k_ = kinds(plan);                                                \
		assert_string_equal(k_, want);                                                     \
	} while (0)

static json_int_t pnr(const json_t *plan)
{
	return json_integer_value(json_object_get(plan, "pnr"));
}

/* The changes of the (only) catalog step. */
static json_t *changes(const json_t *plan)
{
	const json_t *st;
	json_t *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		if (strcmp(json_string_value(json_object_get(st, "kind")), "catalog") == 0) {
			assert_null(found);
			found = json_object_get(json_object_get(st, "args"), "changes");
		}
	}
	assert_non_null(found);
	return found;
}

static char *change_ops(const json_t *plan)
{
	char out[4096] = "";
	const json_t *c;
	size_t i;

	json_array_foreach(changes(plan), i, c)
	{
		if (i)
			strcat(out, ",");
		strcat(out, json_string_value(json_object_get(c, "op")));
	}
	return sd_strdup(out);
}

#define assert_ops(plan, want)                                                                     \
	do {                                                                                       \
		SD_AUTOFREE char *o_ = change_ops(plan);                                           \
		assert_string_equal(o_, want);                                                     \
	} while (0)

/* The nth (1-based) change with this op, or NULL. */
static json_t *change(const json_t *plan, const char *op, int nth)
{
	const json_t *c;
	size_t i;

	json_array_foreach(changes(plan), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "op")), op) == 0 && --nth == 0)
			return (json_t *)c;
	}
	return NULL;
}

/* The change with this op whose key has this value, or NULL. */
static json_t *change_where(const json_t *plan, const char *op, const char *key, const char *val)
{
	const json_t *c;
	size_t i;

	json_array_foreach(changes(plan), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "op")), op) == 0 &&
		    sd_str_eq(json_string_value(json_object_get(c, key)), val))
			return (json_t *)c;
	}
	return NULL;
}

/* Every destructive step comes at or after the point of no return, and a
 * step before it is either undoable or harmless to leave. */
static void assert_plan_sane(const json_t *plan)
{
	const json_t *st;
	size_t i;
	json_int_t p = pnr(plan);

	assert_true(p >= 0 && (size_t)p <= plan_nsteps(plan));
	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		const json_t *undo = json_object_get(st, "undo");
		assert_non_null(json_object_get(st, "label"));
		assert_true(json_is_object(json_object_get(st, "args")));
		if (json_is_true(json_object_get(st, "destructive")))
			assert_true(p > 0 && (json_int_t)(i + 1) >= p);
		assert_true(json_is_null(undo) || json_is_object(undo));
		if (json_is_object(undo)) {
			assert_non_null(json_string_value(json_object_get(undo, "kind")));
			assert_true(json_is_object(json_object_get(undo, "args")));
		}
	}
}

/* ---- applying a plan's catalog changes to the model ---- */

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = sd_strdup(v);
}

static struct model_snapshot *vm_snap(struct model_vm *vm, const char *id)
{
	for (size_t i = 0; i < vm->nsnapshots; i++)
		if (strcmp(vm->snapshots[i].id, id) == 0)
			return &vm->snapshots[i];
	return NULL;
}

static void apply_change(struct model_vm *vm, const json_t *c)
{
	const char *op = jstr(c, "op");

	if (strcmp(op, "image_add") == 0) {
		struct model_image *m;
		assert_null(model_vm_image(vm, jstr(c, "id")));
		vm->images = sd_realloc(vm->images, (vm->nimages + 1) * sizeof(*vm->images));
		m = &vm->images[vm->nimages++];
		memset(m, 0, sizeof(*m));
		m->id = sd_strdup(jstr(c, "id"));
		m->path = sd_strdup(jstr(c, "path"));
		m->format = sd_strdup(jstr(c, "format"));
		m->parent_id = sd_strdup(jstr(c, "parent_id"));
		m->pool = sd_strdup(jstr(c, "pool"));
		m->virtual_size = (uint64_t)json_integer_value(json_object_get(c, "virtual_size"));
	} else if (strcmp(op, "image_remove") == 0) {
		struct model_image *m = vm_img(vm, jstr(c, "id"));
		size_t i;
		assert_non_null(m);
		i = (size_t)(m - vm->images);
		model_image_clear(m);
		memmove(&vm->images[i], &vm->images[i + 1],
			(vm->nimages - i - 1) * sizeof(*vm->images));
		vm->nimages--;
	} else if (strcmp(op, "image_set_parent") == 0) {
		struct model_image *m = vm_img(vm, jstr(c, "id"));
		assert_non_null(m);
		set_str(&m->parent_id, jstr(c, "parent_id"));
	} else if (strcmp(op, "disk_set_active") == 0) {
		struct model_disk *d =
		    (struct model_disk *)model_vm_disk_by_id(vm, jstr(c, "disk_id"));
		assert_non_null(d);
		set_str(&d->active_image_id, jstr(c, "image_id"));
	} else if (strcmp(op, "snapshot_add") == 0) {
		struct model_snapshot *s;
		const json_t *sd;
		size_t i;
		assert_null(vm_snap(vm, jstr(c, "id")));
		vm->snapshots =
		    sd_realloc(vm->snapshots, (vm->nsnapshots + 1) * sizeof(*vm->snapshots));
		s = &vm->snapshots[vm->nsnapshots++];
		memset(s, 0, sizeof(*s));
		s->id = sd_strdup(jstr(c, "id"));
		s->name = sd_strdup(jstr(c, "name"));
		s->parent_id = sd_strdup(jstr(c, "parent_id"));
		s->created = sd_strdup(jstr(c, "created"));
		s->description = sd_strdup(jstr(c, "description"));
		s->domain_xml = sd_strdup(jstr(c, "domain_xml"));
		s->memory_path = sd_strdup(jstr(c, "memory_path"));
		s->is_auto = json_is_true(json_object_get(c, "auto"));
		s->ndisks = json_array_size(json_object_get(c, "disks"));
		s->disks = sd_calloc(s->ndisks + 1, sizeof(*s->disks));
		json_array_foreach(json_object_get(c, "disks"), i, sd)
		{
			s->disks[i].disk_id = sd_strdup(jstr(sd, "disk_id"));
			s->disks[i].target = sd_strdup(jstr(sd, "target"));
			s->disks[i].image_id = sd_strdup(jstr(sd, "image_id"));
		}
	} else if (strcmp(op, "snapshot_remove") == 0) {
		struct model_snapshot *s = vm_snap(vm, jstr(c, "id"));
		size_t i;
		assert_non_null(s);
		i = (size_t)(s - vm->snapshots);
		model_snapshot_clear(s);
		memmove(&vm->snapshots[i], &vm->snapshots[i + 1],
			(vm->nsnapshots - i - 1) * sizeof(*vm->snapshots));
		vm->nsnapshots--;
	} else if (strcmp(op, "snapshot_set_parent") == 0) {
		struct model_snapshot *s = vm_snap(vm, jstr(c, "id"));
		assert_non_null(s);
		set_str(&s->parent_id, jstr(c, "parent_id"));
	} else if (strcmp(op, "snapshot_disk_set_image") == 0) {
		struct model_snapshot *s = vm_snap(vm, jstr(c, "snapshot_id"));
		struct model_snapshot_disk *sd;
		assert_non_null(s);
		sd = (struct model_snapshot_disk *)model_snapshot_disk(s, jstr(c, "disk_id"));
		assert_non_null(sd);
		set_str(&sd->image_id, jstr(c, "image_id"));
	} else if (strcmp(op, "vm_set_current") == 0) {
		set_str(&vm->current_snapshot, jstr(c, "snapshot_id"));
	} else if (strcmp(op, "preview_set") == 0) {
		preview_free(vm->preview);
		vm->preview = sd_calloc(1, sizeof(*vm->preview));
		vm->preview->config_snapshot = sd_strdup(jstr(c, "config_snapshot"));
		vm->preview->memory = json_is_true(json_object_get(c, "memory"));
		vm->preview->disks_json = sd_strdup(jstr(c, "disks"));
		vm->preview->saved_xml = sd_strdup(jstr(c, "saved_xml"));
		vm->preview->saved_tops = sd_strdup(jstr(c, "saved_tops"));
		vm->preview->saved_current = sd_strdup(jstr(c, "saved_current"));
		vm->preview->created = sd_strdup(NOW);
	} else if (strcmp(op, "preview_clear") == 0) {
		preview_free(vm->preview);
		vm->preview = NULL;
	} else if (strcmp(op, "event") != 0) {
		fail_msg("unknown change op %s", op);
	}
}

/* Applies the plan's catalog changes; checks that every deleted file
 * belongs to an image the changes removed. */
static void vm_apply(struct model_vm *vm, const json_t *plan)
{
	const json_t *c, *st;
	size_t i;

	json_array_foreach(changes(plan), i, c) apply_change(vm, c);
	json_array_foreach(json_object_get(plan, "steps"), i, st)
	{
		if (strcmp(jstr(st, "kind"), "delete_volume") == 0)
			assert_null(
			    model_vm_image_by_path(vm, jstr(json_object_get(st, "args"), "path")));
	}
}

/* Every reference in the state resolves. */
static void assert_consistent(const struct model_vm *vm)
{
	for (size_t i = 0; i < vm->nimages; i++)
		if (vm->images[i].parent_id)
			assert_non_null(model_vm_image(vm, vm->images[i].parent_id));
	for (size_t i = 0; i < vm->ndisks; i++)
		if (vm->disks[i].active_image_id)
			assert_non_null(model_vm_image(vm, vm->disks[i].active_image_id));
	for (size_t i = 0; i < vm->nsnapshots; i++) {
		const struct model_snapshot *s = &vm->snapshots[i];
		if (s->parent_id)
			assert_non_null(model_vm_snapshot(vm, s->parent_id));
		for (size_t d = 0; d < s->ndisks; d++)
			assert_non_null(model_vm_image(vm, s->disks[d].image_id));
	}
	if (vm->current_snapshot)
		assert_non_null(model_vm_snapshot(vm, vm->current_snapshot));
}

/* A text picture of the state, to compare two states. */
static char *vm_fingerprint(const struct model_vm *vm)
{
	json_t *o = json_object(), *imgs = json_object(), *disks = json_object(),
	       *snaps = json_object();
	char *out;

	for (size_t i = 0; i < vm->nimages; i++)
		json_object_set_new(imgs, vm->images[i].id,
				    json_pack("{s:s,s:s?}", "path", vm->images[i].path, "parent",
					      vm->images[i].parent_id));
	for (size_t i = 0; i < vm->ndisks; i++)
		json_object_set_new(disks, vm->disks[i].target,
				    json_pack("s?", vm->disks[i].active_image_id));
	for (size_t i = 0; i < vm->nsnapshots; i++) {
		const struct model_snapshot *s = &vm->snapshots[i];
		json_t *sd = json_object();
		for (size_t d = 0; d < s->ndisks; d++)
			json_object_set_new(sd, s->disks[d].target,
					    json_string(s->disks[d].image_id));
		json_object_set_new(snaps, s->id,
				    json_pack("{s:s,s:s?,s:s,s:o}", "name", s->name, "parent",
					      s->parent_id, "xml", s->domain_xml, "disks", sd));
	}
	json_object_set_new(o, "images", imgs);
	json_object_set_new(o, "disks", disks);
	json_object_set_new(o, "snapshots", snaps);
	json_object_set_new(o, "current", json_pack("s?", vm->current_snapshot));
	json_object_set_new(o, "preview", json_boolean(vm->preview != NULL));
	out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return out;
}

/* ---- fixtures ---- */

/* Two disks, one snapshot "first" (s1) of both; tops a1, b1. vda lives in
 * pool1 (/p1), vdb in a plain folder (/p2, no pool). */
static struct model_vm *vm_two_disks(void)
{
	static const struct img_row imgs[] = {
	    {"a0", NULL, NULL, 5000, NULL}, {"b0", "/p2/b0.qcow2", NULL, 7000, NULL},
	    {"a1", NULL, "a0", 100, NULL},  {"b1", "/p2/b1.qcow2", "b0", 200, NULL},
	    {NULL, NULL, NULL, 0, NULL},
	};
	static const struct disk_row disks[] = {{"vda", "a1"}, {"vdb", "b1"}, {NULL, NULL}};
	static const struct snap_row snaps[] = {
	    {"s1", "first", NULL, NULL, NULL, "vda=a0 vdb=b0"},
	    {NULL, NULL, NULL, NULL, NULL, NULL},
	};
	return vm_build(imgs, disks, snaps, "s1");
}

/* Four disks. Snapshot alpha (sA, with memory) of vda vdb vdc; snapshot
 * beta (sB, child of alpha) of vda vdb only; vdd was added after beta.
 * Tops: a2 (on a1), b2 (on b1), c1 (on c0), d0. Current: beta. */
static struct model_vm *vm_four_disks(void)
{
	static const struct img_row imgs[] = {
	    {"a0", NULL, NULL, 9000, NULL},
	    {"b0", "/p2/b0.qcow2", NULL, 9000, NULL},
	    {"c0", "/p3/c0.qcow2", NULL, 9000, "pool3"},
	    {"a1", NULL, "a0", 500, NULL},
	    {"b1", "/p2/b1.qcow2", "b0", 500, NULL},
	    {"c1", "/p3/c1.qcow2", "c0", 0, "pool3"},
	    {"a2", NULL, "a1", 0, NULL},
	    {"b2", "/p2/b2.qcow2", "b1", 0, NULL},
	    {"d0", "/p4/d0.qcow2", NULL, 0, NULL},
	    {NULL, NULL, NULL, 0, NULL},
	};
	static const struct disk_row disks[] = {
	    {"vda", "a2"}, {"vdb", "b2"}, {"vdc", "c1"}, {"vdd", "d0"}, {NULL, NULL}};
	static const struct snap_row snaps[] = {
	    {"sA", "alpha", NULL, "<domain><!-- A --></domain>", "/mem/alpha.save",
	     "vda=a0 vdb=b0 vdc=c0"},
	    {"sB", "beta", "sA", "<domain><!-- B --></domain>", NULL, "vda=a1 vdb=b1"},
	    {NULL, NULL, NULL, NULL, NULL, NULL},
	};
	return vm_build(imgs, disks, snaps, "sB");
}

/* The composed preview of vm_four_disks: configuration from alpha, vda from
 * beta, vdb current, vdc excluded, vdd not named. */
static const struct plan_preview_choice composed_choices[] = {
    {"vda", "sB"}, {"vdb", "current"}, {"vdc", "exclude"}};
static const struct plan_preview_req composed_req = {"alpha", false, composed_choices, 3};

/* vm_four_disks in the composed preview (overlays ids 1, 2, 3). */
static struct model_vm *vm_in_composed_preview(void)
{
	struct model_vm *vm = vm_four_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_preview(vm, &env, &composed_req, &err);

	assert_non_null(plan);
	vm_apply(vm, plan);
	json_decref(plan);
	assert_consistent(vm);
	return vm;
}

/* ---- snapshot create ---- */

static void test_snapshot_all_disks(void **state)
{
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_snapshot_req req = {.name = "second", .description = "before upgrade"};
	json_t *plan = plan_snapshot_create(vm, &env, &req, &err);
	const char *sid = id_n(1);
	char want[2048];

	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_string_equal(jstr(plan, "op"), "snapshot create");
	assert_string_equal(jstr(plan, "vm"), "web01");
	assert_kinds(plan, "create_overlay,create_overlay,define_domain,catalog");
	assert_int_equal(pnr(plan), 0);

	/* overlays in the folder of the layer they rest on, named <id>.qcow2 */
	assert_json(args(plan, 1),
		    "{'path':'/p1/00000000-0000-4000-8000-000000000002.qcow2',"
		    "'pool':'pool1','name':'00000000-0000-4000-8000-000000000002.qcow2',"
		    "'backing':'/p1/a1.qcow2','backing_format':'qcow2'}");
	assert_json(json_object_get(step(plan, 1), "undo"),
		    "{'kind':'delete_volume','args':{'path':"
		    "'/p1/00000000-0000-4000-8000-000000000002.qcow2','pool':'pool1'}}");
	assert_json(args(plan, 2),
		    "{'path':'/p2/00000000-0000-4000-8000-000000000003.qcow2',"
		    "'pool':null,'name':'00000000-0000-4000-8000-000000000003.qcow2',"
		    "'backing':'/p2/b1.qcow2','backing_format':'qcow2'}");
	assert_json(json_object_get(step(plan, 2), "undo"),
		    "{'kind':'delete_volume','args':{'path':"
		    "'/p2/00000000-0000-4000-8000-000000000003.qcow2','pool':null}}");

	snprintf(want, sizeof(want),
		 "{'xml':'%s','name':'web01','uuid':'%s','remove':[],'imports':[],'sources':{"
		 "'vda':{'path':'/p1/%s.qcow2','format':'qcow2'},"
		 "'vdb':{'path':'/p2/%s.qcow2','format':'qcow2'}}}",
		 XML_NOW, VM_UUID, id_n(2), id_n(3));
	assert_json(args(plan, 3), want);
	snprintf(want, sizeof(want), "{'kind':'define_domain','args':{'xml':'%s'}}", XML_NOW);
	assert_json(json_object_get(step(plan, 3), "undo"), want);

	assert_ops(plan, "image_add,disk_set_active,image_add,disk_set_active,snapshot_add,"
			 "vm_set_current,event");
	snprintf(want, sizeof(want),
		 "{'op':'image_add','id':'%s','path':'/p1/%s.qcow2','format':'qcow2',"
		 "'parent_id':'a1','pool':'pool1','virtual_size':%llu}",
		 id_n(2), id_n(2), 10ULL << 30);
	assert_json(change(plan, "image_add", 1), want);
	assert_true(json_is_null(json_object_get(change(plan, "image_add", 2), "pool")));
	assert_string_equal(jstr(change(plan, "image_add", 2), "parent_id"), "b1");
	snprintf(want, sizeof(want), "{'op':'disk_set_active','disk_id':'d-vda','image_id':'%s'}",
		 id_n(2));
	assert_json(change(plan, "disk_set_active", 1), want);
	snprintf(want, sizeof(want), "{'op':'disk_set_active','disk_id':'d-vdb','image_id':'%s'}",
		 id_n(3));
	assert_json(change(plan, "disk_set_active", 2), want);
	snprintf(want, sizeof(want),
		 "{'op':'snapshot_add','id':'%s','name':'second','parent_id':'s1',"
		 "'created':'%s','description':'before upgrade','domain_xml':'%s',"
		 "'memory_path':null,'auto':false,'imported':false,'policy_id':null,"
		 "'disks':[{'disk_id':'d-vda','target':'vda','image_id':'a1'},"
		 "{'disk_id':'d-vdb','target':'vdb','image_id':'b1'}]}",
		 sid, NOW, XML_NOW);
	assert_json(change(plan, "snapshot_add", 1), want);
	snprintf(want, sizeof(want), "{'op':'vm_set_current','snapshot_id':'%s'}", sid);
	assert_json(change(plan, "vm_set_current", 1), want);
	assert_string_equal(jstr(change(plan, "event", 1), "vm"), "web01");
	assert_string_equal(jstr(change(plan, "event", 1), "level"), "info");
	snprintf(want, sizeof(want), "{'snapshot':{'id':'%s','name':'second','disks':2}}", sid);
	assert_json(json_object_get(plan, "summary"), want);

	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_string_equal(vm->current_snapshot, sid);
	assert_string_equal(model_vm_disk(vm, "vda")->active_image_id, id_n(2));
	assert_string_equal(model_vm_image(vm, id_n(3))->parent_id, "b1");
	json_decref(plan);
	model_vm_free(vm);
}

static void test_snapshot_subset(void **state)
{
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	char *only_vda[] = {"vda", NULL};
	struct plan_snapshot_req req = {.name = "vda only", .disks = only_vda};
	json_t *plan = plan_snapshot_create(vm, &env, &req, &err);
	char want[1024];

	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "create_overlay,define_domain,catalog");
	assert_string_equal(jstr(args(plan, 1), "backing"), "/p1/a1.qcow2");
	snprintf(want, sizeof(want), "{'vda':{'path':'/p1/%s.qcow2','format':'qcow2'}}", id_n(2));
	assert_json(json_object_get(args(plan, 2), "sources"), want);
	assert_ops(plan, "image_add,disk_set_active,snapshot_add,vm_set_current,event");
	assert_null(change_where(plan, "disk_set_active", "disk_id", "d-vdb"));
	assert_json(json_object_get(change(plan, "snapshot_add", 1), "disks"),
		    "[{'disk_id':'d-vda','target':'vda','image_id':'a1'}]");
	assert_int_equal(
	    json_integer_value(json_object_get(
		json_object_get(json_object_get(plan, "summary"), "snapshot"), "disks")),
	    1);

	vm_apply(vm, plan);
	assert_string_equal(model_vm_disk(vm, "vdb")->active_image_id, "b1");
	assert_string_equal(model_vm_disk(vm, "vda")->active_image_id, id_n(2));
	json_decref(plan);
	model_vm_free(vm);
}

static void test_snapshot_refusals(void **state)
{
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	char *bad_disks[] = {"vda", "vdz", NULL};
	struct plan_snapshot_req req = {.name = "x", .disks = bad_disks};

	assert_null(plan_snapshot_create(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "vdz"));

	sd_err_clear(&err);
	req.disks = NULL;
	req.name = "first";
	assert_null(plan_snapshot_create(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_EXISTS);

	/* a disk that is not in the active state cannot be snapshotted */
	sd_err_clear(&err);
	free(vm->disks[1].active_image_id);
	vm->disks[1].active_image_id = NULL;
	req.name = "y";
	req.disks = (char *[]){"vdb", NULL};
	assert_null(plan_snapshot_create(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	model_vm_free(vm);
}

static void test_snapshot_names(void **state)
{
	static const char *const bad[] = {
	    "",
	    "tab\there",
	    "new\nline",
	    "del\x7f",
	    "c1\xc2\x85", /* U+0085, a C1 control */
	    "\xff\xfe",
	    "\xc0\xaf",
	    "-leading",
	    " leading",
	    "trailing ",
	    "current",
	    "exclude",
	    "now",
	    "6695eb01-f6a4-8304-79aa-97f2502e193f",
	    "6695EB01-F6A4-8304-79AA-97F2502E193F",
	};
	struct model_vm *vm = vm_two_disks();
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	char long_name[202];

	for (size_t i = 0; i < SD_N_ELEMENTS(bad); i++) {
		struct sd_err err = SD_ERR_INIT;
		struct plan_snapshot_req req = {.name = bad[i]};

		assert_false(plan_name_valid(bad[i], &err));
		assert_int_equal(err.code, SD_ERR_INVALID);
		sd_err_clear(&err);
		assert_null(plan_snapshot_create(vm, &env, &req, &err));
		assert_int_equal(err.code, SD_ERR_INVALID);
	}
	assert_false(plan_name_valid(NULL, NULL));
	memset(long_name, 'x', 201);
	long_name[201] = '\0';
	assert_false(plan_name_valid(long_name, NULL));
	long_name[200] = '\0';
	assert_true(plan_name_valid(long_name, NULL));
	assert_true(plan_name_valid("before upgrade", NULL));
	assert_true(plan_name_valid("Grüße 日本 ✓", NULL));
	assert_true(plan_name_valid("a-b_c.d", NULL));
	assert_true(plan_name_valid("currently", NULL));
	assert_true(plan_name_valid("6695eb01-f6a4-8304-79aa-97f2502e193", NULL));
	model_vm_free(vm);
}

static void test_snapshot_default_names_and_root(void **state)
{
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_snapshot_req req = {0};
	json_t *plan;

	/* no current snapshot: the new one is a root */
	free(vm->current_snapshot);
	vm->current_snapshot = NULL;
	plan = plan_snapshot_create(vm, &env, &req, &err);
	assert_non_null(plan);
	assert_string_equal(jstr(change(plan, "snapshot_add", 1), "name"), "snap-" NOW);
	assert_true(json_is_null(json_object_get(change(plan, "snapshot_add", 1), "parent_id")));
	assert_true(json_is_false(json_object_get(change(plan, "snapshot_add", 1), "auto")));
	json_decref(plan);

	req.is_auto = true;
	plan = plan_snapshot_create(vm, &env, &req, &err);
	assert_non_null(plan);
	assert_string_equal(jstr(change(plan, "snapshot_add", 1), "name"), "auto-" NOW);
	assert_true(json_is_true(json_object_get(change(plan, "snapshot_add", 1), "auto")));
	json_decref(plan);
	model_vm_free(vm);
}

/* ---- preview ---- */

static void test_preview_composed(void **state)
{
	struct model_vm *vm = vm_four_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_preview(vm, &env, &composed_req, &err);
	json_t *ps;
	char want[4096];

	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_string_equal(jstr(plan, "op"), "preview");
	assert_int_equal(pnr(plan), 0);
	/* vda on beta's layer, vdb on its top, vdd (not named, not in alpha) on its top */
	assert_kinds(plan, "create_overlay,create_overlay,create_overlay,define_domain,catalog");
	snprintf(want, sizeof(want),
		 "{'path':'/p1/%s.qcow2','pool':'pool1','name':'%s.qcow2','backing':'/p1/a1.qcow2',"
		 "'backing_format':'qcow2'}",
		 id_n(1), id_n(1));
	assert_json(args(plan, 1), want);
	assert_string_equal(jstr(args(plan, 2), "path"),
			    "/p2/00000000-0000-4000-8000-000000000002.qcow2");
	assert_string_equal(jstr(args(plan, 2), "backing"), "/p2/b2.qcow2");
	assert_string_equal(jstr(args(plan, 3), "path"),
			    "/p4/00000000-0000-4000-8000-000000000003.qcow2");
	assert_string_equal(jstr(args(plan, 3), "backing"), "/p4/d0.qcow2");

	snprintf(want, sizeof(want),
		 "{'xml':'<domain><!-- A --></domain>','name':'web01','uuid':'%s',"
		 "'sources':{'vda':{'path':'/p1/%s.qcow2','format':'qcow2'},"
		 "'vdb':{'path':'/p2/%s.qcow2','format':'qcow2'},"
		 "'vdd':{'path':'/p4/%s.qcow2','format':'qcow2'}},"
		 "'only':['vda','vdb','vdd'],"
		 "'imports':[{'target':'vda','from_xml':'<domain><!-- B --></domain>'},"
		 "{'target':'vdb','from_xml':'%s'},{'target':'vdd','from_xml':'%s'}]}",
		 VM_UUID, id_n(1), id_n(2), id_n(3), XML_NOW, XML_NOW);
	assert_json(args(plan, 4), want);
	snprintf(want, sizeof(want), "{'kind':'define_domain','args':{'xml':'%s'}}", XML_NOW);
	assert_json(json_object_get(step(plan, 4), "undo"), want);

	assert_ops(plan, "image_add,disk_set_active,image_add,disk_set_active,disk_set_active,"
			 "image_add,disk_set_active,preview_set,event");
	assert_string_equal(jstr(change(plan, "image_add", 1), "parent_id"), "a1");
	assert_string_equal(jstr(change(plan, "image_add", 2), "parent_id"), "b2");
	assert_string_equal(jstr(change(plan, "image_add", 3), "parent_id"), "d0");
	assert_json(change_where(plan, "disk_set_active", "disk_id", "d-vdc"),
		    "{'op':'disk_set_active','disk_id':'d-vdc','image_id':null}");
	assert_string_equal(
	    jstr(change_where(plan, "disk_set_active", "disk_id", "d-vda"), "image_id"), id_n(1));
	ps = change(plan, "preview_set", 1);
	snprintf(want, sizeof(want),
		 "{'op':'preview_set','config_snapshot':'sA','memory':false,"
		 "'disks':'{\\'vda\\':\\'sB\\',\\'vdb\\':\\'current\\',\\'vdc\\':\\'exclude\\',"
		 "\\'vdd\\':\\'current\\'}',"
		 "'saved_xml':'%s',"
		 "'saved_tops':'{\\'d-vda\\':\\'a2\\',\\'d-vdb\\':\\'b2\\',\\'d-vdc\\':\\'c1\\',"
		 "\\'d-vdd\\':\\'d0\\'}',"
		 "'saved_current':'sB'}",
		 XML_NOW);
	/* J turns the escaped quotes of the embedded JSON texts into \" */
	assert_json(ps, want);
	assert_json(json_object_get(plan, "summary"),
		    "{'config':'sA','memory':false,'disks':{'vda':'sB','vdb':'current',"
		    "'vdc':'exclude','vdd':'current'}}");

	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_non_null(vm->preview);
	assert_null(model_vm_disk(vm, "vdc")->active_image_id);
	json_decref(plan);
	model_vm_free(vm);
}

static void test_preview_defaults(void **state)
{
	struct model_vm *vm = vm_four_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	/* alpha whole, with its memory: vda vdb vdc from alpha, vdd current */
	struct plan_preview_req req = {"sA", true, NULL, 0};
	json_t *plan = plan_preview(vm, &env, &req, &err);

	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "create_overlay,create_overlay,create_overlay,create_overlay,"
			   "define_domain,catalog");
	assert_string_equal(jstr(args(plan, 1), "backing"), "/p1/a0.qcow2");
	assert_string_equal(jstr(args(plan, 2), "backing"), "/p2/b0.qcow2");
	assert_string_equal(jstr(args(plan, 3), "backing"), "/p3/c0.qcow2");
	assert_string_equal(jstr(args(plan, 3), "pool"), "pool3");
	assert_string_equal(jstr(args(plan, 3), "path"),
			    "/p3/00000000-0000-4000-8000-000000000003.qcow2");
	assert_string_equal(jstr(args(plan, 4), "backing"), "/p4/d0.qcow2");
	assert_json(json_object_get(args(plan, 5), "only"), "['vda','vdb','vdc','vdd']");
	assert_json(json_object_get(plan, "summary"),
		    "{'config':'sA','memory':true,'disks':{'vda':'sA','vdb':'sA','vdc':'sA',"
		    "'vdd':'current'}}");
	assert_true(json_is_true(json_object_get(change(plan, "preview_set", 1), "memory")));
	json_decref(plan);

	/* beta does not hold vdc (nor vdd): those stay current */
	ids.n = 0;
	req = (struct plan_preview_req){"beta", false, NULL, 0};
	plan = plan_preview(vm, &env, &req, &err);
	assert_non_null(plan);
	assert_string_equal(jstr(args(plan, 1), "backing"), "/p1/a1.qcow2");
	assert_string_equal(jstr(args(plan, 2), "backing"), "/p2/b1.qcow2");
	assert_string_equal(jstr(args(plan, 3), "backing"), "/p3/c1.qcow2");
	assert_string_equal(jstr(args(plan, 4), "backing"), "/p4/d0.qcow2");
	assert_string_equal(jstr(args(plan, 5), "xml"), "<domain><!-- B --></domain>");
	assert_json(json_object_get(plan, "summary"),
		    "{'config':'sB','memory':false,'disks':{'vda':'sB','vdb':'sB','vdc':'current',"
		    "'vdd':'current'}}");
	json_decref(plan);

	/* no configuration named: the configuration now, every disk current */
	ids.n = 0;
	req = (struct plan_preview_req){NULL, false, NULL, 0};
	plan = plan_preview(vm, &env, &req, &err);
	assert_non_null(plan);
	assert_string_equal(jstr(args(plan, 5), "xml"), XML_NOW);
	assert_true(
	    json_is_null(json_object_get(change(plan, "preview_set", 1), "config_snapshot")));
	assert_string_equal(jstr(json_object_get(plan, "summary"), "config"), "current");
	json_decref(plan);
	assert_false(sd_err_is_set(&err));
	model_vm_free(vm);
}

static void test_preview_refusals(void **state)
{
	struct model_vm *vm = vm_four_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_preview_choice vdc_beta[] = {{"vdc", "beta"}};
	struct plan_preview_choice vdz[] = {{"vdz", "current"}};
	struct plan_preview_choice nosnap[] = {{"vda", "gamma"}};
	struct plan_preview_choice all_out[] = {
	    {"vda", "exclude"}, {"vdb", "exclude"}, {"vdc", "exclude"}, {"vdd", "exclude"}};
	struct plan_preview_req req = {"alpha", false, vdc_beta, 1};

	/* beta lacks vdc */
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	/* memory with a configuration that has none, or with the current one */
	sd_err_clear(&err);
	req = (struct plan_preview_req){"beta", true, NULL, 0};
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	req = (struct plan_preview_req){"current", true, NULL, 0};
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	/* unknown snapshot, disk */
	sd_err_clear(&err);
	req = (struct plan_preview_req){"gamma", false, NULL, 0};
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);
	req = (struct plan_preview_req){NULL, false, vdz, 1};
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	sd_err_clear(&err);
	req = (struct plan_preview_req){NULL, false, nosnap, 1};
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	/* nothing left to preview */
	sd_err_clear(&err);
	req = (struct plan_preview_req){NULL, false, all_out, 4};
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	model_vm_free(vm);

	/* one preview at a time */
	vm = vm_in_composed_preview();
	sd_err_clear(&err);
	req = (struct plan_preview_req){"alpha", false, NULL, 0};
	assert_null(plan_preview(vm, &env, &req, &err));
	assert_int_equal(err.code, SD_ERR_STATE);
	model_vm_free(vm);
}

/* ---- undo ---- */

static void test_undo(void **state)
{
	struct model_vm *vm = vm_four_disks();
	SD_AUTOFREE char *before = vm_fingerprint(vm);
	SD_AUTOFREE char *after = NULL;
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, "<domain><!-- preview --></domain>");
	json_t *plan;
	char want[512];

	model_vm_free(vm);
	vm = vm_in_composed_preview();
	plan = plan_undo(vm, &env, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_string_equal(jstr(plan, "op"), "undo");
	assert_kinds(plan, "define_domain,catalog,delete_volume!,delete_volume!,delete_volume!");
	assert_int_equal(pnr(plan), 2);
	snprintf(want, sizeof(want), "{'xml':'%s'}", XML_NOW);
	assert_json(args(plan, 1), want);
	assert_json(json_object_get(step(plan, 1), "undo"),
		    "{'kind':'define_domain','args':{'xml':'<domain><!-- preview --></domain>'}}");
	assert_ops(plan, "disk_set_active,image_remove,disk_set_active,image_remove,"
			 "disk_set_active,disk_set_active,image_remove,vm_set_current,"
			 "preview_clear,event");
	/* the current snapshot from before the preview comes back too */
	assert_json(change(plan, "vm_set_current", 1),
		    "{'op':'vm_set_current','snapshot_id':'sB'}");
	assert_json(change(plan, "disk_set_active", 1),
		    "{'op':'disk_set_active','disk_id':'d-vda','image_id':'a2'}");
	assert_json(change(plan, "disk_set_active", 2),
		    "{'op':'disk_set_active','disk_id':'d-vdb','image_id':'b2'}");
	assert_json(change(plan, "disk_set_active", 3),
		    "{'op':'disk_set_active','disk_id':'d-vdc','image_id':'c1'}");
	assert_json(change(plan, "disk_set_active", 4),
		    "{'op':'disk_set_active','disk_id':'d-vdd','image_id':'d0'}");
	assert_string_equal(jstr(change(plan, "image_remove", 1), "id"), id_n(1));
	assert_string_equal(jstr(change(plan, "image_remove", 2), "id"), id_n(2));
	assert_string_equal(jstr(change(plan, "image_remove", 3), "id"), id_n(3));
	snprintf(want, sizeof(want), "{'path':'/p1/%s.qcow2','pool':'pool1'}", id_n(1));
	assert_json(args(plan, 3), want);
	snprintf(want, sizeof(want), "{'path':'/p2/%s.qcow2','pool':null}", id_n(2));
	assert_json(args(plan, 4), want);
	snprintf(want, sizeof(want), "{'path':'/p4/%s.qcow2','pool':null}", id_n(3));
	assert_json(args(plan, 5), want);

	/* the state from before the preview, exactly */
	vm_apply(vm, plan);
	assert_consistent(vm);
	after = vm_fingerprint(vm);
	assert_string_equal(after, before);
	json_decref(plan);

	/* nothing to undo now */
	assert_null(plan_undo(vm, &env, &err));
	assert_int_equal(err.code, SD_ERR_STATE);
	model_vm_free(vm);
}

static void test_undo_restores_removed_disk(void **state)
{
	/* vdc left the VM after alpha; previewing alpha whole brings it back,
	 * and undo takes it away again */
	struct model_vm *vm = vm_four_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_preview_req req = {"alpha", false, NULL, 0};
	SD_AUTOFREE char *before = NULL, *after = NULL;
	json_t *plan;

	model_image_clear(&vm->images[5]); /* c1, the old top of vdc */
	memmove(&vm->images[5], &vm->images[6], 3 * sizeof(*vm->images));
	vm->nimages--;
	set_str(&vm->disks[2].active_image_id, NULL);
	before = vm_fingerprint(vm);

	plan = plan_preview(vm, &env, &req, &err);
	assert_non_null(plan);
	assert_string_equal(jstr(args(plan, 3), "backing"), "/p3/c0.qcow2");
	assert_null(
	    strstr(json_string_value(json_object_get(change(plan, "preview_set", 1), "saved_tops")),
		   "d-vdc"));
	vm_apply(vm, plan);
	json_decref(plan);
	assert_string_equal(model_vm_disk(vm, "vdc")->active_image_id, id_n(3));

	plan = plan_undo(vm, &env, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_json(change_where(plan, "disk_set_active", "disk_id", "d-vdc"),
		    "{'op':'disk_set_active','disk_id':'d-vdc','image_id':null}");
	assert_non_null(change_where(plan, "image_remove", "id", id_n(3)));
	vm_apply(vm, plan);
	json_decref(plan);
	assert_consistent(vm);
	after = vm_fingerprint(vm);
	assert_string_equal(after, before);
	model_vm_free(vm);
}

/* ---- commit ---- */

static void test_commit_tops_with_data(void **state)
{
	struct model_vm *vm = vm_in_composed_preview();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan, *sa, *sdisks;
	char want[1024];

	ids.n = 10;
	vm_img(vm, "a2")->allocated = 4096; /* vda was written since beta */
	plan = plan_commit(vm, &env, false, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_string_equal(jstr(plan, "op"), "commit");
	assert_kinds(plan, "catalog");
	assert_int_equal(pnr(plan), 1);
	assert_ops(plan, "preview_clear,vm_set_current,snapshot_add,event");
	assert_json(change(plan, "vm_set_current", 1),
		    "{'op':'vm_set_current','snapshot_id':'sA'}");
	sa = change(plan, "snapshot_add", 1);
	assert_string_equal(jstr(sa, "id"), id_n(11));
	assert_string_equal(jstr(sa, "name"), "auto-" NOW);
	assert_string_equal(jstr(sa, "parent_id"), "sB");
	assert_string_equal(jstr(sa, "domain_xml"), XML_NOW);
	assert_string_equal(jstr(sa, "created"), NOW);
	assert_true(json_is_true(json_object_get(sa, "auto")));
	assert_true(json_is_false(json_object_get(sa, "imported")));
	assert_true(json_is_null(json_object_get(sa, "memory_path")));
	sdisks = json_object_get(sa, "disks");
	assert_int_equal(json_array_size(sdisks), 4);
	{
		/* the disks are the saved tops, whatever their order */
		static const char *const want_disks[][3] = {{"d-vda", "vda", "a2"},
							    {"d-vdb", "vdb", "b2"},
							    {"d-vdc", "vdc", "c1"},
							    {"d-vdd", "vdd", "d0"}};
		for (size_t w = 0; w < 4; w++) {
			bool found = false;
			const json_t *d;
			size_t i;
			json_array_foreach(sdisks, i, d)
			{
				if (strcmp(jstr(d, "disk_id"), want_disks[w][0]) == 0) {
					assert_string_equal(jstr(d, "target"), want_disks[w][1]);
					assert_string_equal(jstr(d, "image_id"), want_disks[w][2]);
					found = true;
				}
			}
			assert_true(found);
		}
	}
	snprintf(want, sizeof(want), "{'current':'sA','auto_snapshot':'auto-%s'}", NOW);
	assert_json(json_object_get(plan, "summary"), want);

	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_null(vm->preview);
	assert_string_equal(vm->current_snapshot, "sA");
	assert_int_equal(vm->nsnapshots, 3);
	assert_string_equal(model_vm_disk(vm, "vda")->active_image_id, id_n(1));
	assert_null(model_vm_disk(vm, "vdc")->active_image_id);
	json_decref(plan);
	model_vm_free(vm);
}

static void test_commit_auto_name_taken(void **state)
{
	struct model_vm *vm = vm_in_composed_preview();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan;

	set_str(&vm->snapshots[1].name, "auto-" NOW);
	vm_img(vm, "b2")->allocated = 1;
	plan = plan_commit(vm, &env, false, &err);
	assert_non_null(plan);
	assert_string_equal(jstr(change(plan, "snapshot_add", 1), "name"), "auto-" NOW "-2");
	assert_string_equal(jstr(json_object_get(plan, "summary"), "auto_snapshot"),
			    "auto-" NOW "-2");
	json_decref(plan);
	model_vm_free(vm);
}

static void test_commit_empty_tops(void **state)
{
	struct model_vm *vm = vm_in_composed_preview();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan;
	char want[1024];

	/* no top holds data (d0 is an empty new disk) */
	plan = plan_commit(vm, &env, false, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	/* vdb's and vdd's preview layers rest on empty tops: re-pointed past
	 * them; then the catalog; then the four empty tops go */
	assert_kinds(plan, "qemu_rebase,qemu_rebase,catalog,delete_volume!,delete_volume!,"
			   "delete_volume!,delete_volume!");
	assert_int_equal(pnr(plan), 3);
	snprintf(want, sizeof(want),
		 "{'top':'/p2/%s.qcow2','format':'qcow2','backing':'/p2/b1.qcow2',"
		 "'backing_format':'qcow2','safe':false}",
		 id_n(2));
	assert_json(args(plan, 1), want);
	snprintf(want, sizeof(want),
		 "{'kind':'qemu_rebase','args':{'top':'/p2/%s.qcow2','format':'qcow2',"
		 "'backing':'/p2/b2.qcow2','backing_format':'qcow2','safe':false}}",
		 id_n(2));
	assert_json(json_object_get(step(plan, 1), "undo"), want);
	snprintf(want, sizeof(want),
		 "{'top':'/p4/%s.qcow2','format':'qcow2','backing':null,"
		 "'backing_format':null,'safe':false}",
		 id_n(3));
	assert_json(args(plan, 2), want);
	assert_false(json_is_true(json_object_get(step(plan, 1), "destructive")));

	assert_json(change_where(plan, "image_set_parent", "id", id_n(2)),
		    "{'op':'image_set_parent','id':'00000000-0000-4000-8000-000000000002',"
		    "'parent_id':'b1'}");
	assert_json(change_where(plan, "image_set_parent", "id", id_n(3)),
		    "{'op':'image_set_parent','id':'00000000-0000-4000-8000-000000000003',"
		    "'parent_id':null}");
	assert_non_null(change_where(plan, "image_remove", "id", "a2"));
	assert_non_null(change_where(plan, "image_remove", "id", "b2"));
	assert_non_null(change_where(plan, "image_remove", "id", "c1"));
	assert_non_null(change_where(plan, "image_remove", "id", "d0"));
	assert_null(change(plan, "snapshot_add", 1));
	assert_json(change(plan, "vm_set_current", 1),
		    "{'op':'vm_set_current','snapshot_id':'sA'}");
	assert_non_null(change(plan, "preview_clear", 1));
	assert_json(json_object_get(plan, "summary"), "{'current':'sA'}");

	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_null(model_vm_image(vm, "b2"));
	assert_string_equal(model_vm_image(vm, id_n(2))->parent_id, "b1");
	assert_int_equal(vm->nsnapshots, 2);
	json_decref(plan);
	model_vm_free(vm);
}

static void test_commit_prune(void **state)
{
	struct model_vm *vm = vm_in_composed_preview();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan;

	vm_img(vm, "a2")->allocated = 4096; /* pruning drops it all the same */
	plan = plan_commit(vm, &env, true, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	/* beta (after alpha) goes; a2 and c1 (the old tops nothing rests on)
	 * go; a1 (vda's preview layer rests on it), b2 and b1 (vdb's), d0
	 * stay with alpha's layers */
	assert_kinds(plan, "catalog,delete_volume!,delete_volume!");
	assert_int_equal(pnr(plan), 1);
	assert_ops(plan, "preview_clear,vm_set_current,snapshot_remove,event,image_remove,"
			 "image_remove");
	assert_json(change(plan, "snapshot_remove", 1), "{'op':'snapshot_remove','id':'sB'}");
	assert_json(change(plan, "vm_set_current", 1),
		    "{'op':'vm_set_current','snapshot_id':'sA'}");
	assert_string_equal(jstr(change(plan, "image_remove", 1), "id"), "c1");
	assert_string_equal(jstr(change(plan, "image_remove", 2), "id"), "a2");
	assert_json(args(plan, 2), "{'path':'/p3/c1.qcow2','pool':'pool3'}");
	assert_json(args(plan, 3), "{'path':'/p1/a2.qcow2','pool':'pool1'}");
	assert_json(json_object_get(plan, "summary"), "{'current':'sA','pruned':['beta']}");

	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_non_null(model_vm_image(vm, "a1"));
	assert_non_null(model_vm_image(vm, "b2"));
	assert_int_equal(vm->nsnapshots, 1);
	json_decref(plan);
	model_vm_free(vm);
}

static void test_commit_no_preview(void **state)
{
	struct model_vm *vm = vm_four_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);

	assert_null(plan_commit(vm, &env, false, &err));
	assert_int_equal(err.code, SD_ERR_STATE);
	model_vm_free(vm);
}

/* ---- delete ---- */

/* Three snapshots in a line on two disks: s1 (a0 b0) <- s2 (a1 b1) <- s3
 * (a2 only); tops a3 (on a2), b2 (on b1). Sizes set per test. */
static struct model_vm *vm_line(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t b0,
				uint64_t b1, uint64_t b2)
{
	static const struct disk_row disks[] = {{"vda", "a3"}, {"vdb", "b2"}, {NULL, NULL}};
	static const struct snap_row snaps[] = {
	    {"s1", "one", NULL, NULL, NULL, "vda=a0 vdb=b0"},
	    {"s2", "two", "s1", NULL, NULL, "vda=a1 vdb=b1"},
	    {"s3", "three", "s2", NULL, NULL, "vda=a2"},
	    {NULL, NULL, NULL, NULL, NULL, NULL},
	};
	const struct img_row imgs[] = {
	    {"a0", NULL, NULL, a0, NULL},	    {"a1", NULL, "a0", a1, NULL},
	    {"a2", NULL, "a1", a2, NULL},	    {"a3", NULL, "a2", a3, NULL},
	    {"b0", "/p2/b0.qcow2", NULL, b0, NULL}, {"b1", "/p2/b1.qcow2", "b0", b1, NULL},
	    {"b2", "/p2/b2.qcow2", "b1", b2, NULL}, {NULL, NULL, NULL, 0, NULL},
	};
	return vm_build(imgs, disks, snaps, "s3");
}

static void test_delete_commit_and_rebase(void **state)
{
	/* s3: vda's layer a2 (big), its only child a3 the active top (small) */
	struct model_vm *vm = vm_line(9000, 800, 5000, 300, 9000, 800, 100);
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_delete(vm, &env, "three", &err);
	char want[1024];

	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_string_equal(jstr(plan, "op"), "snapshot delete");
	assert_kinds(plan, "qemu_commit!,define_domain,catalog,delete_volume!");
	assert_int_equal(pnr(plan), 1);
	assert_json(args(plan, 1), "{'top':'/p1/a3.qcow2','format':'qcow2'}");
	assert_true(json_is_null(json_object_get(step(plan, 1), "undo")));
	snprintf(want, sizeof(want),
		 "{'xml':'%s','name':'web01','uuid':'%s','remove':[],'imports':[],"
		 "'sources':{'vda':{'path':'/p1/a2.qcow2','format':'qcow2'}}}",
		 XML_NOW, VM_UUID);
	assert_json(args(plan, 2), want);
	assert_ops(plan, "vm_set_current,snapshot_remove,disk_set_active,image_remove,event");
	assert_json(change(plan, "vm_set_current", 1),
		    "{'op':'vm_set_current','snapshot_id':'s2'}");
	assert_json(change(plan, "snapshot_remove", 1), "{'op':'snapshot_remove','id':'s3'}");
	assert_json(change(plan, "disk_set_active", 1),
		    "{'op':'disk_set_active','disk_id':'d-vda','image_id':'a2'}");
	assert_json(change(plan, "image_remove", 1), "{'op':'image_remove','id':'a3'}");
	assert_json(args(plan, 4), "{'path':'/p1/a3.qcow2','pool':'pool1'}");
	assert_json(json_object_get(plan, "summary"),
		    "{'snapshot':{'id':'s3','name':'three'},'bytes_to_move':300,"
		    "'files':['/p1/a2.qcow2','/p1/a3.qcow2'],'kept_internal':[]}");

	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_string_equal(model_vm_disk(vm, "vda")->active_image_id, "a2");
	json_decref(plan);
	model_vm_free(vm);
}

static void test_delete_commit_child_is_snapshot_layer(void **state)
{
	/* s2: vda's a1 (big) has the small child a2 (s3's layer, itself the
	 * parent of a3); vdb's b1 (small) rests under the active top b2 */
	struct model_vm *vm = vm_line(9000, 5000, 300, 50, 9000, 100, 2000);
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_delete(vm, &env, "s2", &err);

	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "qemu_commit!,qemu_rebase,qemu_rebase,catalog,delete_volume!,"
			   "delete_volume!");
	assert_int_equal(pnr(plan), 1);
	assert_json(args(plan, 1), "{'top':'/p1/a2.qcow2','format':'qcow2'}");
	/* a2's child a3 now rests on a1, which holds a2's data: no copy */
	assert_json(args(plan, 2),
		    "{'top':'/p1/a3.qcow2','format':'qcow2',"
		    "'backing':'/p1/a1.qcow2','backing_format':'qcow2','safe':false}");
	/* vdb: b1's data copied up into b2, which then rests on b0 */
	assert_json(args(plan, 3),
		    "{'top':'/p2/b2.qcow2','format':'qcow2',"
		    "'backing':'/p2/b0.qcow2','backing_format':'qcow2','safe':true}");
	assert_json(json_object_get(step(plan, 3), "undo"),
		    "{'kind':'qemu_rebase','args':{'top':'/p2/b2.qcow2','format':'qcow2',"
		    "'backing':'/p2/b1.qcow2','backing_format':'qcow2','safe':false}}");
	assert_ops(plan,
		   "snapshot_set_parent,snapshot_remove,image_set_parent,"
		   "snapshot_disk_set_image,image_remove,image_set_parent,image_remove,event");
	assert_json(change(plan, "snapshot_set_parent", 1),
		    "{'op':'snapshot_set_parent','id':'s3','parent_id':'s1'}");
	assert_null(change(plan, "vm_set_current", 1)); /* s3 stays current */
	assert_json(change(plan, "image_set_parent", 1),
		    "{'op':'image_set_parent','id':'a3','parent_id':'a1'}");
	assert_json(change(plan, "snapshot_disk_set_image", 1),
		    "{'op':'snapshot_disk_set_image','snapshot_id':'s3','disk_id':'d-vda',"
		    "'image_id':'a1'}");
	assert_json(change(plan, "image_remove", 1), "{'op':'image_remove','id':'a2'}");
	assert_json(change(plan, "image_set_parent", 2),
		    "{'op':'image_set_parent','id':'b2','parent_id':'b0'}");
	assert_json(change(plan, "image_remove", 2), "{'op':'image_remove','id':'b1'}");
	assert_null(change(plan, "disk_set_active", 1));
	assert_string_equal(jstr(args(plan, 5), "path"), "/p1/a2.qcow2");
	assert_json(args(plan, 6), "{'path':'/p2/b1.qcow2','pool':null}");
	assert_json(json_object_get(plan, "summary"),
		    "{'snapshot':{'id':'s2','name':'two'},'bytes_to_move':400,"
		    "'files':['/p1/a3.qcow2','/p1/a1.qcow2','/p1/a2.qcow2','/p2/b2.qcow2',"
		    "'/p2/b1.qcow2'],'kept_internal':[]}");

	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_string_equal(model_vm_snapshot(vm, "s3")->parent_id, "s1");
	assert_string_equal(model_vm_snapshot(vm, "s3")->disks[0].image_id, "a1");
	json_decref(plan);
	model_vm_free(vm);
}

static void test_delete_rebase_only_and_base(void **state)
{
	/* s1: both layers are bases smaller than their only child */
	struct model_vm *vm = vm_line(100, 5000, 0, 0, 200, 5000, 0);
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_delete(vm, &env, "one", &err);

	assert_non_null(plan);
	assert_plan_sane(plan);
	/* nothing destroyed before the catalog: the rebases roll back */
	assert_kinds(plan, "qemu_rebase,qemu_rebase,catalog,delete_volume!,delete_volume!");
	assert_int_equal(pnr(plan), 3);
	assert_json(args(plan, 1), "{'top':'/p1/a1.qcow2','format':'qcow2','backing':null,"
				   "'backing_format':null,'safe':true}");
	assert_json(json_object_get(step(plan, 1), "undo"),
		    "{'kind':'qemu_rebase','args':{'top':'/p1/a1.qcow2','format':'qcow2',"
		    "'backing':'/p1/a0.qcow2','backing_format':'qcow2','safe':false}}");
	assert_string_equal(jstr(args(plan, 2), "top"), "/p2/b1.qcow2");
	assert_true(json_is_null(json_object_get(args(plan, 2), "backing")));
	assert_json(change(plan, "snapshot_set_parent", 1),
		    "{'op':'snapshot_set_parent','id':'s2','parent_id':null}");
	assert_json(change(plan, "image_set_parent", 1),
		    "{'op':'image_set_parent','id':'a1','parent_id':null}");
	assert_string_equal(jstr(args(plan, 4), "path"), "/p1/a0.qcow2");
	assert_string_equal(jstr(args(plan, 5), "path"), "/p2/b0.qcow2");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(plan, "summary"), "bytes_to_move")),
	    300);
	vm_apply(vm, plan);
	assert_consistent(vm);
	json_decref(plan);
	model_vm_free(vm);
}

static void test_delete_two_children_and_none(void **state)
{
	/* s1 of vda and vdc: a0 has two children (a1 and a branch a1x);
	 * vdc has left the VM, so nothing rests on c0 */
	static const struct img_row imgs[] = {
	    {"a0", NULL, NULL, 9000, NULL}, {"a1", NULL, "a0", 10, NULL},
	    {"a1x", NULL, "a0", 10, NULL},  {"c0", "/p3/c0.qcow2", NULL, 700, NULL},
	    {NULL, NULL, NULL, 0, NULL},
	};
	static const struct disk_row disks[] = {{"vda", "a1"}, {"vdc", NULL}, {NULL, NULL}};
	static const struct snap_row snaps[] = {
	    {"s1", "one", NULL, NULL, NULL, "vda=a0 vdc=c0"},
	    {"s2", "two", "s1", NULL, NULL, "vda=a1x"},
	    {NULL, NULL, NULL, NULL, NULL, NULL},
	};
	struct model_vm *vm = vm_build(imgs, disks, snaps, "s1");
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_delete(vm, &env, "s1", &err);

	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "catalog,delete_volume!");
	assert_int_equal(pnr(plan), 1);
	assert_ops(plan, "snapshot_set_parent,vm_set_current,snapshot_remove,image_remove,event");
	assert_json(change(plan, "vm_set_current", 1),
		    "{'op':'vm_set_current','snapshot_id':null}");
	assert_json(change(plan, "image_remove", 1), "{'op':'image_remove','id':'c0'}");
	assert_json(args(plan, 2), "{'path':'/p3/c0.qcow2','pool':null}");
	assert_json(json_object_get(plan, "summary"),
		    "{'snapshot':{'id':'s1','name':'one'},'bytes_to_move':0,"
		    "'files':['/p3/c0.qcow2'],'kept_internal':['/p1/a0.qcow2']}");
	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_non_null(model_vm_image(vm, "a0"));
	json_decref(plan);
	model_vm_free(vm);
}

static void test_delete_shared_layer_kept(void **state)
{
	/* a layer another snapshot still names is left alone */
	static const struct img_row imgs[] = {
	    {"a0", NULL, NULL, 9000, NULL},
	    {"a1", NULL, "a0", 10, NULL},
	    {NULL, NULL, NULL, 0, NULL},
	};
	static const struct disk_row disks[] = {{"vda", "a1"}, {NULL, NULL}};
	static const struct snap_row snaps[] = {
	    {"s1", "one", NULL, NULL, NULL, "vda=a0"},
	    {"s2", "two", "s1", NULL, NULL, "vda=a0"},
	    {NULL, NULL, NULL, NULL, NULL, NULL},
	};
	struct model_vm *vm = vm_build(imgs, disks, snaps, "s2");
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_delete(vm, &env, "s1", &err);

	assert_non_null(plan);
	assert_kinds(plan, "catalog");
	assert_ops(plan, "snapshot_set_parent,snapshot_remove,event");
	json_decref(plan);
	model_vm_free(vm);
}

static void test_delete_refusals(void **state)
{
	struct model_vm *vm = vm_line(1, 1, 1, 1, 1, 1, 1);
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);

	assert_null(plan_delete(vm, &env, "nine", &err));
	assert_int_equal(err.code, SD_ERR_NOT_FOUND);
	model_vm_free(vm);

	vm = vm_in_composed_preview();
	sd_err_clear(&err);
	assert_null(plan_delete(vm, &env, "alpha", &err));
	assert_int_equal(err.code, SD_ERR_STATE);
	model_vm_free(vm);
}

/* ---- a life: create, preview, commit, delete, all consistent ---- */

static void test_cycle(void **state)
{
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_snapshot_req sreq = {.name = "second"};
	struct plan_preview_req preq = {"first", false, NULL, 0};
	json_t *plan;

	plan = plan_snapshot_create(vm, &env, &sreq, &err);
	assert_non_null(plan);
	vm_apply(vm, plan);
	json_decref(plan);
	assert_consistent(vm);

	ids.n = 100;
	plan = plan_preview(vm, &env, &preq, &err);
	assert_non_null(plan);
	vm_apply(vm, plan);
	json_decref(plan);
	vm_img(vm, id_n(2))->allocated = 1000; /* vda written after "second" */
	plan = plan_commit(vm, &env, false, &err);
	assert_non_null(plan);
	vm_apply(vm, plan);
	json_decref(plan);
	assert_consistent(vm);
	assert_int_equal(vm->nsnapshots, 3);
	assert_string_equal(vm->current_snapshot, "s1");

	for (size_t i = vm->nsnapshots; i > 0; i--) {
		SD_AUTOFREE char *id = sd_strdup(vm->snapshots[i - 1].id);
		plan = plan_delete(vm, &env, id, &err);
		assert_non_null(plan);
		assert_plan_sane(plan);
		vm_apply(vm, plan);
		json_decref(plan);
		assert_consistent(vm);
	}
	assert_int_equal(vm->nsnapshots, 0);
	assert_null(vm->current_snapshot);
	assert_false(sd_err_is_set(&err));
	model_vm_free(vm);
}

static void test_cycle_revert_empty(void **state)
{
	/* revert to the first snapshot with nothing written since: the empty
	 * tops go, no snapshot is added, the tree is untouched */
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_snapshot_req sreq = {.name = "second"};
	struct plan_preview_req preq = {"first", false, NULL, 0};
	json_t *plan;

	plan = plan_snapshot_create(vm, &env, &sreq, &err);
	assert_non_null(plan);
	vm_apply(vm, plan);
	json_decref(plan);
	plan = plan_preview(vm, &env, &preq, &err);
	assert_non_null(plan);
	vm_apply(vm, plan);
	json_decref(plan);
	plan = plan_commit(vm, &env, false, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "catalog,delete_volume!,delete_volume!");
	assert_non_null(change_where(plan, "image_remove", "id", id_n(2)));
	assert_non_null(change_where(plan, "image_remove", "id", id_n(3)));
	vm_apply(vm, plan);
	json_decref(plan);
	assert_consistent(vm);
	assert_int_equal(vm->nsnapshots, 2);
	assert_string_equal(vm->current_snapshot, "s1");
	assert_string_equal(
	    model_vm_image(vm, model_vm_disk(vm, "vda")->active_image_id)->parent_id, "a0");
	model_vm_free(vm);
}

/* ---- describe ---- */

static void test_describe(void **state)
{
	struct model_vm *vm = vm_line(9000, 5000, 300, 50, 9000, 100, 2000);
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	json_t *plan = plan_delete(vm, &env, "two", &err);
	SD_AUTOFREE char *text = NULL;
	const json_t *st;
	size_t i;
	char *line;

	assert_non_null(plan);
	text = plan_describe(plan);
	assert_non_null(strstr(text, "Plan for snapshot delete of web01:"));
	json_array_foreach(json_object_get(plan, "steps"), i, st)
	    assert_non_null(strstr(text, jstr(st, "label")));
	/* the point of no return is marked on the first step, and only there */
	line = strstr(text, "\n   1. ");
	assert_non_null(line);
	assert_non_null(strstr(line, "(point of no return)"));
	assert_true(strstr(line, "(point of no return)") < strstr(line, "\n   2. "));
	assert_null(strstr(strstr(line, "(point of no return)") + 1, "(point of no return)"));
	json_decref(plan);

	/* a plan with none says none */
	{
		struct plan_snapshot_req req = {.name = "x"};
		plan = plan_snapshot_create(vm, &env, &req, &err);
		assert_non_null(plan);
		free(text);
		text = plan_describe(plan);
		assert_null(strstr(text, "point of no return"));
		assert_non_null(strstr(text, "record the snapshot in the catalog"));
		json_decref(plan);
	}
	model_vm_free(vm);
}


/* A snapshot taken during a preview descends from the preview's
 * configuration, and a commit keeps it current (the state descends from it). */
static void test_snapshot_during_preview_then_commit(void **state)
{
	struct model_vm *vm = vm_in_composed_preview();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_snapshot_req req = {.name = "in-preview"};
	ids.n = 10; /* the preview used the first ids */
	const struct model_snapshot *alpha = model_vm_snapshot(vm, "alpha");
	json_t *plan = plan_snapshot_create(vm, &env, &req, &err);
	SD_AUTOFREE char *sid = NULL;

	(void)state;
	assert_non_null(plan);
	assert_non_null(alpha);
	sid = strdup(jstr(change(plan, "snapshot_add", 1), "id"));
	assert_string_equal(jstr(change(plan, "snapshot_add", 1), "parent_id"), alpha->id);
	vm_apply(vm, plan);
	json_decref(plan);

	struct ids ids2;
	struct plan_env env2 = env_make(&ids2, NULL);
	ids2.n = 20;
	plan = plan_commit(vm, &env2, false, &err);
	assert_non_null(plan);
	assert_string_equal(jstr(change(plan, "vm_set_current", 1), "snapshot_id"), sid);
	json_decref(plan);
	model_vm_free(vm);
}

/* ---- running VMs ---- */

static void test_snapshot_live_subset_with_memory(void **state)
{
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	char *only_vda[] = {"vda", NULL};
	struct plan_snapshot_req sub = {.name = "live", .disks = only_vda};
	struct plan_snapshot_req submem = {.name = "livem", .disks = only_vda, .memory = true};
	struct plan_snapshot_req mem = {.name = "withmem", .memory = true};
	json_t *plan;
	char want[1024];

	env.running = true;
	plan = plan_snapshot_create(vm, &env, &sub, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	/* the new layer first, then one atomic snapshot onto it; from the
	 * catalog on there is no way back (the VM writes to the new layer) */
	assert_kinds(plan, "create_overlay,live_snapshot,define_domain,catalog");
	assert_int_equal(pnr(plan), 4);
	snprintf(want, sizeof(want),
		 "{'uuid':'%s','quiesce':false,'memory_path':null,"
		 "'disks':[{'target':'vda','path':'/p1/%s.qcow2'},{'target':'vdb','path':null}]}",
		 VM_UUID, id_n(2));
	assert_json(args(plan, 2), want);
	snprintf(want, sizeof(want),
		 "{'kind':'live_unsnapshot','args':{'uuid':'%s','memory_path':null,"
		 "'disks':[{'target':'vda','top':'/p1/%s.qcow2','base':'/p1/a1.qcow2',"
		 "'format':'qcow2'}]}}",
		 VM_UUID, id_n(2));
	assert_json(json_object_get(step(plan, 2), "undo"), want);
	vm_apply(vm, plan);
	assert_consistent(vm);
	json_decref(plan);

	/* a memory state comes with every disk */
	assert_null(plan_snapshot_create(vm, &env, &submem, &err));
	assert_int_equal(err.code, SD_ERR_INVALID);
	sd_err_clear(&err);
	plan = plan_snapshot_create(vm, &env, &mem, &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "create_overlay,create_overlay,live_snapshot,define_domain,catalog");
	/* beside the first new layer, named like it */
	assert_true(sd_str_has_suffix(jstr(args(plan, 3), "memory_path"), ".mem"));
	assert_string_equal(jstr(change(plan, "snapshot_add", 1), "memory_path"),
			    jstr(args(plan, 3), "memory_path"));
	json_decref(plan);
	model_vm_free(vm);
}

static void test_snapshot_memory_needs_running(void **state)
{
	struct model_vm *vm = vm_two_disks();
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct plan_snapshot_req mem = {.name = "m", .memory = true};
	struct plan_snapshot_req q = {.name = "q", .quiesce = true};

	assert_null(plan_snapshot_create(vm, &env, &mem, &err));
	assert_int_equal(err.code, SD_ERR_STATE);
	assert_non_null(strstr(err.msg, "not running"));
	sd_err_clear(&err);
	assert_null(plan_snapshot_create(vm, &env, &q, &err));
	assert_int_equal(err.code, SD_ERR_STATE);
	model_vm_free(vm);
}

static void test_delete_live_block_jobs(void **state)
{
	struct sd_err err = SD_ERR_INIT;
	struct ids ids;
	struct plan_env env = env_make(&ids, NULL);
	struct model_vm *vm;
	json_t *plan;
	char want[1024];

	env.running = true;
	/* s3: its layer a2 under the small active top a3: an active commit */
	vm = vm_line(9000, 800, 5000, 300, 9000, 800, 100);
	plan = plan_delete(vm, &env, "three", &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "block_job!,define_domain,catalog,delete_volume!");
	assert_int_equal(pnr(plan), 1);
	snprintf(want, sizeof(want),
		 "{'uuid':'%s','target':'vda','job':'active_commit','top':null,"
		 "'base':'/p1/a2.qcow2','bytes':300}",
		 VM_UUID);
	assert_json(args(plan, 1), want);
	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_string_equal(model_vm_disk(vm, "vda")->active_image_id, "a2");
	json_decref(plan);
	model_vm_free(vm);

	/* s2: a2 sits in the middle of vda's running chain (bigger than a1 or
	 * not, only a commit can merge it; QEMU re-points a3), b2 is vdb's
	 * small active top */
	vm = vm_line(100, 5000, 9000, 0, 100, 5000, 200);
	plan = plan_delete(vm, &env, "two", &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "block_job!,block_job!,define_domain,catalog,delete_volume!,"
			   "delete_volume!");
	snprintf(want, sizeof(want),
		 "{'uuid':'%s','target':'vda','job':'commit','top':'/p1/a2.qcow2',"
		 "'base':'/p1/a1.qcow2','bytes':9000}",
		 VM_UUID);
	assert_json(args(plan, 1), want);
	assert_string_equal(jstr(args(plan, 2), "job"), "active_commit");
	assert_string_equal(jstr(args(plan, 2), "target"), "vdb");
	assert_json(change_where(plan, "image_set_parent", "id", "a3"),
		    "{'op':'image_set_parent','id':'a3','parent_id':'a1'}");
	vm_apply(vm, plan);
	assert_consistent(vm);
	json_decref(plan);
	model_vm_free(vm);

	/* s3 again, the active top a3 now the bigger: its parent is pulled up */
	vm = vm_line(9000, 800, 100, 5000, 9000, 800, 100);
	plan = plan_delete(vm, &env, "three", &err);
	assert_non_null(plan);
	assert_plan_sane(plan);
	assert_kinds(plan, "block_job!,catalog,delete_volume!");
	snprintf(want, sizeof(want),
		 "{'uuid':'%s','target':'vda','job':'pull','base':'/p1/a1.qcow2','bytes':100}",
		 VM_UUID);
	assert_json(args(plan, 1), want);
	vm_apply(vm, plan);
	assert_consistent(vm);
	assert_string_equal(model_vm_image(vm, "a3")->parent_id, "a1");
	json_decref(plan);
	model_vm_free(vm);
}

static void test_vm_targets_and_kept_disks(void **state)
{
	struct model_vm *vm = vm_four_disks();
	char **targets = model_vm_targets(vm);
	struct model_preview p = { 0 };

	(void)state;
	assert_int_equal(sd_strv_len(targets), 4);
	assert_string_equal(targets[0], "vda");
	assert_string_equal(targets[3], "vdd");
	sd_strv_free(targets);
	assert_non_null(model_snapshot_disk_by_target(model_vm_snapshot(vm, "alpha"), "vdc"));
	assert_null(model_snapshot_disk_by_target(model_vm_snapshot(vm, "beta"), "vdc"));
	p.saved_tops = (char *)"{\"d-vda\":\"a2\",\"d-vdb\":\"b2\"}";
	assert_true(model_preview_kept(&p, "d-vda"));
	assert_false(model_preview_kept(&p, "d-vdc"));
	assert_false(model_preview_kept(NULL, "d-vda"));
	p.saved_tops = (char *)"not json";
	assert_false(model_preview_kept(&p, "d-vda"));
	model_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_snapshot_all_disks),
	    cmocka_unit_test(test_snapshot_subset),
	    cmocka_unit_test(test_snapshot_refusals),
	    cmocka_unit_test(test_snapshot_names),
	    cmocka_unit_test(test_snapshot_default_names_and_root),
	    cmocka_unit_test(test_preview_composed),
	    cmocka_unit_test(test_preview_defaults),
	    cmocka_unit_test(test_preview_refusals),
	    cmocka_unit_test(test_undo),
	    cmocka_unit_test(test_snapshot_during_preview_then_commit),
	    cmocka_unit_test(test_undo_restores_removed_disk),
	    cmocka_unit_test(test_commit_tops_with_data),
	    cmocka_unit_test(test_commit_auto_name_taken),
	    cmocka_unit_test(test_commit_empty_tops),
	    cmocka_unit_test(test_commit_prune),
	    cmocka_unit_test(test_commit_no_preview),
	    cmocka_unit_test(test_delete_commit_and_rebase),
	    cmocka_unit_test(test_delete_commit_child_is_snapshot_layer),
	    cmocka_unit_test(test_delete_rebase_only_and_base),
	    cmocka_unit_test(test_delete_two_children_and_none),
	    cmocka_unit_test(test_delete_shared_layer_kept),
	    cmocka_unit_test(test_delete_refusals),
	    cmocka_unit_test(test_snapshot_live_subset_with_memory),
	    cmocka_unit_test(test_snapshot_memory_needs_running),
	    cmocka_unit_test(test_delete_live_block_jobs),
	    cmocka_unit_test(test_vm_targets_and_kept_disks),
	    cmocka_unit_test(test_cycle),
	    cmocka_unit_test(test_cycle_revert_empty),
	    cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
