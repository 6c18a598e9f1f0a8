/* Scoped cleanup: SD_AUTO(name) declares a pointer freed when it goes out of
 * scope, for any type registered with SD_DEFINE_AUTO(name, type, free_fn).
 *   SD_AUTO(catalog) *cat = catalog_open(...);
 *   SD_AUTOFREE char *s = sd_strdup("x");
 * SD_STEAL(p) hands the pointer on and leaves NULL behind. */
#ifndef SD_UTIL_AUTO_H
#define SD_UTIL_AUTO_H

#include <stdlib.h>

#define SD_DEFINE_AUTO(name, type, free_fn) \
	typedef type sd_auto_##name##_t; \
	static inline void sd_auto_##name##_cleanup(type **p) \
	{ \
		if (*p) \
			free_fn(*p); \
	}

#define SD_AUTO(name) __attribute__((cleanup(sd_auto_##name##_cleanup))) sd_auto_##name##_t

static inline void sd_autofree_cleanup(void *p)
{
	free(*(void **)p);
}
#define SD_AUTOFREE __attribute__((cleanup(sd_autofree_cleanup)))

#define SD_STEAL(p) \
	({ \
		__typeof__(p) sd_steal_tmp_ = (p); \
		(p) = NULL; \
		sd_steal_tmp_; \
	})

#define SD_N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
