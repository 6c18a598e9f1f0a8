/* Internals of src/hv shared by its files: the connection struct, libvirt
 * error helpers, scoped cleanup for libvirt handles, and libxml2 helpers. */
#ifndef SD_HV_PRIV_H
#define SD_HV_PRIV_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "hv/hv.h"
#include "util/auto.h"
#include "util/err.h"

/* A domain watch of hv_watch_domains: the flag it sets and libvirt's
 * callback id on the current virConnectPtr (-1: not registered). */
struct hv_watch {
	volatile int *flag;
	int id;
};

struct hv_conn {
	virConnectPtr conn;
	char *uri; /* what virConnectGetURI answered; hv_reconnect opens it again */
	bool readonly;
	/* events.c: set by libvirt's close callback (any thread; __atomic) */
	int closed;
	bool close_cb; /* a close callback is registered on conn */
	struct hv_watch *watches;
	size_t nwatches, watches_cap;
	/* connections hv_reconnect replaced: closed by hv_close only, so that
	 * a thread still in a call on one holds a valid (dead) handle */
	virConnectPtr *retired;
	size_t nretired;
};

SD_DEFINE_AUTO(vir_domain, virDomain, virDomainFree)
SD_DEFINE_AUTO(vir_pool, virStoragePool, virStoragePoolFree)
SD_DEFINE_AUTO(vir_vol, virStorageVol, virStorageVolFree)
SD_DEFINE_AUTO(xml_doc, xmlDoc, xmlFreeDoc)

/* ---- libvirt errors (conn.c) ---- */

/* The message of the calling thread's last libvirt error, one line at most
 * in spirit (sd_err_set flattens it anyway); never NULL. */
const char *hv_errmsg(void);
/* The code (virErrorNumber) of the calling thread's last libvirt error. */
int hv_errcode(void);
/* True when the last error says a pool is busy with an asynchronous job
 * (a volume being copied): worth retrying a little later. */
bool hv_err_is_busy(void);
/* Sleeps between retries of a busy pool. */
void hv_retry_pause(void);
#define HV_BUSY_RETRIES 10

/* ---- connection tracking (events.c) ---- */

/* Registers the close callback on c->conn (hv_open calls it); harmless
 * without an event loop. */
void hv_conn_track(struct hv_conn *c);
/* Deregisters the watches and the close callback of c->conn, before it is
 * closed (hv_close, hv_reconnect). */
void hv_conn_untrack(struct hv_conn *c);
/* True when the last libvirt error on this thread, or c's state, says the
 * connection to the daemon is gone (worth hv_reconnect). */
bool hv_conn_lost(struct hv_conn *c);
/* libvirt writes to its socket with write(): once the daemon is gone, the
 * next call raises SIGPIPE, which kills a process that does not ignore it
 * (the CLI). Between block and restore, SIGPIPE raised by this thread is
 * held and then dropped; the call just fails (EPIPE). */
struct hv_sigpipe {
	sigset_t old;
	bool was_pending;
};
void hv_sigpipe_block(struct hv_sigpipe *s);
void hv_sigpipe_restore(struct hv_sigpipe *s);

/* ---- libxml2 (xml.c) ---- */

/* Parses xml without network access, entities or DOCTYPE; NULL and err
 * (SD_ERR_INVALID, "line 3: ...", for the caller to prefix) when malformed. */
xmlDoc *hv_xml_read(const char *xml, struct sd_err *err);
/* The first element child of node named name, or NULL. */
xmlNode *hv_xml_child(const xmlNode *node, const char *name);
/* The first element reached by a '/'-separated path of element names below
 * node ("target/format"), or NULL. */
xmlNode *hv_xml_path(const xmlNode *node, const char *path);
/* A copy (sd_malloc) of an attribute, or NULL when absent. */
char *hv_xml_prop(const xmlNode *node, const char *name);
/* A copy (sd_malloc) of the text content of node, trimmed; NULL for a NULL
 * node. */
char *hv_xml_text(const xmlNode *node);
/* Converts a number and a libvirt unit ("KiB", "G", "bytes", ...; NULL or
 * empty: default_scale) into bytes; false when malformed or too large. */
bool hv_xml_scaled(const char *number, const char *unit, uint64_t default_scale, uint64_t *out);
/* The scaled value of an element like <capacity unit='bytes'>N</capacity>;
 * false when malformed. An absent element gives 0 and true. */
bool hv_xml_scaled_node(const xmlNode *node, uint64_t default_scale, uint64_t *out);
/* Serializes a document as UTF-8 without the XML declaration, indented;
 * the caller frees the string. */
char *hv_xml_dump(xmlDoc *doc);
/* xmlNewTextChild/xmlNewProp with plain char strings (escaped on output). */
xmlNode *hv_xml_add(xmlNode *parent, const char *name, const char *text);
void hv_xml_set(xmlNode *node, const char *name, const char *value);

/* ---- storage XML (storage-xml.c) ---- */

/* XML of a dir pool named name at path (pure; caller frees). */
char *hv_pool_dir_xml_build(const char *name, const char *path);

#endif
