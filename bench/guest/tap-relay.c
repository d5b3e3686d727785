/*
 * The bench's NIC-like LAN link (bench/dataplane/lan-link.ts): two tap devices, one the LAN
 * host's interface and one the CE's LAN port, joined by this relay, which copies each frame read
 * from one to the other, as QEMU's tap backend does between a guest's virtio NIC and the host.
 *
 *   tap-relay NETNS_A IFACE_A NETNS_B IFACE_B
 *     attaches to the existing taps IFACE_A in the network namespace file NETNS_A and IFACE_B in
 *     NETNS_B (e.g. /run/netns/lan eth0 /run/netns/ce lan0; created with `ip tuntap add … mode
 *     tap vnet_hdr`), prints "ready" and relays until killed.
 *
 * Why: a veth hands the sender's own skb to its peer, with only the headroom the sender reserved
 * for the veth's link header, so every packet the CE tunnels has its head reallocated. A tap
 * builds a new skb for each frame written to it with NET_SKB_PAD of headroom, as a NIC driver's
 * receive path does (virtio_net, igb, mtk_eth_soc). Both taps carry a virtio-net header and have
 * checksum and TSO offloads on, so the frames keep what they carried through the veth (GSO
 * super-packets, checksums left to the device): only how the CE's skbs are built changes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int attach(const char *netns, const char *name)
{
    int ns = open(netns, O_RDONLY);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
        perror(netns);
        return -1;
    }
    close(ns);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) != 0) {
        perror(name);
        return -1;
    }
    if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) != 0) {
        perror("TUNSETOFFLOAD");
        return -1;
    }
    return fd;
}

/* Copies every frame waiting on FROM to TO; a frame the far tap refuses is dropped, as a wire would. */
static int drain(int from, int to)
{
    static char frame[65536 + 64];
    for (;;) {
        ssize_t n = read(from, frame, sizeof frame);
        if (n < 0) return 0;
        if (n > 0 && write(to, frame, (size_t)n) < 0) continue;
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: tap-relay NETNS_A IFACE_A NETNS_B IFACE_B\n");
        return 2;
    }
    int a = attach(argv[1], argv[2]);
    int b = a < 0 ? -1 : attach(argv[3], argv[4]);
    if (b < 0) return 1;
    printf("ready\n");
    fflush(stdout);
    struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) continue;
        if (p[0].revents & POLLIN) drain(a, b);
        if (p[1].revents & POLLIN) drain(b, a);
    }
}
