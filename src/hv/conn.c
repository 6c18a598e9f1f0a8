#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/priv.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/mem.h"

/* libvirt's default handler prints every error on stderr, behind the UI;
 * errors are reported through sd_err instead, this only feeds the debug log. */
static void quiet_handler(void *data, virErrorPtr e)
{
	(void)data;
	if (e && e->message)
		sd_debug("libvirt: %s", e->message);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_once_fn(void)
{
	/* Errors raised inside virInitialize itself are still reported by
	 * the return value; the handler is global, set it first. */
	virSetErrorFunc(NULL, quiet_handler);
	if (virInitialize() < 0)
		sd_debug("virInitialize failed: %s", hv_errmsg());
	xmlInitParser();
}

void hv_init(void)
{
	pthread_once(&init_once, init_once_fn);
}

const char *hv_errmsg(void)
{
	/* XML errors come with the offending line and a caret below it: the
	 * first line says it all. */
	static _Thread_local char first[512];
	const char *m = virGetLastErrorMessage();
	size_t n;

	if (!m)
		return _("unknown libvirt error");
	n = strcspn(m, "\n");
	if (!m[n])
		return m;
	if (n >= sizeof(first))
		n = sizeof(first) - 1;
	memcpy(first, m, n);
	first[n] = '\0';
	return first;
}

int hv_errcode(void)
{
	return virGetLastErrorCode();
}

bool hv_err_is_busy(void)
{
	const char *m = virGetLastErrorMessage();

	return m && strstr(m, "asynchronous jobs running") != NULL;
}

void hv_retry_pause(void)
{
	struct timespec ts = {0, 100 * 1000 * 1000};

	nanosleep(&ts, NULL);
}

/* A hint for the errors people meet first: no daemon behind the socket. */
static const char *connect_hint(void)
{
	virErrorPtr e = virGetLastError();

	if (e && e->domain == VIR_FROM_RPC && e->code == VIR_ERR_SYSTEM_ERROR && e->message &&
	    strstr(e->message, "socket"))
		return _(" (is libvirtd running?)");
	return "";
}

struct hv_conn *hv_open(const char *uri, bool readonly, struct sd_err *err)
{
	struct hv_conn *c;
	virConnectPtr vc;
	char *canon;

	hv_init();
	vc = readonly ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
	if (!vc) {
		const char *shown = uri;

		if (!shown)
			shown = getenv("LIBVIRT_DEFAULT_URI");
		if (!shown || !*shown)
			shown = _("the default hypervisor");
		sd_err_set(err, SD_ERR_HV, _("cannot connect to %s: %s%s"), shown, hv_errmsg(),
			   connect_hint());
		return NULL;
	}
	c = sd_calloc(1, sizeof(*c));
	c->conn = vc;
	c->readonly = readonly;
	canon = virConnectGetURI(vc);
	if (canon) {
		c->uri = sd_strdup(canon);
		free(canon);
	} else {
		c->uri = sd_strdup(uri ? uri : "");
	}
	hv_conn_track(c);
	return c;
}

void hv_close(struct hv_conn *conn)
{
	if (!conn)
		return;
	if (conn->conn) {
		struct hv_sigpipe sp;

		/* libvirtd may be gone: closing must not kill us */
		hv_sigpipe_block(&sp);
		hv_conn_untrack(conn);
		virConnectClose(conn->conn);
		for (size_t i = 0; i < conn->nretired; i++)
			virConnectClose(conn->retired[i]);
		hv_sigpipe_restore(&sp);
	}
	free(conn->retired);
	free(conn->watches);
	free(conn->uri);
	free(conn);
}

const char *hv_uri(const struct hv_conn *conn)
{
	return conn->uri;
}

bool hv_readonly(const struct hv_conn *conn)
{
	return conn->readonly;
}

/* clang-format off */
static const struct {
	const char *name;
	const char *label;
} state_names[] = {
	[HV_STATE_NOSTATE] = {"nostate", N_("?")},
	[HV_STATE_RUNNING] = {"running", N_("run")},
	[HV_STATE_BLOCKED] = {"blocked", N_("blk")},
	[HV_STATE_PAUSED] = {"paused", N_("pause")},
	[HV_STATE_SHUTDOWN] = {"shutdown", N_("stop")},
	[HV_STATE_SHUTOFF] = {"shutoff", N_("off")},
	[HV_STATE_CRASHED] = {"crashed", N_("crash")},
	[HV_STATE_PMSUSPENDED] = {"pmsuspended", N_("susp")},
};
/* clang-format on */

const char *hv_state_name(enum hv_state state)
{
	if ((size_t)state >= SD_N_ELEMENTS(state_names))
		return "nostate";
	return state_names[state].name;
}

bool hv_state_runs(enum hv_state state)
{
	return state != HV_STATE_SHUTOFF && state != HV_STATE_NOSTATE && state != HV_STATE_CRASHED;
}

const char *hv_state_label(enum hv_state state)
{
	if ((size_t)state >= SD_N_ELEMENTS(state_names))
		state = HV_STATE_NOSTATE;
	return _(state_names[state].label);
}
