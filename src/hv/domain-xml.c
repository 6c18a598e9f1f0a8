/* Domain XML: parsing what libvirt gives into struct hv_domain, building a
 * minimal definition for new domains, and rewriting the disks of a
 * definition. Pure: no libvirt calls. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

static void disk_clear(struct hv_disk *d)
{
	free(d->device);
	free(d->bus);
	free(d->target);
	free(d->driver_type);
	free(d->source_type);
	free(d->source);
	free(d->source_pool);
	free(d->source_volume);
	free(d->source_protocol);
}

static void nic_clear(struct hv_nic *n)
{
	free(n->type);
	free(n->mac);
	free(n->source);
	free(n->model);
}

void hv_domain_free(struct hv_domain *dom)
{
	if (!dom)
		return;
	free(dom->name);
	for (size_t i = 0; i < dom->ndisks; i++)
		disk_clear(&dom->disks[i]);
	free(dom->disks);
	for (size_t i = 0; i < dom->nnics; i++)
		nic_clear(&dom->nics[i]);
	free(dom->nics);
	free(dom->description);
	free(dom->xml);
	free(dom->config_xml);
	free(dom);
}

void hv_domains_free(struct hv_domain **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		hv_domain_free(v[i]);
	free(v);
}

/* Canonical lower-case 8-4-4-4-12 form of a UUID written with or without
 * dashes; false when s is not one. */
static bool uuid_normalize(const char *s, char out[37])
{
	static const int dash_at[] = {8, 13, 18, 23};
	char hex[32];
	size_t n = 0, o = 0, d = 0;

	for (; *s; s++) {
		if (*s == '-')
			continue;
		if (!isxdigit((unsigned char)*s) || n == sizeof(hex))
			return false;
		hex[n++] = (char)tolower((unsigned char)*s);
	}
	if (n != sizeof(hex))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (d < SD_N_ELEMENTS(dash_at) && (int)o == dash_at[d]) {
			out[o++] = '-';
			d++;
		}
		out[o++] = hex[i];
	}
	out[o] = '\0';
	return true;
}

/* The one-string summary of a network disk's source: "nbd:export",
 * "rbd:pool/image", or "nbd://host:port" when it has no name. */
static char *network_source(const xmlNode *src, const char *protocol, const char *name)
{
	const xmlNode *host;
	SD_AUTOFREE char *hname = NULL;
	SD_AUTOFREE char *port = NULL;

	if (name && *name)
		return sd_asprintf("%s:%s", protocol ? protocol : "", name);
	host = hv_xml_child(src, "host");
	hname = hv_xml_prop(host, "name");
	port = hv_xml_prop(host, "port");
	if (hname && port)
		return sd_asprintf("%s://%s:%s", protocol ? protocol : "", hname, port);
	if (hname)
		return sd_asprintf("%s://%s", protocol ? protocol : "", hname);
	return sd_strdup(protocol);
}

static void parse_disk(const xmlNode *n, struct hv_disk *d)
{
	const xmlNode *src = hv_xml_child(n, "source");
	const xmlNode *target = hv_xml_child(n, "target");

	d->device = hv_xml_prop(n, "device");
	if (!d->device)
		d->device = sd_strdup("disk");
	d->source_type = hv_xml_prop(n, "type");
	if (!d->source_type)
		d->source_type = sd_strdup("file"); /* libvirt's default */
	d->target = hv_xml_prop(target, "dev");
	d->bus = hv_xml_prop(target, "bus");
	d->driver_type = hv_xml_prop(hv_xml_child(n, "driver"), "type");
	d->readonly = hv_xml_child(n, "readonly") != NULL;
	d->shareable = hv_xml_child(n, "shareable") != NULL;
	if (!src)
		return;
	if (strcmp(d->source_type, "file") == 0) {
		d->source = hv_xml_prop(src, "file");
	} else if (strcmp(d->source_type, "block") == 0) {
		d->source = hv_xml_prop(src, "dev");
	} else if (strcmp(d->source_type, "dir") == 0) {
		d->source = hv_xml_prop(src, "dir");
	} else if (strcmp(d->source_type, "network") == 0) {
		SD_AUTOFREE char *name = hv_xml_prop(src, "name");

		d->source_protocol = hv_xml_prop(src, "protocol");
		d->source = network_source(src, d->source_protocol, name);
	} else if (strcmp(d->source_type, "volume") == 0) {
		d->source_pool = hv_xml_prop(src, "pool");
		d->source_volume = hv_xml_prop(src, "volume");
	} else {
		static const char *const attrs[] = {"file", "dev", "dir", "path", "name"};

		for (size_t i = 0; i < SD_N_ELEMENTS(attrs) && !d->source; i++)
			d->source = hv_xml_prop(src, attrs[i]);
	}
}

static void parse_nic(const xmlNode *n, struct hv_nic *nic)
{
	static const char *const attrs[] = {"network", "bridge", "dev", "name"};
	const xmlNode *src = hv_xml_child(n, "source");

	nic->type = hv_xml_prop(n, "type");
	nic->mac = hv_xml_prop(hv_xml_child(n, "mac"), "address");
	nic->model = hv_xml_prop(hv_xml_child(n, "model"), "type");
	for (size_t i = 0; src && i < SD_N_ELEMENTS(attrs) && !nic->source; i++)
		nic->source = hv_xml_prop(src, attrs[i]);
}

/* The text of node exactly as it is (not trimmed: a description is the
 * user's), or NULL for a NULL node. */
static char *raw_text(const xmlNode *node)
{
	xmlChar *v;
	char *s;

	if (!node)
		return NULL;
	v = xmlNodeGetContent(node);
	if (!v)
		return sd_strdup("");
	s = sd_strdup((const char *)v);
	xmlFree(v);
	return s;
}

static int parse_root(const xmlNode *root, struct hv_domain *dom, struct sd_err *err)
{
	SD_AUTOFREE char *uuid = NULL;
	SD_AUTOFREE char *vcpu = NULL;
	const xmlNode *mem, *devices;
	uint64_t bytes;
	size_t cap;

	if (strcmp((const char *)root->name, "domain") != 0) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid domain XML: root element is <%s>"),
			   (const char *)root->name);
		return -1;
	}
	dom->name = hv_xml_text(hv_xml_child(root, "name"));
	if (!dom->name || !*dom->name) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid domain XML: no <name>"));
		return -1;
	}
	dom->description = raw_text(hv_xml_child(root, "description"));
	uuid = hv_xml_text(hv_xml_child(root, "uuid"));
	if (uuid && !uuid_normalize(uuid, dom->uuid)) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid domain XML: bad UUID '%s'"), uuid);
		return -1;
	}
	vcpu = hv_xml_text(hv_xml_child(root, "vcpu"));
	if (vcpu) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(vcpu, &end, 10);
		if (errno || end == vcpu || *end || !isdigit((unsigned char)*vcpu) ||
		    v > UINT_MAX) {
			sd_err_set(err, SD_ERR_INVALID,
				   _("invalid domain XML: bad vCPU count '%s'"), vcpu);
			return -1;
		}
		dom->vcpus = (unsigned)v;
	} else {
		dom->vcpus = 1; /* libvirt's default */
	}
	mem = hv_xml_child(root, "memory");
	if (!hv_xml_scaled_node(mem, 1024, &bytes)) {
		SD_AUTOFREE char *text = hv_xml_text(mem);
		SD_AUTOFREE char *unit = hv_xml_prop(mem, "unit");

		sd_err_set(err, SD_ERR_INVALID, _("invalid domain XML: bad memory size '%s %s'"),
			   text ? text : "", unit ? unit : "KiB");
		return -1;
	}
	/* libvirt rounds a byte count up to whole KiB as well */
	dom->memory_kib = bytes / 1024 + (bytes % 1024 != 0);

	devices = hv_xml_child(root, "devices");
	if (!devices)
		return 0;
	cap = 0;
	for (const xmlNode *n = devices->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "disk") != 0)
			continue;
		sd_grow(&dom->disks, &cap, dom->ndisks + 1, sizeof(*dom->disks));
		memset(&dom->disks[dom->ndisks], 0, sizeof(*dom->disks));
		parse_disk(n, &dom->disks[dom->ndisks++]);
	}
	cap = 0;
	for (const xmlNode *n = devices->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "interface") != 0)
			continue;
		sd_grow(&dom->nics, &cap, dom->nnics + 1, sizeof(*dom->nics));
		memset(&dom->nics[dom->nnics], 0, sizeof(*dom->nics));
		parse_nic(n, &dom->nics[dom->nnics++]);
	}
	return 0;
}

struct hv_domain *hv_domain_parse(const char *xml, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	SD_AUTO(hv_domain) *dom = NULL;

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid domain XML: %s"), perr.msg);
		return NULL;
	}
	dom = sd_calloc(1, sizeof(*dom));
	if (parse_root(xmlDocGetRootElement(doc), dom, err) < 0)
		return NULL;
	dom->state = HV_STATE_NOSTATE;
	dom->xml = sd_strdup(xml);
	return SD_STEAL(dom);
}

const char *hv_domain_type_default(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct stat st;
	bool usable;

	if (fd < 0)
		return "qemu";
	/* root opens anything, but libvirt runs QEMU as its own user
	 * (libvirt-qemu, group kvm): a root-only /dev/kvm (a container without
	 * udev rules) would make every kvm domain fail to start. */
	usable = fstat(fd, &st) == 0 &&
		 (geteuid() != 0 || (st.st_mode & (S_IROTH | S_IWOTH)) == (S_IROTH | S_IWOTH) ||
		  (st.st_gid != 0 && (st.st_mode & (S_IRGRP | S_IWGRP)) == (S_IRGRP | S_IWGRP)));
	close(fd);
	return usable ? "kvm" : "qemu";
}

static xmlNode *add_u64(xmlNode *parent, const char *name, uint64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return hv_xml_add(parent, name, num);
}

static void add_disk(xmlNode *devices, const char *target, const char *path, const char *format)
{
	xmlNode *disk = hv_xml_add(devices, "disk", NULL);
	xmlNode *n;

	hv_xml_set(disk, "type", "file");
	hv_xml_set(disk, "device", "disk");
	n = hv_xml_add(disk, "driver", NULL);
	hv_xml_set(n, "name", "qemu");
	if (format)
		hv_xml_set(n, "type", format);
	/* Default cache mode: cache='none' needs O_DIRECT, which tmpfs lacks. */
	n = hv_xml_add(disk, "source", NULL);
	hv_xml_set(n, "file", path ? path : "");
	n = hv_xml_add(disk, "target", NULL);
	hv_xml_set(n, "dev", target ? target : "");
	hv_xml_set(n, "bus", "virtio");
}

char *hv_domain_xml_build(const struct hv_domain_spec *spec)
{
	SD_AUTO(xml_doc) *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root, *n, *os, *devices;
	size_t ndisks = spec->ndisks;

	if (!doc)
		sd_oom();
	root = xmlNewDocNode(doc, NULL, (const xmlChar *)"domain", NULL);
	if (!root)
		sd_oom();
	xmlDocSetRootElement(doc, root);
	hv_xml_set(root, "type", spec->type ? spec->type : hv_domain_type_default());
	hv_xml_add(root, "name", spec->name ? spec->name : "");
	if (spec->uuid)
		hv_xml_add(root, "uuid", spec->uuid);
	if (spec->description)
		hv_xml_add(root, "description", spec->description);
	n = add_u64(root, "memory", spec->memory_kib);
	hv_xml_set(n, "unit", "KiB");
	n = add_u64(root, "currentMemory", spec->memory_kib);
	hv_xml_set(n, "unit", "KiB");
	n = add_u64(root, "vcpu", spec->vcpus ? spec->vcpus : 1);
	hv_xml_set(n, "placement", "static");

	os = hv_xml_add(root, "os", NULL);
	n = hv_xml_add(os, "type", "hvm");
	hv_xml_set(n, "arch", "x86_64");
	hv_xml_set(n, "machine", "pc");
	n = hv_xml_add(os, "boot", NULL);
	hv_xml_set(n, "dev", "hd");
	n = hv_xml_add(root, "features", NULL);
	hv_xml_add(n, "acpi", NULL);
	hv_xml_add(n, "apic", NULL);
	n = hv_xml_add(root, "clock", NULL);
	hv_xml_set(n, "offset", "utc");
	hv_xml_add(root, "on_poweroff", "destroy");
	hv_xml_add(root, "on_reboot", "restart");
	hv_xml_add(root, "on_crash", "destroy");

	devices = hv_xml_add(root, "devices", NULL);
	if (ndisks > SD_N_ELEMENTS(spec->disks))
		ndisks = SD_N_ELEMENTS(spec->disks);
	for (size_t i = 0; i < ndisks; i++)
		add_disk(devices, spec->disks[i].target, spec->disks[i].path,
			 spec->disks[i].format);
	/* No network interface: demo VMs must not depend on a network being up. */
	n = hv_xml_add(devices, "serial", NULL);
	hv_xml_set(n, "type", "pty");
	n = hv_xml_add(n, "target", NULL);
	hv_xml_set(n, "port", "0");
	n = hv_xml_add(devices, "console", NULL);
	hv_xml_set(n, "type", "pty");
	n = hv_xml_add(n, "target", NULL);
	hv_xml_set(n, "type", "serial");
	hv_xml_set(n, "port", "0");
	n = hv_xml_add(devices, "memballoon", NULL);
	hv_xml_set(n, "model", "none");
	return hv_xml_dump(doc);
}

/* ---- rewriting a definition's disks ---- */

static bool is_element(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static bool is_blank_text(const xmlNode *n)
{
	return n && n->type == XML_TEXT_NODE && xmlIsBlankNode((xmlNode *)n);
}

/* True when n is a <disk> whose <target dev> is target. */
static bool disk_has_target(const xmlNode *n, const char *target)
{
	const xmlNode *t;
	xmlChar *dev;
	bool same;

	if (!is_element(n, "disk"))
		return false;
	t = hv_xml_child(n, "target");
	if (!t)
		return false;
	dev = xmlGetNoNsProp(t, (const xmlChar *)"dev");
	same = dev && strcmp((const char *)dev, target) == 0;
	xmlFree(dev);
	return same;
}

static xmlNode *find_disk(const xmlNode *devices, const char *target)
{
	for (xmlNode *n = devices ? devices->children : NULL; n; n = n->next)
		if (disk_has_target(n, target))
			return n;
	return NULL;
}

static xmlNode *new_node(xmlDoc *doc, const char *name)
{
	xmlNode *n = xmlNewDocNode(doc, NULL, (const xmlChar *)name, NULL);

	if (!n)
		sd_oom();
	return n;
}

static xmlNode *copy_node(const xmlNode *n, xmlDoc *doc)
{
	xmlNode *c = xmlDocCopyNode((xmlNode *)n, doc, 1);

	if (!c)
		sd_oom();
	return c;
}

/* Puts node right after ref, with a copy of the indentation in front of ref
 * in front of it too, so that the output keeps its layout. */
static void insert_after(xmlNode *ref, xmlNode *node)
{
	if (is_blank_text(ref->prev)) {
		/* libxml2 may merge a text node into a neighbour and free it:
		 * what it returns is the node in the tree */
		ref = xmlAddNextSibling(ref, copy_node(ref->prev, ref->doc));
		if (!ref)
			sd_oom();
	}
	if (!xmlAddNextSibling(ref, node))
		sd_oom();
}

/* Makes node the first element child of parent (after the indentation in
 * front of the first one, which is copied in front of that one). */
static void insert_first(xmlNode *parent, xmlNode *node)
{
	xmlNode *first = parent->children;

	if (!first) {
		if (!xmlAddChild(parent, node))
			sd_oom();
	} else if (is_blank_text(first) && first->next) {
		xmlNode *ws = copy_node(first, parent->doc);

		if (!xmlAddNextSibling(first, node) || !xmlAddNextSibling(node, ws))
			sd_oom();
	} else if (!xmlAddPrevSibling(first, node)) {
		sd_oom();
	}
}

/* Unlinks and frees node, and the indentation in front of it. */
static void remove_node(xmlNode *node)
{
	xmlNode *ws = node->prev;

	if (is_blank_text(ws)) {
		xmlUnlinkNode(ws);
		xmlFreeNode(ws);
	}
	xmlUnlinkNode(node);
	xmlFreeNode(node);
}

static void remove_children(xmlNode *node)
{
	while (node->children) {
		xmlNode *c = node->children;

		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
}

/* Replaces the content of node with text, taken literally (escaped on
 * output; '&' is not an entity reference here). */
static void set_text(xmlNode *node, const char *text)
{
	xmlNode *t;

	remove_children(node);
	t = xmlNewDocText(node->doc, (const xmlChar *)text);
	if (!t || !xmlAddChild(node, t))
		sd_oom();
}

/* The child element name of parent; when there is none, a new one placed
 * after the element after, or first when after is NULL. */
static xmlNode *child_or_new(xmlNode *parent, const char *name, xmlNode *after)
{
	xmlNode *n = hv_xml_child(parent, name);

	if (n)
		return n;
	n = new_node(parent->doc, name);
	if (after)
		insert_after(after, n);
	else
		insert_first(parent, n);
	return n;
}

/* Removes every <backingStore> below node (nested ones go with theirs). */
static void remove_backing_stores(xmlNode *node)
{
	xmlNode *next;

	for (xmlNode *c = node->children; c; c = next) {
		next = c->next;
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_element(c, "backingStore")) {
			remove_node(c);
			continue;
		}
		remove_backing_stores(c);
	}
}

static int set_source(xmlNode *devices, const struct hv_disk_source *s, struct sd_err *err)
{
	xmlNode *disk, *driver, *src;

	if (!s->target || !*s->target || !s->path || !*s->path || !s->format || !*s->format) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("disk %s: a new source needs a path and a format"),
			   s->target ? s->target : "");
		return -1;
	}
	disk = find_disk(devices, s->target);
	if (!disk) {
		sd_err_set(err, SD_ERR_INVALID, _("no disk %s in the configuration"), s->target);
		return -1;
	}
	hv_xml_set(disk, "type", "file");
	driver = child_or_new(disk, "driver", NULL);
	hv_xml_set(driver, "name", "qemu");
	hv_xml_set(driver, "type", s->format);
	src = child_or_new(disk, "source", driver);
	while (src->properties)
		xmlRemoveProp(src->properties);
	remove_children(src);
	hv_xml_set(src, "file", s->path);
	remove_backing_stores(disk);
	return 0;
}

/* Copies the disk of imp->from_xml into devices, in place of the disk with
 * the same target or after the last disk. */
static int import_disk(xmlNode *devices, const struct hv_disk_import *imp, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *from = NULL;
	xmlNode *root, *src, *old, *copy, *last = NULL;

	if (!imp->target || !*imp->target) {
		sd_err_set(err, SD_ERR_INVALID, _("a disk to copy needs a target"));
		return -1;
	}
	from = hv_xml_read(imp->from_xml, &perr);
	if (!from) {
		sd_err_set(err, perr.code, _("invalid domain XML to copy disk %s from: %s"),
			   imp->target, perr.msg);
		return -1;
	}
	root = xmlDocGetRootElement(from);
	src = is_element(root, "domain") ? find_disk(hv_xml_child(root, "devices"), imp->target)
					 : NULL;
	if (!src) {
		sd_err_set(err, SD_ERR_INVALID,
			   _("no disk %s in the configuration to copy it from"), imp->target);
		return -1;
	}
	copy = copy_node(src, devices->doc);
	old = find_disk(devices, imp->target);
	if (old) {
		xmlReplaceNode(old, copy);
		xmlFreeNode(old);
		return 0;
	}
	for (xmlNode *n = devices->children; n; n = n->next)
		if (is_element(n, "disk"))
			last = n;
	if (!last)
		last = hv_xml_child(devices, "emulator");
	if (last)
		insert_after(last, copy);
	else
		insert_first(devices, copy);
	return 0;
}

char *hv_domain_xml_edit(const char *xml, const char *name, const char *uuid,
			 const struct hv_disk_source *sources, size_t nsources,
			 const char *const *remove, size_t nremove,
			 const struct hv_disk_import *imports, size_t nimports, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	xmlNode *root, *devices;
	char canon[37];

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid domain XML: %s"), perr.msg);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (!is_element(root, "domain")) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid domain XML: root element is <%s>"),
			   (const char *)root->name);
		return NULL;
	}
	if (name && !*name) {
		sd_err_set(err, SD_ERR_INVALID, _("empty domain name"));
		return NULL;
	}
	if (uuid && !uuid_normalize(uuid, canon)) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid UUID '%s'"), uuid);
		return NULL;
	}
	if (name)
		set_text(child_or_new(root, "name", NULL), name);
	if (uuid)
		set_text(child_or_new(root, "uuid", hv_xml_child(root, "name")), canon);

	devices = hv_xml_child(root, "devices");
	if (!devices && nimports > 0)
		devices = hv_xml_add(root, "devices", NULL);
	for (size_t i = 0; i < nimports; i++)
		if (import_disk(devices, &imports[i], err) < 0)
			return NULL;
	for (size_t i = 0; i < nremove; i++) {
		xmlNode *disk;

		if (!remove[i])
			continue;
		while ((disk = find_disk(devices, remove[i])) != NULL)
			remove_node(disk);
	}
	for (size_t i = 0; i < nimports; i++) {
		if (!find_disk(devices, imports[i].target)) {
			sd_err_set(err, SD_ERR_INVALID, _("no disk %s in the configuration"),
				   imports[i].target);
			return NULL;
		}
	}
	for (size_t i = 0; i < nsources; i++)
		if (set_source(devices, &sources[i], err) < 0)
			return NULL;
	return hv_xml_dump(doc);
}

char **hv_domain_xml_disk_targets(const char *xml, struct sd_err *err)
{
	struct sd_err perr = SD_ERR_INIT;
	SD_AUTO(xml_doc) *doc = hv_xml_read(xml, &perr);
	const xmlNode *root, *devices;
	char **v = NULL;
	size_t n = 0, cap = 0;

	if (!doc) {
		sd_err_set(err, perr.code, _("invalid domain XML: %s"), perr.msg);
		return NULL;
	}
	root = xmlDocGetRootElement(doc);
	if (!is_element(root, "domain")) {
		sd_err_set(err, SD_ERR_INVALID, _("invalid domain XML: root element is <%s>"),
			   (const char *)root->name);
		return NULL;
	}
	devices = hv_xml_child(root, "devices");
	sd_grow(&v, &cap, 1, sizeof(*v)); /* zeroed: an empty vector */
	for (const xmlNode *c = devices ? devices->children : NULL; c; c = c->next) {
		SD_AUTOFREE char *device = NULL;
		char *target;

		if (!is_element(c, "disk"))
			continue;
		device = hv_xml_prop(c, "device");
		if (device && strcmp(device, "disk") != 0)
			continue; /* libvirt's default device is "disk" */
		target = hv_xml_prop(hv_xml_child(c, "target"), "dev");
		if (!target)
			continue;
		sd_grow(&v, &cap, n + 2, sizeof(*v));
		v[n++] = target;
		v[n] = NULL;
	}
	return v;
}
