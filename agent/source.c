/*
 * source.c — bounded file reads and commands without a shell. See source.h.
 */
#include "source.h"

#include "cordon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int source_read_file(const char *path, struct buf *out)
{
    char chunk[16384];
    int fd = open(path, O_RDONLY | O_CLOEXEC), result = 0;

    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result = -errno;
            break;
        }
        if (n == 0)
            break;
        result = buf_add(out, chunk, (size_t)n);
        if (result)
            break;
    }
    close(fd);
    return result;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child_exec(char *const argv[], int outfd)
{
    int devnull = open("/dev/null", O_RDWR);

    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 || dup2(devnull, 2) < 0)
        _exit(126);
        /* the MQTT socket and spool files must not leak into the command */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
    {
        long maxfd = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (maxfd > 0 && maxfd < 65536 ? maxfd : 65536); fd++)
            close((int)fd);
    }
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    _exit(127);
}

int source_run(char *const argv[], int timeout_ms, struct buf *out, char *why, size_t whylen)
{
    int pfd[2], status = 0, result = 0;
    int64_t deadline = mono_ms() + timeout_ms;
    bool eof = false, reaped = false;
    pid_t pid;

    why[0] = '\0';
    if (pipe(pfd) < 0 || fcntl(pfd[0], F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(pfd[1], F_SETFD, FD_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -errno;
    }
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        snprintf(why, whylen, "fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        setpgid(0, 0);
        child_exec(argv, pfd[1]);
    }
    setpgid(pid, pid); /* both sides, so the kill below cannot race the child */
    close(pfd[1]);
    while (!eof) {
        char chunk[4096];
        int64_t left = deadline - mono_ms();
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        int pr;

        if (left <= 0) {
            snprintf(why, whylen, "timed out after %d ms", timeout_ms);
            result = CORDON_ERANGE;
            break;
        }
        pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno != EINTR) {
            snprintf(why, whylen, "poll: %s", strerror(errno));
            result = -errno;
            break;
        }
        if (pr <= 0)
            continue;
        ssize_t n = read(pfd[0], chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            snprintf(why, whylen, "read: %s", strerror(errno));
            result = -errno;
            break;
        }
        if (n == 0) {
            eof = true;
        } else if (buf_add(out, chunk, (size_t)n)) {
            snprintf(why, whylen, "output larger than %zu bytes", out->cap);
            result = CORDON_ETOOBIG;
            break;
        }
    }
    close(pfd[0]);
    /* stdout closed: wait for the exit, still bounded by the deadline */
    while (result == 0 && !reaped) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            reaped = true;
            break;
        }
        if (w < 0 && errno != EINTR) {
            result = -errno;
            snprintf(why, whylen, "waitpid: %s", strerror(errno));
            break;
        }
        if (mono_ms() >= deadline) {
            snprintf(why, whylen, "timed out after %d ms", timeout_ms);
            result = CORDON_ERANGE;
            break;
        }
        struct timespec ts = { 0, 5 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (!reaped) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        return result ? result : CORDON_ERANGE;
    }
    /* leftovers of the group (a command that forked) do not outlive it */
    kill(-pid, SIGKILL);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(why, whylen, "%s", WEXITSTATUS(status) == 127 ? "could not execute" : "");
    if (WIFEXITED(status) && WEXITSTATUS(status) != 127)
        snprintf(why, whylen, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(why, whylen, "killed by signal %d", WTERMSIG(status));
    return CORDON_EINVAL;
}
