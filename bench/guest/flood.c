/*
 * The bench's own traffic for the dataplane's cost: a fixed number of small UDP datagrams at a
 * fixed rate (cost per packet), and a fixed number of bytes over TCP (cost per byte). iperf3's UDP
 * test is no use for it: it paces by polling the clock (its own instructions then follow wall
 * time), and through the lab it put no datagrams on the line at all.
 *
 *   flood send ADDR PORT COUNT PAYLOAD BURST GAP_US [PROGRESS AHEAD [DRAIN]]
 *     one hello datagram, answered by the receiver (so the flow is established in conntrack, as
 *     any UDP flow with replies is), then COUNT datagrams of PAYLOAD bytes, BURST per sendmmsg
 *     and a GAP_US sleep after each burst. The number of sleeps is fixed, not the deadline, so
 *     the sender's own work does not depend on how fast the host is. With PROGRESS (a file the
 *     receiver keeps its count in, see recv) the sender also stays at most AHEAD datagrams ahead
 *     of the receiver, sleeping GAP_US more until it catches up: otherwise a receiver the host
 *     holds off its CPU lets the queues between them fill, and the sender's side pays for the
 *     drops and the memory the queued packets hold. A receiver that made no progress for 50 extra
 *     sleeps is taken to have lost what it still lacks. Those sleeps are outside the window: the
 *     sender closes it while it waits and opens it again after. With DRAIN ("drain", for a LAN
 *     link that hands packets to the CE asynchronously, bench/dataplane/lan-link.ts) the window
 *     stays open while it waits, and at the end the sender waits inside it until the receiver has
 *     every datagram: the CE's work on the packets in flight falls into those waits, and closing
 *     the window there left it uncounted by a share that followed the host's timing. Prints
 *     {"sent":N,"seconds":S,"waits":W,"windows":O}: O windows opened (and closed), W extra sleeps.
 *   flood recv ADDR PORT EXPECT IDLE_MS [PROGRESS]
 *     answers hellos, counts the rest; exits after EXPECT datagrams or IDLE_MS without one (after
 *     the first), printing {"received":N}; with PROGRESS it also keeps the count in that file (8
 *     bytes, shared memory), for the sender. Bound to ADDR: a socket bound to any address answers
 *     from the address of the way out (in the lab inet's link address, not 8.8.8.8), which no
 *     NAT on the way matches to the flow; that is also why iperf3's UDP test (its server binds to
 *     any address) got nothing back through the lab.
 *   flood tcp-send ADDR PORT BYTES CHUNK RATE
 *     connects, writes BYTES in writes of CHUNK bytes, shuts its side down and waits for the
 *     receiver to close (so every byte was acknowledged). Prints {"sent":N,"seconds":S}. RATE
 *     (bytes a second) caps the socket's pacing rate: TCP then sends paced packets of a size that
 *     follows the rate, not when ACKs happen to come back, so how many packets carry the bytes
 *     (and what they cost) does not follow the host's speed, as long as the path keeps up.
 *   flood tcp-recv ADDR PORT
 *     accepts one connection, reads it to its end, closes. Prints {"received":N}.
 *
 * The senders mark their steady part (after the handshake, up to the last byte acknowledged) with
 * the window markers of the lab's instruction-count plugin (lab/plugins/insn-count.c): two NOPs
 * it recognises, so it counts exactly while they send, not the program's start, its exit or the
 * agent's latency around it. S is the window's length by the guest's clock.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BURST 64

/* nopl 0x4d415045(%rax) and nopl 0x4d415046(%rax): no effect on the CPU, a window for the plugin */
#if defined(__x86_64__)
#define WINDOW_OPEN() __asm__ volatile(".byte 0x0f,0x1f,0x80,0x45,0x50,0x41,0x4d" ::: "memory")
#define WINDOW_CLOSE() __asm__ volatile(".byte 0x0f,0x1f,0x80,0x46,0x50,0x41,0x4d" ::: "memory")
#else
#define WINDOW_OPEN()
#define WINDOW_CLOSE()
#endif
#define HELLO 'H'
#define DATA 'D'

static int fail(const char *what)
{
    perror(what);
    return 1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The receiver's count, shared through PROGRESS (NULL: none); the receiver creates it afresh. */
static volatile int64_t *progress_map(const char *path, int create)
{
    if (path == NULL) return NULL;
    int fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0600);
    if (fd < 0 || (create && ftruncate(fd, sizeof(int64_t)) != 0)) {
        perror(path);
        exit(1);
    }
    void *p = mmap(NULL, sizeof(int64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

static int handshake(int fd, int payload)
{
    char buf[2048];
    memset(buf, HELLO, (size_t)payload);
    for (int attempt = 0; attempt < 20; attempt++) {
        if (send(fd, buf, (size_t)payload, 0) < 0) return fail("send hello");
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1000) == 1 && recv(fd, buf, sizeof buf, 0) > 0 && buf[0] == HELLO) return 0;
    }
    fprintf(stderr, "flood: no answer to the hello in 20 s\n");
    return 1;
}

/*
 * Sleeps GAP more while the sender is more than AHEAD datagrams ahead of the receiver's count,
 * outside the window (waiting for the far side is not the path's work: the burst's packets were
 * handled on this CPU before sendmmsg returned, and the regular sleep after it is inside); LOST
 * grows by what the receiver still lacks when it made no progress for 50 sleeps. Returns the
 * sleeps; *WINDOWS counts the windows opened.
 */
static int keep_open; /* DRAIN: the window stays open while the sender waits */

static long wait_for_receiver(volatile int64_t *received, long sent, long ahead, long *lost,
                              const struct timespec *gap, long *windows)
{
    long waits = 0, still = 0;
    int64_t last = -1;
    for (int64_t got; (got = __atomic_load_n(received, __ATOMIC_ACQUIRE)) + *lost + ahead < sent;) {
        if (got != last) still = 0;
        last = got;
        if (++still > 50) {
            *lost = sent - got;
            break;
        }
        if (waits++ == 0 && !keep_open) WINDOW_CLOSE();
        nanosleep(gap, NULL);
    }
    if (waits > 0 && !keep_open) {
        WINDOW_OPEN();
        (*windows)++;
    }
    return waits;
}

static int do_send(const char *addr, int port, long count, int payload, int burst, long gap_us,
                   const char *progress, long ahead)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &to.sin_addr) != 1) return fail("address");
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) return fail("socket");
    if (handshake(fd, payload) != 0) return 1;
    volatile int64_t *received = progress_map(progress, 0);
    static char data[2048];
    memset(data, DATA, (size_t)payload);
    struct iovec iov[MAX_BURST];
    struct mmsghdr msgs[MAX_BURST];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < burst; i++) {
        iov[i] = (struct iovec){.iov_base = data, .iov_len = (size_t)payload};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    struct timespec gap = {.tv_sec = gap_us / 1000000, .tv_nsec = (gap_us % 1000000) * 1000};
    long sent = 0, waits = 0, lost = 0, windows = 1;
    double started = now();
    WINDOW_OPEN();
    while (sent < count) {
        int n = (int)(count - sent < burst ? count - sent : burst);
        int done = sendmmsg(fd, msgs, (unsigned int)n, 0);
        if (done < 0) return fail("sendmmsg");
        sent += done;
        nanosleep(&gap, NULL);
        if (received != NULL && sent < count)
            waits += wait_for_receiver(received, sent, ahead, &lost, &gap, &windows);
    }
    if (received != NULL && keep_open) waits += wait_for_receiver(received, sent, 0, &lost, &gap, &windows);
    WINDOW_CLOSE();
    printf("{\"sent\":%ld,\"seconds\":%.3f,\"waits\":%ld,\"windows\":%ld}\n", sent, now() - started, waits,
           windows);
    return 0;
}

static int do_tcp_send(const char *addr, int port, long bytes, long chunk, unsigned int rate)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &to.sin_addr) != 1) return fail("address");
    /* the receiver is started at the same time: give it 10 s to listen */
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return fail("socket");
        if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0) break;
        if (errno != ECONNREFUSED) return fail("connect");
        close(fd);
        fd = -1;
        usleep(100000);
    }
    if (fd < 0) return fail("connect");
    if (setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate) != 0) return fail("pacing rate");
    static char data[1 << 20];
    memset(data, DATA, sizeof data);
    long sent = 0;
    double started = now();
    WINDOW_OPEN();
    while (sent < bytes) {
        size_t n = (size_t)(bytes - sent < chunk ? bytes - sent : chunk);
        ssize_t w = write(fd, data, n);
        if (w < 0) return fail("write");
        sent += w;
    }
    shutdown(fd, SHUT_WR);
    while (read(fd, data, sizeof data) > 0) continue;
    WINDOW_CLOSE();
    printf("{\"sent\":%ld,\"seconds\":%.3f}\n", sent, now() - started);
    return 0;
}

static int do_tcp_recv(const char *addr, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &at.sin_addr) != 1) return fail("address");
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&at, sizeof at) != 0 || listen(fd, 1) != 0)
        return fail("listen");
    int conn = accept(fd, NULL, NULL);
    if (conn < 0) return fail("accept");
    static char buf[1 << 16];
    long received = 0;
    for (ssize_t n; (n = read(conn, buf, sizeof buf)) > 0;) received += n;
    close(conn);
    printf("{\"received\":%ld}\n", received);
    return 0;
}

static int do_recv(const char *addr, int port, long expect, int idle_ms, const char *progress)
{
    volatile int64_t *shared = progress_map(progress, 1);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &at.sin_addr) != 1) return fail("address");
    if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof at) != 0) return fail("bind");
    long received = 0;
    int started = 0;
    char buf[2048];
    while (received < expect) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, started ? idle_ms : 120000) != 1) break;
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (n <= 0) continue;
        started = 1;
        if (buf[0] == HELLO)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
        else {
            received++;
            if (shared != NULL) __atomic_store_n(shared, (int64_t)received, __ATOMIC_RELEASE);
        }
    }
    printf("{\"received\":%ld}\n", received);
    return 0;
}

int main(int argc, char **argv)
{
    if ((argc == 8 || argc == 10 || argc == 11) && strcmp(argv[1], "send") == 0) {
        if (argc == 11 && strcmp(argv[10], "drain") != 0) {
            fprintf(stderr, "flood: the last argument of send is drain or nothing\n");
            return 2;
        }
        keep_open = argc == 11;
        int payload = atoi(argv[5]), burst = atoi(argv[6]);
        if (payload < 1 || payload > 2048 || burst < 1 || burst > MAX_BURST) {
            fprintf(stderr, "flood: PAYLOAD 1-2048, BURST 1-%d\n", MAX_BURST);
            return 2;
        }
        const char *progress = argc >= 10 ? argv[8] : NULL;
        return do_send(argv[2], atoi(argv[3]), atol(argv[4]), payload, burst, atol(argv[7]), progress,
                       argc >= 10 ? atol(argv[9]) : 0);
    }
    if (argc == 7 && strcmp(argv[1], "tcp-send") == 0) {
        long chunk = atol(argv[5]), rate = atol(argv[6]);
        if (chunk < 1 || chunk > 1 << 20 || rate < 1 || rate > 0x7fffffff) {
            fprintf(stderr, "flood: CHUNK 1-%d, RATE 1-%d\n", 1 << 20, 0x7fffffff);
            return 2;
        }
        return do_tcp_send(argv[2], atoi(argv[3]), atol(argv[4]), chunk, (unsigned int)rate);
    }
    if (argc == 4 && strcmp(argv[1], "tcp-recv") == 0) return do_tcp_recv(argv[2], atoi(argv[3]));
    if ((argc == 6 || argc == 7) && strcmp(argv[1], "recv") == 0)
        return do_recv(argv[2], atoi(argv[3]), atol(argv[4]), atoi(argv[5]), argc == 7 ? argv[6] : NULL);
    fprintf(stderr, "usage: flood send ADDR PORT COUNT PAYLOAD BURST GAP_US [PROGRESS AHEAD [drain]]"
                    " | recv ADDR PORT EXPECT IDLE_MS [PROGRESS]"
                    " | tcp-send ADDR PORT BYTES CHUNK RATE | tcp-recv ADDR PORT\n");
    return 2;
}
