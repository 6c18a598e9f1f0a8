/* A clone's identity in domain XML: MAC addresses, vCPUs, memory. Pure. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hv/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

static bool is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* Replaces node's content with text. */
static void put_text(xmlNode *node, const char *text)
{
	xmlNode *t;

	while (node->children) {
		xmlNode *c = node->children;
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	t = xmlNewDocText(node->doc, (const xmlChar *)text);
	if (!t || !xmlAddChild(node, t))
		sd_oom();
}

static xmlNode *child_or_add(xmlNode *parent, const char *name)
{
	xmlNode *n = hv_xml_child(parent, name);

	return n ? n : hv_xml_add(parent, name, NULL);
}

static void drop(xmlNode *n)
{
	if (!n)
		return;
	xmlUnlinkNode(n);
	xmlFreeNode(n);
}

char *hv_domain_xml_set_identity(const char *xml, const char *const *macs, size_t nmacs,
				 unsigned vcpus, uint64_t memory_kib, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	xmlNode *root, *devices, *os;
	size_t k = 0;
	char num[32];

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid domain XML: %s"), perr.msg);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "domain")) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid domain XML: root element is <%s>"),
			   (const char *)root->name);
		return NULL;
	}
	devices = hv_xml_child(root, "devices");
	for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next) {
		xmlNode *mac;

		if (!is_elem(n, "interface"))
			continue;
		if (k >= nmacs) {
			sd_err_set(
			    err, SD_ERR_INVALID,
			    _("the configuration has more interfaces than new MAC addresses"));
			return NULL;
		}
		mac = child_or_add(n, "mac");
		hv_xml_set(mac, "address", macs[k++]);
	}
	/* a copy must not share the source's UEFI variables file */
	os = hv_xml_child(root, "os");
	if (os)
		drop(hv_xml_child(os, "nvram"));
	if (vcpus > 0) {
		xmlNode *v = child_or_add(root, "vcpu"), *cpu = hv_xml_child(root, "cpu");

		snprintf(num, sizeof(num), "%u", vcpus);
		put_text(v, num);
		xmlUnsetProp(v, (const xmlChar *)"current");
		drop(hv_xml_child(root, "vcpus"));
		/* a topology for another count would be refused */
		if (cpu) {
			drop(hv_xml_child(cpu, "topology"));
			drop(hv_xml_child(cpu, "numa"));
		}
	}
	if (memory_kib > 0) {
		snprintf(num, sizeof(num), "%" PRIu64, memory_kib);
		for (size_t i = 0; i < 2; i++) {
			xmlNode *m = child_or_add(root, i == 0 ? "memory" : "currentMemory");
			put_text(m, num);
			hv_xml_set(m, "unit", "KiB");
		}
		drop(hv_xml_child(root, "maxMemory"));
	}
	return hv_xml_dump(doc);
}

char *hv_domain_xml_set_network(const char *xml, const char *network, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	xmlNode *root, *devices;

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid domain XML: %s"), perr.msg);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	devices = root ? hv_xml_child(root, "devices") : NULL;
	for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next) {
		xmlNode *src;

		if (!is_elem(n, "interface"))
			continue;
		hv_xml_set(n, "type", "network");
		/* a bridge, direct or user interface's own source does not apply */
		while ((src = hv_xml_child(n, "source")))
			drop(src);
		drop(hv_xml_child(n, "target"));
		hv_xml_set(hv_xml_add(n, "source", NULL), "network", network);
	}
	return hv_xml_dump(doc);
}
