// The shim's only compiled function: glibc declares strerrorname_np only under
// _GNU_SOURCE, which the header must not define (see CProcWatch.h).
#define _GNU_SOURCE
#include <string.h>
#include "CProcWatch.h"

const char *procwatch_errno_name(int error) { return strerrorname_np(error); }
