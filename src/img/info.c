/* qemu-img info --output=json: parsing (pure) and running it. */
#include "config.h"

#include <jansson.h>
#include <string.h>

#include "img/img.h"
#include "util/auto.h"
#include "util/i18n.h"
#include "util/mem.h"

SD_DEFINE_AUTO(img_json, json_t, json_decref)

void img_chain_free(struct img_chain *chain)
{
	if (!chain)
		return;
	for (size_t i = 0; i < chain->n; i++) {
		struct img_layer *l = &chain->layers[i];

		free(l->filename);
		free(l->format);
		free(l->backing_filename);
		free(l->backing_format);
		free(l->compat);
	}
	free(chain->layers);
	free(chain);
}

/* A string member: 1 found, 0 absent (an error when required), -1 bad. */
static int get_string(json_t *obj, size_t idx, const char *key, bool required, char **out,
		      struct sd_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		sd_err_set(err, SD_ERR_INVALID, _("qemu-img info: layer %zu has no \"%s\""), idx,
			   key);
		return -1;
	}
	if (!json_is_string(v)) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("qemu-img info: \"%s\" of layer %zu is not a string"), key, idx);
		return -1;
	}
	*out = sd_strdup(json_string_value(v));
	return 1;
}

/* A byte count (a non-negative integer), as get_string. */
static int get_u64(json_t *obj, size_t idx, const char *key, bool required, uint64_t *out,
		   struct sd_err *err)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v)) {
		if (!required)
			return 0;
		sd_err_set(err, SD_ERR_INVALID, _("qemu-img info: layer %zu has no \"%s\""), idx,
			   key);
		return -1;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("qemu-img info: \"%s\" of layer %zu is not a byte count"), key, idx);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

static int layer_parse(json_t *obj, size_t idx, struct img_layer *l, struct sd_err *err)
{
	json_t *v;

	if (!json_is_object(obj)) {
		sd_err_set(err, SD_ERR_INVALID, _("qemu-img info: layer %zu is not an object"),
			   idx);
		return -1;
	}
	if (get_string(obj, idx, "filename", true, &l->filename, err) < 0 ||
	    get_string(obj, idx, "format", true, &l->format, err) < 0 ||
	    get_u64(obj, idx, "virtual-size", true, &l->virtual_size, err) < 0 ||
	    get_u64(obj, idx, "actual-size", false, &l->actual_size, err) < 0 ||
	    get_u64(obj, idx, "cluster-size", false, &l->cluster_size, err) < 0 ||
	    get_string(obj, idx, "backing-filename-format", false, &l->backing_format, err) < 0)
		return -1;
	switch (get_string(obj, idx, "full-backing-filename", false, &l->backing_filename, err)) {
	case -1:
		return -1;
	case 0:
		if (get_string(obj, idx, "backing-filename", false, &l->backing_filename, err) < 0)
			return -1;
		break;
	}
	v = json_object_get(obj, "dirty-flag");
	if (v && !json_is_null(v)) {
		if (!json_is_boolean(v)) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("qemu-img info: \"%s\" of layer %zu is not a boolean"),
				   "dirty-flag", idx);
			return -1;
		}
		l->dirty = json_is_true(v);
	}
	/* format-specific.data.compat: informative, so a strange shape is
	 * ignored rather than refused. */
	v = json_object_get(json_object_get(json_object_get(obj, "format-specific"), "data"),
			    "compat");
	if (json_is_string(v))
		l->compat = sd_strdup(json_string_value(v));
	return 0;
}

struct img_chain *img_chain_parse(const char *json, struct sd_err *err)
{
	SD_AUTO(img_json) *root = NULL;
	SD_AUTO(img_chain) *chain = NULL;
	json_error_t jerr;
	size_t n;

	if (!json) {
		sd_err_set(err, SD_ERR_INVALID, _("qemu-img info printed nothing"));
		return NULL;
	}
	root = json_loads(json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("qemu-img info printed invalid JSON: %s (line %d)"), jerr.text,
			   jerr.line);
		return NULL;
	}
	if (json_is_object(root)) {
		n = 1;
	} else if (json_is_array(root)) {
		n = json_array_size(root);
	} else {
		sd_err_set(err, SD_ERR_INVALID,
			   _("qemu-img info printed JSON that is neither an object nor an array"));
		return NULL;
	}
	if (n == 0) {
		sd_err_set(err, SD_ERR_INVALID, _("qemu-img info printed no layer"));
		return NULL;
	}
	chain = sd_calloc(1, sizeof(*chain));
	chain->layers = sd_calloc(n, sizeof(*chain->layers));
	chain->n = n;
	for (size_t i = 0; i < n; i++) {
		json_t *obj = json_is_array(root) ? json_array_get(root, i) : root;

		if (layer_parse(obj, i, &chain->layers[i], err) < 0)
			return NULL;
	}
	return SD_STEAL(chain);
}

struct img_chain *img_info_chain(const char *path, bool force_share, struct sd_err *err)
{
	SD_AUTOFREE char *arg = img_path_arg(path);
	SD_AUTOFREE char *out = NULL;
	const char *argv[8];
	size_t n = 0;

	if (!arg) {
		sd_err_set(err, SD_ERR_INVALID, _("no image path given"));
		return NULL;
	}
	argv[n++] = "qemu-img";
	argv[n++] = "info";
	argv[n++] = "--output=json";
	argv[n++] = "--backing-chain";
	if (force_share)
		argv[n++] = "-U";
	argv[n++] = "--";
	argv[n++] = arg;
	argv[n] = NULL;
	if (img_run(argv, &out, err) < 0)
		return NULL;
	return img_chain_parse(out, err);
}
