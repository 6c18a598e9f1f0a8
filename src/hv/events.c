/* libvirt's default event loop in a thread of its own, stopped around
 * fork(); domain watches; noticing a closed connection and opening it
 * again. Processes that never start the loop (the CLI) still get close
 * detection from failed calls (hv_conn_lost) and hv_reconnect. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv/live.h"
#include "hv/priv.h"
#include "util/i18n.h"
#include "util/log.h"
#include "util/mem.h"

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static bool loop_registered; /* virEventRegisterDefaultImpl done: never undone */
static bool loop_running;    /* the thread exists */
static unsigned loop_paused; /* depth of hv_events_pause */
static int loop_stop;	     /* __atomic: the thread leaves at its next turn */
static int wake_timer = -1;  /* disabled (-1) but for waking the loop */
static pthread_t loop_thread;

static void wake_fired(int timer, void *opaque)
{
	(void)opaque;
	virEventUpdateTimeout(timer, -1);
}

void hv_sigpipe_block(struct hv_sigpipe *s)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	s->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe, &s->old);
}

void hv_sigpipe_restore(struct hv_sigpipe *s)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	if (!s->was_pending && sigismember(&pending, SIGPIPE) == 1 &&
	    sigismember(&s->old, SIGPIPE) == 0) {
		const struct timespec zero = {0, 0};

		sigtimedwait(&pipe, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &s->old, NULL);
}

static void *loop_main(void *arg)
{
	sigset_t pipe;

	(void)arg;
	/* the loop writes to the daemon too: a SIGPIPE it raises stays
	 * pending on this thread, harmless */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);
	while (!__atomic_load_n(&loop_stop, __ATOMIC_ACQUIRE)) {
		if (virEventRunDefaultImpl() < 0) {
			/* never seen; do not spin on it */
			struct timespec ts = {0, 100 * 1000 * 1000};

			sd_debug("libvirt event loop: %s", hv_errmsg());
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* Starts the loop thread; loop_lock held. */
static int loop_spawn(struct sd_err *err)
{
	int rc;

	__atomic_store_n(&loop_stop, 0, __ATOMIC_RELEASE);
	rc = pthread_create(&loop_thread, NULL, loop_main, NULL);
	if (rc != 0) {
		sd_err_set(err, SD_ERR_INTERNAL, _("cannot start the event thread: %s"),
			   strerror(rc));
		return -1;
	}
	loop_running = true;
	return 0;
}

/* Stops and joins the loop thread; loop_lock held. No thread is inside
 * virEventRunDefaultImpl afterwards, so no loop lock is held. */
static void loop_halt(void)
{
	if (!loop_running)
		return;
	__atomic_store_n(&loop_stop, 1, __ATOMIC_RELEASE);
	/* An expired timer makes the current (or next) poll return at once,
	 * whichever comes first: the wake-up cannot be lost. */
	virEventUpdateTimeout(wake_timer, 0);
	pthread_join(loop_thread, NULL);
	loop_running = false;
}

int hv_events_start(struct sd_err *err)
{
	int rc = 0;

	hv_init();
	pthread_mutex_lock(&loop_lock);
	if (loop_registered)
		goto out; /* again: fine */
	if (virEventRegisterDefaultImpl() < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot set up libvirt's event loop: %s"),
			   hv_errmsg());
		rc = -1;
		goto out;
	}
	wake_timer = virEventAddTimeout(-1, wake_fired, NULL, NULL);
	if (wake_timer < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot set up libvirt's event loop: %s"),
			   hv_errmsg());
		rc = -1;
		goto out;
	}
	loop_registered = true;
	if (loop_paused == 0)
		rc = loop_spawn(err);
out:
	pthread_mutex_unlock(&loop_lock);
	return rc;
}

void hv_events_pause(void)
{
	pthread_mutex_lock(&loop_lock);
	if (loop_registered && loop_paused++ == 0)
		loop_halt();
	pthread_mutex_unlock(&loop_lock);
}

void hv_events_resume(void)
{
	struct sd_err err = SD_ERR_INIT;

	pthread_mutex_lock(&loop_lock);
	if (loop_registered && loop_paused > 0 && --loop_paused == 0 && loop_spawn(&err) < 0)
		sd_debug("%s", err.msg);
	pthread_mutex_unlock(&loop_lock);
}

static bool loop_is_registered(void)
{
	bool r;

	pthread_mutex_lock(&loop_lock);
	r = loop_registered;
	pthread_mutex_unlock(&loop_lock);
	return r;
}

/* ---- close detection ---- */

static void closed_cb(virConnectPtr vc, int reason, void *opaque)
{
	struct hv_conn *c = opaque;

	(void)vc;
	sd_debug("libvirt connection closed (reason %d)", reason);
	__atomic_store_n(&c->closed, 1, __ATOMIC_RELEASE);
}

void hv_conn_track(struct hv_conn *c)
{
	/* libvirt runs the callback under its own lock, and deregistering
	 * takes that lock: once hv_conn_untrack returns, c is not used. */
	if (virConnectRegisterCloseCallback(c->conn, closed_cb, c, NULL) == 0)
		c->close_cb = true;
	else
		sd_debug("no close callback on %s: %s", c->uri ? c->uri : "?", hv_errmsg());
}

void hv_conn_untrack(struct hv_conn *c)
{
	for (size_t i = 0; i < c->nwatches; i++) {
		if (c->watches[i].id >= 0)
			virConnectDomainEventDeregisterAny(c->conn, c->watches[i].id);
		c->watches[i].id = -1;
	}
	if (c->close_cb)
		virConnectUnregisterCloseCallback(c->conn, closed_cb);
	c->close_cb = false;
}

bool hv_conn_closed(struct hv_conn *conn)
{
	if (__atomic_load_n(&conn->closed, __ATOMIC_ACQUIRE))
		return true;
	return virConnectIsAlive(conn->conn) == 0;
}

bool hv_conn_lost(struct hv_conn *c)
{
	virErrorPtr e = virGetLastError();

	/* virConnectIsAlive would reset the thread's last error, which the
	 * caller may still want to report: with an error, judge by it */
	if (!e || e->code == VIR_ERR_OK)
		return hv_conn_closed(c);
	if (__atomic_load_n(&c->closed, __ATOMIC_ACQUIRE))
		return true;
	/* the RPC layer: "End of file while reading data" (SYSTEM_ERROR) when
	 * the daemon goes during a call, "client socket is closed"
	 * (INTERNAL_ERROR) on later calls */
	if (e->domain == VIR_FROM_RPC)
		return true;
	return e->code == VIR_ERR_NO_CONNECT || e->code == VIR_ERR_INVALID_CONN ||
	       (e->domain == VIR_FROM_REMOTE &&
		(e->code == VIR_ERR_SYSTEM_ERROR || e->code == VIR_ERR_RPC));
}

/* ---- watches ---- */

static int lifecycle_cb(virConnectPtr vc, virDomainPtr d, int event, int detail, void *opaque)
{
	volatile int *flag = opaque;

	(void)vc;
	(void)d;
	(void)event;
	(void)detail;
	*flag = 1;
	return 0;
}

static int watch_register(struct hv_conn *c, struct hv_watch *w, struct sd_err *err)
{
	w->id = virConnectDomainEventRegisterAny(c->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						 VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb),
						 (void *)w->flag, NULL);
	if (w->id < 0) {
		sd_err_set(err, SD_ERR_HV, _("cannot watch the VMs of %s: %s"), c->uri,
			   hv_errmsg());
		return -1;
	}
	return 0;
}

int hv_watch_domains(struct hv_conn *conn, volatile int *flag, struct sd_err *err)
{
	struct hv_watch *w;

	if (!loop_is_registered()) {
		sd_err_set(err, SD_ERR_INTERNAL,
			   _("cannot watch VMs: the event loop was not started"));
		return -1;
	}
	sd_grow(&conn->watches, &conn->watches_cap, conn->nwatches + 1, sizeof(*conn->watches));
	w = &conn->watches[conn->nwatches];
	w->flag = flag;
	w->id = -1;
	if (watch_register(conn, w, err) < 0)
		return -1;
	conn->nwatches++;
	return 0;
}

/* ---- reconnecting ---- */

int hv_reconnect(struct hv_conn *conn, struct sd_err *err)
{
	const char *uri = conn->uri && *conn->uri ? conn->uri : NULL;
	struct hv_sigpipe sp;
	virConnectPtr vc;
	int rc = 0;

	vc = conn->readonly ? virConnectOpenReadOnly(uri) : virConnectOpen(uri);
	if (!vc) {
		sd_err_set(err, SD_ERR_HV, _("cannot reconnect to %s: %s"),
			   uri ? uri : _("the default hypervisor"), hv_errmsg());
		return -1;
	}
	if (conn->conn) {
		/* the old connection's farewells go to a closed socket */
		hv_sigpipe_block(&sp);
		hv_conn_untrack(conn);
		hv_sigpipe_restore(&sp);
		conn->retired =
		    sd_realloc(conn->retired, (conn->nretired + 1) * sizeof(*conn->retired));
		conn->retired[conn->nretired++] = conn->conn;
	}
	__atomic_store_n(&conn->conn, vc, __ATOMIC_RELEASE);
	__atomic_store_n(&conn->closed, 0, __ATOMIC_RELEASE);
	hv_conn_track(conn);
	for (size_t i = 0; i < conn->nwatches; i++) {
		if (watch_register(conn, &conn->watches[i], err) < 0)
			rc = -1;
		/* what happened while nobody listened is unknown: look again */
		*conn->watches[i].flag = 1;
	}
	return rc;
}
