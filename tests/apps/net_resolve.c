/* net_resolve.c -- getaddrinfo("localhost") for IPv4 must give 127.0.0.1
 * (from /etc/hosts). Only meaningful with musl inside the LibOS: static
 * glibc needs NSS modules it cannot load there. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(void)
{
#ifdef __GLIBC__
    printf("skip: static glibc\n");
    return 0;
#else
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo("localhost", "80", &hints, &res);
    if (r != 0) {
        printf("getaddrinfo: %d\n", r);
        return 1;
    }
    char ip[INET_ADDRSTRLEN];
    struct sockaddr_in *a = (struct sockaddr_in *)res->ai_addr;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    printf("localhost is %s port %d\n", ip, ntohs(a->sin_port));
    freeaddrinfo(res);
    return 0;
#endif
}
