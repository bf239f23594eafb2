// SPDX-License-Identifier: GPL-2.0
// procwatch's kernel-side watchers: every event of the proc connector, with the connector's
// fields, plus what only the kernel has at that moment (an exec's argv, path and
// credentials; an exit's accounting; failed execs).
//
// Built into a committed object by scripts/regen-bpf (the toolchain's clang, CO-RE: no kernel
// headers, only the few kernel fields read below, each relocated by libbpf against the
// running kernel's BTF). The records are defined once, in procwatch_bpf_records.h, which the
// Swift reader imports too.
//
// Hooks: tracepoints only. Kprobes would sit on the connector's own functions
// (proc_*_connector), but kernels built without CONFIG_KPROBES (this project's CI kernel is
// one) have none, and fentry is refused where BPF trampolines are; so each event is taken
// where the kernel has a tracepoint next to the connector's call, and the connector's rule
// for its fields is reproduced here:
// - fork, exec: the scheduler's BTF tracepoints, next to proc_fork/exec_connector.
// - exit: sched_process_exit, in do_exit() before exit_notify(); the connector runs after
//   it, when a task that reaped itself (a thread; a child of a parent that ignores SIGCHLD)
//   has no parent any more: that rule is applied here.
// - comm: task_rename, less the renames the connector does not report (exec's own, kernel
//   and io_uring worker threads).
// - coredump: signal_deliver of a default-action core signal, which is where get_signal()
//   calls proc_coredump_connector.
// - uid/gid, sid, ptrace, failed execs: the syscalls' tracepoints (sys_enter/sys_exit of the
//   set*id calls, setsid, ptrace, execve/execveat). Attaching these puts every thread on the
//   syscall slow path while the watchers run (measured: see README).
// - uid/gid of an exec (a set-user-ID or set-group-ID program, file capabilities): the ids
//   are compared at sched_prepare_exec, where begin_new_exec() holds the old credentials and
//   the new ones (bprm->cred) that its commit_creds() installs a moment later, and the events
//   are sent at sched_process_exec, just before the exec's own, as the connector orders them.

// The few uapi types bpf_helper_defs.h needs, declared here instead of pulling in
// <linux/types.h> and the multiarch asm headers (the object must not depend on them).
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

// From <linux/bpf.h> (uapi, stable values).
enum {
    BPF_MAP_TYPE_HASH = 1,
    BPF_MAP_TYPE_ARRAY = 2,
    BPF_MAP_TYPE_PERCPU_ARRAY = 6,
    BPF_MAP_TYPE_LRU_HASH = 9,
    BPF_MAP_TYPE_RINGBUF = 27,
};
enum { BPF_ANY = 0, BPF_NOEXIST = 1 };
enum { BPF_RB_NO_WAKEUP = 1, BPF_RB_FORCE_WAKEUP = 2 };
enum { BPF_RB_AVAIL_DATA = 0 };

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "procwatch_bpf_records.h"

// The connector's `what` values (include/uapi/linux/cn_proc.h) and ptrace requests.
#define PROC_EVENT_FORK 0x00000001u
#define PROC_EVENT_EXEC 0x00000002u
#define PROC_EVENT_UID 0x00000004u
#define PROC_EVENT_GID 0x00000040u
#define PROC_EVENT_SID 0x00000080u
#define PROC_EVENT_PTRACE 0x00000100u
#define PROC_EVENT_COMM 0x00000200u
#define PROC_EVENT_COREDUMP 0x40000000u
#define PROC_EVENT_EXIT 0x80000000u
#define PTRACE_ATTACH 16
#define PTRACE_DETACH 17
// from_kuid_munged() gives the overflow uid (default 65534) for an id with no mapping.
#define OVERFLOW_ID 65534u
#define PAGE_KIB 4  // signal->maxrss counts pages; x86-64 pages are 4 KiB

// --- The kernel fields read, as CO-RE relocatable minimal definitions ---

typedef struct { __u32 val; } kuid_t;
typedef struct { __u32 val; } kgid_t;
typedef struct { int counter; } atomic_t;

struct cred {
    kuid_t uid, euid, suid, fsuid;
    kgid_t gid, egid, sgid, fsgid;
} __attribute__((preserve_access_index));

struct list_head {
    struct list_head *next, *prev;
} __attribute__((preserve_access_index));

typedef void (*sighandler_t)(int);
struct sigaction {
    sighandler_t sa_handler;
    unsigned long sa_flags;
} __attribute__((preserve_access_index));
struct k_sigaction {
    struct sigaction sa;
} __attribute__((preserve_access_index));
struct sighand_struct {
    struct k_sigaction action[64];
} __attribute__((preserve_access_index));

struct task_io_accounting {
    __u64 rchar, wchar, read_bytes, write_bytes;
} __attribute__((preserve_access_index));

struct signal_struct {
    atomic_t live;
    unsigned int flags;
    unsigned long maxrss;
} __attribute__((preserve_access_index));

struct mm_struct {
    unsigned long arg_start, arg_end;
    unsigned long hiwater_rss;
} __attribute__((preserve_access_index));

struct pid;

// A task's cgroups: its css_set links to one cgroup per hierarchy (cgrp_cset_link.cgrp_link
// on css_set.cgrp_links), v1 named hierarchies such as name=systemd and the v2 one included.
struct kernfs_node {
    __u64 id;  // the inode number of the cgroup's directory (64-bit: never reused in a boot)
} __attribute__((preserve_access_index));
struct cgroup_root;
struct cgroup {
    int level;  // 0: the hierarchy's root
    struct kernfs_node *kn;
    struct cgroup_root *root;
} __attribute__((preserve_access_index));
struct cgroup_root {
    int hierarchy_id;  // /proc/PID/cgroup's first field; 0 is v2
    char name[64];     // a named v1 hierarchy's name ("systemd" for name=systemd)
} __attribute__((preserve_access_index));
struct cgrp_cset_link {
    struct cgroup *cgrp;
    struct list_head cgrp_link;
} __attribute__((preserve_access_index));
struct css_set {
    struct list_head cgrp_links;
} __attribute__((preserve_access_index));

struct task_struct {
    int pid, tgid;
    unsigned int flags, ptrace;
    unsigned in_execve : 1;
    int exit_code, exit_signal;
    struct task_struct *real_parent;
    struct cred *real_cred;
    kuid_t loginuid;
    __u64 utime, stime;
    struct task_io_accounting ioac;
    struct signal_struct *signal;
    struct mm_struct *mm;
    struct pid *thread_pid;
    struct sighand_struct *sighand;
    struct list_head ptraced, ptrace_entry;
    struct css_set *cgroups;
    char comm[16];
} __attribute__((preserve_access_index));

// The path of a file, as d_path() walks it (an exec's, bprm->file).
struct qstr {
    __u32 len;
    const unsigned char *name;
} __attribute__((preserve_access_index));
struct hlist_bl_node {
    struct hlist_bl_node *next, **pprev;
} __attribute__((preserve_access_index));
struct dentry {
    struct hlist_bl_node d_hash;
    struct dentry *d_parent;
    struct qstr d_name;
} __attribute__((preserve_access_index));
struct vfsmount {
    struct dentry *mnt_root;
} __attribute__((preserve_access_index));
struct mount {  // fs/mount.h: the vfsmount a path names is the `mnt` member of one
    struct mount *mnt_parent;
    struct dentry *mnt_mountpoint;
    struct vfsmount mnt;
} __attribute__((preserve_access_index));
struct path {
    struct vfsmount *mnt;
    struct dentry *dentry;
} __attribute__((preserve_access_index));
struct file {
    struct path f_path;
} __attribute__((preserve_access_index));

struct linux_binprm {
    struct file *file;
    const char *filename;
    struct cred *cred;
} __attribute__((preserve_access_index));

struct pt_regs {
    unsigned long di, si, dx, ax;
} __attribute__((preserve_access_index));

// --- Maps ---

// All records, in commit order across CPUs: a fork is always read before its child's events.
// Sized by the loader (ProcessEventSource.Configuration.BPF.ringBufferBytes).
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20);
} procwatch_events SEC(".maps");

// Records the ring buffer had no room for, per CPU: the reader reports each as lost.
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} procwatch_lost SEC(".maps");

// Per-CPU record numbers (the connector's cn_msg.seq).
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} procwatch_sequence SEC(".maps");

// What consumers want; written by the reader whenever that changes.
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct procwatch_bpf_config);
} procwatch_config SEC(".maps");

// Processes (tgids) a --pid/--tree selection follows; a fork of one adds the child.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __s32);
    __type(value, __u8);
} procwatch_tracked SEC(".maps");

// Where an exec's record is put together before it is copied, exactly sized, into the
// ring: one slot per CPU (the loader sets max_entries to the possible CPUs). A plain array,
// not a per-CPU one: per-CPU values are limited to 32 KiB. The size leaves room for the
// verifier's worst case, which does not correlate an offset with the length read there.
#define SCRATCH_BYTES (2 * PROCWATCH_BPF_ARGV_MAX + 2 * PROCWATCH_BPF_PATH_MAX)
struct scratch {
    __u8 bytes[SCRATCH_BYTES];
};
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct scratch);
} procwatch_scratch SEC(".maps");

// Where an exec's executable path is put together, backwards from its end at PATH_MAX (the
// " (deleted)" of an unlinked file after it): PATH_MAX bytes, and as many for the verifier's
// worst case.
struct path_scratch {
    __u8 bytes[2 * PROCWATCH_BPF_PATH_MAX];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct path_scratch);
} procwatch_path_scratch SEC(".maps");

// --- Common steps ---

static __always_inline struct procwatch_bpf_config *config(void) {
    __u32 zero = 0;
    return bpf_map_lookup_elem(&procwatch_config, &zero);
}

static __always_inline int is_tracked(__s32 tgid) {
    return bpf_map_lookup_elem(&procwatch_tracked, &tgid) != 0;
}

// Whether an event of `kind` about `task` (process `tgid`) passes the consumers' selection.
static __always_inline int wanted(struct procwatch_bpf_config *cfg, __u32 kind, __s32 tgid,
                                  struct task_struct *task) {
    if (!(cfg->kinds & kind)) return 0;
    if (cfg->tracks_tgids && !is_tracked(tgid)) return 0;
    if (cfg->filters_uid && BPF_CORE_READ(task, real_cred, uid.val) != cfg->uid) return 0;
    return 1;
}

// Stamps the header: time, CPU and the CPU's record number, as send_msg() in cn_proc.c.
static __always_inline void stamp(struct procwatch_bpf_event *event, __u32 kind, __u32 size) {
    __u32 zero = 0;
    __u32 *sequence = bpf_map_lookup_elem(&procwatch_sequence, &zero);
    event->timestamp_ns = bpf_ktime_get_ns();
    event->kind = kind;
    event->cpu = bpf_get_smp_processor_id();
    event->size = size;
    if (sequence) {
        event->sequence = *sequence;
        *sequence += 1;
    }
}

// Copies a record into the ring. The reader is not woken for each one (a reader woken per
// event costs as much as the connector): only once `wakeup_bytes` wait; otherwise it finds
// them at its next poll, a few milliseconds later. A full ring counts the record as lost.
static __always_inline void emit(struct procwatch_bpf_config *cfg, void *record, __u64 size) {
    __u64 flags = 0;
    if (cfg->wakeup_bytes) {
        __u64 waiting = bpf_ringbuf_query(&procwatch_events, BPF_RB_AVAIL_DATA);
        flags = waiting + size >= cfg->wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
    }
    if (bpf_ringbuf_output(&procwatch_events, record, size, flags) != 0) {
        __u32 zero = 0;
        __u64 *lost = bpf_map_lookup_elem(&procwatch_lost, &zero);
        if (lost) *lost += 1;
    }
}

static __always_inline __u32 munged(__u32 id) { return id == 0xffffffffu ? OVERFLOW_ID : id; }

// Copies a NUL-terminated string into `dst` (at most PATH_MAX); returns its length without NUL.
static __always_inline __u32 copy_path(__u8 *dst, const char *src, int user) {
    long n = user ? bpf_probe_read_user_str(dst, PROCWATCH_BPF_PATH_MAX, src)
                  : bpf_probe_read_kernel_str(dst, PROCWATCH_BPF_PATH_MAX, src);
    return n > 0 ? (__u32)(n - 1) & (PROCWATCH_BPF_PATH_MAX - 1) : 0;
}

static __always_inline __u8 *scratch_slot(void) {
    __u32 cpu = bpf_get_smp_processor_id();
    struct scratch *slot = bpf_map_lookup_elem(&procwatch_scratch, &cpu);
    return slot ? slot->bytes : 0;
}

// Keeps the compiler from folding a clamp into a form the verifier cannot follow.
#define BARRIER_VAR(var) asm volatile("" : "+r"(var))

// A record of just the header about `task`.
static __always_inline int begin(struct procwatch_bpf_config **cfg, struct procwatch_bpf_event *event,
                                 struct task_struct *task, __u32 kind) {
    *cfg = config();
    if (!*cfg) return 0;
    __s32 tgid = BPF_CORE_READ(task, tgid);
    if (!wanted(*cfg, kind, tgid, task)) return 0;
    event->tid = BPF_CORE_READ(task, pid);
    event->tgid = tgid;
    return 1;
}

static __always_inline void send(struct procwatch_bpf_config *cfg, struct procwatch_bpf_event *event, __u32 kind) {
    stamp(event, kind, sizeof(*event));
    emit(cfg, event, sizeof(*event));
}

// --- fork ---

SEC("tp_btf/sched_process_fork")
int procwatch_fork(__u64 *ctx) {
    struct task_struct *child = (struct task_struct *)ctx[1];
    struct procwatch_bpf_config *cfg = config();
    if (!cfg) return 0;
    struct task_struct *parent = child->real_parent;
    __s32 parent_tgid = parent->tgid;
    if (cfg->tracks_tgids) {
        if (!is_tracked(parent_tgid)) return 0;
        // A thread joins its own process, which is tracked already.
        __s32 child_tgid = child->tgid;
        __u8 one = 1;
        if (cfg->tracks_tgids == 2) bpf_map_update_elem(&procwatch_tracked, &child_tgid, &one, BPF_ANY);
    }
    if (!(cfg->kinds & PROC_EVENT_FORK)) return 0;
    if (cfg->filters_uid && BPF_CORE_READ(child, real_cred, uid.val) != cfg->uid) return 0;
    struct procwatch_bpf_event event = {};
    stamp(&event, PROC_EVENT_FORK, sizeof(event));
    event.tid = child->pid;
    event.tgid = child->tgid;
    event.other_tid = parent->pid;
    event.other_tgid = parent_tgid;
    emit(cfg, &event, sizeof(event));
    return 0;
}

// --- uid/gid: the ids a set*id call found, compared at its return as commit_creds() does ---

struct ids {
    __u32 uid, euid, suid, fsuid, gid, egid, sgid, fsgid;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __s32);
    __type(value, struct ids);
} procwatch_ids SEC(".maps");

static __always_inline void read_ids(struct cred *cred, struct ids *ids) {
    ids->uid = cred->uid.val;
    ids->euid = cred->euid.val;
    ids->suid = cred->suid.val;
    ids->fsuid = cred->fsuid.val;
    ids->gid = cred->gid.val;
    ids->egid = cred->egid.val;
    ids->sgid = cred->sgid.val;
    ids->fsgid = cred->fsgid.val;
}

#define UID_CHANGED 1
#define GID_CHANGED 2

// What commit_creds() compares to decide on its uid and gid events.
static __always_inline __u32 id_changes(struct ids *old, struct ids *now) {
    __u32 changes = 0;
    if (now->uid != old->uid || now->euid != old->euid || now->suid != old->suid || now->fsuid != old->fsuid)
        changes |= UID_CHANGED;
    if (now->gid != old->gid || now->egid != old->egid || now->sgid != old->sgid || now->fsgid != old->fsgid)
        changes |= GID_CHANGED;
    return changes;
}

// The events commit_creds() sends (proc_id_connector: the new real and effective ids) for
// `task`, whose credentials are now `now`.
static __always_inline void send_id_events(struct task_struct *task, struct ids *now, __u32 changes) {
    struct procwatch_bpf_config *cfg;
    struct procwatch_bpf_event event = {};
    __s32 tid = task->pid;
    if (changes & UID_CHANGED) {
        // Under a user filter, a uid event passes when either new id is the user's: taking on
        // the user's effective id alone (the real one stays) is news to whoever follows that
        // user, and the front ends' --user shows it.
        cfg = config();
        __s32 tgid = task->tgid;
        if (cfg && cfg->filters_uid && (cfg->kinds & PROC_EVENT_UID) && now->euid == cfg->uid && now->uid != cfg->uid &&
            (!cfg->tracks_tgids || is_tracked(tgid))) {
            event.tid = tid;
            event.tgid = tgid;
            event.value0 = munged(now->uid);
            event.value1 = munged(now->euid);
            send(cfg, &event, PROC_EVENT_UID);
        } else if (begin(&cfg, &event, task, PROC_EVENT_UID)) {
            event.value0 = munged(now->uid);
            event.value1 = munged(now->euid);
            send(cfg, &event, PROC_EVENT_UID);
        }
    }
    if (changes & GID_CHANGED) {
        __builtin_memset(&event, 0, sizeof(event));
        if (begin(&cfg, &event, task, PROC_EVENT_GID)) {
            event.value0 = munged(now->gid);
            event.value1 = munged(now->egid);
            send(cfg, &event, PROC_EVENT_GID);
        }
    }
}

static __always_inline int ids_enter(void) {
    struct procwatch_bpf_config *cfg = config();
    if (!cfg || !(cfg->kinds & (PROC_EVENT_UID | PROC_EVENT_GID))) return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct ids ids;
    read_ids(task->real_cred, &ids);
    __s32 tid = task->pid;
    bpf_map_update_elem(&procwatch_ids, &tid, &ids, BPF_ANY);
    return 0;
}

static __always_inline int ids_exit(void) {
    struct task_struct *task = bpf_get_current_task_btf();
    __s32 tid = task->pid;
    struct ids *before = bpf_map_lookup_elem(&procwatch_ids, &tid);
    if (!before) return 0;
    struct ids now;
    read_ids(task->real_cred, &now);
    struct ids old = *before;
    bpf_map_delete_elem(&procwatch_ids, &tid);
    send_id_events(task, &now, id_changes(&old, &now));
    return 0;
}

// --- uid/gid of an exec: what begin_new_exec()'s commit_creds(bprm->cred) will change ---

// Per exec'ing thread (its tid before the exec: a thread other than the leader takes the
// leader's tid in de_thread()), which of uid/gid the exec changes; only execs that change
// one are in. LRU: an exec that fails past this point kills the thread before
// sched_process_exec, and its entry is pushed out rather than left to fill the map.
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 1024);
    __type(key, __s32);
    __type(value, __u32);
} procwatch_exec_ids SEC(".maps");

SEC("tp_btf/sched_prepare_exec")
int procwatch_prepare_exec(__u64 *ctx) {
    struct task_struct *task = (struct task_struct *)ctx[0];
    struct linux_binprm *bprm = (struct linux_binprm *)ctx[1];
    struct ids old, now;
    read_ids(task->real_cred, &old);
    read_ids(bprm->cred, &now);
    __u32 changes = id_changes(&old, &now);
    struct procwatch_bpf_config *cfg = config();
    if (!cfg || !(cfg->kinds & (PROC_EVENT_UID | PROC_EVENT_GID))) changes = 0;
    __s32 tid = task->pid;
    if (changes)
        bpf_map_update_elem(&procwatch_exec_ids, &tid, &changes, BPF_ANY);
    else if (bpf_map_lookup_elem(&procwatch_exec_ids, &tid))
        bpf_map_delete_elem(&procwatch_exec_ids, &tid);  // a dead exec's, never to be read
    return 0;
}

// At sched_process_exec (`old_tid`: the tid before the exec): the exec's uid/gid events.
static __always_inline void exec_id_events(struct task_struct *task, __s32 old_tid) {
    __u32 *found = bpf_map_lookup_elem(&procwatch_exec_ids, &old_tid);
    if (!found) return;
    __u32 changes = *found;
    bpf_map_delete_elem(&procwatch_exec_ids, &old_tid);
    struct ids now;
    read_ids(task->real_cred, &now);
    send_id_events(task, &now, changes);
}

// --- exec: the executable's path as /proc/PID/exe gives it ---

// The most steps (a name, or a crossing from a mount's root to its mount point) walked.
#define PATH_STEPS 64
#define DELETED " (deleted)"
#define DELETED_LENGTH 10

// The path d_path() gives `file` (what readlink of /proc/PID/exe says to a reader at the
// root of the mount namespace): the names of its dentries up to the root of their mount,
// then from that mount's mount point up in the parent mount, and so on to the namespace's
// root mount (its own parent); with " (deleted)" after a file no longer linked. Built
// backwards in `buffer`, ending at PATH_MAX. Returns the length (below PATH_MAX, as
// readlink's page of room) and sets `*start` to the first byte; 0 when the path cannot be
// named completely here: more than PATH_STEPS steps, longer than readlink's page, a pseudo
// file of no directory (memfd), an unreadable step.
static __always_inline __u32 executable_path(struct file *file, __u8 *buffer, __u32 *start) {
    struct dentry *dentry = BPF_CORE_READ(file, f_path.dentry);
    struct vfsmount *vfsmount = BPF_CORE_READ(file, f_path.mnt);
    unsigned long member = bpf_core_field_offset(struct mount, mnt);
    struct mount *mount = (struct mount *)((char *)vfsmount - member);  // container_of
    __u32 offset = PROCWATCH_BPF_PATH_MAX;
    int complete = 0;
    for (int step = 0; step < PATH_STEPS; step++) {
        if (dentry == BPF_CORE_READ(vfsmount, mnt_root)) {
            struct mount *parent = BPF_CORE_READ(mount, mnt_parent);
            if (parent == mount) {  // the namespace's root
                complete = 1;
                break;
            }
            dentry = BPF_CORE_READ(mount, mnt_mountpoint);
            mount = parent;
            vfsmount = (struct vfsmount *)((char *)parent + member);
            continue;
        }
        struct dentry *up = BPF_CORE_READ(dentry, d_parent);
        __u32 length = BPF_CORE_READ(dentry, d_name.len);
        // Its own parent below a mount's root: a pseudo file (d_path asks its d_dname).
        if (up == dentry || length == 0 || length + 1 > offset) break;
        offset -= length + 1;
        buffer[offset & (PROCWATCH_BPF_PATH_MAX - 1)] = '/';
        const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
        if (bpf_probe_read_kernel(buffer + ((offset + 1) & (PROCWATCH_BPF_PATH_MAX - 1)),
                                  length & (PROCWATCH_BPF_PATH_MAX - 1), name) != 0)
            break;
        dentry = up;
    }
    if (!complete) return 0;
    if (offset == PROCWATCH_BPF_PATH_MAX) buffer[--offset] = '/';  // the root itself
    __u32 length = PROCWATCH_BPF_PATH_MAX - offset;
    // d_unlinked(): unhashed, and not a root.
    struct dentry *file_dentry = BPF_CORE_READ(file, f_path.dentry);
    if (!BPF_CORE_READ(file_dentry, d_hash.pprev) && BPF_CORE_READ(file_dentry, d_parent) != file_dentry) {
        __builtin_memcpy(buffer + PROCWATCH_BPF_PATH_MAX, DELETED, DELETED_LENGTH);
        length += DELETED_LENGTH;
    }
    if (length >= PROCWATCH_BPF_PATH_MAX) return 0;
    *start = offset;
    return length;
}

// --- exec: the connector's event, plus argv, path, credentials and cgroup at the exec ---

// More hierarchies than any host mounts (13 v1 controllers, name=systemd, v2).
#define CGROUP_HIERARCHIES_MAX 24
// "systemd\0" read as a little-endian u64: the name of the name=systemd hierarchy.
#define SYSTEMD_NAME 0x00646d6574737973ull

// The cgroup that stands for `task`, by CgroupMembership's rule (which reads it from
// /proc/PID/cgroup): v2 when not the root; else name=systemd when not the root; else the
// first non-root v1 cgroup in /proc/PID/cgroup's order, which lists hierarchies newest
// (highest id) first; else the root. On a hybrid host the v2 cgroup alone is the root for
// everyone: this is what lets the reader name the cgroup without reading /proc at each exec.
static __always_inline void attributed_cgroup(struct task_struct *task, struct procwatch_bpf_exec *exec) {
    struct css_set *cset = BPF_CORE_READ(task, cgroups);
    if (!cset) return;
    struct list_head *head = &cset->cgrp_links;
    struct list_head *node = BPF_CORE_READ(head, next);
    unsigned long offset = bpf_core_field_offset(struct cgrp_cset_link, cgrp_link);
    int best_rank = 0;  // 3: v2, 2: name=systemd, 1: other v1; 0: none yet (all roots)
    int best_hierarchy = -1;
    __u64 best_id = 0;
    for (int i = 0; i < CGROUP_HIERARCHIES_MAX; i++) {
        if (!node || node == head) {
            exec->flags |= PROCWATCH_BPF_FLAG_CGROUP_TAKEN;
            if (best_rank == 0) {
                exec->flags |= PROCWATCH_BPF_FLAG_CGROUP_ROOTS;
            } else {
                exec->attributed_cgroup_id = best_id;
                exec->attributed_hierarchy = (__u32)best_hierarchy;
            }
            return;
        }
        struct cgrp_cset_link *link = (struct cgrp_cset_link *)((char *)node - offset);
        struct cgroup *cgrp = BPF_CORE_READ(link, cgrp);
        node = BPF_CORE_READ(node, next);
        if (!cgrp || BPF_CORE_READ(cgrp, level) == 0) continue;
        struct cgroup_root *root = BPF_CORE_READ(cgrp, root);
        int hierarchy = BPF_CORE_READ(root, hierarchy_id);
        int rank = 1;
        if (hierarchy == 0) {
            rank = 3;
        } else {
            __u64 name = 0;
            bpf_probe_read_kernel(&name, sizeof(name), &root->name);
            if (name == SYSTEMD_NAME) rank = 2;
        }
        if (rank < best_rank || (rank == best_rank && hierarchy < best_hierarchy)) continue;
        best_rank = rank;
        best_hierarchy = hierarchy;
        best_id = BPF_CORE_READ(cgrp, kn, id);
    }
    // More links than the walk goes through: not taken, the reader asks /proc.
}

SEC("tp_btf/sched_process_exec")
int procwatch_exec(__u64 *ctx) {
    struct task_struct *task = (struct task_struct *)ctx[0];
    struct linux_binprm *bprm = (struct linux_binprm *)ctx[2];
    exec_id_events(task, (__s32)ctx[1]);
    struct procwatch_bpf_config *cfg = config();
    if (!cfg || !wanted(cfg, PROC_EVENT_EXEC, task->tgid, task)) return 0;
    __u8 *buffer = scratch_slot();
    if (!buffer) return 0;
    struct procwatch_bpf_event *event = (void *)buffer;
    struct procwatch_bpf_exec *exec = (void *)(buffer + sizeof(*event));
    __builtin_memset(event, 0, sizeof(*event));
    event->tid = task->pid;
    event->tgid = task->tgid;
    // The name exec gave it (the last part of the path it was executed by, not of the path
    // below): set before this tracepoint.
    bpf_probe_read_kernel_str(event->comm, sizeof(event->comm), task->comm);

    struct cred *cred = task->real_cred;
    exec->uid = munged(cred->uid.val);
    exec->euid = munged(cred->euid.val);
    exec->gid = munged(cred->gid.val);
    exec->egid = munged(cred->egid.val);
    exec->flags = 0;
    exec->loginuid = 0xffffffffu;
    if (bpf_core_field_exists(task->loginuid)) {
        exec->loginuid = task->loginuid.val;
        if (exec->loginuid != 0xffffffffu) exec->flags |= PROCWATCH_BPF_FLAG_HAS_LOGINUID;
    }
    exec->cgroup_id = bpf_get_current_cgroup_id();
    exec->attributed_cgroup_id = 0;
    exec->attributed_hierarchy = 0;
    exec->reserved = 0;
    attributed_cgroup(task, exec);

    // The executable as /proc/PID/exe names it; when it cannot be named here, the path it
    // was executed by, marked.
    __u8 *path = buffer + sizeof(*event) + sizeof(*exec);
    __u32 zero = 0, path_start = 0, path_size = 0;
    struct path_scratch *walk = bpf_map_lookup_elem(&procwatch_path_scratch, &zero);
    if (walk) path_size = executable_path(bprm->file, walk->bytes, &path_start);
    if (walk && path_size) {
        bpf_probe_read_kernel(path, path_size & (PROCWATCH_BPF_PATH_MAX - 1),
                              walk->bytes + (path_start & (PROCWATCH_BPF_PATH_MAX - 1)));
    } else {
        path_size = copy_path(path, bprm->filename, 0);
        exec->flags |= PROCWATCH_BPF_FLAG_EXE_UNRESOLVED;
    }
    exec->path_size = path_size;

    // The arguments as the kernel laid them out for the new program: what the process may
    // write over later is read before it runs a single instruction.
    struct mm_struct *mm = task->mm;
    __u64 start = mm->arg_start, end = mm->arg_end;
    __u64 length = end > start ? end - start : 0;
    if (length > PROCWATCH_BPF_ARGV_MAX) {
        length = PROCWATCH_BPF_ARGV_MAX;
        exec->flags |= PROCWATCH_BPF_FLAG_ARGV_CUT;
    }
    BARRIER_VAR(length);
    if (length > PROCWATCH_BPF_ARGV_MAX) return 0;
    __u8 *argv = path + (path_size & (PROCWATCH_BPF_PATH_MAX - 1));
    if (length && bpf_probe_read_user(argv, length, (const void *)start) != 0) {
        length = 0;
        exec->flags |= PROCWATCH_BPF_FLAG_ARGV_CUT;
    }
    exec->argv_size = length;

    __u64 size = sizeof(*event) + sizeof(*exec) + path_size + length;
    BARRIER_VAR(size);
    if (size > SCRATCH_BYTES) return 0;
    stamp(event, PROC_EVENT_EXEC, size);
    emit(cfg, buffer, size);
    return 0;
}

// --- exit: the connector's event plus the task's accounting ---

#define SIGCHLD 17
#define SA_NOCLDWAIT 2
#define SIG_IGN 1

// Whether exit_notify() will release the task at once (the connector then finds no parent):
// a thread always; a process whose whole group is gone, unless traced, when it notifies
// with SIGCHLD a parent that ignores SIGCHLD or set SA_NOCLDWAIT.
static __always_inline int reaps_itself(struct task_struct *task, int group_dead) {
    if (task->pid != task->tgid) return 1;
    if (!group_dead || task->ptrace || task->exit_signal != SIGCHLD) return 0;
    struct k_sigaction *action = &task->real_parent->sighand->action[SIGCHLD - 1];
    return (unsigned long)action->sa.sa_handler == SIG_IGN || (action->sa.sa_flags & SA_NOCLDWAIT);
}

SEC("tp_btf/sched_process_exit")
int procwatch_exit(__u64 *ctx) {
    struct task_struct *task = (struct task_struct *)ctx[0];
    int group_dead = (int)(ctx[1] & 1);
    struct procwatch_bpf_config *cfg = config();
    if (!cfg) return 0;
    __s32 tgid = task->tgid;
    int code = task->exit_code;
    int pass = wanted(cfg, PROC_EVENT_EXIT, tgid, task) ||
               (code != 0 && (cfg->kinds & PROCWATCH_BPF_NONZERO_EXIT) &&
                wanted(cfg, PROCWATCH_BPF_NONZERO_EXIT, tgid, task));
    if (pass) {
        struct {
            struct procwatch_bpf_event event;
            struct procwatch_bpf_usage usage;
        } record = {};
        stamp(&record.event, PROC_EVENT_EXIT, sizeof(record));
        record.event.tid = task->pid;
        record.event.tgid = tgid;
        record.event.value0 = code;
        record.event.value1 = task->exit_signal;
        if (!reaps_itself(task, group_dead)) {
            record.event.other_tid = task->real_parent->pid;
            record.event.other_tgid = task->real_parent->tgid;
        }
        record.usage.utime_ns = task->utime;
        record.usage.stime_ns = task->stime;
        // The group's peak so far (do_exit folds the mm's in when the group dies), or this
        // mm's high-water mark if larger: the address space is still there.
        __u64 peak = task->signal->maxrss;
        struct mm_struct *mm = task->mm;
        if (mm && mm->hiwater_rss > peak) peak = mm->hiwater_rss;
        record.usage.maxrss_kib = peak * PAGE_KIB;
        record.usage.read_bytes = task->ioac.read_bytes;
        record.usage.write_bytes = task->ioac.write_bytes;
        record.usage.rchar = task->ioac.rchar;
        record.usage.wchar = task->ioac.wchar;
        emit(cfg, &record, sizeof(record));
    }
    // The pid is free for reuse once the whole process is gone: it is no longer followed.
    if (group_dead && cfg->tracks_tgids) bpf_map_delete_elem(&procwatch_tracked, &tgid);
    return 0;
}

// --- comm ---

#define PF_IO_WORKER 0x00000010
#define PF_KTHREAD 0x00200000

SEC("tp_btf/task_rename")
int procwatch_comm(__u64 *ctx) {
    struct task_struct *task = (struct task_struct *)ctx[0];
    const char *name = (const char *)ctx[1];
    struct task_struct *current = bpf_get_current_task_btf();
    // exec's rename (no comm event: the exec is the event), kernel threads naming themselves
    if (task->flags & (PF_KTHREAD | PF_IO_WORKER)) return 0;
    if (task == current && BPF_CORE_READ_BITFIELD(current, in_execve)) return 0;
    struct procwatch_bpf_config *cfg;
    struct procwatch_bpf_event event = {};
    if (!begin(&cfg, &event, task, PROC_EVENT_COMM)) return 0;
    bpf_probe_read_kernel_str(event.comm, sizeof(event.comm), name);
    send(cfg, &event, PROC_EVENT_COMM);
    return 0;
}

// --- coredump ---

// SIG_KERNEL_COREDUMP_MASK: QUIT ILL TRAP ABRT BUS FPE SEGV XCPU XFSZ SYS.
#define COREDUMP_SIGNALS ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 11) | \
                          (1u << 24) | (1u << 25) | (1u << 31))
#define SIGNAL_UNKILLABLE 0x00000040

SEC("tp_btf/signal_deliver")
int procwatch_coredump(__u64 *ctx) {
    int sig = (int)ctx[0];
    struct k_sigaction *action = (struct k_sigaction *)ctx[2];
    if (sig <= 0 || sig > 31 || !(COREDUMP_SIGNALS & (1u << sig))) return 0;
    if (action->sa.sa_handler != 0) return 0;  // handled or ignored: no dump
    struct task_struct *task = bpf_get_current_task_btf();
    if (task->signal->flags & SIGNAL_UNKILLABLE) return 0;
    struct procwatch_bpf_config *cfg;
    struct procwatch_bpf_event event = {};
    if (!begin(&cfg, &event, task, PROC_EVENT_COREDUMP)) return 0;
    event.other_tid = task->real_parent->pid;
    event.other_tgid = task->real_parent->tgid;
    send(cfg, &event, PROC_EVENT_COREDUMP);
    return 0;
}

// --- syscall tracepoints ---

// The fields of syscalls/sys_enter_* and sys_exit_* (format files under tracefs).
struct syscall_enter {
    __u64 common;
    long nr;
    unsigned long args[6];
};
struct syscall_exit {
    __u64 common;
    long nr;
    long ret;
};

#define ID_CALL(name)                                                                      \
    SEC("tp/syscalls/sys_enter_" #name) int procwatch_enter_##name(void *ctx) { return ids_enter(); } \
    SEC("tp/syscalls/sys_exit_" #name) int procwatch_exit_##name(void *ctx) { return ids_exit(); }
ID_CALL(setuid)
ID_CALL(setreuid)
ID_CALL(setresuid)
ID_CALL(setfsuid)
ID_CALL(setgid)
ID_CALL(setregid)
ID_CALL(setresgid)
ID_CALL(setfsgid)

// --- sid ---

SEC("tp/syscalls/sys_exit_setsid")
int procwatch_sid(struct syscall_exit *ctx) {
    if (ctx->ret <= 0) return 0;
    struct procwatch_bpf_config *cfg;
    struct procwatch_bpf_event event = {};
    if (!begin(&cfg, &event, bpf_get_current_task_btf(), PROC_EVENT_SID)) return 0;
    send(cfg, &event, PROC_EVENT_SID);
    return 0;
}

// --- ptrace: attach (PTRACE_ATTACH, PTRACE_SEIZE) and detach, as ptrace_attach/ptrace_detach report ---

#define PTRACE_SEIZE 0x4206

struct ptrace_call {
    __s32 request, tid, tgid;
    __u32 uid;  // the tracee's real uid (a detach's, looked up at its entry)
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __s32);
    __type(value, struct ptrace_call);
} procwatch_ptrace_calls SEC(".maps");

// The process of tracee `tid` among the caller's tracees (current->ptraced), or 0; its real
// uid into `uid` (for the user filter: the event is about the tracee).
static __always_inline __s32 tracee_tgid(struct task_struct *tracer, __s32 tid, __u32 *uid) {
    struct list_head *head = &tracer->ptraced;
    struct list_head *node = head->next;
    unsigned long offset = bpf_core_field_offset(struct task_struct, ptrace_entry);
    for (int i = 0; i < 64 && node && node != head; i++) {
        struct task_struct *tracee = (struct task_struct *)((char *)node - offset);
        if (BPF_CORE_READ(tracee, pid) == tid) {
            *uid = BPF_CORE_READ(tracee, real_cred, uid.val);
            return BPF_CORE_READ(tracee, tgid);
        }
        node = BPF_CORE_READ(node, next);
    }
    return 0;
}

SEC("tp/syscalls/sys_enter_ptrace")
int procwatch_ptrace_enter(struct syscall_enter *ctx) {
    long request = (long)ctx->args[0];
    if (request != PTRACE_ATTACH && request != PTRACE_SEIZE && request != PTRACE_DETACH) return 0;
    struct procwatch_bpf_config *cfg = config();
    if (!cfg || !(cfg->kinds & PROC_EVENT_PTRACE)) return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct ptrace_call call = {.request = (__s32)request, .tid = (__s32)ctx->args[1]};
    // A detach unlinks the tracee: its process is looked up now.
    if (request == PTRACE_DETACH) call.tgid = tracee_tgid(task, call.tid, &call.uid);
    __s32 tid = task->pid;
    bpf_map_update_elem(&procwatch_ptrace_calls, &tid, &call, BPF_ANY);
    return 0;
}

SEC("tp/syscalls/sys_exit_ptrace")
int procwatch_ptrace_exit(struct syscall_exit *ctx) {
    struct task_struct *tracer = bpf_get_current_task_btf();
    __s32 tid = tracer->pid;
    struct ptrace_call *found = bpf_map_lookup_elem(&procwatch_ptrace_calls, &tid);
    if (!found) return 0;
    struct ptrace_call call = *found;
    bpf_map_delete_elem(&procwatch_ptrace_calls, &tid);
    if (ctx->ret != 0) return 0;
    struct procwatch_bpf_event event = {};
    event.tid = call.tid;
    __u32 uid = call.uid;
    if (call.request == PTRACE_DETACH) {
        event.tgid = call.tgid;
    } else {
        event.tgid = tracee_tgid(tracer, call.tid, &uid);
        event.other_tid = tid;  // the tracer; zeros on detach
        event.other_tgid = tracer->tgid;
    }
    struct procwatch_bpf_config *cfg = config();
    if (!cfg || !(cfg->kinds & PROC_EVENT_PTRACE)) return 0;
    if (cfg->tracks_tgids && !is_tracked(event.tgid)) return 0;
    if (cfg->filters_uid && uid != cfg->uid) return 0;
    send(cfg, &event, PROC_EVENT_PTRACE);
    return 0;
}

// --- failed execs ---

// At the return of execve/execveat with an error: the caller's memory is intact (an exec
// that fails after the point of no return kills the process instead of returning), and its
// saved user registers still hold the arguments it passed.
static __always_inline int exec_failed(struct syscall_exit *ctx, int at) {
    long result = ctx->ret;
    if (result >= 0) return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    struct procwatch_bpf_config *cfg = config();
    if (!cfg || !wanted(cfg, PROCWATCH_BPF_EXEC_FAILED, task->tgid, task)) return 0;
    struct pt_regs *user = (struct pt_regs *)bpf_task_pt_regs(task);
    const char *filename = (const char *)(at ? user->si : user->di);
    const char *const *args = (const char *const *)(at ? user->dx : user->si);

    __u8 *buffer = scratch_slot();
    if (!buffer) return 0;
    struct procwatch_bpf_event *event = (void *)buffer;
    struct procwatch_bpf_exec_failure *failure = (void *)(buffer + sizeof(*event));
    __builtin_memset(event, 0, sizeof(*event));
    event->tid = task->pid;
    event->tgid = task->tgid;
    failure->error = (__s32)-result;
    failure->flags = 0;
    __u8 *path = buffer + sizeof(*event) + sizeof(*failure);
    __u32 path_size = copy_path(path, filename, 1);
    failure->path_size = path_size;

    __u8 *argv = path + (path_size & (PROCWATCH_BPF_PATH_MAX - 1));
    __u32 offset = 0;
    for (__u32 index = 0; index < PROCWATCH_BPF_FAILED_ARGS_MAX && args; index++) {
        const char *arg = 0;
        if (bpf_probe_read_user(&arg, sizeof(arg), &args[index]) != 0 || !arg) break;
        if (offset >= PROCWATCH_BPF_ARGV_MAX) {
            failure->flags |= PROCWATCH_BPF_FLAG_ARGV_CUT;
            break;
        }
        __u32 room = PROCWATCH_BPF_ARGV_MAX - offset;
        long n = bpf_probe_read_user_str(argv + (offset & (PROCWATCH_BPF_ARGV_MAX - 1)), room, arg);
        if (n <= 0) {
            failure->flags |= PROCWATCH_BPF_FLAG_ARGV_CUT;
            break;
        }
        offset += (__u32)n;
        // A string that filled the room was cut (its last byte is the NUL put there).
        if ((__u32)n == room) {
            failure->flags |= PROCWATCH_BPF_FLAG_ARGV_CUT;
            break;
        }
        if (index + 1 == PROCWATCH_BPF_FAILED_ARGS_MAX) {
            const char *more = 0;
            if (bpf_probe_read_user(&more, sizeof(more), &args[index + 1]) == 0 && more)
                failure->flags |= PROCWATCH_BPF_FLAG_ARGV_CUT;
        }
    }
    failure->argv_size = offset;

    __u64 size = sizeof(*event) + sizeof(*failure) + path_size + offset;
    BARRIER_VAR(size);
    if (size > SCRATCH_BYTES) return 0;
    stamp(event, PROCWATCH_BPF_EXEC_FAILED, size);
    emit(cfg, buffer, size);
    return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int procwatch_execve_exit(struct syscall_exit *ctx) { return exec_failed(ctx, 0); }

SEC("tp/syscalls/sys_exit_execveat")
int procwatch_execveat_exit(struct syscall_exit *ctx) { return exec_failed(ctx, 1); }

char LICENSE[] SEC("license") = "GPL";
