/*
 * loadgen.c — MQTT load for bench/ingest.sh and bench/latency.sh.
 *
 *   cordon-loadgen flood   HOST PORT USER PASS THINGS N QOS PREFIX
 *       publish N reports for THINGS simulated things (round robin, report
 *       ids increasing per thing) as fast as the broker takes them; with
 *       QoS 1 wait for every PUBACK. Prints "published N in S s".
 *   cordon-loadgen latency HOST PORT USER PASS THINGS PERIOD_S SAMPLES
 *       background: THINGS things each reporting every PERIOD_S seconds;
 *       foreground: SAMPLES violating reports (fresh things "probe-K", a port
 *       outside the allow-list), each timed to the quarantine command seen on
 *       $CONTROL/cordon/v1 (or the plugin's answer to it on
 *       $CONTROL/cordon/v1/response, when the plugin consumes the command).
 *       Last line: "bench latency: p50_ms=A p99_ms=B samples=S".
 *
 * Publishing runs on libmosquitto's own thread (mosquitto_loop_start): the
 * load generator is a test tool, not part of cordond.
 */
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long acked;
static atomic_int connected;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *u, int rc)
{
    (void)m;
    (void)u;
    if (rc == 0)
        atomic_store(&connected, 1);
}

static void on_publish(struct mosquitto *m, void *u, int mid)
{
    (void)m;
    (void)u;
    (void)mid;
    atomic_fetch_add(&acked, 1);
}

static struct mosquitto *client(const char *id, const char *host, int port, const char *user,
                                const char *pass)
{
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (!m)
        exit(1);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_max_inflight_messages_set(m, 1000);
    if (*user)
        mosquitto_username_pw_set(m, user, pass);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_publish_callback_set(m, on_publish);
    if (mosquitto_connect(m, host, port, 60) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "cordon-loadgen: cannot connect to %s:%d\n", host, port);
        exit(1);
    }
    return m;
}

static int report(char *out, size_t outlen, long long rid, int bad_port)
{
    return snprintf(out, outlen,
                    "{\"header\":{\"report_id\":%lld,\"version\":\"1.0\"},\"metrics\":{"
                    "\"listening_tcp_ports\":{\"ports\":[{\"port\":22},{\"interface\":\"eth0\","
                    "\"port\":443}%s]},\"listening_udp_ports\":{\"ports\":[{\"port\":90}]},"
                    "\"tcp_connections\":{\"established_connections\":{\"connections\":[{"
                    "\"remote_addr\":\"192.0.2.17:8883\",\"local_port\":50412,"
                    "\"local_interface\":\"eth0\"}],\"total\":1}},\"network_stats\":{"
                    "\"bytes_in\":73110,\"bytes_out\":20544,\"packets_in\":402,\"packets_out\":"
                    "287}}}",
                    rid, bad_port ? ",{\"port\":4444}" : "");
}

static int flood(int argc, char **argv)
{
    const char *host = argv[2], *user = argv[4], *pass = argv[5], *prefix = argv[9];
    int port = atoi(argv[3]), things = atoi(argv[6]), qos = atoi(argv[8]);
    long n = atol(argv[7]);
    char topic[256], payload[1024], id[64];
    struct mosquitto *m;
    double t0;
    long long base = (long long)time(NULL) * 1000;
    (void)argc;
    snprintf(id, sizeof(id), "cordon-loadgen-%d", (int)getpid());
    m = client(id, host, port, user, pass);
    mosquitto_loop_start(m);
    while (!atomic_load(&connected))
        usleep(1000);
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        int len;
        snprintf(topic, sizeof(topic), "$aws/things/%s%d/defender/metrics/json", prefix,
                 (int)(i % things));
        len = report(payload, sizeof(payload), base + i / things + 1, 0);
        while (mosquitto_publish(m, NULL, topic, len, payload, qos, false) == MOSQ_ERR_NOMEM)
            usleep(100);
        /* keep at most ~5000 unacknowledged QoS 1 messages */
        while (qos > 0 && i - atomic_load(&acked) > 5000)
            usleep(50);
    }
    while (qos > 0 && atomic_load(&acked) < n)
        usleep(200);
    printf("published %ld in %.3f s\n", n, now_s() - t0);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    return 0;
}

/* ---- latency ------------------------------------------------------------------- */

#define SAMPLES_MAX 10000
static double sent_at[SAMPLES_MAX];
static double seen_at[SAMPLES_MAX];
static atomic_int nseen;

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
    const char *p = msg->payload, *q;
    (void)m;
    (void)u;
    if (!p || msg->payloadlen <= 0)
        return;
    /* the command names the thing; the response carries the correlation id
       "ctl:quarantine:probe-K:…"; either way find "probe-K" after "quarantine" */
    q = strstr(p, "quarantine");
    if (!q)
        return;
    q = strstr(q, "probe-");
    if (!q)
        return;
    int k = atoi(q + 6);
    if (k >= 0 && k < SAMPLES_MAX && seen_at[k] == 0 && sent_at[k] > 0) {
        seen_at[k] = now_s();
        atomic_fetch_add(&nseen, 1);
    }
}

struct bg {
    struct mosquitto *m;
    int things;
    double period;
    atomic_int stop;
};

static void *background(void *arg)
{
    struct bg *b = arg;
    char topic[256], payload[1024];
    long long rid = (long long)time(NULL) * 1000;
    double t0 = now_s(), step = b->period / b->things;
    long i = 0;
    while (!atomic_load(&b->stop)) {
        double due = t0 + (double)i * step;
        double d = due - now_s();
        if (d > 0.0005)
            usleep((useconds_t)(d * 1e6));
        int thing = (int)(i % b->things);
        if (thing == 0)
            rid++;
        snprintf(topic, sizeof(topic), "$aws/things/bg-%d/defender/metrics/json", thing);
        int len = report(payload, sizeof(payload), rid, 0);
        mosquitto_publish(b->m, NULL, topic, len, payload, 0, false);
        i++;
    }
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int latency(int argc, char **argv)
{
    const char *host = argv[2], *user = argv[4], *pass = argv[5];
    int port = atoi(argv[3]), things = atoi(argv[6]), samples = atoi(argv[8]);
    double period = atof(argv[7]);
    struct bg b = { 0 };
    pthread_t th;
    struct mosquitto *pub, *sub;
    char topic[256], payload[1024], id[64];
    double lat[SAMPLES_MAX];
    int n = 0;
    (void)argc;
    if (samples > SAMPLES_MAX)
        samples = SAMPLES_MAX;
    snprintf(id, sizeof(id), "bench-lat-sub-%d", (int)getpid());
    sub = client(id, host, port, user, pass);
    mosquitto_message_callback_set(sub, on_message);
    mosquitto_subscribe(sub, NULL, "$CONTROL/cordon/v1", 0);
    mosquitto_subscribe(sub, NULL, "$CONTROL/cordon/v1/response", 0);
    mosquitto_loop_start(sub);
    snprintf(id, sizeof(id), "bench-lat-pub-%d", (int)getpid());
    pub = client(id, host, port, user, pass);
    mosquitto_loop_start(pub);
    usleep(300000);
    b.m = pub;
    b.things = things;
    b.period = period;
    pthread_create(&th, NULL, background, &b);
    /* one background period first, so every thing is known and reporting */
    sleep((unsigned)period);
    long long rid = (long long)time(NULL) * 1000;
    for (int k = 0; k < samples; k++) {
        snprintf(topic, sizeof(topic), "$aws/things/probe-%d/defender/metrics/json", k);
        int len = report(payload, sizeof(payload), rid + k, 1);
        sent_at[k] = now_s();
        mosquitto_publish(pub, NULL, topic, len, payload, 0, false);
        usleep(50000);
    }
    for (int w = 0; w < 100 && atomic_load(&nseen) < samples; w++)
        usleep(50000);
    atomic_store(&b.stop, 1);
    pthread_join(th, NULL);
    for (int k = 0; k < samples; k++)
        if (seen_at[k] > 0)
            lat[n++] = (seen_at[k] - sent_at[k]) * 1000.0;
    qsort(lat, (size_t)n, sizeof(double), cmp_d);
    printf("background: %d things every %.0f s (%.0f reports/s); probes sent=%d seen=%d\n", things,
           period, things / period, samples, n);
    if (n == 0) {
        printf("bench latency: p50_ms=nan p99_ms=nan samples=0\n");
        return 1;
    }
    printf("bench latency: p50_ms=%.2f p99_ms=%.2f samples=%d\n", lat[n / 2],
           lat[(int)((n - 1) * 0.99)], n);
    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(pub, false);
    mosquitto_loop_stop(sub, false);
    return 0;
}

int main(int argc, char **argv)
{
    mosquitto_lib_init();
    if (argc == 10 && strcmp(argv[1], "flood") == 0)
        return flood(argc, argv);
    if (argc == 9 && strcmp(argv[1], "latency") == 0)
        return latency(argc, argv);
    fprintf(stderr, "usage: cordon-loadgen flood HOST PORT USER PASS THINGS N QOS PREFIX\n"
                    "       cordon-loadgen latency HOST PORT USER PASS THINGS PERIOD_S SAMPLES\n");
    return 2;
}
