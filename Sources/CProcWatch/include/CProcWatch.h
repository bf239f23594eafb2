// The one C header procwatch needs: the Linux uapi declarations Swift cannot
// import on its own (function-like NLMSG_*/NLA_* macros), the proc connector
// additions newer than the installed 6.1 headers, and _Static_asserts that pin
// every layout the Swift decoders read by byte offset.
#ifndef CPROCWATCH_H
#define CPROCWATCH_H

#if defined(__linux__)

// No _GNU_SOURCE here: it would change glibc's declarations (fd_set, …) and make
// them clash with the same headers imported by Glibc and swift-system.

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/netlink.h>
#include <linux/connector.h>
#include <linux/cn_proc.h>
#include <linux/genetlink.h>
#include <linux/taskstats.h>
#include "procwatch_bpf.h"

/// The symbolic name of an error number ("ENOENT"), or NULL when glibc has none
/// (strerrorname_np, defined in shim.c where _GNU_SOURCE may be set).
const char *procwatch_errno_name(int error);

/// fork()s a child that waits, with default signal dispositions and an empty signal
/// mask, until one byte arrives on `gate` (EOF instead: it exits 127 unrun), then
/// execvp()s `file` with `argv`; if that fails it writes the errno (an int) to `report`
/// and exits 127. In C because between fork and exec a child of a threaded process may
/// only make async-signal-safe calls, which Swift code cannot promise. Returns 0 and the
/// child's pid in `pid`, or the errno of fork.
int procwatch_spawn_held(const char *file, char *const argv[], int gate, int report, pid_t *pid);

// --- Proc connector additions from Linux 6.6 (missing from the 6.1 headers) ---

/// Since 6.6 the kernel filters events per socket when LISTEN carries this
/// 8-byte input instead of the bare 4-byte op (drivers/connector/cn_proc.c).
struct procwatch_proc_input {
    uint32_t mcast_op;    // enum proc_cn_mcast_op
    uint32_t event_type;  // mask of enum what bits, plus PROCWATCH_PROC_EVENT_NONZERO_EXIT
};

/// Filter bit: pass exit events only when exit_code != 0 (6.6+).
#define PROCWATCH_PROC_EVENT_NONZERO_EXIT 0x20000000u

// --- Netlink macros as functions ---

static inline uint32_t procwatch_nlmsg_align(uint32_t len) { return NLMSG_ALIGN(len); }
static inline uint32_t procwatch_nlmsg_hdrlen(void) { return (uint32_t)NLMSG_HDRLEN; }
static inline uint32_t procwatch_nlmsg_length(uint32_t len) { return NLMSG_LENGTH(len); }
static inline uint32_t procwatch_nla_align(uint32_t len) { return NLA_ALIGN(len); }
static inline uint32_t procwatch_nla_hdrlen(void) { return (uint32_t)NLA_HDRLEN; }

/// `struct mmsghdr`, which glibc only declares under _GNU_SOURCE.
struct procwatch_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// recvmmsg(2) under a name of ours, bound to glibc's symbol (it is only declared under _GNU_SOURCE).
extern int procwatch_recvmmsg(int fd, struct procwatch_mmsghdr *vec, unsigned int vlen, int flags,
                              struct timespec *timeout) __asm__("recvmmsg");

/// Names the calling thread (prctl(PR_SET_NAME) is variadic, so Swift cannot call it).
static inline void procwatch_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }
/* gettid(2) is declared only under _GNU_SOURCE, which this shim must not define. Async-signal-safe. */
static inline int32_t procwatch_gettid(void) { return (int32_t)syscall(SYS_gettid); }

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphans of the caller's descendants come back to it
/// (the /proc scanner's `run` reaps them and learns their exit status). 0 or -1 with errno.
static inline int procwatch_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
/// pidfd_open(2) (Linux 5.3; glibc 2.36 declares no wrapper under our feature macros): a
/// descriptor that polls readable once the process exits. -1 with errno on failure.
static inline int procwatch_pidfd_open(int32_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

/// ppoll(2) with a relative timeout in nanoseconds (poll(2) counts whole milliseconds; the
/// coalescing pause is a fraction of one). No signal mask change.
static inline int procwatch_ppoll(struct pollfd *fds, nfds_t count, int64_t nanoseconds) {
    struct timespec timeout = { .tv_sec = nanoseconds / 1000000000, .tv_nsec = nanoseconds % 1000000000 };
    return (int)syscall(SYS_ppoll, fds, count, &timeout, NULL, (size_t)8);
}

/// `struct sched_attr` as far as SCHED_ATTR_SIZE_VER0 (48 bytes); glibc 2.36 does not
/// declare it or sched_setattr(2).
struct procwatch_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

/// Puts the calling thread under SCHED_FIFO at `priority` (needs CAP_SYS_NICE or an
/// RLIMIT_RTPRIO). Returns 0, or -1 with errno.
static inline int procwatch_request_fifo(uint32_t priority) {
    struct procwatch_sched_attr attr = {0};
    attr.size = sizeof(attr);
    attr.sched_policy = 1;  /* SCHED_FIFO */
    attr.sched_priority = priority;
    return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}

/// Puts the calling thread under SCHED_OTHER at `nice` with a short time slice (Linux
/// 6.12+: EEVDF takes `sched_runtime` as the thread's slice, clamped to 0.1–100 ms). A
/// thread with a short slice gets an early deadline when it wakes and runs ahead of CPU
/// hogs, without real-time priority. Returns 0, or -1 with errno (older kernels ignore the
/// slice).
static inline int procwatch_request_slice(uint64_t nanoseconds, int32_t nice) {
    struct procwatch_sched_attr attr = {0};
    attr.size = sizeof(attr);
    attr.sched_policy = 0;  /* SCHED_OTHER */
    attr.sched_nice = nice;
    attr.sched_runtime = nanoseconds;
    return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}

// --- Layouts the decoders rely on ---

_Static_assert(sizeof(struct nlmsghdr) == 16, "nlmsghdr is 16 bytes");
_Static_assert(sizeof(struct procwatch_sched_attr) == 48, "sched_attr VER0 is 48 bytes");
_Static_assert(sizeof(struct cn_msg) == 20, "cn_msg is 20 bytes");
_Static_assert(offsetof(struct cn_msg, len) == 16, "cn_msg.len at 16");
_Static_assert(offsetof(struct cn_msg, seq) == 8, "cn_msg.seq at 8");
_Static_assert(offsetof(struct cn_msg, ack) == 12, "cn_msg.ack at 12");
_Static_assert(sizeof(struct proc_event) == 40, "proc_event is 40 bytes");
_Static_assert(offsetof(struct proc_event, what) == 0, "what at 0");
_Static_assert(offsetof(struct proc_event, cpu) == 4, "cpu at 4");
_Static_assert(offsetof(struct proc_event, timestamp_ns) == 8, "timestamp at 8");
_Static_assert(offsetof(struct proc_event, event_data) == 16, "event_data at 16");
_Static_assert(offsetof(struct proc_event, event_data.exit.exit_code) == 24, "exit_code at 24");
_Static_assert(offsetof(struct proc_event, event_data.exit.exit_signal) == 28, "exit_signal at 28");
_Static_assert(offsetof(struct proc_event, event_data.exit.parent_pid) == 32, "exit parent at 32");
_Static_assert(offsetof(struct proc_event, event_data.comm.comm) == 24, "comm at 24");
_Static_assert(offsetof(struct proc_event, event_data.id.e) == 28, "euid at 28");
_Static_assert(offsetof(struct proc_event, event_data.ptrace.tracer_tgid) == 28, "tracer_tgid at 28");
_Static_assert(sizeof(struct procwatch_proc_input) == 8, "proc_input is 8 bytes");
_Static_assert(sizeof(struct procwatch_mmsghdr) == 64, "mmsghdr is 64 bytes");
_Static_assert(sizeof(struct nlattr) == 4, "nlattr is 4 bytes");
_Static_assert(sizeof(struct genlmsghdr) == 4, "genlmsghdr is 4 bytes");
_Static_assert(PROC_EVENT_EXIT == 0x80000000u, "exit bit");
_Static_assert(PROC_EVENT_COREDUMP == 0x40000000u, "coredump bit");

#else
#error "procwatch needs Linux: the process events connector (cn_proc) is a Linux kernel feature"
#endif // __linux__
#endif // CPROCWATCH_H
