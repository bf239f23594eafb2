// The shim's compiled functions: strerrorname_np, which glibc declares only under
// _GNU_SOURCE (which the header must not define, see CProcWatch.h), and the held spawn
// of `procwatch run --connect`, whose child must stay async-signal-safe until exec.
#define _GNU_SOURCE
#include <string.h>
#include "CProcWatch.h"

const char *procwatch_errno_name(int error) { return strerrorname_np(error); }

int procwatch_spawn_held(const char *file, char *const argv[], int gate, int report, pid_t *pid) {
    pid_t child = fork();
    if (child < 0) return errno;
    if (child > 0) {
        *pid = child;
        return 0;
    }
    // The child: only async-signal-safe calls from here to exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction standard = { .sa_handler = SIG_DFL };
    for (int signal = 1; signal < NSIG; signal++) {
        if (signal != SIGKILL && signal != SIGSTOP) sigaction(signal, &standard, NULL);
    }
    char byte;
    ssize_t count;
    while ((count = read(gate, &byte, 1)) < 0 && errno == EINTR) {}
    if (count != 1) _exit(127);
    close(gate);
    execvp(file, argv);
    int error = errno;
    while (write(report, &error, sizeof error) < 0 && errno == EINTR) {}
    _exit(127);
}
