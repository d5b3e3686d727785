/*
 * Counts the guest instructions each vCPU executes, for a dataplane cost that does not depend on
 * host load. Loaded with `-plugin file=insn-count.so,sock=PATH`: every connection to the unix
 * socket PATH gets one line, the counts of vCPU 0, 1, ... separated by spaces, and is closed.
 *
 * Debian's QEMU ships no qemu-plugin.h, so the few API declarations used are written out here;
 * they match QEMU 7.2's plugin API (version 1).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                                 enum qemu_plugin_cb_flags flags, void *userdata);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

EXPORT int qemu_plugin_version = 1;

#define MAX_VCPUS 64

/*
 * One counter per vCPU, each on its own cache line: with -accel tcg,thread=multi every vCPU is a
 * host thread, and only that thread writes its counter, so no lock and no false sharing. The
 * reader thread loads them atomically (a torn read of a 64-bit counter would be garbage).
 */
static struct {
    uint64_t n;
    char pad[56];
} counts[MAX_VCPUS];
static unsigned int highest_vcpu;
static int listen_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void on_tb_exec(unsigned int vcpu, void *userdata)
{
    if (vcpu >= MAX_VCPUS) return;
    uint64_t n = __atomic_load_n(&counts[vcpu].n, __ATOMIC_RELAXED);
    __atomic_store_n(&counts[vcpu].n, n + (uint64_t)(uintptr_t)userdata, __ATOMIC_RELAXED);
    if (vcpu > __atomic_load_n(&highest_vcpu, __ATOMIC_RELAXED))
        __atomic_store_n(&highest_vcpu, vcpu, __ATOMIC_RELAXED);
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)n);
}

static void *serve(void *unused)
{
    (void)unused;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) continue;
        char line[MAX_VCPUS * 21 + 2];
        size_t len = 0;
        unsigned int last = __atomic_load_n(&highest_vcpu, __ATOMIC_RELAXED);
        for (unsigned int i = 0; i <= last; i++) {
            uint64_t n = __atomic_load_n(&counts[i].n, __ATOMIC_RELAXED);
            len += (size_t)snprintf(line + len, sizeof line - len, i == 0 ? "%llu" : " %llu",
                                    (unsigned long long)n);
        }
        line[len++] = '\n';
        for (size_t done = 0; done < len;) {
            ssize_t w = write(fd, line + done, len - done);
            if (w <= 0) break;
            done += (size_t)w;
        }
        close(fd);
    }
    return NULL;
}

static void on_exit_cb(qemu_plugin_id_t id, void *userdata)
{
    (void)id;
    (void)userdata;
    if (sock_path[0] != '\0') unlink(sock_path);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "sock=", 5) == 0 && strlen(argv[i] + 5) < sizeof sock_path)
            strcpy(sock_path, argv[i] + 5);
    }
    if (sock_path[0] == '\0') {
        fprintf(stderr, "insn-count: give sock=PATH (a unix socket path shorter than %zu bytes)\n",
                sizeof sock_path);
        return -1;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, sock_path);
    unlink(sock_path);
    listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listen_fd, 4) != 0) {
        perror("insn-count: socket");
        return -1;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, serve, NULL) != 0) return -1;
    pthread_detach(thread);
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
