// naive-consumer: the reference floor for scripts/bench-storm.
//
// The least a cn_proc consumer can do: one blocking recv per event on the default
// (small) receive buffer, count events per kind, count ENOBUFS (one overflow each) and
// per-CPU sequence gaps. On SIGINT/SIGTERM it sends IGNORE (so the kernel's listener
// count goes back down) and prints
//     fork N exec N exit N other N enobufs N seqgap N
// Build: gcc -O2 -o naive-consumer naive-consumer.c
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int send_op(int fd, unsigned op) {
    unsigned char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof op)] __attribute__((aligned(8))) = {0};
    struct nlmsghdr *nl = (struct nlmsghdr *)buf;
    struct cn_msg *cn = NLMSG_DATA(nl);
    nl->nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof op);
    nl->nlmsg_type = NLMSG_DONE;
    cn->id.idx = CN_IDX_PROC;
    cn->id.val = CN_VAL_PROC;
    cn->len = sizeof op;
    memcpy(cn->data, &op, sizeof op);
    return send(fd, buf, nl->nlmsg_len, 0) < 0 ? -1 : 0;
}

int main(void) {
    struct sigaction sa = {.sa_handler = on_signal}; // no SA_RESTART: recv returns EINTR
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_CONNECTOR);
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC};
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("naive-consumer: socket"); return 2; }
    // Only so that a signal landing just before recv cannot leave us blocked forever.
    struct timeval tv = {.tv_usec = 500000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (send_op(fd, PROC_CN_MCAST_LISTEN) < 0) { perror("naive-consumer: LISTEN"); return 2; }

    unsigned long forks = 0, execs = 0, exits = 0, other = 0, enobufs = 0, seqgap = 0;
    static unsigned last_seq[4096];
    static unsigned char seen[4096];
    unsigned char buf[4096] __attribute__((aligned(8)));
    while (!stop) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == ENOBUFS) { enobufs++; continue; }
            if (errno == EINTR || errno == EAGAIN) continue;
            perror("naive-consumer: recv");
            break;
        }
        struct nlmsghdr *nl = (struct nlmsghdr *)buf;
        if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct cn_msg) + 8)) continue;
        struct cn_msg *cn = NLMSG_DATA(nl);
        unsigned what, cpu; // the proc_event is not 8-aligned: copy, don't cast
        memcpy(&what, cn->data + offsetof(struct proc_event, what), sizeof what);
        memcpy(&cpu, cn->data + offsetof(struct proc_event, cpu), sizeof cpu);
        switch (what) {
        case PROC_EVENT_FORK: forks++; break;
        case PROC_EVENT_EXEC: execs++; break;
        case PROC_EVENT_EXIT: exits++; break;
        default: other++; break;
        }
        if (what != PROC_EVENT_NONE && cpu < 4096) {
            if (seen[cpu] && cn->seq != last_seq[cpu] + 1) seqgap += cn->seq - last_seq[cpu] - 1;
            seen[cpu] = 1;
            last_seq[cpu] = cn->seq;
        }
    }
    send_op(fd, PROC_CN_MCAST_IGNORE);
    printf("fork %lu exec %lu exit %lu other %lu enobufs %lu seqgap %lu\n", forks, execs, exits, other, enobufs, seqgap);
    return 0;
}
