/*
 * A fixed number of small UDP datagrams at a fixed rate, for the dataplane's per-packet cost.
 * iperf3's UDP test is no use for it: it paces by polling the clock (its own instructions then
 * follow wall time), and through the lab it put no datagrams on the line at all.
 *
 *   udp-flood send ADDR PORT COUNT PAYLOAD BURST GAP_US
 *     one hello datagram, answered by the receiver (so the flow is established in conntrack, as
 *     any UDP flow with replies is), then COUNT datagrams of PAYLOAD bytes, BURST per sendmmsg
 *     and a GAP_US sleep after each burst. The number of sleeps is fixed, not the deadline, so
 *     the sender's own work does not depend on how fast the host is. Prints {"sent":N}.
 *   udp-flood recv ADDR PORT EXPECT IDLE_MS
 *     answers hellos, counts the rest; exits after EXPECT datagrams or IDLE_MS without one (after
 *     the first), printing {"received":N}. Bound to ADDR: a socket bound to any address answers
 *     from the address of the way out (in the lab inet's link address, not 8.8.8.8), which no
 *     NAT on the way matches to the flow; that is also why iperf3's UDP test (its server binds to
 *     any address) got nothing back through the lab.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_BURST 64
#define HELLO 'H'
#define DATA 'D'

static int fail(const char *what)
{
    perror(what);
    return 1;
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
    fprintf(stderr, "udp-flood: no answer to the hello in 20 s\n");
    return 1;
}

static int do_send(const char *addr, int port, long count, int payload, int burst, long gap_us)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &to.sin_addr) != 1) return fail("address");
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof to) != 0) return fail("socket");
    if (handshake(fd, payload) != 0) return 1;
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
    long sent = 0;
    while (sent < count) {
        int n = (int)(count - sent < burst ? count - sent : burst);
        int done = sendmmsg(fd, msgs, (unsigned int)n, 0);
        if (done < 0) return fail("sendmmsg");
        sent += done;
        nanosleep(&gap, NULL);
    }
    printf("{\"sent\":%ld}\n", sent);
    return 0;
}

static int do_recv(const char *addr, int port, long expect, int idle_ms)
{
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
        else
            received++;
    }
    printf("{\"received\":%ld}\n", received);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && strcmp(argv[1], "send") == 0) {
        int payload = atoi(argv[5]), burst = atoi(argv[6]);
        if (payload < 1 || payload > 2048 || burst < 1 || burst > MAX_BURST) {
            fprintf(stderr, "udp-flood: PAYLOAD 1-2048, BURST 1-%d\n", MAX_BURST);
            return 2;
        }
        return do_send(argv[2], atoi(argv[3]), atol(argv[4]), payload, burst, atol(argv[7]));
    }
    if (argc == 6 && strcmp(argv[1], "recv") == 0)
        return do_recv(argv[2], atoi(argv[3]), atol(argv[4]), atoi(argv[5]));
    fprintf(stderr, "usage: udp-flood send ADDR PORT COUNT PAYLOAD BURST GAP_US | recv ADDR PORT EXPECT IDLE_MS\n");
    return 2;
}
