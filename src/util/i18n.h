/* gettext macros: every user-facing string goes through _() or N_(). */
#ifndef SD_UTIL_I18N_H
#define SD_UTIL_I18N_H

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)
#define P_(s, p, n) ngettext((s), (p), (n))

/* setlocale + bindtextdomain, once at start. */
void sd_i18n_init(void);

#endif
