// The records the kernel-side watchers (bpf/procwatch.bpf.c) write into their ring buffer,
// and their configuration map: the one definition both the BPF program and the Swift reader
// compile against. Fixed-width plain C types only (the BPF program includes no libc header),
// every size pinned with _Static_assert so that a change on one side cannot go unnoticed.
#ifndef PROCWATCH_BPF_RECORDS_H
#define PROCWATCH_BPF_RECORDS_H

#ifdef __bpf__
typedef unsigned long long procwatch_u64;
typedef unsigned int procwatch_u32;
typedef int procwatch_s32;
#else
#include <stdint.h>
typedef uint64_t procwatch_u64;
typedef uint32_t procwatch_u32;
typedef int32_t procwatch_s32;
#endif

/// The longest command line copied at an exec or failed exec; a longer one is cut and marked.
#define PROCWATCH_BPF_ARGV_MAX 32768u
/// The longest path copied (PATH_MAX, terminating NUL included).
#define PROCWATCH_BPF_PATH_MAX 4096u
/// The most arguments read of a failed exec's argv array (a successful exec's are one block).
#define PROCWATCH_BPF_FAILED_ARGS_MAX 256u

/// `kind` of a failed execve/execveat: not a connector value (EventKind.execFailed).
#define PROCWATCH_BPF_EXEC_FAILED 0x00000800u
/// Filter bit: pass exits only with a non-zero exit code (the connector's PROC_EVENT_NONZERO_EXIT).
#define PROCWATCH_BPF_NONZERO_EXIT 0x20000000u

/// `flags` bit: the command line was longer than PROCWATCH_BPF_ARGV_MAX (or had more
/// arguments than PROCWATCH_BPF_FAILED_ARGS_MAX) and was cut.
#define PROCWATCH_BPF_FLAG_ARGV_CUT 0x1u
/// `flags` bit: the login uid is set (else the task has none: audit's (uid_t)-1).
#define PROCWATCH_BPF_FLAG_HAS_LOGINUID 0x2u
/// `flags` bit of an exec: its executable's path could not be named as /proc/PID/exe names
/// it (deeper than the walk goes, longer than PATH_MAX, a pseudo file such as a memfd), and
/// the path is the one it was executed by (`bprm->filename`) instead.
#define PROCWATCH_BPF_FLAG_EXE_UNRESOLVED 0x4u
/// `flags` bit of an exec: `attributed_cgroup_id` and `attributed_hierarchy` name the cgroup
/// that stands for the process (see struct procwatch_bpf_exec); else they were not taken
/// (more hierarchies than the walk goes through) and the reader asks /proc.
#define PROCWATCH_BPF_FLAG_CGROUP_TAKEN 0x8u
/// `flags` bit of an exec: the process is in the root cgroup of every hierarchy.
#define PROCWATCH_BPF_FLAG_CGROUP_ROOTS 0x10u

/// The start of every record: the fields the connector's `struct proc_event` carries, in
/// one layout for all kinds.
struct procwatch_bpf_event {
    procwatch_u64 timestamp_ns;  // bpf_ktime_get_ns(): CLOCK_MONOTONIC, as the connector's
    procwatch_u32 kind;          // the connector's `what` bit, or PROCWATCH_BPF_EXEC_FAILED
    procwatch_u32 cpu;
    procwatch_u32 sequence;      // per-CPU count of records, as the connector's cn_msg.seq
    procwatch_u32 size;          // bytes of the whole record, tail included
    procwatch_s32 tid, tgid;     // the subject (fork: the child)
    procwatch_s32 other_tid, other_tgid;  // fork, coredump, exit: parent; ptrace: tracer
    procwatch_u32 value0, value1;         // uid/gid: real, effective; exit: code, signal
    char comm[16];                        // comm: the new name; exec: the name exec gave
};

/// Follows the event of an exec, then `path_size` bytes of the executable's path (as
/// /proc/PID/exe gives it; see PROCWATCH_BPF_FLAG_EXE_UNRESOLVED) and `argv_size` bytes of
/// NUL-terminated arguments.
///
/// `cgroup_id` is the v2 cgroup's id (bpf_get_current_cgroup_id(), the contract's
/// `cgroup_id`). `attributed_cgroup_id` is the id (kernfs node id: the inode number of its
/// directory) of the cgroup that stands for the process, chosen by CgroupMembership's rule
/// over all hierarchies, v1 ones included — the v2 cgroup when it is not the root, else the
/// `name=systemd` one when not the root, else the non-root v1 one of the highest hierarchy
/// id (/proc/PID/cgroup's first) — and `attributed_hierarchy` is that cgroup's hierarchy id
/// (0: v2), when PROCWATCH_BPF_FLAG_CGROUP_TAKEN is set.
struct procwatch_bpf_exec {
    procwatch_u32 uid, euid, gid, egid;
    procwatch_u32 loginuid;
    procwatch_u32 flags;
    procwatch_u64 cgroup_id;
    procwatch_u32 path_size, argv_size;
    procwatch_u64 attributed_cgroup_id;
    procwatch_u32 attributed_hierarchy;
    procwatch_u32 reserved;
};

/// Follows the event of an exit: the exiting task's own accounting.
struct procwatch_bpf_usage {
    procwatch_u64 utime_ns, stime_ns;
    procwatch_u64 maxrss_kib;  // the process's peak resident set (signal->maxrss)
    procwatch_u64 read_bytes, write_bytes, rchar, wchar;
};

/// Follows the event of a failed exec, then the path and the arguments as for an exec.
struct procwatch_bpf_exec_failure {
    procwatch_s32 error;  // positive errno
    procwatch_u32 flags;
    procwatch_u32 path_size, argv_size;
};

/// The one entry of the `procwatch_config` map: what consumers asked for, so that other
/// events never leave the kernel.
struct procwatch_bpf_config {
    procwatch_u32 kinds;         // connector `what` bits, PROCWATCH_BPF_EXEC_FAILED, PROCWATCH_BPF_NONZERO_EXIT
    procwatch_u32 tracks_tgids;  // non-zero: only processes in `procwatch_tracked` (forks add children)
    procwatch_u32 filters_uid;   // non-zero: only tasks whose real uid is `uid`
    procwatch_u32 uid;
    procwatch_u32 wakeup_bytes;  // wake the reader once this much data waits (else it polls)
    procwatch_u32 reserved;
};

_Static_assert(sizeof(struct procwatch_bpf_event) == 64, "event is 64 bytes");
_Static_assert(sizeof(struct procwatch_bpf_exec) == 56, "exec tail is 56 bytes");
_Static_assert(sizeof(struct procwatch_bpf_usage) == 56, "usage tail is 56 bytes");
_Static_assert(sizeof(struct procwatch_bpf_exec_failure) == 16, "failure tail is 16 bytes");
_Static_assert(sizeof(struct procwatch_bpf_config) == 24, "config is 24 bytes");

#endif // PROCWATCH_BPF_RECORDS_H
