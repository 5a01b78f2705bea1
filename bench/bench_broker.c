/*
 * bench-broker — push N QoS 0 messages through one Mosquitto broker and
 * count them at a subscriber. Driven by bench/broker.sh, which runs it
 * against a broker with cordon_mosquitto.so and one without.
 *
 *   bench-broker PORT COUNT PUB_USER PUB_PASS TOPIC SUB_USER SUB_PASS FILTER [PAYLOAD_BYTES]
 *
 * The publisher keeps at most WINDOW messages in flight (sent minus
 * received), so the broker never drops QoS 0 messages for a slow reader
 * and both brokers are measured on the same lossless workload. Prints
 * "msgs_per_s=N received=M seconds=S".
 */
#include <mosquitto.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WINDOW        20000
#define STALL_SECS    5.0
#define PAYLOAD_MAX   65536
#define CONNECT_TRIES 50

static atomic_long received;
static atomic_int subscribed;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m;
    (void)ud;
    (void)msg;
    atomic_fetch_add(&received, 1);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
    (void)m;
    (void)ud;
    (void)mid;
    atomic_store(&subscribed, n > 0 && granted[0] <= 2 ? 1 : -1);
}

static struct mosquitto *client(const char *id, const char *user, const char *pass, int port)
{
    struct mosquitto *m = mosquitto_new(id, true, NULL);
    if (!m)
        return NULL;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_username_pw_set(m, user, pass);
    for (int i = 0; i < CONNECT_TRIES; i++) {
        if (mosquitto_connect(m, "127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS)
            return m;
        usleep(100000);
    }
    fprintf(stderr, "bench-broker: %s cannot connect to 127.0.0.1:%d\n", id, port);
    mosquitto_destroy(m);
    return NULL;
}

int main(int argc, char **argv)
{
    struct mosquitto *pub = NULL, *sub = NULL;
    char payload[PAYLOAD_MAX];
    long count, sent = 0, last_seen = -1;
    size_t plen = 64;
    double t0, t_last, t_end;
    int port, rc = 1;

    if (argc < 9) {
        fprintf(stderr, "usage: bench-broker PORT COUNT PUB_USER PUB_PASS TOPIC SUB_USER SUB_PASS "
                        "FILTER [PAYLOAD_BYTES]\n");
        return 2;
    }
    port = atoi(argv[1]);
    count = atol(argv[2]);
    if (argc > 9)
        plen = (size_t)atol(argv[9]);
    if (count <= 0 || plen > PAYLOAD_MAX) {
        fprintf(stderr, "bench-broker: bad COUNT or PAYLOAD_BYTES\n");
        return 2;
    }
    memset(payload, 'x', plen);
    mosquitto_lib_init();
    /* client ids equal the identities (the plugin requires it by default) */
    sub = client(argv[6], argv[6], argv[7], port);
    pub = client(argv[3], argv[3], argv[4], port);
    if (!sub || !pub)
        goto out;
    mosquitto_message_callback_set(sub, on_message);
    mosquitto_subscribe_callback_set(sub, on_subscribe);
    if (mosquitto_loop_start(sub) || mosquitto_loop_start(pub))
        goto out;
    mosquitto_subscribe(sub, NULL, argv[8], 0);
    for (int i = 0; i < 100 && !atomic_load(&subscribed); i++)
        usleep(20000);
    if (atomic_load(&subscribed) != 1) {
        fprintf(stderr, "bench-broker: subscription to %s refused\n", argv[8]);
        goto out;
    }

    t0 = now_s();
    t_last = t0;
    while (sent < count) {
        if (sent - atomic_load(&received) >= WINDOW) {
            long r = atomic_load(&received);
            if (r != last_seen) {
                last_seen = r;
                t_last = now_s();
            } else if (now_s() - t_last > STALL_SECS) {
                break; /* messages were lost: stop and report what arrived */
            }
            usleep(200);
            continue;
        }
        if (mosquitto_publish(pub, NULL, argv[5], (int)plen, payload, 0, false)) {
            usleep(100);
            continue;
        }
        sent++;
    }
    t_last = now_s();
    last_seen = -1;
    while (atomic_load(&received) < sent) {
        long r = atomic_load(&received);
        if (r != last_seen) {
            last_seen = r;
            t_last = now_s();
        } else if (now_s() - t_last > STALL_SECS) {
            break;
        }
        usleep(100);
    }
    t_end = now_s();
    {
        long got = atomic_load(&received);
        double secs = t_end - t0;
        printf("msgs_per_s=%.0f received=%ld sent=%ld seconds=%.3f\n", (double)got / secs, got,
               sent, secs);
        rc = got == count ? 0 : 1;
    }
out:
    if (pub) {
        mosquitto_disconnect(pub);
        mosquitto_loop_stop(pub, true);
        mosquitto_destroy(pub);
    }
    if (sub) {
        mosquitto_disconnect(sub);
        mosquitto_loop_stop(sub, true);
        mosquitto_destroy(sub);
    }
    mosquitto_lib_cleanup();
    return rc;
}
