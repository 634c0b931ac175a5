/* sgx_attest.c -- SGX attestation inside the LibOS, through the original
 * Occlum's /dev/sgx ioctls and Gramine's /dev/attestation files.
 *
 *   sgx_attest report          reports and keys, and every bad input
 *   sgx_attest quote FILE HEX  a DCAP quote with report data HEX (64 bytes),
 *                              checked inside and written to FILE
 *
 * Prints "key mrenclave=..." and "key mrsigner=..." (the sealing keys) for
 * the test to compare across runs and builds. Natively there is no
 * /dev/sgx: the program says so and exits 2. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "check.h"

typedef struct { uint8_t b[512]; } target_info_t;
typedef struct { uint8_t b[432]; } report_t;
typedef struct { uint8_t b[512]; } key_request_t;

struct create_report_arg {
    const target_info_t *target;
    const uint8_t *report_data;
    report_t *report;
};
struct gen_quote_arg {
    const uint8_t *report_data;
    uint32_t *quote_len;
    uint8_t *quote;
};
struct ver_quote_arg {
    const uint8_t *quote;
    uint32_t quote_size;
    uint32_t *collateral_expiration_status;
    uint32_t *result;
    uint32_t supplemental_size;
    uint8_t *supplemental;
};
struct get_key_arg {
    const key_request_t *request;
    uint8_t *key;
};

#define SGXIOC_IS_EDMM_SUPPORTED _IOR('s', 0, int)
#define SGXIOC_GET_EPID_GROUP_ID _IOR('s', 1, uint32_t)
#define SGXIOC_SELF_TARGET _IOR('s', 3, target_info_t)
#define SGXIOC_CREATE_REPORT _IOWR('s', 4, struct create_report_arg)
#define SGXIOC_VERIFY_REPORT _IOW('s', 5, report_t)
#define SGXIOC_DETECT_DCAP_DRIVER _IOR('s', 6, int)
#define SGXIOC_GET_DCAP_QUOTE_SIZE _IOR('s', 7, uint32_t)
#define SGXIOC_GEN_DCAP_QUOTE _IOWR('s', 8, struct gen_quote_arg)
#define SGXIOC_GET_DCAP_SUPPLEMENTAL_SIZE _IOR('s', 9, uint32_t)
#define SGXIOC_VER_DCAP_QUOTE _IOWR('s', 10, struct ver_quote_arg)
#define SGXIOC_GET_KEY _IOWR('s', 11, struct get_key_arg)

#define BAD_PTR ((void *)8)

static void hex(const char *label, const uint8_t *b, size_t n)
{
    printf("%s=", label);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    putchar('\n');
}

static void seal_request(key_request_t *r, uint16_t policy, uint16_t svn, const uint8_t *cpu_svn)
{
    memset(r, 0, sizeof *r);
    r->b[0] = 4; /* SGX_KEYSELECT_SEAL */
    memcpy(r->b + 2, &policy, 2);
    memcpy(r->b + 4, &svn, 2);
    memcpy(r->b + 8, cpu_svn, 16);
    uint64_t flags = 0xff0000000000000bULL;
    memcpy(r->b + 24, &flags, 8);
    uint32_t misc = 0xf0000000u;
    memcpy(r->b + 72, &misc, 4);
}

static int read_file(const char *path, uint8_t *buf, size_t max)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, max);
    close(fd);
    return (int)n;
}

static int write_file(const char *path, const void *buf, size_t len)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, buf, len);
    close(fd);
    return (int)n;
}

static void reports_and_keys(int fd)
{
    int v = -1;
    check(ioctl(fd, SGXIOC_IS_EDMM_SUPPORTED, &v) == 0 && v == 1, "EDMM supported");
    v = -1;
    check(ioctl(fd, SGXIOC_DETECT_DCAP_DRIVER, &v) == 0 && v == 1, "a DCAP platform");
    uint32_t gid;
    CHECK_ERR(ioctl(fd, SGXIOC_GET_EPID_GROUP_ID, &gid), EINVAL, "no EPID on a DCAP platform");

    target_info_t self;
    check(ioctl(fd, SGXIOC_SELF_TARGET, &self) == 0, "SELF_TARGET");
    uint8_t data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (uint8_t)i;
    report_t report;
    struct create_report_arg cr = {&self, data, &report};
    check(ioctl(fd, SGXIOC_CREATE_REPORT, &cr) == 0, "CREATE_REPORT for itself");
    check(memcmp(report.b + 64, self.b, 32) == 0, "the report's MRENCLAVE is its target's");
    check(memcmp(report.b + 320, data, 64) == 0, "the report carries the report data");
    check(ioctl(fd, SGXIOC_VERIFY_REPORT, &report) == 0, "VERIFY_REPORT of its own report");
    int refused = 0;
    for (size_t at = 0; at < sizeof report.b; at += 37) {
        report_t bad = report;
        bad.b[at] ^= 0x10;
        errno = 0;
        if (ioctl(fd, SGXIOC_VERIFY_REPORT, &bad) == -1 && errno == EINVAL)
            refused++;
    }
    check_eq(refused, (sizeof report.b + 36) / 37, "every report with a flipped byte is refused");

    struct create_report_arg untargeted = {NULL, NULL, &report};
    check(ioctl(fd, SGXIOC_CREATE_REPORT, &untargeted) == 0, "CREATE_REPORT without target or data");
    CHECK_ERR(ioctl(fd, SGXIOC_VERIFY_REPORT, &report), EINVAL,
              "a report for another target does not verify here");
    struct create_report_arg no_out = {&self, data, NULL};
    CHECK_ERR(ioctl(fd, SGXIOC_CREATE_REPORT, &no_out), EINVAL, "CREATE_REPORT without output");
    struct create_report_arg bad_out = {&self, data, BAD_PTR};
    CHECK_ERR(ioctl(fd, SGXIOC_CREATE_REPORT, &bad_out), EFAULT, "CREATE_REPORT to a bad pointer");
    target_info_t garbage;
    memset(&garbage, 0xa5, sizeof garbage);
    struct create_report_arg bad_target = {&garbage, data, &report};
    CHECK_ERR(ioctl(fd, SGXIOC_CREATE_REPORT, &bad_target), EINVAL, "a garbage target info");
    CHECK_ERR(ioctl(fd, SGXIOC_CREATE_REPORT, BAD_PTR), EFAULT, "CREATE_REPORT's argument unreadable");
    CHECK_ERR(ioctl(fd, _IOR('s', 42, int), &v), EINVAL, "an unknown SGX ioctl");
    CHECK_ERR(ioctl(fd, TCGETS, &v), ENOTTY, "a terminal ioctl");
    char byte;
    CHECK_ERR(read(fd, &byte, 1), EPERM, "read of /dev/sgx");

    /* Sealing keys at the enclave's own SVNs (ISVSVN 0 by default). */
    const uint8_t *cpu_svn = report.b;
    key_request_t req;
    uint8_t by_enclave[16], by_signer[16], again[16];
    seal_request(&req, 1, 0, cpu_svn);
    struct get_key_arg gk = {&req, by_enclave};
    check(ioctl(fd, SGXIOC_GET_KEY, &gk) == 0, "GET_KEY seal, MRENCLAVE policy");
    seal_request(&req, 2, 0, cpu_svn);
    gk.key = by_signer;
    check(ioctl(fd, SGXIOC_GET_KEY, &gk) == 0, "GET_KEY seal, MRSIGNER policy");
    gk.key = again;
    check(ioctl(fd, SGXIOC_GET_KEY, &gk) == 0 && memcmp(again, by_signer, 16) == 0,
          "the same request gives the same key");
    check(memcmp(by_enclave, by_signer, 16) != 0, "the policies give different keys");
    uint8_t dev_key[32];
    check(read_file("/dev/attestation/keys/_sgx_mrsigner", dev_key, sizeof dev_key) == 16 &&
              memcmp(dev_key, by_signer, 16) == 0,
          "/dev/attestation/keys/_sgx_mrsigner is the MRSIGNER sealing key");
    check(read_file("/dev/attestation/keys/_sgx_mrenclave", dev_key, sizeof dev_key) == 16 &&
              memcmp(dev_key, by_enclave, 16) == 0,
          "/dev/attestation/keys/_sgx_mrenclave is the MRENCLAVE sealing key");
    seal_request(&req, 2, 1, cpu_svn);
    CHECK_ERR(ioctl(fd, SGXIOC_GET_KEY, &gk), EINVAL, "a key for a higher ISVSVN");
    uint8_t higher_cpu[16];
    memcpy(higher_cpu, cpu_svn, 16);
    higher_cpu[0]++;
    seal_request(&req, 2, 0, higher_cpu);
    CHECK_ERR(ioctl(fd, SGXIOC_GET_KEY, &gk), EINVAL, "a key for a higher CPUSVN");
    seal_request(&req, 2, 0, cpu_svn);
    req.b[0] = 1; /* PROVISION: needs the PROVISION_KEY attribute */
    CHECK_ERR(ioctl(fd, SGXIOC_GET_KEY, &gk), EINVAL, "a provisioning key");
    seal_request(&req, 2, 0, cpu_svn);
    req.b[300] = 1;
    CHECK_ERR(ioctl(fd, SGXIOC_GET_KEY, &gk), EINVAL, "reserved bytes set");
    seal_request(&req, 0x80, 0, cpu_svn);
    CHECK_ERR(ioctl(fd, SGXIOC_GET_KEY, &gk), EINVAL, "an unknown policy bit");
    struct get_key_arg no_key = {&req, NULL};
    CHECK_ERR(ioctl(fd, SGXIOC_GET_KEY, &no_key), EINVAL, "GET_KEY without output");
    struct get_key_arg bad_req = {BAD_PTR, by_signer};
    CHECK_ERR(ioctl(fd, SGXIOC_GET_KEY, &bad_req), EFAULT, "GET_KEY from a bad pointer");
    hex("key mrenclave", by_enclave, 16);
    hex("key mrsigner", by_signer, 16);

    /* Gramine's files: a report with our data, for ourselves. */
    uint8_t buf[1024];
    check(read_file("/dev/attestation/attestation_type", buf, sizeof buf) == 4 &&
              memcmp(buf, "dcap", 4) == 0,
          "attestation_type is dcap");
    check(write_file("/dev/attestation/user_report_data", "hello", 5) == 5,
          "write user_report_data");
    check(read_file("/dev/attestation/my_target_info", buf, sizeof buf) == 512 &&
              memcmp(buf, self.b, 512) == 0,
          "my_target_info is SELF_TARGET's");
    check(read_file("/dev/attestation/report", buf, sizeof buf) == 432, "read report");
    memcpy(report.b, buf, 432);
    uint8_t want[64] = "hello";
    check(memcmp(report.b + 320, want, 64) == 0, "the report carries user_report_data, zero-padded");
    check(ioctl(fd, SGXIOC_VERIFY_REPORT, &report) == 0, "and verifies");
    CHECK_ERR(open("/dev/attestation/report", O_WRONLY), EACCES, "report is read-only");
    CHECK_ERR(write_file("/dev/attestation/target_info", buf, 512), EINVAL,
              "a report is not a target info");
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static void quote(int fd, const char *file, const char *data_hex)
{
    uint8_t data[64];
    if (unhex(data_hex, data, 64) != 0) {
        fprintf(stderr, "report data: expected 128 hex digits\n");
        exit(2);
    }
    uint32_t size = 0, supp_size = 0;
    check(ioctl(fd, SGXIOC_GET_DCAP_QUOTE_SIZE, &size) == 0 && size > 1020, "GET_DCAP_QUOTE_SIZE");
    check(ioctl(fd, SGXIOC_GET_DCAP_SUPPLEMENTAL_SIZE, &supp_size) == 0 && supp_size > 0,
          "GET_DCAP_SUPPLEMENTAL_SIZE");
    uint8_t *q = malloc(size);
    uint32_t len = size - 1;
    struct gen_quote_arg g = {data, &len, q};
    CHECK_ERR(ioctl(fd, SGXIOC_GEN_DCAP_QUOTE, &g), EINVAL, "a buffer one byte short");
    len = size;
    check(ioctl(fd, SGXIOC_GEN_DCAP_QUOTE, &g) == 0 && len == size, "GEN_DCAP_QUOTE");
    check(memcmp(q + 368, data, 64) == 0, "the quote carries the report data at offset 368");
    struct gen_quote_arg no_data = {NULL, &len, q};
    CHECK_ERR(ioctl(fd, SGXIOC_GEN_DCAP_QUOTE, &no_data), EINVAL, "GEN_DCAP_QUOTE without data");

    uint32_t expiration = 7, result = 7;
    uint8_t *supp = malloc(supp_size);
    struct ver_quote_arg vq = {q, size, &expiration, &result, supp_size, supp};
    check(ioctl(fd, SGXIOC_VER_DCAP_QUOTE, &vq) == 0 && result == 0 && expiration == 0,
          "VER_DCAP_QUOTE: OK");
    q[100] ^= 1;
    check(ioctl(fd, SGXIOC_VER_DCAP_QUOTE, &vq) == 0 && result == 0xa004,
          "a changed quote: INVALID_SIGNATURE");
    q[100] ^= 1;
    vq.quote_size = 100;
    CHECK_ERR(ioctl(fd, SGXIOC_VER_DCAP_QUOTE, &vq), EINVAL, "a truncated quote");
    vq.quote_size = size;
    vq.supplemental_size = supp_size - 1;
    CHECK_ERR(ioctl(fd, SGXIOC_VER_DCAP_QUOTE, &vq), EINVAL, "a short supplemental buffer");

    /* The quote of /dev/attestation carries user_report_data. */
    check(write_file("/dev/attestation/user_report_data", data, 64) == 64, "write user_report_data");
    uint8_t *q2 = malloc(size + 1);
    check(read_file("/dev/attestation/quote", q2, size + 1) == (int)size &&
              memcmp(q2 + 368, data, 64) == 0,
          "/dev/attestation/quote carries user_report_data");

    int out = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    check(out >= 0 && write(out, q, size) == (ssize_t)size, "quote written out");
    close(out);
}

int main(int argc, char **argv)
{
    int fd = open("/dev/sgx", O_RDONLY);
    if (fd < 0) {
        printf("no /dev/sgx: not inside the LibOS\n");
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "report") == 0)
        reports_and_keys(fd);
    else if (argc > 3 && strcmp(argv[1], "quote") == 0)
        quote(fd, argv[2], argv[3]);
    else {
        fprintf(stderr, "usage: sgx_attest report | quote FILE HEX\n");
        return 2;
    }
    return check_done();
}
