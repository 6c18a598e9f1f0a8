/* Pool and volume XML: parsing and building. Pure: no libvirt calls. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

void hv_pool_clear(struct hv_pool *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->type);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

void hv_pools_free(struct hv_pool *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		hv_pool_clear(&v[i]);
	free(v);
}

void hv_volume_clear(struct hv_volume *v)
{
	if (!v)
		return;
	free(v->name);
	free(v->path);
	free(v->format);
	free(v->backing);
	memset(v, 0, sizeof(*v));
}

void hv_volumes_free(struct hv_volume *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		hv_volume_clear(&v[i]);
	free(v);
}

int hv_pool_parse(const char *xml, struct hv_pool *out, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	const xmlNode *root;
	char *path;

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid pool XML: %s"), perr.msg);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	if (strcmp((const char *)root->name, "pool") != 0) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid pool XML: root element is <%s>"),
			   (const char *)root->name);
		return -1;
	}
	free(out->type);
	out->type = hv_xml_prop(root, "type");
	path = hv_xml_text(hv_xml_path(root, "target/path"));
	if (path && !*path) {
		free(path);
		path = NULL;
	}
	free(out->path);
	out->path = path;
	return 0;
}

int hv_volume_parse(const char *xml, struct hv_volume *out, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	const xmlNode *root;
	uint64_t capacity, allocation;

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid volume XML: %s"), perr.msg);
		return -1;
	}
	root = xmlDocGetRootElement(doc);
	if (strcmp((const char *)root->name, "volume") != 0) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid volume XML: root element is <%s>"),
			   (const char *)root->name);
		return -1;
	}
	if (!hv_xml_scaled_node(hv_xml_child(root, "capacity"), 1, &capacity) ||
	    !hv_xml_scaled_node(hv_xml_child(root, "allocation"), 1, &allocation)) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid volume XML: bad size"));
		return -1;
	}
	hv_volume_clear(out);
	out->name = hv_xml_text(hv_xml_child(root, "name"));
	out->path = hv_xml_text(hv_xml_path(root, "target/path"));
	out->format = hv_xml_prop(hv_xml_path(root, "target/format"), "type");
	out->backing = hv_xml_text(hv_xml_path(root, "backingStore/path"));
	if (out->backing && !*out->backing) {
		free(out->backing);
		out->backing = NULL;
	}
	out->capacity = capacity;
	out->allocation = allocation;
	return 0;
}

char *hv_volume_xml_build(const char *name, const char *format, uint64_t capacity,
			  const char *backing, const char *backing_format)
{
	SD_AUTO(xml_doc) *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root, *n, *target;
	char num[32];

	if (!doc)
		sd_oom();
	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"volume", NULL);
	if (!root)
		sd_oom();
	xmlDocSetRootElement(doc, root);
	hv_xml_add(root, "name", name ? name : "");
	/* Without <capacity>, libvirt takes the size of the backing file. */
	if (capacity || !backing) {
		snprintf(num, sizeof(num), "%" PRIu64, capacity);
		n = hv_xml_add(root, "capacity", num);
		hv_xml_set(n, "unit", "bytes");
	}
	target = hv_xml_add(root, "target", NULL);
	n = hv_xml_add(target, "format", NULL);
	hv_xml_set(n, "type", format ? format : "raw");
	/* libvirt makes compat 0.10 qcow2 unless told otherwise */
	if (format && strcmp(format, "qcow2") == 0)
		hv_xml_add(target, "compat", "1.1");
	if (backing) {
		xmlNode *bs = hv_xml_add(root, "backingStore", NULL);

		hv_xml_add(bs, "path", backing);
		if (backing_format) {
			n = hv_xml_add(bs, "format", NULL);
			hv_xml_set(n, "type", backing_format);
		}
	}
	return hv_xml_dump(doc);
}

/* XML of a dir pool at path (caller frees). */
char *hv_pool_dir_xml_build(const char *name, const char *path)
{
	SD_AUTO(xml_doc) *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root, *target;

	if (!doc)
		sd_oom();
	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"pool", NULL);
	if (!root)
		sd_oom();
	xmlDocSetRootElement(doc, root);
	hv_xml_set(root, "type", "dir");
	hv_xml_add(root, "name", name);
	target = hv_xml_add(root, "target", NULL);
	hv_xml_add(target, "path", path);
	return hv_xml_dump(doc);
}
