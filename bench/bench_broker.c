/*
 * bench-broker — push COUNT QoS 0 messages through each of several Mosquitto
 * brokers and count them at a subscriber. Driven by bench/broker.sh, which
 * passes a broker with cordon_mosquitto.so and one without.
 *
 *   bench-broker COUNT BATCH PUB_USER PUB_PASS TOPIC SUB_USER SUB_PASS FILTER PAYLOAD_BYTES
 *                PORT [PORT...]
 *
 * The same publisher/subscriber code connects to every broker once, then
 * sends the messages in batches of BATCH, alternating between the brokers
 * in ABBA order, so slow drifts of a shared machine's load hit every broker
 * alike. A batch's time runs from its first publish to the subscriber's
 * receipt of its last message. The publisher keeps at most WINDOW messages
 * in flight, so no broker ever drops a QoS 0 message for a slow reader.
 * Prints one line per broker: "port=P msgs_per_s=N received=M seconds=S".
 * Exits non-zero if any message was lost.
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
#define TARGETS_MAX   4

struct target {
    int port;
    struct mosquitto *pub, *sub;
    atomic_long received;
    atomic_int subscribed;
    long sent;
    double seconds;
    bool lost;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    struct target *t = ud;
    (void)m;
    (void)msg;
    atomic_fetch_add(&t->received, 1);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
    struct target *t = ud;
    (void)m;
    (void)mid;
    atomic_store(&t->subscribed, n > 0 && granted[0] <= 2 ? 1 : -1);
}

static struct mosquitto *client(const char *id, const char *user, const char *pass, int port,
                                void *ud)
{
    struct mosquitto *m = mosquitto_new(id, true, ud);
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

/* Wait until t has received everything sent; false when it stalled (messages lost). */
static bool drain(struct target *t, long upto)
{
    long last = -1;
    double t_last = now_s();

    while (atomic_load(&t->received) < upto) {
        long r = atomic_load(&t->received);
        if (r != last) {
            last = r;
            t_last = now_s();
        } else if (now_s() - t_last > STALL_SECS) {
            return false;
        }
        usleep(200);
    }
    return true;
}

static void batch(struct target *t, const char *topic, const char *payload, size_t plen, long n)
{
    long goal = t->sent + n;
    double t0 = now_s();

    while (t->sent < goal && !t->lost) {
        if (t->sent - atomic_load(&t->received) >= WINDOW) {
            if (!drain(t, t->sent - WINDOW / 2))
                t->lost = true;
            continue;
        }
        if (mosquitto_publish(t->pub, NULL, topic, (int)plen, payload, 0, false)) {
            usleep(100);
            continue;
        }
        t->sent++;
    }
    if (!t->lost && !drain(t, t->sent))
        t->lost = true;
    t->seconds += now_s() - t0;
}

int main(int argc, char **argv)
{
    static struct target targets[TARGETS_MAX];
    static char payload[PAYLOAD_MAX];
    long count, batch_n;
    size_t plen;
    int n = 0, rc = 0;

    if (argc < 11 || argc - 10 > TARGETS_MAX) {
        fprintf(stderr, "usage: bench-broker COUNT BATCH PUB_USER PUB_PASS TOPIC SUB_USER "
                        "SUB_PASS FILTER PAYLOAD_BYTES PORT [PORT...]\n");
        return 2;
    }
    count = atol(argv[1]);
    batch_n = atol(argv[2]);
    plen = (size_t)atol(argv[9]);
    if (count <= 0 || batch_n <= 0 || plen > PAYLOAD_MAX) {
        fprintf(stderr, "bench-broker: bad COUNT, BATCH or PAYLOAD_BYTES\n");
        return 2;
    }
    memset(payload, 'x', plen);
    mosquitto_lib_init();
    for (int i = 10; i < argc; i++, n++) {
        struct target *t = &targets[n];
        t->port = atoi(argv[i]);
        /* client ids equal the identities (the plugin requires it by default) */
        t->sub = client(argv[6], argv[6], argv[7], t->port, t);
        t->pub = client(argv[3], argv[3], argv[4], t->port, t);
        if (!t->sub || !t->pub)
            return 1;
        mosquitto_message_callback_set(t->sub, on_message);
        mosquitto_subscribe_callback_set(t->sub, on_subscribe);
        if (mosquitto_loop_start(t->sub) || mosquitto_loop_start(t->pub))
            return 1;
        mosquitto_subscribe(t->sub, NULL, argv[8], 0);
        for (int k = 0; k < 250 && !atomic_load(&t->subscribed); k++)
            usleep(20000);
        if (atomic_load(&t->subscribed) != 1) {
            fprintf(stderr, "bench-broker: subscription to %s on port %d refused\n", argv[8],
                    t->port);
            return 1;
        }
    }
    /* ABBA...: batch k visits the targets forward when k is even, backward when odd */
    for (long done = 0, k = 0; done < count; k++) {
        long nb = count - done < batch_n ? count - done : batch_n;
        for (int j = 0; j < n; j++) {
            struct target *t = &targets[k % 2 ? n - 1 - j : j];
            batch(t, argv[5], payload, plen, nb);
        }
        done += nb;
    }
    for (int i = 0; i < n; i++) {
        struct target *t = &targets[i];
        long got = atomic_load(&t->received);
        printf("port=%d msgs_per_s=%.0f received=%ld sent=%ld seconds=%.3f%s\n", t->port,
               (double)got / t->seconds, got, t->sent, t->seconds, t->lost ? " LOST" : "");
        if (t->lost || got != count)
            rc = 1;
        mosquitto_disconnect(t->pub);
        mosquitto_disconnect(t->sub);
        mosquitto_loop_stop(t->pub, true);
        mosquitto_loop_stop(t->sub, true);
        mosquitto_destroy(t->pub);
        mosquitto_destroy(t->sub);
    }
    mosquitto_lib_cleanup();
    return rc;
}
