/*
 * bench_agent.c — cordon-agent collection cost with 1,000 sockets open.
 *
 * Opens 1,000 sockets (TCP listeners on 127.0.0.1 and ::1, UDP listeners,
 * established TCP pairs over IPv4 and IPv6), then runs 200 collection +
 * encode cycles of the agent core (the code path of every report: read
 * /proc/net/{tcp,tcp6,udp,udp6,dev}, interface addresses, dedup, sort,
 * cap, encode) and measures CPU time per report (getrusage, user + system)
 * and the process's max RSS. This process links the agent core without
 * libmosquitto; the same cycles run inside the real cordon-agent binary
 * (--bench-cycles) are reported on an info line, with libmosquitto and
 * OpenSSL mapped. Prints the stripped size of cordon-agent.
 *
 * Last line: bench agent: cpu_us_per_report=N max_rss_kib=M binary_kib=B
 */
#include "config.h"
#include "log.h"
#include "report.h"
#include "sample.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SOCKETS 1000
#define CYCLES  200

static int nsock;

static void keep(int fd)
{
    if (fd < 0) {
        perror("bench-agent: socket");
        exit(1);
    }
    nsock++;
}

static int listen_on(int fam, const char *addr, int type)
{
    int fd = socket(fam, type, 0), one = 1;
    struct sockaddr_storage ss;
    socklen_t len;

    keep(fd);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&ss, 0, sizeof(ss));
    if (fam == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &s4->sin_addr);
        len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &s6->sin6_addr);
        len = sizeof(*s6);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 512) < 0)) {
        perror("bench-agent: bind/listen");
        exit(1);
    }
    return fd;
}

/* n established pairs through listener lfd */
static void pairs(int fam, int lfd, int n)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    getsockname(lfd, (struct sockaddr *)&ss, &len);
    for (int i = 0; i < n; i++) {
        int c = socket(fam, SOCK_STREAM, 0), a;
        keep(c);
        if (connect(c, (struct sockaddr *)&ss, len) < 0) {
            perror("bench-agent: connect");
            exit(1);
        }
        a = accept(lfd, NULL, NULL);
        keep(a);
    }
}

static long cpu_us(const struct rusage *ru)
{
    return (long)(ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000000L + ru->ru_utime.tv_usec +
           ru->ru_stime.tv_usec;
}

static long file_kib(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)((st.st_size + 1023) / 1024) : -1;
}

/* Run argv, stdout to /dev/null; return its rusage through *ru. */
static int run(char *const argv[], struct rusage *ru)
{
    int status = 0;
    pid_t pid;

    fflush(stdout);
    pid = fork();

    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, ru) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
    struct agent_config cfg;
    struct sample s;
    struct report r;
    struct buf body;
    struct rusage r0, r1, child;
    struct rlimit rl;
    char self[PATH_MAX], agent[PATH_MAX + 32], stripped[64], cycles[16];
    ssize_t n;
    long binary_kib = -1;
    int l4, l6;

    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < SOCKETS + 64) {
        rl.rlim_cur = rl.rlim_max < SOCKETS + 64 ? rl.rlim_max : SOCKETS + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    /* 1,000 sockets: 100 + 50 TCP listeners, 100 UDP listeners, 375 TCP pairs */
    l4 = listen_on(AF_INET, "127.0.0.1", SOCK_STREAM);
    l6 = listen_on(AF_INET6, "::1", SOCK_STREAM);
    for (int i = 1; i < 100; i++)
        listen_on(AF_INET, "127.0.0.1", SOCK_STREAM);
    for (int i = 1; i < 50; i++)
        listen_on(AF_INET6, "::1", SOCK_STREAM);
    for (int i = 0; i < 100; i++)
        listen_on(i % 2 ? AF_INET6 : AF_INET, i % 2 ? "::" : "0.0.0.0", SOCK_DGRAM);
    pairs(AF_INET, l4, 300);
    pairs(AF_INET6, l6, 75);

    if (config_init(&cfg) || report_init(&r) || sample_init(&s, &cfg))
        return 1;
    log_set_level(LOG_ERROR);
    buf_init(&body, REPORT_MAX_BYTES);
    for (int i = 0; i <= CYCLES; i++) {
        if (i == 1)
            getrusage(RUSAGE_SELF, &r0); /* cycle 0 warms up (first netdev baseline) */
        if (sample_collect(&s, &r))
            return 1;
        r.report_id = 1795000000000LL + i;
        r.version_major = 1;
        buf_reset(&body);
        if (report_encode(&r, false, &body))
            return 1;
    }
    getrusage(RUSAGE_SELF, &r1);
    printf("sockets opened: %d; last report: tcp_ports total=%u, udp_ports total=%u, "
           "connections total=%u (listed %u), %zu bytes\n",
           nsock, r.tcp_ports.total, r.udp_ports.total, r.conns.total, r.conns.count, body.len);
    long per = (cpu_us(&r1) - cpu_us(&r0)) / CYCLES;

    /* the cordon-agent next to this binary: stripped size, and the same cycles in it */
    n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        snprintf(agent, sizeof(agent), "%s/cordon-agent", dirname(self));
        snprintf(stripped, sizeof(stripped), "/tmp/cordon-agent-stripped.%d", (int)getpid());
        char *sargv[] = { "strip", "-o", stripped, agent, NULL };
        struct rusage ign;
        if (run(sargv, &ign) == 0) {
            binary_kib = file_kib(stripped);
            unlink(stripped);
        }
        snprintf(cycles, sizeof(cycles), "%d", CYCLES);
        char *aargv[] = { agent,      "--config",       "/dev/null", "--thing",     "bench",
                          "--stdout", "--bench-cycles", cycles,      "--log-level", "error",
                          NULL };
        if (run(aargv, &child) == 0)
            printf("info: the same %d cycles inside cordon-agent (libmosquitto + OpenSSL mapped): "
                   "cpu_us_per_report=%ld max_rss_kib=%ld\n",
                   CYCLES, cpu_us(&child) / CYCLES, child.ru_maxrss);
    }
    {
        char line[256];
        FILE *f = fopen("/proc/self/status", "r");
        while (f && fgets(line, sizeof(line), f))
            if (!strncmp(line, "RssAnon", 7) || !strncmp(line, "RssFile", 7))
                printf("info: %s", line);
        if (f)
            fclose(f);
    }
    printf("unstripped cordon-agent: %ld KiB\n", file_kib(agent));
    printf("bench agent: cpu_us_per_report=%ld max_rss_kib=%ld binary_kib=%ld\n", per, r1.ru_maxrss,
           binary_kib);
    buf_free(&body);
    sample_free(&s);
    report_free(&r);
    config_free(&cfg);
    return 0;
}
