/* Engine logging through the callback set with ufo_log_set(). */
#ifndef UFO_LOG_H
#define UFO_LOG_H

enum { UFO_LOG_ERROR = 0, UFO_LOG_WARNING = 1, UFO_LOG_INFO = 2, UFO_LOG_DEBUG = 3 };
void ufo_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
