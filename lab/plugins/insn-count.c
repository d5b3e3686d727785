/*
 * Counts the guest instructions each vCPU executes, for a dataplane cost that does not depend on
 * host load. Loaded with `-plugin file=insn-count.so,sock=PATH`. Every connection to the unix
 * socket PATH sends one command line and gets one answer, then is closed:
 *
 *   counts   one line: the instructions of vCPU 0, 1, ... since boot, separated by spaces
 *   window   one line: opens closes, then each vCPU's instructions while a window was open
 *   profile  vCPU 0's translation blocks, one line each: start address (hex), instructions in the
 *            block, executions since boot, executions while a window was open; user-space blocks
 *            (any process) are summed on one line with address 0
 *
 * A window is the stretch between a guest program's two marker instructions (x86 NOPs with a
 * displacement no compiler emits: `nopl 0x4d415045(%rax)` opens, `...46(%rax)` closes), so a
 * bench counts exactly while its sender runs, not the agent's latency before and after.
 *
 * Debian's QEMU ships no qemu-plugin.h, so the few API declarations used are written out here;
 * they match QEMU 7.2's plugin API (version 1).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
extern void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                                 enum qemu_plugin_cb_flags flags, void *userdata);
extern void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                                   enum qemu_plugin_cb_flags flags, void *userdata);
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
extern const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
extern size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

EXPORT int qemu_plugin_version = 1;

#define MAX_VCPUS 64
/* x86-64 kernel addresses start here; everything below is some process's user space */
#define KERNEL_START 0xffff800000000000ULL
/* slots of the block table (open addressing); a kernel's hot paths use a few ten thousand */
#define TABLE_BITS 20
#define TABLE_SIZE (1u << TABLE_BITS)

static const unsigned char MARK_OPEN[7] = {0x0f, 0x1f, 0x80, 0x45, 0x50, 0x41, 0x4d};
static const unsigned char MARK_CLOSE[7] = {0x0f, 0x1f, 0x80, 0x46, 0x50, 0x41, 0x4d};

/*
 * One counter per vCPU, each on its own cache line: with -accel tcg,thread=multi every vCPU is a
 * host thread, and only that thread writes its counters, so no lock and no false sharing. The
 * reader thread loads them atomically (a torn read of a 64-bit counter would be garbage).
 */
static struct {
    uint64_t n;
    uint64_t in_window;
    char pad[48];
} counts[MAX_VCPUS];
static unsigned int highest_vcpu;
static int window_open;
static uint64_t window_opens, window_closes;

/* A translated block: vCPU 0's executions of it (only vCPU 0's thread writes them). */
struct block {
    uint64_t vaddr;
    uint64_t n_insns;
    uint64_t hits;
    uint64_t window_hits;
};
static struct block *table[TABLE_SIZE];
/*
 * User-space blocks (any process), and kernel blocks once the table is full, are summed instead,
 * one record per block length (QEMU's blocks have at most 512 instructions).
 */
#define MAX_TB_INSNS 512
enum { USER, OVERFLOW };
static struct block summed[2][MAX_TB_INSNS + 1];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static int listen_fd = -1;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void add(uint64_t *counter, uint64_t n)
{
    __atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static void on_tb_exec(unsigned int vcpu, void *userdata)
{
    if (vcpu >= MAX_VCPUS) return;
    struct block *b = userdata;
    int open = __atomic_load_n(&window_open, __ATOMIC_RELAXED);
    add(&counts[vcpu].n, b->n_insns);
    if (open) add(&counts[vcpu].in_window, b->n_insns);
    if (vcpu == 0) {
        add(&b->hits, 1);
        if (open) add(&b->window_hits, 1);
    }
    if (vcpu > __atomic_load_n(&highest_vcpu, __ATOMIC_RELAXED))
        __atomic_store_n(&highest_vcpu, vcpu, __ATOMIC_RELAXED);
}

static void on_mark(unsigned int vcpu, void *userdata)
{
    (void)vcpu;
    int open = userdata == MARK_OPEN;
    if (__atomic_exchange_n(&window_open, open, __ATOMIC_RELAXED) != open)
        __atomic_fetch_add(open ? &window_opens : &window_closes, 1, __ATOMIC_RELAXED);
}

/* The block record for (vaddr, n): the same address can be translated with different lengths. */
static struct block *block_for(uint64_t vaddr, uint64_t n)
{
    if (n > MAX_TB_INSNS) n = MAX_TB_INSNS;
    if (vaddr < KERNEL_START) return &summed[USER][n];
    uint64_t h = (vaddr ^ (n << 48)) * 0x9e3779b97f4a7c15ULL;
    struct block *found = &summed[OVERFLOW][n];
    pthread_mutex_lock(&table_lock);
    for (uint32_t i = 0, slot = (uint32_t)(h >> (64 - TABLE_BITS)); i < TABLE_SIZE / 2;
         i++, slot = (slot + 1) & (TABLE_SIZE - 1)) {
        struct block *b = table[slot];
        if (b == NULL) {
            b = calloc(1, sizeof *b);
            if (b != NULL) {
                b->vaddr = vaddr;
                b->n_insns = n;
                __atomic_store_n(&table[slot], b, __ATOMIC_RELEASE);
                found = b;
            }
            break;
        }
        if (b->vaddr == vaddr && b->n_insns == n) {
            found = b;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return found;
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block *b = block_for(qemu_plugin_tb_vaddr(tb), n);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (qemu_plugin_insn_size(insn) != sizeof MARK_OPEN) continue;
        const void *data = qemu_plugin_insn_data(insn);
        if (memcmp(data, MARK_OPEN, sizeof MARK_OPEN) == 0)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, (void *)MARK_OPEN);
        else if (memcmp(data, MARK_CLOSE, sizeof MARK_CLOSE) == 0)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, (void *)MARK_CLOSE);
    }
}

static void write_counts(FILE *out, int in_window)
{
    unsigned int last = __atomic_load_n(&highest_vcpu, __ATOMIC_RELAXED);
    if (in_window)
        fprintf(out, "%llu %llu ", (unsigned long long)__atomic_load_n(&window_opens, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&window_closes, __ATOMIC_RELAXED));
    for (unsigned int i = 0; i <= last; i++) {
        uint64_t n = __atomic_load_n(in_window ? &counts[i].in_window : &counts[i].n, __ATOMIC_RELAXED);
        fprintf(out, i == 0 ? "%llu" : " %llu", (unsigned long long)n);
    }
    fputc('\n', out);
}

/* Address 0: user space; address 1: kernel blocks the full table could not hold. */
static void write_profile(FILE *out)
{
    for (int kind = USER; kind <= OVERFLOW; kind++) {
        uint64_t insns = 0, window_insns = 0;
        for (uint64_t n = 0; n <= MAX_TB_INSNS; n++) {
            insns += n * __atomic_load_n(&summed[kind][n].hits, __ATOMIC_RELAXED);
            window_insns += n * __atomic_load_n(&summed[kind][n].window_hits, __ATOMIC_RELAXED);
        }
        fprintf(out, "%d 1 %llu %llu\n", kind, (unsigned long long)insns, (unsigned long long)window_insns);
    }
    for (uint32_t slot = 0; slot < TABLE_SIZE; slot++) {
        struct block *b = __atomic_load_n(&table[slot], __ATOMIC_ACQUIRE);
        if (b == NULL) continue;
        uint64_t hits = __atomic_load_n(&b->hits, __ATOMIC_RELAXED);
        if (hits == 0) continue;
        fprintf(out, "%llx %llu %llu %llu\n", (unsigned long long)b->vaddr, (unsigned long long)b->n_insns,
                (unsigned long long)hits, (unsigned long long)__atomic_load_n(&b->window_hits, __ATOMIC_RELAXED));
    }
}

static void *serve(void *unused)
{
    (void)unused;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0) continue;
        /* a client that never sends its command does not hold the socket up */
        struct timeval timeout = {.tv_sec = 2};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        char command[32];
        size_t len = 0;
        while (len < sizeof command - 1) {
            ssize_t r = read(fd, command + len, 1);
            if (r <= 0 || command[len] == '\n') break;
            len++;
        }
        command[len] = '\0';
        FILE *out = fdopen(fd, "w");
        if (out == NULL) {
            close(fd);
            continue;
        }
        if (strcmp(command, "counts") == 0)
            write_counts(out, 0);
        else if (strcmp(command, "window") == 0)
            write_counts(out, 1);
        else if (strcmp(command, "profile") == 0)
            write_profile(out);
        else
            fprintf(out, "error: unknown command \"%s\" (counts, window, profile)\n", command);
        fclose(out);
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
    for (int kind = USER; kind <= OVERFLOW; kind++)
        for (uint64_t n = 0; n <= MAX_TB_INSNS; n++) summed[kind][n].n_insns = n;
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
