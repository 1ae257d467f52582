/*
 * log.h — structured logs: one JSON object a line on stderr.
 *
 * Each line carries the time, level, program, pid, the calling function
 * and, while a request is being served, nginx's request id.
 */
#ifndef AC_LOG_H
#define AC_LOG_H

enum ac_log_level {
	AC_LOG_DEBUG = 0,
	AC_LOG_INFO,
	AC_LOG_WARN,
	AC_LOG_ERROR
};

/* Sets the program name and the lowest level written. */
void	ac_log_init(const char *program, enum ac_log_level min);

/* "debug" "info" "warn" "error" → level; anything else gives AC_LOG_INFO. */
enum ac_log_level ac_log_level_parse(const char *s);

/* The request id put on following lines (copied), or NULL to clear it. */
void	ac_log_request(const char *request_id);

/* Writes one line; use the macros, which add the caller's name. */
void	ac_log_at(enum ac_log_level lvl, const char *func, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define ac_debug(...)	ac_log_at(AC_LOG_DEBUG, __func__, __VA_ARGS__)
#define ac_info(...)	ac_log_at(AC_LOG_INFO, __func__, __VA_ARGS__)
#define ac_warn(...)	ac_log_at(AC_LOG_WARN, __func__, __VA_ARGS__)
#define ac_error(...)	ac_log_at(AC_LOG_ERROR, __func__, __VA_ARGS__)

#endif
