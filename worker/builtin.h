/* The builtin handlers: echo, sha256, sleep and fail. */
#ifndef ZJOB_WORKER_BUILTIN_H
#define ZJOB_WORKER_BUILTIN_H

#include "worker/handler.h"

/* Returns the function of the builtin called name, or NULL if there is no
 * such builtin. */
handler_fn_t builtin_find (const char *name);

/* The builtin names, NULL-terminated, for error messages and --help. */
extern const char *const builtin_names[];

#endif
