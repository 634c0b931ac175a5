/* ifconf.c -- the interface requests of ioctl on a socket, for the
 * loopback interface every machine has: SIOCGIFCONF (its length, then the
 * list with lo and 127.0.0.1), SIOCGIFFLAGS, SIOCGIFINDEX and SIOCGIFNAME
 * (and if_nametoindex), SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFMTU,
 * SIOCGIFHWADDR, and ENODEV for a missing interface. Prints "ok ..."
 * lines and "all ok". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include "check.h"

static struct ifreq req(const char *name)
{
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strncpy(r.ifr_name, name, IFNAMSIZ - 1);
    return r;
}

static const char *ipv4(struct sockaddr *sa)
{
    return inet_ntoa(((struct sockaddr_in *)sa)->sin_addr);
}

int main(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifconf conf = {.ifc_len = 0, .ifc_buf = NULL};
    check(ioctl(s, SIOCGIFCONF, &conf) == 0 && conf.ifc_len > 0 && conf.ifc_len % sizeof(struct ifreq) == 0,
          "SIOCGIFCONF without a buffer: the length needed");
    struct ifreq list[64];
    conf.ifc_len = sizeof list;
    conf.ifc_req = list;
    int lo = 0;
    if (ioctl(s, SIOCGIFCONF, &conf) == 0)
        for (size_t i = 0; i < conf.ifc_len / sizeof *list; i++)
            lo |= !strcmp(list[i].ifr_name, "lo") && !strcmp(ipv4(&list[i].ifr_addr), "127.0.0.1");
    check(lo, "SIOCGIFCONF lists lo with 127.0.0.1");
    struct ifreq r = req("lo");
    check(ioctl(s, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_UP) && (r.ifr_flags & IFF_LOOPBACK),
          "SIOCGIFFLAGS: lo is up, a loopback");
    r = req("lo");
    check(ioctl(s, SIOCGIFINDEX, &r) == 0 && r.ifr_ifindex > 0 && (unsigned)r.ifr_ifindex == if_nametoindex("lo"),
          "SIOCGIFINDEX and if_nametoindex agree");
    int index = r.ifr_ifindex;
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = index;
    check(ioctl(s, SIOCGIFNAME, &r) == 0 && !strcmp(r.ifr_name, "lo"), "SIOCGIFNAME: lo");
    r = req("lo");
    check(ioctl(s, SIOCGIFADDR, &r) == 0 && !strcmp(ipv4(&r.ifr_addr), "127.0.0.1"), "SIOCGIFADDR: 127.0.0.1");
    r = req("lo");
    check(ioctl(s, SIOCGIFNETMASK, &r) == 0 && !strcmp(ipv4(&r.ifr_netmask), "255.0.0.0"), "SIOCGIFNETMASK: 255.0.0.0");
    r = req("lo");
    check(ioctl(s, SIOCGIFMTU, &r) == 0 && r.ifr_mtu > 0, "SIOCGIFMTU");
    r = req("lo");
    check(ioctl(s, SIOCGIFHWADDR, &r) == 0 && r.ifr_hwaddr.sa_family == ARPHRD_LOOPBACK, "SIOCGIFHWADDR: a loopback");
    r = req("nosuch0");
    CHECK_ERR(ioctl(s, SIOCGIFFLAGS, &r), ENODEV, "SIOCGIFFLAGS of a missing interface");
    close(s);
    return check_done();
}
