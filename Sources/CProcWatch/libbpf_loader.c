// dlopen/dlsym of libbpf.so.1 for the kernel-side watchers (see procwatch_bpf.h), and the
// one libbpf callback Swift cannot be: libbpf's print function takes a va_list.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "procwatch_bpf.h"

static struct procwatch_libbpf table;
static const struct procwatch_libbpf *loaded;
static char failure[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static void (*_Atomic log_sink)(int, const char *);

typedef int (*print_fn)(int level, const char *format, va_list args);

static int forward(int level, const char *format, va_list args) {
    void (*sink)(int, const char *) = log_sink;
    if (!sink) return 0;
    char message[512];
    vsnprintf(message, sizeof(message), format, args);
    sink(level, message);
    return 0;
}

static void load(void) {
    // PROCWATCH_LIBBPF names another library (a test makes libbpf missing with it).
    const char *name = getenv("PROCWATCH_LIBBPF");
    if (!name || !*name) name = "libbpf.so.1";
    void *library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(failure, sizeof(failure), "%s not found", name);
        return;
    }
#define RESOLVE(field, symbol)                                                          \
    do {                                                                                \
        *(void **)&table.field = dlsym(library, symbol);                                \
        if (!table.field) {                                                             \
            snprintf(failure, sizeof(failure), "libbpf.so.1 lacks %s (libbpf 1.1 or later needed)", symbol); \
            return;                                                                     \
        }                                                                               \
    } while (0)
    RESOLVE(object_open_mem, "bpf_object__open_mem");
    RESOLVE(object_load, "bpf_object__load");
    RESOLVE(object_close, "bpf_object__close");
    RESOLVE(object_next_program, "bpf_object__next_program");
    RESOLVE(program_name, "bpf_program__name");
    RESOLVE(program_set_autoload, "bpf_program__set_autoload");
    RESOLVE(program_attach, "bpf_program__attach");
    RESOLVE(link_destroy, "bpf_link__destroy");
    RESOLVE(object_find_map_by_name, "bpf_object__find_map_by_name");
    RESOLVE(map_fd, "bpf_map__fd");
    RESOLVE(map_set_max_entries, "bpf_map__set_max_entries");
    RESOLVE(ring_buffer_new, "ring_buffer__new");
    RESOLVE(ring_buffer_consume, "ring_buffer__consume");
    RESOLVE(ring_buffer_epoll_fd, "ring_buffer__epoll_fd");
    RESOLVE(ring_buffer_free, "ring_buffer__free");
    RESOLVE(map_lookup_elem, "bpf_map_lookup_elem");
    RESOLVE(map_update_elem, "bpf_map_update_elem");
    RESOLVE(map_delete_elem, "bpf_map_delete_elem");
    RESOLVE(num_possible_cpus, "libbpf_num_possible_cpus");
#undef RESOLVE
    print_fn (*set_print)(print_fn) = (print_fn(*)(print_fn))dlsym(library, "libbpf_set_print");
    if (set_print) set_print(forward);  // silent until a sink is set
    loaded = &table;
}

const struct procwatch_libbpf *procwatch_libbpf_load(char *reason, size_t size) {
    pthread_once(&once, load);
    if (!loaded && reason && size) snprintf(reason, size, "%s", failure);
    return loaded;
}

void procwatch_libbpf_set_log(void (*sink)(int level, const char *message)) { log_sink = sink; }
