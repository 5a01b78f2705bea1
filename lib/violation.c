#include "violation.h"

#include <string.h>

/* ---- ids ------------------------------------------------------------------ */

static uint64_t load64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void store64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* splitmix64's finaliser: a bijection, so distinct counters give distinct halves */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void violation_idgen_init(struct violation_idgen *g, const uint8_t seed[16])
{
    g->k0 = load64(seed);
    g->k1 = load64(seed + 8);
    g->counter = 0;
}

void violation_idgen_next(struct violation_idgen *g, uint8_t out[16])
{
    uint64_t c = ++g->counter;
    uint64_t hi = mix64(g->k0 ^ c);
    uint64_t lo = mix64(g->k1 + c * UINT64_C(0x9e3779b97f4a7c15));

    store64(out, hi);
    store64(out + 8, lo);
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x40); /* version 4 */
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

void violation_id_format(const uint8_t id[16], char out[VIOLATION_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[id[i] >> 4];
        out[o++] = hex[id[i] & 15];
    }
    out[o] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int violation_id_parse(const char *s, size_t len, uint8_t id[16])
{
    size_t o = 0;

    if (len != VIOLATION_ID_LEN)
        return -1;
    for (int i = 0; i < 16; i++) {
        int h, l;
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (s[o++] != '-')
                return -1;
        }
        h = hexval(s[o++]);
        l = hexval(s[o++]);
        if (h < 0 || l < 0)
            return -1;
        id[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}

/* ---- state machine (spec §4.4) ---------------------------------------------- */

void violation_state_init(struct violation_state *s)
{
    memset(s, 0, sizeof(*s));
}

enum violation_event_type violation_datapoint(struct violation_state *s, bool violating,
                                              uint8_t to_alarm, uint8_t to_clear, int64_t now_ms,
                                              struct violation_idgen *g)
{
    s->last_datapoint_ms = now_ms;
    if (violating) {
        if (s->bad_streak < 255)
            s->bad_streak++;
        s->good_streak = 0;
        if (!s->in_alarm && s->bad_streak >= to_alarm) {
            s->in_alarm = 1;
            s->alarm_since_ms = now_ms;
            s->verification = VIOLATION_UNKNOWN;
            violation_idgen_next(g, s->id);
            return VIOLATION_IN_ALARM;
        }
    } else {
        if (s->good_streak < 255)
            s->good_streak++;
        s->bad_streak = 0;
        if (s->in_alarm && s->good_streak >= to_clear) {
            s->in_alarm = 0;
            return VIOLATION_ALARM_CLEARED;
        }
    }
    return VIOLATION_NONE;
}

enum violation_event_type violation_invalidate(struct violation_state *s)
{
    bool was = s->in_alarm;

    s->in_alarm = 0;
    s->bad_streak = 0;
    s->good_streak = 0;
    return was ? VIOLATION_ALARM_INVALIDATED : VIOLATION_NONE;
}

bool violation_silent(const struct violation_state *s, int64_t now_ms, int64_t silence_ms)
{
    return s->in_alarm && now_ms - s->last_datapoint_ms > silence_ms;
}

/* ---- names ----------------------------------------------------------------- */

const char *violation_event_type_name(enum violation_event_type t)
{
    switch (t) {
    case VIOLATION_IN_ALARM:
        return "in-alarm";
    case VIOLATION_ALARM_CLEARED:
        return "alarm-cleared";
    case VIOLATION_ALARM_INVALIDATED:
        return "alarm-invalidated";
    default:
        return "none";
    }
}

static const char *const verification_names[] = { "UNKNOWN", "TRUE_POSITIVE", "BENIGN_POSITIVE",
                                                  "FALSE_POSITIVE" };

const char *violation_verification_name(enum violation_verification v)
{
    if ((unsigned)v > VIOLATION_FALSE_POSITIVE)
        return "UNKNOWN";
    return verification_names[v];
}

int violation_verification_parse(const char *s, size_t len)
{
    for (int i = 0; i <= VIOLATION_FALSE_POSITIVE; i++)
        if (strlen(verification_names[i]) == len && !memcmp(verification_names[i], s, len))
            return i;
    return -1;
}
