/* Debug log: silent unless SNAPDECK_DEBUG is set (to a file path, or to 1 for
 * stderr). The console never lets it write on the terminal. */
#ifndef SD_UTIL_LOG_H
#define SD_UTIL_LOG_H

enum sd_log_level { SD_LOG_DEBUG, SD_LOG_INFO, SD_LOG_WARN, SD_LOG_ERROR };

void sd_log(enum sd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define sd_debug(...) sd_log(SD_LOG_DEBUG, __VA_ARGS__)
/* Stops logging to stderr (the console owns the terminal). */
void sd_log_quiet_stderr(void);

#endif
