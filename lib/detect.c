#include "detect.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* ============================================================================
 * Internal types
 * ========================================================================== */

/* The pool of a statistical behavior: recent datapoints of every targeted
 * thing, oldest first, in a ring. */
struct detect_stat {
    double *v;
    int64_t *t;
    uint32_t head; /* index of the oldest */
    uint32_t n;
    uint32_t negatives; /* values < 0 in the pool: percentile unavailable */
    bool dirty;
    bool valid;
    double threshold;
    int64_t computed_at;
};

/* The streaming baseline of an ML behavior (EWMA mean and variance). */
struct detect_ml {
    uint32_t n; /* datapoints learned */
    double mean;
    double var;
};

/* Per (thing, behavior) extension, allocated on the first datapoint of a
 * windowed or ML behavior. */
struct detect_ext {
    struct behavior_window w;
    struct detect_ml ml;
};

/* Per (thing, behavior) state. */
struct detect_bstate {
    struct violation_state v;
    struct detect_ext *ext;
};

struct detect_slot {
    const struct profile *p;
    size_t pidx;
    const struct behavior *b;
    struct detect_stat *stat;
};

struct detect_metric_index {
    const char *metric;
    uint32_t *slots;
    uint32_t n;
};

struct detect_thing_state {
    UT_hash_handle hh;
    char *name;
    int64_t last_seen_ms;
    uint32_t nalarms;
    struct detect_bstate *s; /* d->nslots */
};

/* ============================================================================
 * Events
 * ========================================================================== */

void detect_events_init(struct detect_events *ev)
{
    ev->v = NULL;
    ev->n = 0;
    ev->cap = 0;
}

void detect_events_reset(struct detect_events *ev)
{
    ev->n = 0;
}

void detect_events_free(struct detect_events *ev)
{
    free(ev->v);
    detect_events_init(ev);
}

static struct detect_event *event_push(struct detect_events *ev)
{
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? ev->cap * 2 : 16;
        struct detect_event *v = realloc(ev->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        ev->v = v;
        ev->cap = cap;
    }
    memset(&ev->v[ev->n], 0, sizeof(ev->v[0]));
    return &ev->v[ev->n++];
}

static int emit(struct detect_events *ev, enum violation_event_type type, const char *thing,
                const struct profile *p, const struct behavior *b, const struct violation_state *s,
                int64_t now_ms, const struct metric_datapoint *value)
{
    struct detect_event *e = event_push(ev);

    if (!e)
        return CORDON_ENOMEM;
    e->type = type;
    violation_id_format(s->id, e->violation_id);
    {
        size_t len = strlen(thing);
        if (len >= sizeof(e->thing))
            len = sizeof(e->thing) - 1;
        memcpy(e->thing, thing, len);
        e->thing[len] = '\0';
    }
    e->profile = p;
    e->behavior = b;
    e->time_ms = now_ms;
    e->alarm_since_ms = s->alarm_since_ms;
    if (value) {
        e->has_value = true;
        e->value = *value;
    }
    e->suppressed = b->suppress_alerts;
    e->verification = (enum violation_verification)s->verification;
    e->confidence = b->kind == BEHAVIOR_ML ? b->c.confidence : BEHAVIOR_CONFIDENCE_NONE;
    e->response_plan = b->response_plan ? b->response_plan : p->response_plan;
    return 0;
}

/* ============================================================================
 * Init / free
 * ========================================================================== */

static void stat_free(struct detect_stat *st)
{
    if (!st)
        return;
    free(st->v);
    free(st->t);
    free(st);
}

static struct detect_stat *stat_new(void)
{
    struct detect_stat *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->v = malloc(DETECT_STAT_POOL_MAX * sizeof(double));
    st->t = malloc(DETECT_STAT_POOL_MAX * sizeof(int64_t));
    if (!st->v || !st->t) {
        stat_free(st);
        return NULL;
    }
    return st;
}

static void slots_free(struct detect_slot *slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        stat_free(slots[i].stat);
    free(slots);
}

static void index_free(struct detect_metric_index *ix, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ix[i].slots);
    free(ix);
}

static void thing_free(struct detect_thing_state *th, size_t nslots)
{
    for (size_t i = 0; i < nslots; i++)
        free(th->s[i].ext);
    free(th->s);
    free(th->name);
    free(th);
}

int detect_init(struct detect *d, const struct detect_options *opts)
{
    static const uint8_t zero[16];

    memset(d, 0, sizeof(*d));
    profile_set_init(&d->set);
    d->silence_ms = opts && opts->silence_ms > 0 ? opts->silence_ms : DETECT_SILENCE_DEFAULT_MS;
    violation_idgen_init(&d->idgen, opts ? opts->id_seed : zero);
    return 0;
}

void detect_free(struct detect *d)
{
    struct detect_thing_state *th, *tmp;

    HASH_ITER(hh, d->things, th, tmp)
    {
        HASH_DEL(d->things, th);
        thing_free(th, d->nslots);
    }
    slots_free(d->slots, d->nslots);
    index_free(d->by_metric, d->nby_metric);
    free(d->profile_first);
    free(d->targeted);
    free(d->scratch);
    profile_set_free(&d->set);
    memset(d, 0, sizeof(*d));
}

const struct profile_set *detect_profiles(const struct detect *d)
{
    return &d->set;
}

size_t detect_state_bytes(void)
{
    return sizeof(struct detect_bstate);
}

/* ============================================================================
 * Profile set replacement
 * ========================================================================== */

/* Build slots, profile_first and the metric index for set. */
static int compile_set(const struct profile_set *set, struct detect_slot **slots_out,
                       size_t *nslots_out, size_t **first_out, struct detect_metric_index **ix_out,
                       size_t *nix_out)
{
    struct detect_slot *slots = NULL;
    struct detect_metric_index *ix = NULL;
    size_t n = 0, nix = 0, *first = NULL;
    int result = CORDON_ENOMEM;

    for (size_t i = 0; i < set->n; i++)
        for (size_t j = 0; j < set->v[i].nbehaviors; j++)
            if (set->v[i].behaviors[j].kind != BEHAVIOR_RETAIN)
                n++;
    slots = calloc(n ? n : 1, sizeof(*slots));
    first = calloc(set->n + 1, sizeof(size_t));
    ix = calloc(n ? n : 1, sizeof(*ix));
    if (!slots || !first || !ix)
        goto out;
    n = 0;
    for (size_t i = 0; i < set->n; i++) {
        first[i] = n;
        for (size_t j = 0; j < set->v[i].nbehaviors; j++) {
            const struct behavior *b = &set->v[i].behaviors[j];
            struct detect_metric_index *m = NULL;
            uint32_t *sv;
            if (b->kind == BEHAVIOR_RETAIN)
                continue;
            slots[n].p = &set->v[i];
            slots[n].pidx = i;
            slots[n].b = b;
            if (b->kind == BEHAVIOR_STATISTICAL) {
                slots[n].stat = stat_new();
                if (!slots[n].stat)
                    goto out;
            }
            for (size_t k = 0; k < nix; k++)
                if (!strcmp(ix[k].metric, b->metric))
                    m = &ix[k];
            if (!m) {
                m = &ix[nix++];
                m->metric = b->metric;
            }
            sv = realloc(m->slots, (m->n + 1) * sizeof(uint32_t));
            if (!sv)
                goto out;
            m->slots = sv;
            m->slots[m->n++] = (uint32_t)n;
            n++;
        }
    }
    first[set->n] = n;
    result = 0;
out:
    if (result) {
        slots_free(slots, n);
        index_free(ix, nix);
        free(first);
        return result;
    }
    *slots_out = slots;
    *nslots_out = n;
    *first_out = first;
    *ix_out = ix;
    *nix_out = nix;
    return 0;
}

int detect_set_profiles(struct detect *d, struct profile_set *set, int64_t now_ms,
                        struct detect_events *ev, struct profile_set *old)
{
    struct detect_slot *slots = NULL;
    struct detect_metric_index *ix = NULL;
    size_t nslots = 0, nix = 0, *first = NULL, nthings = HASH_COUNT(d->things);
    long *old_to_new = NULL;
    struct detect_bstate **arrays = NULL;
    uint8_t *targeted = NULL;
    double *scratch = NULL;
    struct detect_thing_state *th, *tmp;
    size_t ti;
    int result;

    profile_set_init(old);
    result = compile_set(set, &slots, &nslots, &first, &ix, &nix);
    if (result)
        return result;
    result = CORDON_ENOMEM;
    old_to_new = malloc((d->nslots ? d->nslots : 1) * sizeof(long));
    arrays = calloc(nthings ? nthings : 1, sizeof(*arrays));
    targeted = calloc(set->n ? set->n : 1, 1);
    scratch = malloc(DETECT_STAT_POOL_MAX * sizeof(double));
    if (!old_to_new || !arrays || !targeted || !scratch)
        goto fail;
    ti = 0;
    HASH_ITER(hh, d->things, th, tmp)
    {
        arrays[ti] = calloc(nslots ? nslots : 1, sizeof(struct detect_bstate));
        if (!arrays[ti])
            goto fail;
        ti++;
    }
    /* map unchanged behaviors (same profile, same definition) */
    for (size_t i = 0; i < d->nslots; i++) {
        old_to_new[i] = -1;
        for (size_t j = 0; j < nslots; j++)
            if (!strcmp(d->slots[i].p->name, slots[j].p->name) &&
                behavior_equal(d->slots[i].b, slots[j].b)) {
                old_to_new[i] = (long)j;
                if (slots[j].stat && d->slots[i].stat) {
                    struct detect_stat *s = slots[j].stat;
                    slots[j].stat = d->slots[i].stat;
                    d->slots[i].stat = s;
                }
                break;
            }
    }
    /* commit: move states, invalidate the rest */
    ti = 0;
    HASH_ITER(hh, d->things, th, tmp)
    {
        struct detect_bstate *ns = arrays[ti++];
        th->nalarms = 0;
        for (size_t i = 0; i < d->nslots; i++) {
            struct detect_bstate *os = &th->s[i];
            if (old_to_new[i] >= 0) {
                ns[old_to_new[i]] = *os;
                th->nalarms += os->v.in_alarm;
                continue;
            }
            if (violation_invalidate(&os->v) == VIOLATION_ALARM_INVALIDATED)
                emit(ev, VIOLATION_ALARM_INVALIDATED, th->name, d->slots[i].p, d->slots[i].b,
                     &os->v, now_ms, NULL);
            free(os->ext);
        }
        free(th->s);
        th->s = ns;
    }
    slots_free(d->slots, d->nslots);
    index_free(d->by_metric, d->nby_metric);
    free(d->profile_first);
    free(d->targeted);
    free(d->scratch);
    free(old_to_new);
    free(arrays);
    *old = d->set;
    d->set = *set;
    profile_set_init(set);
    /* slots point into the set's profiles: the struct moved, the array did not */
    d->slots = slots;
    d->nslots = nslots;
    d->profile_first = first;
    d->by_metric = ix;
    d->nby_metric = nix;
    d->targeted = targeted;
    d->scratch = scratch;
    return 0;
fail:
    for (size_t i = 0; arrays && i < nthings; i++)
        free(arrays[i]);
    free(arrays);
    free(old_to_new);
    free(targeted);
    free(scratch);
    slots_free(slots, nslots);
    index_free(ix, nix);
    free(first);
    return CORDON_ENOMEM;
}

/* ============================================================================
 * Targeting
 * ========================================================================== */

static bool profile_targets(const struct profile *p, const struct detect_thing *t)
{
    for (size_t i = 0; i < p->ntargets; i++) {
        const struct profile_target *tg = &p->targets[i];
        switch (tg->kind) {
        case PROFILE_TARGET_ALL:
            return true;
        case PROFILE_TARGET_REGISTERED:
            if (t->registered)
                return true;
            break;
        case PROFILE_TARGET_UNREGISTERED:
            if (!t->registered)
                return true;
            break;
        case PROFILE_TARGET_GROUP:
            for (size_t g = 0; g < t->ngroups; g++)
                if (!strcmp(t->groups[g], tg->group))
                    return true;
            break;
        }
    }
    return false;
}

static struct detect_thing_state *thing_find(const struct detect *d, const char *name)
{
    struct detect_thing_state *th = NULL;
    HASH_FIND(hh, d->things, name, strlen(name), th);
    return th;
}

static struct detect_thing_state *thing_get(struct detect *d, const char *name)
{
    struct detect_thing_state *th = thing_find(d, name);

    if (th)
        return th;
    th = calloc(1, sizeof(*th));
    if (!th)
        return NULL;
    th->name = strdup(name);
    th->s = calloc(d->nslots ? d->nslots : 1, sizeof(*th->s));
    if (!th->name || !th->s) {
        free(th->name);
        free(th->s);
        free(th);
        return NULL;
    }
    HASH_ADD_KEYPTR(hh, d->things, th->name, strlen(th->name), th);
    return th;
}

/* Invalidate the alarms of profile pidx for th. */
static int invalidate_profile(struct detect *d, struct detect_thing_state *th, size_t pidx,
                              int64_t now_ms, struct detect_events *ev)
{
    int result = 0;
    for (size_t i = d->profile_first[pidx]; i < d->profile_first[pidx + 1]; i++) {
        struct detect_bstate *s = &th->s[i];
        if (violation_invalidate(&s->v) == VIOLATION_ALARM_INVALIDATED) {
            th->nalarms--;
            if (!result)
                result = emit(ev, VIOLATION_ALARM_INVALIDATED, th->name, d->slots[i].p,
                              d->slots[i].b, &s->v, now_ms, NULL);
        }
    }
    return result;
}

/* Fill d->targeted for t and invalidate alarms of untargeted profiles. */
static int target(struct detect *d, struct detect_thing_state *th, const struct detect_thing *t,
                  int64_t now_ms, struct detect_events *ev)
{
    int result = 0;
    for (size_t i = 0; i < d->set.n; i++) {
        d->targeted[i] = profile_targets(&d->set.v[i], t);
        if (!d->targeted[i] && th->nalarms && !result)
            result = invalidate_profile(d, th, i, now_ms, ev);
    }
    return result;
}

/* ============================================================================
 * Evaluation
 * ========================================================================== */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Add a value to the pool and return whether a threshold is available. */
static bool stat_update(struct detect *d, struct detect_stat *st, uint32_t duration_s,
                        int64_t now_ms, double v, double percentile)
{
    int64_t horizon = now_ms - (int64_t)duration_s * 1000;

    while (st->n && st->t[st->head] <= horizon) {
        if (st->v[st->head] < 0)
            st->negatives--;
        st->head = (st->head + 1) % DETECT_STAT_POOL_MAX;
        st->n--;
        st->dirty = true;
    }
    if (st->n == DETECT_STAT_POOL_MAX) { /* full: drop the oldest */
        if (st->v[st->head] < 0)
            st->negatives--;
        st->head = (st->head + 1) % DETECT_STAT_POOL_MAX;
        st->n--;
    }
    {
        uint32_t at = (st->head + st->n) % DETECT_STAT_POOL_MAX;
        st->v[at] = v;
        st->t[at] = now_ms;
        st->n++;
        if (v < 0)
            st->negatives++;
        st->dirty = true;
    }
    if (st->negatives)
        return false;
    if (st->dirty && (!st->valid || st->n <= DETECT_STAT_EXACT_MAX ||
                      now_ms - st->computed_at >= DETECT_STAT_REFRESH_MS)) {
        /* nearest rank: the smallest value with at least p% of the pool at or below it */
        size_t rank;
        for (uint32_t i = 0; i < st->n; i++)
            d->scratch[i] = st->v[(st->head + i) % DETECT_STAT_POOL_MAX];
        qsort(d->scratch, st->n, sizeof(double), cmp_double);
        rank = (size_t)ceil(percentile / 100.0 * st->n);
        if (rank < 1)
            rank = 1;
        if (rank > st->n)
            rank = st->n;
        st->threshold = d->scratch[rank - 1];
        st->valid = true;
        st->dirty = false;
        st->computed_at = now_ms;
    }
    return st->valid;
}

static double ml_k(enum behavior_confidence c)
{
    switch (c) {
    case BEHAVIOR_CONFIDENCE_LOW:
        return 2.0;
    case BEHAVIOR_CONFIDENCE_MEDIUM:
        return 3.0;
    default:
        return 4.0;
    }
}

#define ML_ALPHA (1.0 / 32)

static void ml_learn(struct detect_ml *m, double x)
{
    if (m->n == 0) {
        m->mean = x;
        m->var = 0;
    } else if (m->n < DETECT_ML_WARMUP) {
        /* plain running mean/variance while warming up */
        double delta = x - m->mean;
        m->mean += delta / (m->n + 1);
        m->var += (delta * (x - m->mean) - m->var) / (m->n + 1);
    } else {
        double delta = x - m->mean;
        m->mean += ML_ALPHA * delta;
        m->var = (1 - ML_ALPHA) * (m->var + ML_ALPHA * delta * delta);
    }
    if (m->n < UINT32_MAX)
        m->n++;
}

static bool ml_anomalous(const struct detect_ml *m, enum behavior_confidence c, double x)
{
    double sd = sqrt(m->var > 0 ? m->var : 0);
    double floor = fabs(m->mean) * 0.05;
    if (floor < 1.0)
        floor = 1.0;
    if (sd < floor)
        sd = floor;
    return x > m->mean + ml_k(c) * sd;
}

static int eval_slot(struct detect *d, struct detect_thing_state *th, size_t i,
                     const struct metric_datapoint *dp, int64_t now_ms, struct detect_events *ev)
{
    const struct detect_slot *slot = &d->slots[i];
    const struct behavior *b = slot->b;
    struct detect_bstate *s = &th->s[i];
    struct metric_datapoint val = *dp;
    enum violation_event_type t;
    bool violating;
    bool scalar = val.type == METRIC_TYPE_COUNT || val.type == METRIC_TYPE_NUMBER;

    if (scalar && (b->kind == BEHAVIOR_ML || (b->c.duration_s && b->def.delta)) && !s->ext) {
        s->ext = calloc(1, sizeof(*s->ext));
        if (!s->ext)
            return CORDON_ENOMEM;
        behavior_window_init(&s->ext->w);
    }
    if (scalar && b->c.duration_s && b->def.delta) {
        double sum =
            behavior_window_add(&s->ext->w, b->c.duration_s, now_ms, behavior_scalar(&val));
        /* saturate: a sum at or past 2^64 converted as is is undefined and wrapped to a small
         * count on x86, so one huge delta slipped under the rule */
        if (val.type == METRIC_TYPE_COUNT)
            val.count = !(sum >= 0)                     ? 0
                        : sum >= 18446744073709551616.0 ? UINT64_MAX
                                                        : (uint64_t)sum;
        else
            val.number = sum;
    }
    switch (b->kind) {
    case BEHAVIOR_RULE:
        violating = behavior_violates(b, &val);
        break;
    case BEHAVIOR_STATISTICAL:
        if (!scalar)
            return 0;
        if (!stat_update(d, slot->stat, b->c.duration_s, now_ms, behavior_scalar(&val),
                         b->c.percentile)) {
            s->v.last_datapoint_ms = now_ms; /* seen, but not evaluated */
            return 0;
        }
        violating = behavior_compare(b->c.op, behavior_scalar(&val), slot->stat->threshold);
        break;
    case BEHAVIOR_ML: {
        double x;
        if (!scalar)
            return 0;
        x = behavior_scalar(&val);
        if (s->ext->ml.n < DETECT_ML_WARMUP) { /* PENDING_BUILD */
            ml_learn(&s->ext->ml, x);
            s->v.last_datapoint_ms = now_ms;
            return 0;
        }
        violating = ml_anomalous(&s->ext->ml, b->c.confidence, x);
        if (!violating)
            ml_learn(&s->ext->ml, x); /* anomalies do not move the baseline */
        break;
    }
    default:
        return 0;
    }
    t = violation_datapoint(&s->v, violating, behavior_to_alarm(b), behavior_to_clear(b), now_ms,
                            &d->idgen);
    if (t == VIOLATION_NONE)
        return 0;
    if (t == VIOLATION_IN_ALARM)
        th->nalarms++;
    else
        th->nalarms--;
    return emit(ev, t, th->name, slot->p, b, &s->v, now_ms, &val);
}

int detect_eval_report(struct detect *d, const struct detect_thing *t, const struct report *r,
                       int64_t now_ms, struct detect_events *ev)
{
    struct detect_thing_state *th = thing_get(d, t->name);
    int result;

    if (!th)
        return CORDON_ENOMEM;
    th->last_seen_ms = now_ms;
    result = target(d, th, t, now_ms, ev);
    for (size_t pi = 0; !result && pi < d->set.n; pi++) {
        if (!d->targeted[pi])
            continue;
        for (size_t i = d->profile_first[pi]; !result && i < d->profile_first[pi + 1]; i++) {
            const struct behavior *b = d->slots[i].b;
            struct metric_datapoint dp;
            if (!b->def.device_side || b->dimension)
                continue;
            if (!metric_extract(&b->def, r, &dp))
                continue; /* no datapoint */
            result = eval_slot(d, th, i, &dp, now_ms, ev);
        }
    }
    return result;
}

int detect_eval_metric(struct detect *d, const struct detect_thing *t, const char *metric,
                       const char *dimension, const struct metric_datapoint *dp, int64_t now_ms,
                       struct detect_events *ev)
{
    const struct detect_metric_index *m = NULL;
    struct detect_thing_state *th;
    int result;

    for (size_t i = 0; i < d->nby_metric; i++)
        if (!strcmp(d->by_metric[i].metric, metric))
            m = &d->by_metric[i];
    if (!m)
        return metric_find(NULL, metric, strlen(metric)) ? 0 : CORDON_ENOTFOUND;
    th = thing_get(d, t->name);
    if (!th)
        return CORDON_ENOMEM;
    th->last_seen_ms = now_ms;
    result = target(d, th, t, now_ms, ev);
    for (uint32_t k = 0; !result && k < m->n; k++) {
        size_t i = m->slots[k];
        const struct behavior *b = d->slots[i].b;
        if (!d->targeted[d->slots[i].pidx])
            continue;
        if ((b->dimension == NULL) != (dimension == NULL))
            continue;
        if (b->dimension && strcmp(b->dimension, dimension) != 0)
            continue;
        if (dp->type != b->def.type)
            return CORDON_EINVAL;
        result = eval_slot(d, th, i, dp, now_ms, ev);
    }
    return result;
}

int detect_thing_retarget(struct detect *d, const struct detect_thing *t, int64_t now_ms,
                          struct detect_events *ev)
{
    struct detect_thing_state *th = thing_find(d, t->name);
    if (!th)
        return 0;
    return target(d, th, t, now_ms, ev);
}

int detect_thing_remove(struct detect *d, const char *name, int64_t now_ms,
                        struct detect_events *ev)
{
    struct detect_thing_state *th = thing_find(d, name);
    int result = 0;

    if (!th)
        return CORDON_ENOTFOUND;
    for (size_t pi = 0; !result && th->nalarms && pi < d->set.n; pi++)
        result = invalidate_profile(d, th, pi, now_ms, ev);
    if (result)
        return result;
    HASH_DEL(d->things, th);
    thing_free(th, d->nslots);
    return 0;
}

int detect_sweep(struct detect *d, int64_t now_ms, struct detect_events *ev)
{
    struct detect_thing_state *th, *tmp;
    int result = 0;

    HASH_ITER(hh, d->things, th, tmp)
    {
        if (!th->nalarms)
            continue;
        for (size_t i = 0; i < d->nslots; i++) {
            struct detect_bstate *s = &th->s[i];
            if (!violation_silent(&s->v, now_ms, d->silence_ms))
                continue;
            violation_invalidate(&s->v);
            th->nalarms--;
            if (!result)
                result = emit(ev, VIOLATION_ALARM_INVALIDATED, th->name, d->slots[i].p,
                              d->slots[i].b, &s->v, now_ms, NULL);
        }
    }
    return result;
}

int detect_set_verification(struct detect *d, const char *thing, const char *violation_id,
                            enum violation_verification v)
{
    struct detect_thing_state *th = thing_find(d, thing);
    uint8_t id[16];

    if (!th || violation_id_parse(violation_id, strlen(violation_id), id))
        return CORDON_ENOTFOUND;
    for (size_t i = 0; i < d->nslots; i++)
        if (th->s[i].v.in_alarm && !memcmp(th->s[i].v.id, id, 16)) {
            th->s[i].v.verification = (uint8_t)v;
            return 0;
        }
    return CORDON_ENOTFOUND;
}

size_t detect_thing_count(const struct detect *d)
{
    return HASH_COUNT(d->things);
}

size_t detect_active_alarms(const struct detect *d, const char *thing)
{
    struct detect_thing_state *th = thing_find(d, thing);
    return th ? th->nalarms : 0;
}

void detect_thing_foreach(const struct detect *d, void (*fn)(void *ctx, const char *thing),
                          void *ctx)
{
    struct detect_thing_state *th, *tmp;
    HASH_ITER(hh, d->things, th, tmp)
    {
        fn(ctx, th->name);
    }
}

int detect_ml_status(const struct detect *d, const char *thing, const char *profile,
                     const char *behavior, uint32_t *datapoints)
{
    struct detect_thing_state *th = thing_find(d, thing);
    for (size_t i = 0; i < d->nslots; i++) {
        const struct detect_slot *s = &d->slots[i];
        if (s->b->kind != BEHAVIOR_ML || strcmp(s->p->name, profile) != 0 ||
            strcmp(s->b->name, behavior) != 0)
            continue;
        uint32_t n = th && th->s[i].ext ? th->s[i].ext->ml.n : 0;
        if (datapoints)
            *datapoints = n;
        return n >= DETECT_ML_WARMUP ? DETECT_ML_ACTIVE : DETECT_ML_PENDING_BUILD;
    }
    return CORDON_ENOTFOUND;
}

/* ============================================================================
 * JSON
 * ========================================================================== */

static int add_ip(struct buf *out, const struct report_ip *ip)
{
    char tmp[64];
    if (!inet_ntop(ip->family == 6 ? AF_INET6 : AF_INET, ip->addr, tmp, sizeof(tmp)))
        strcpy(tmp, "?");
    return buf_printf(out, "\"%s\"", tmp);
}

int detect_value_json(const struct metric_datapoint *dp, struct buf *out)
{
    int result = buf_printf(out, "{\"%s\":", metric_type_value_key(dp->type));

    switch (dp->type) {
    case METRIC_TYPE_COUNT:
        if (!result)
            result = buf_printf(out, "%llu", (unsigned long long)dp->count);
        break;
    case METRIC_TYPE_NUMBER:
        if (!result)
            result = buf_add_double(out, dp->number);
        break;
    case METRIC_TYPE_PORTS: {
        uint64_t seen[65536 / 64];
        bool firstp = true;
        memset(seen, 0, sizeof(seen));
        if (!result)
            result = buf_addc(out, '[');
        for (uint32_t i = 0; !result && i < dp->n; i++) {
            uint16_t p = dp->ports[i].port;
            if (seen[p >> 6] >> (p & 63) & 1)
                continue; /* the same port on several interfaces */
            seen[p >> 6] |= UINT64_C(1) << (p & 63);
            result = buf_printf(out, firstp ? "%u" : ",%u", p);
            firstp = false;
        }
        if (!result)
            result = buf_addc(out, ']');
        break;
    }
    case METRIC_TYPE_IPS:
        if (!result)
            result = buf_addc(out, '[');
        for (uint32_t i = 0; !result && i < dp->n; i++) {
            if (i)
                result = buf_addc(out, ',');
            if (!result)
                result = add_ip(out, dp->conns ? &dp->conns[i].remote : &dp->ips[i]);
        }
        if (!result)
            result = buf_addc(out, ']');
        break;
    case METRIC_TYPE_NUMBERS:
        if (!result)
            result = buf_addc(out, '[');
        for (uint32_t i = 0; !result && i < dp->n; i++) {
            if (i)
                result = buf_addc(out, ',');
            if (!result)
                result = buf_add_double(out, dp->numbers[i]);
        }
        if (!result)
            result = buf_addc(out, ']');
        break;
    case METRIC_TYPE_STRINGS:
        if (!result)
            result = buf_addc(out, '[');
        for (uint32_t i = 0; !result && i < dp->n; i++) {
            if (i)
                result = buf_addc(out, ',');
            if (!result)
                result = buf_add_json_string(out, dp->strpool + dp->strs[i].off, dp->strs[i].len);
        }
        if (!result)
            result = buf_addc(out, ']');
        break;
    }
    if (!result)
        result = buf_addc(out, '}');
    return result;
}

int detect_event_json(const struct detect_event *e, struct buf *out)
{
    int result =
        buf_printf(out, "{\"violationEventTime\":%lld,\"thingName\":", (long long)e->time_ms);

    if (!result)
        result = buf_add_json_string(out, e->thing, strlen(e->thing));
    if (!result)
        result = buf_adds(out, ",\"securityProfileName\":");
    if (!result)
        result = buf_add_json_string(out, e->profile->name, strlen(e->profile->name));
    if (!result)
        result = buf_adds(out, ",\"behavior\":");
    if (!result)
        result = behavior_json(e->behavior, out);
    if (!result)
        result =
            buf_printf(out, ",\"violationEventType\":\"%s\"", violation_event_type_name(e->type));
    if (!result && e->has_value) {
        result = buf_adds(out, ",\"metricValue\":");
        if (!result)
            result = detect_value_json(&e->value, out);
    }
    if (!result)
        result = buf_printf(out, ",\"violationId\":\"%s\",\"violationStartTime\":%lld",
                            e->violation_id, (long long)e->alarm_since_ms);
    if (!result)
        result = buf_printf(out, ",\"verificationState\":\"%s\"",
                            violation_verification_name(e->verification));
    if (!result && e->confidence != BEHAVIOR_CONFIDENCE_NONE)
        result = buf_printf(out, ",\"violationEventAdditionalInfo\":{\"confidenceLevel\":\"%s\"}",
                            behavior_confidence_name(e->confidence));
    if (!result)
        result = buf_addc(out, '}');
    return result;
}

/* ============================================================================
 * State export / import
 * ========================================================================== */

int detect_thing_export(const struct detect *d, const char *thing, struct buf *out)
{
    struct detect_thing_state *th = thing_find(d, thing);
    bool first = true;
    int result;

    if (!th)
        return CORDON_ENOTFOUND;
    result = buf_adds(out, "{\"thing\":");
    if (!result)
        result = buf_add_json_string(out, th->name, strlen(th->name));
    if (!result)
        result = buf_printf(out, ",\"lastSeen\":%lld,\"behaviors\":[", (long long)th->last_seen_ms);
    for (size_t i = 0; !result && i < d->nslots; i++) {
        const struct detect_bstate *s = &th->s[i];
        char id[VIOLATION_ID_LEN + 1];
        if (!s->v.last_datapoint_ms && !s->v.in_alarm && !s->ext)
            continue;
        violation_id_format(s->v.id, id);
        if (!first)
            result = buf_addc(out, ',');
        first = false;
        if (!result)
            result = buf_adds(out, "{\"profile\":");
        if (!result)
            result = buf_add_json_string(out, d->slots[i].p->name, strlen(d->slots[i].p->name));
        if (!result)
            result = buf_adds(out, ",\"behavior\":");
        if (!result)
            result = buf_add_json_string(out, d->slots[i].b->name, strlen(d->slots[i].b->name));
        if (!result)
            result = buf_printf(out,
                                ",\"inAlarm\":%s,\"badStreak\":%u,\"goodStreak\":%u,"
                                "\"lastDatapoint\":%lld,\"alarmSince\":%lld,\"violationId\":\"%s\","
                                "\"verification\":\"%s\"",
                                s->v.in_alarm ? "true" : "false", s->v.bad_streak, s->v.good_streak,
                                (long long)s->v.last_datapoint_ms, (long long)s->v.alarm_since_ms,
                                id, violation_verification_name(s->v.verification));
        if (!result && s->ext) {
            result =
                buf_printf(out, ",\"window\":{\"head\":%lld,\"sum\":[", (long long)s->ext->w.head);
            for (int k = 0; !result && k < BEHAVIOR_WINDOW_BUCKETS; k++) {
                if (k)
                    result = buf_addc(out, ',');
                if (!result)
                    result = buf_add_double(out, s->ext->w.sum[k]);
            }
            if (!result)
                result = buf_printf(out, "]},\"ml\":{\"n\":%u,\"mean\":", s->ext->ml.n);
            if (!result)
                result = buf_add_double(out, s->ext->ml.mean);
            if (!result)
                result = buf_adds(out, ",\"var\":");
            if (!result)
                result = buf_add_double(out, s->ext->ml.var);
            if (!result)
                result = buf_addc(out, '}');
        }
        if (!result)
            result = buf_addc(out, '}');
    }
    if (!result)
        result = buf_adds(out, "]}");
    return result;
}

static int import_entry(struct detect *d, struct detect_thing_state *th, json_t *e, size_t idx,
                        struct cordon_diag *diag)
{
    const char *pname = json_string_value(json_object_get(e, "profile"));
    const char *bname = json_string_value(json_object_get(e, "behavior"));
    const char *vid = json_string_value(json_object_get(e, "violationId"));
    const char *ver = json_string_value(json_object_get(e, "verification"));
    json_t *win = json_object_get(e, "window"), *ml = json_object_get(e, "ml");
    struct detect_bstate *s = NULL;
    size_t i;
    int vv;

    if (!pname || !bname || !vid || !ver || !json_is_boolean(json_object_get(e, "inAlarm"))) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                        "behaviors[%zu]: expected profile, behavior, inAlarm, violationId, "
                        "verification",
                        idx);
        return CORDON_EINVAL;
    }
    for (i = 0; i < d->nslots; i++)
        if (!strcmp(d->slots[i].p->name, pname) && !strcmp(d->slots[i].b->name, bname)) {
            s = &th->s[i];
            break;
        }
    if (!s)
        return 0; /* behavior gone */
    vv = violation_verification_parse(ver, strlen(ver));
    if (violation_id_parse(vid, strlen(vid), s->v.id) || vv < 0) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                        "behaviors[%zu]: bad violationId or verification", idx);
        return CORDON_EINVAL;
    }
    if (s->v.in_alarm)
        th->nalarms--;
    s->v.in_alarm = json_is_true(json_object_get(e, "inAlarm"));
    th->nalarms += s->v.in_alarm;
    s->v.bad_streak = (uint8_t)json_integer_value(json_object_get(e, "badStreak"));
    s->v.good_streak = (uint8_t)json_integer_value(json_object_get(e, "goodStreak"));
    s->v.last_datapoint_ms = json_integer_value(json_object_get(e, "lastDatapoint"));
    s->v.alarm_since_ms = json_integer_value(json_object_get(e, "alarmSince"));
    s->v.verification = (uint8_t)vv;
    if (json_is_object(win) || json_is_object(ml)) {
        json_t *sum = json_object_get(win, "sum");
        if (!s->ext) {
            s->ext = calloc(1, sizeof(*s->ext));
            if (!s->ext)
                return CORDON_ENOMEM;
            behavior_window_init(&s->ext->w);
        }
        if (json_is_array(sum) && json_array_size(sum) == BEHAVIOR_WINDOW_BUCKETS) {
            s->ext->w.head = json_integer_value(json_object_get(win, "head"));
            s->ext->w.total = 0;
            for (int k = 0; k < BEHAVIOR_WINDOW_BUCKETS; k++) {
                s->ext->w.sum[k] = json_number_value(json_array_get(sum, k));
                s->ext->w.total += s->ext->w.sum[k];
            }
        }
        s->ext->ml.n = (uint32_t)json_integer_value(json_object_get(ml, "n"));
        s->ext->ml.mean = json_number_value(json_object_get(ml, "mean"));
        s->ext->ml.var = json_number_value(json_object_get(ml, "var"));
    }
    return 0;
}

int detect_thing_import(struct detect *d, const char *json, size_t len, struct cordon_diag *diag)
{
    json_error_t err;
    json_t *root = json_loadb(json, len, 0, &err), *list;
    const char *name;
    struct detect_thing_state *th;
    int result = 0;

    cordon_diag_clear(diag);
    if (!root) {
        cordon_diag_set(diag, "InvalidPayload", (size_t)err.position, 0, 0, "byte %d: %s",
                        err.position, err.text);
        return CORDON_EINVAL;
    }
    name = json_string_value(json_object_get(root, "thing"));
    list = json_object_get(root, "behaviors");
    if (!name || !json_is_array(list)) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0, "expected {\"thing\":…,\"behaviors\":[…]}");
        result = CORDON_EINVAL;
        goto out;
    }
    th = thing_get(d, name);
    if (!th) {
        result = CORDON_ENOMEM;
        goto out;
    }
    th->last_seen_ms = json_integer_value(json_object_get(root, "lastSeen"));
    for (size_t i = 0; !result && i < json_array_size(list); i++)
        result = import_entry(d, th, json_array_get(list, i), i, diag);
out:
    json_decref(root);
    return result;
}
