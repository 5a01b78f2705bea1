/*
 * mqtt.h — cordond's MQTT client (libmosquitto) driven by the libuv loop:
 * mosquitto_socket() watched by uv_poll, mosquitto_loop_read/write/misc on
 * events and on a 1 s timer, mosquitto_want_write() for write interest, no
 * mosquitto thread. Reconnects with exponential backoff (0.5 s .. 30 s).
 */
#ifndef CORDOND_MQTT_H
#define CORDOND_MQTT_H

#include <stdbool.h>
#include <stddef.h>

struct server;

/* A message handler: topic and payload are valid during the call only. */
typedef void (*mqtt_message_fn)(struct server *s, void *arg, const char *topic, const void *payload,
                                size_t len);
/* A publish acknowledgement (QoS 1 PUBACK) for the mid returned by mqtt_publish. */
typedef void (*mqtt_ack_fn)(struct server *s, void *arg, int mid);
/* Called on every (re)connection. */
typedef void (*mqtt_connect_fn)(struct server *s, void *arg);

int mqtt_init(struct server *s);
void mqtt_free(struct server *s);

/*
 * Subscribe to filter with qos (0 or 1) on every connection and call fn for
 * each matching message. Register before or after connecting. Returns 0 or
 * CORDON_ENOMEM.
 */
int mqtt_subscribe(struct server *s, const char *filter, int qos, mqtt_message_fn fn, void *arg);
int mqtt_on_connect(struct server *s, mqtt_connect_fn fn, void *arg);
int mqtt_on_ack(struct server *s, mqtt_ack_fn fn, void *arg);

/*
 * Publish; *mid (may be NULL) gets the message id for QoS 1 acks. Returns 0,
 * or CORDON_ESTATE when not connected (the caller keeps the message: the
 * outbox retries), or CORDON_ENOMEM.
 */
int mqtt_publish(struct server *s, const char *topic, const void *payload, size_t len, int qos,
                 int *mid);
bool mqtt_connected(const struct server *s);
/*
 * Cork the socket around a burst of publishes (TCP_CORK) so the kernel
 * sends full segments and the broker reads them in few calls; uncork sends.
 */
void mqtt_cork(struct server *s, bool on);
/* Flush queued writes now (after a burst of publishes). */
void mqtt_flush(struct server *s);

#endif
