#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlsave.h>

#include "hv/priv.h"
#include "util/i18n.h"
#include "util/mem.h"

static pthread_once_t parser_once = PTHREAD_ONCE_INIT;

static void parser_init(void)
{
	xmlInitParser();
}

xmlDoc *hv_xml_read(const char *xml, struct sd_err *err)
{
	xmlParserCtxtPtr ctxt;
	xmlDoc *doc;
	size_t len;

	/* No XML_PARSE_NOENT (entities stay unexpanded), no DTD loading, no
	 * network, and libxml2 must not print anything either. */
	const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;

	pthread_once(&parser_once, parser_init);
	if (!xml) {
		sd_err_set(err, SD_ERR_INVALID, _("empty document"));
		return NULL;
	}
	len = strlen(xml);
	if (len > INT32_MAX) {
		sd_err_set(err, SD_ERR_INVALID, _("document too large"));
		return NULL;
	}
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		sd_oom();
	doc = xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, "UTF-8", opts);
	if (!doc || !xmlDocGetRootElement(doc)) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		if (e && e->message) {
			size_t n = strlen(e->message);

			/* libxml2 messages end with a newline */
			while (n > 0 && (e->message[n - 1] == '\n' || e->message[n - 1] == ' '))
				n--;
			sd_err_set(err, SD_ERR_INVALID, _("line %d: %.*s"), e->line, (int)n,
				   e->message);
		} else {
			sd_err_set(err, SD_ERR_INVALID, _("empty document"));
		}
		xmlFreeDoc(doc);
		xmlFreeParserCtxt(ctxt);
		return NULL;
	}
	xmlFreeParserCtxt(ctxt);
	/* libvirt never writes a DOCTYPE; refusing one rules out entity
	 * definitions (and their expansion bombs) altogether. */
	if (doc->intSubset || doc->extSubset) {
		sd_err_set(err, SD_ERR_INVALID, _("DOCTYPE not allowed"));
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

xmlNode *hv_xml_child(const xmlNode *node, const char *name)
{
	if (!node)
		return NULL;
	for (xmlNode *c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

xmlNode *hv_xml_path(const xmlNode *node, const char *path)
{
	const xmlNode *cur = node;
	const char *p = path;

	while (cur && *p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		const xmlNode *next = NULL;

		for (xmlNode *c = cur->children; c; c = c->next) {
			if (c->type == XML_ELEMENT_NODE && strlen((const char *)c->name) == n &&
			    memcmp(c->name, p, n) == 0) {
				next = c;
				break;
			}
		}
		cur = next;
		p += n;
		if (*p == '/')
			p++;
	}
	return (xmlNode *)cur;
}

char *hv_xml_prop(const xmlNode *node, const char *name)
{
	xmlChar *v;
	char *s;

	if (!node)
		return NULL;
	v = xmlGetNoNsProp(node, (const xmlChar *)name);
	if (!v)
		return NULL;
	s = sd_strdup((const char *)v);
	xmlFree(v);
	return s;
}

char *hv_xml_text(const xmlNode *node)
{
	xmlChar *v;
	const char *b, *e;
	char *s;

	if (!node)
		return NULL;
	v = xmlNodeGetContent(node);
	if (!v)
		return sd_strdup("");
	b = (const char *)v;
	while (*b && isspace((unsigned char)*b))
		b++;
	e = b + strlen(b);
	while (e > b && isspace((unsigned char)e[-1]))
		e--;
	s = sd_strndup(b, (size_t)(e - b));
	xmlFree(v);
	return s;
}

/* libvirt's units (virScaleInteger): b/byte/bytes; k, M, G, T, P, E alone or
 * with "iB" are powers of 1024, with "B" powers of 1000; case-insensitive. */
static bool unit_scale(const char *unit, uint64_t default_scale, uint64_t *scale)
{
	static const char powers[] = "kmgtpe";
	const char *pos;
	uint64_t base, s = 1;

	if (!unit || !*unit) {
		*scale = default_scale;
		return true;
	}
	if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "byte") == 0 ||
	    strcasecmp(unit, "bytes") == 0) {
		*scale = 1;
		return true;
	}
	if (!unit[1] || strcasecmp(unit + 1, "iB") == 0)
		base = 1024;
	else if (strcasecmp(unit + 1, "B") == 0)
		base = 1000;
	else
		return false;
	pos = strchr(powers, tolower((unsigned char)unit[0]));
	if (!pos)
		return false;
	for (ptrdiff_t i = 0; i <= pos - powers; i++)
		s *= base;
	*scale = s;
	return true;
}

bool hv_xml_scaled(const char *number, const char *unit, uint64_t default_scale, uint64_t *out)
{
	unsigned long long v;
	uint64_t scale;
	char *end;

	if (!number)
		return false;
	while (isspace((unsigned char)*number))
		number++;
	if (!isdigit((unsigned char)*number))
		return false;
	errno = 0;
	v = strtoull(number, &end, 10);
	if (errno || end == number)
		return false;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return false;
	if (!unit_scale(unit, default_scale, &scale))
		return false;
	if (scale && v > UINT64_MAX / scale)
		return false;
	*out = (uint64_t)v * scale;
	return true;
}

bool hv_xml_scaled_node(const xmlNode *node, uint64_t default_scale, uint64_t *out)
{
	SD_AUTOFREE char *text = NULL;
	SD_AUTOFREE char *unit = NULL;

	if (!node) {
		*out = 0;
		return true;
	}
	text = hv_xml_text(node);
	unit = hv_xml_prop(node, "unit");
	return hv_xml_scaled(text, unit, default_scale, out);
}

char *hv_xml_dump(xmlDoc *doc)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlSaveCtxtPtr save;
	char *s;

	if (!buf)
		sd_oom();
	/* With an explicit UTF-8 encoding, non-ASCII text stays as it is
	 * instead of becoming character references. */
	save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_FORMAT | XML_SAVE_NO_DECL);
	if (!save)
		sd_oom();
	xmlSaveDoc(save, doc);
	xmlSaveClose(save);
	s = sd_strdup((const char *)xmlBufferContent(buf));
	xmlBufferFree(buf);
	return s;
}

xmlNode *hv_xml_add(xmlNode *parent, const char *name, const char *text)
{
	xmlNode *n = xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)text);

	if (!n)
		sd_oom();
	return n;
}

void hv_xml_set(xmlNode *node, const char *name, const char *value)
{
	if (!xmlSetProp(node, (const xmlChar *)name, (const xmlChar *)value))
		sd_oom();
}
