/*
 * runbooks.c — runbook documents (versions) and durable executions in
 * cordond (issue 6), the shell around lib/runbook_exec.h
 * (docs/runbooks.md §9 "In cordond").
 *
 * Storage (store documents, JSON):
 *   kind "runbook"          name NAME       {name, latest, versions:[{version, createdAt}]}
 *   kind "runbook-version"  name NAME/N     {name, version, content, createdAt}
 *   kind "runbook-exec"     name EXEC_ID    {id, document, version, incidentId, mode,
 *                                            createdAt, updatedAt, view, state}
 * `state` is runbook_exec_to_json(); `view` is what the API shows (status,
 * current step, records, outputs, failure).
 *
 * Protocol: every engine call (start, result, timer, signal, recover) is
 * followed by persist() in the turn's transaction; the new effects are
 * queued in memory and run from a 0 ms uv_timer, i.e. in a later loop turn,
 * after that transaction was committed. A crash between the commit and the
 * effect loses nothing: the stored state says which action was awaited and
 * runbook_exec_recover() re-emits waits and retries (or fails) actions.
 */
#include "broker.h"
#include "buf.h"
#include "control.h"
#include "cordon.h"
#include "http.h"
#include "incidents.h"
#include "log.h"
#include "modules.h"
#include "outbox.h"
#include "registry.h"
#include "runbook_doc.h"
#include "runbook_exec.h"
#include "runbooks.h"
#include "server.h"
#include "timers.h"
#include "webclient.h"

#include <curl/curl.h>

#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define RUNBOOK_STDERR_MAX          (64 * 1024) /* script stderr kept (tail for messages) */
#define RUNBOOK_STDOUT_MAX          (RUNBOOK_SCRIPT_PAYLOAD_MAX_BYTES + 1024)
#define RUNBOOK_EXIT_GRACE_MS       2000          /* wait for pipes to close after the exit */
#define RUNBOOK_VERSIONS_MAX        1000          /* versions kept per document */
#define RUNBOOK_FUNCTION_SCRIPT_MAX (1024 * 1024) /* a registered function's script file */
#define RUNBOOK_BASH                "/bin/bash"
#define RUNBOOK_TIMER_KIND          "runbook"
#define RUNBOOK_LIST_MAX            1000

/* Weak so that this module links and works without the incident module. */
json_t *incidents_involved_things(struct server *s, const char *incident_id) __attribute__((weak));
void incidents_note_runbook(struct server *s, const char *incident_id, const char *execution_id,
                            const char *step, const char *status, const char *message)
    __attribute__((weak));
void incidents_note_quarantine(struct server *s, const char *incident_id, const char *thing,
                               bool enforced) __attribute__((weak));
void incidents_note_release(struct server *s, const char *incident_id, const char *thing)
    __attribute__((weak));
int incidents_api_update(struct server *s, const json_t *params, json_t **response, char *err,
                         size_t errlen) __attribute__((weak));
int incidents_api_timeline_event(struct server *s, const json_t *params, json_t **response,
                                 char *err, size_t errlen) __attribute__((weak));
int incidents_api_related_items(struct server *s, const json_t *params, json_t **response,
                                char *err, size_t errlen) __attribute__((weak));

/* The python driver: reads {script, handler, payload, context} on stdin, runs
 * Handler(events, context) like AWS, writes the return value as JSON on the
 * original stdout (the handler's own prints go to stderr). */
static const char PY_DRIVER[] =
    "import sys, json\n"
    "d = json.load(sys.stdin)\n"
    "out = sys.stdout\n"
    "sys.stdout = sys.stderr\n"
    "g = {'__name__': 'cordon_script'}\n"
    "exec(compile(d['script'], '<script>', 'exec'), g)\n"
    "fn = g.get(d.get('handler') or 'script_handler')\n"
    "if not callable(fn):\n"
    "    sys.stderr.write('handler %s is not defined by the script\\n' % d.get('handler'))\n"
    "    sys.exit(2)\n"
    "r = fn(d.get('payload'), d.get('context') or {})\n"
    "out.write(json.dumps(r))\n"
    "out.flush()\n";

struct rb_exec {
    char id[RUNBOOK_EXEC_ID_MAX + 1];
    char document[RUNBOOK_NAME_MAX + 1];
    int version;
    char incident[256];
    char mode[16];
    int64_t created_at;
    struct runbook_doc *doc;
    struct runbook_exec *x;
    struct rb_exec *next;
};

struct rb_queued {
    char exec_id[RUNBOOK_EXEC_ID_MAX + 1];
    char incident[256];      /* the execution's incident ("" none), valid after it finished */
    struct runbook_effect e; /* args owned */
    struct rb_queued *next;
};

struct rb_proc {
    struct runbooks *rb;
    char exec_id[RUNBOOK_EXEC_ID_MAX + 1];
    char effect_id[RUNBOOK_EFFECT_ID_MAX];
    bool bash;
    uv_process_t proc;
    uv_pipe_t in, out, err;
    uv_timer_t timer;
    uv_write_t wreq;
    char *input;
    struct buf obuf, ebuf;
    bool exited, out_eof, err_eof, timed_out, cancelled, done, too_big;
    int64_t exit_status;
    int term_signal;
    int64_t timeout_ms;
    int nopen;     /* handles whose close callback has not run */
    bool released; /* proc_close was called */
    struct rb_proc *next;
};

struct runbooks {
    uv_timer_t kick; /* first member: the close callback frees the struct */
    struct server *s;
    struct rb_exec *execs;
    struct rb_queued *qhead, *qtail;
    struct rb_proc *procs;
    unsigned counter;
};

static struct runbooks *g_rb; /* one per process; the loop owns it */

/* ---- store helpers ---------------------------------------------------------------------- */

static int doc_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    (void)kind;
    (void)name;
    *(json_t **)ctx = json_loads(body, 0, NULL);
    return 0;
}

static json_t *doc_get(struct server *s, const char *kind, const char *name)
{
    json_t *j = NULL;
    if (store_doc_get(s->store, kind, name, doc_cb, &j))
        return NULL;
    return j;
}

static int doc_put(struct server *s, const char *kind, const char *name, json_t *j)
{
    char *txt = json_dumps(j, JSON_COMPACT);
    int rc;
    if (!txt)
        return CORDON_ENOMEM;
    rc = store_doc_put(s->store, kind, name, txt, server_now(s));
    free(txt);
    return rc;
}

/* The text of document name at version (0 = latest). Caller decrefs *meta (version object). */
static json_t *version_get(struct server *s, const char *name, int version)
{
    char key[RUNBOOK_NAME_MAX + 32];
    if (version <= 0) {
        json_t *d = doc_get(s, "runbook", name);
        if (!d)
            return NULL;
        version = json_is_true(json_object_get(d, "deleted"))
                      ? 0
                      : (int)json_integer_value(json_object_get(d, "latest"));
        json_decref(d);
        if (!version)
            return NULL;
    }
    snprintf(key, sizeof(key), "%s/%d", name, version);
    return doc_get(s, "runbook-version", key);
}

/* The registered function names (config runbooks.functions), NULL-terminated. */
static const char *const *function_names(void)
{
    static const char *names[CONFIG_FUNCTIONS_MAX + 1];
    int n = 0;
    if (g_rb)
        for (; n < g_rb->s->cfg.runbook_nfunctions; n++)
            names[n] = g_rb->s->cfg.runbook_functions[n].name;
    names[n] = NULL;
    return names;
}

static int doc_load(const char *text, size_t len, const char *file, struct runbook_doc **out,
                    struct cordon_diag *diag)
{
    struct runbook_doc_options opt = { 0 };
    opt.json = -1;
    opt.functions = function_names();
    return runbook_doc_load(out, text, len, file, &opt, diag);
}

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > RUNBOOK_NAME_MAX)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

/*
 * Store a new version of document `name` unless its content equals the
 * latest. Validates first. Returns 0 with *version and *created, or an error
 * with diag (CORDON_EINVAL / CORDON_EUNSUPPORTED / CORDON_ETOOBIG).
 */
int runbooks_put_document(struct server *s, const char *name, const char *text, size_t len,
                          int *version, bool *created, struct cordon_diag *diag)
{
    struct runbook_doc *doc = NULL;
    json_t *meta, *latest = NULL, *ver;
    int rc, n;

    cordon_diag_clear(diag);
    *created = false;
    if (!name_ok(name)) {
        snprintf(diag->code, sizeof(diag->code), "invalid_name");
        snprintf(diag->message, sizeof(diag->message),
                 "document name must match [A-Za-z0-9_.-]{1,%d}", RUNBOOK_NAME_MAX);
        return CORDON_EINVAL;
    }
    rc = doc_load(text, len, name, &doc, diag);
    if (rc)
        return rc;
    runbook_doc_free(doc);
    meta = doc_get(s, "runbook", name);
    n = meta ? (int)json_integer_value(json_object_get(meta, "latest")) : 0;
    if (n > 0)
        latest = version_get(s, name, n);
    if (latest) {
        const char *old = json_string_value(json_object_get(latest, "content"));
        if (old && strlen(old) == len && memcmp(old, text, len) == 0 &&
            !json_is_true(json_object_get(meta, "deleted"))) {
            *version = n;
            json_decref(latest);
            json_decref(meta);
            return 0;
        }
        json_decref(latest);
    }
    if (n >= RUNBOOK_VERSIONS_MAX) {
        json_decref(meta);
        snprintf(diag->code, sizeof(diag->code), "too_many_versions");
        snprintf(diag->message, sizeof(diag->message), "document %s has %d versions (the limit)",
                 name, RUNBOOK_VERSIONS_MAX);
        return CORDON_ETOOBIG;
    }
    if (!meta)
        meta = json_pack("{s:s, s:i, s:[]}", "name", name, "latest", 0, "versions");
    n++;
    ver = json_pack("{s:s, s:i, s:s%, s:I}", "name", name, "version", n, "content", text, len,
                    "createdAt", (json_int_t)server_now(s));
    if (!meta || !ver) {
        json_decref(meta);
        json_decref(ver);
        return CORDON_ENOMEM;
    }
    {
        char key[RUNBOOK_NAME_MAX + 32];
        snprintf(key, sizeof(key), "%s/%d", name, n);
        rc = doc_put(s, "runbook-version", key, ver);
    }
    json_decref(ver);
    json_object_set_new(meta, "latest", json_integer(n));
    json_object_del(meta, "deleted");
    json_array_append_new(
        json_object_get(meta, "versions"),
        json_pack("{s:i, s:I}", "version", n, "createdAt", (json_int_t)server_now(s)));
    if (!rc)
        rc = doc_put(s, "runbook", name, meta);
    json_decref(meta);
    if (!rc) {
        *version = n;
        *created = true;
        log_info("runbook stored", "name=%s version=%d", name, n);
    }
    return rc;
}

int runbooks_delete_document(struct server *s, const char *name)
{
    json_t *meta = doc_get(s, "runbook", name);
    int rc;
    if (!meta)
        return CORDON_ENOTFOUND;
    json_object_set_new(meta, "deleted", json_true());
    rc = doc_put(s, "runbook", name, meta);
    json_decref(meta);
    if (!rc)
        log_info("runbook deleted", "name=%s", name);
    return rc;
}

struct each_ctx {
    struct server *s;
    int (*fn)(void *ctx, const char *name, const char *content);
    void *ctx;
    int rc;
};

static int each_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    struct each_ctx *c = ctx;
    json_t *meta = json_loads(body, 0, NULL), *ver;
    (void)kind;
    if (meta && !json_is_true(json_object_get(meta, "deleted")) && !c->rc) {
        ver = version_get(c->s, name, (int)json_integer_value(json_object_get(meta, "latest")));
        if (ver && json_string_value(json_object_get(ver, "content")))
            c->rc = c->fn(c->ctx, name, json_string_value(json_object_get(ver, "content")));
        json_decref(ver);
    }
    json_decref(meta);
    return 0;
}

int runbooks_each_latest(struct server *s,
                         int (*fn)(void *ctx, const char *name, const char *content), void *ctx)
{
    struct each_ctx c = { s, fn, ctx, 0 };
    int rc = store_docs_list(s->store, "runbook", each_cb, &c);
    return rc ? rc : c.rc;
}

/* ---- executions in memory --------------------------------------------------------------- */

static struct rb_exec *exec_find(struct runbooks *rb, const char *id)
{
    for (struct rb_exec *e = rb->execs; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return e;
    return NULL;
}

static void exec_unlink_free(struct runbooks *rb, struct rb_exec *e)
{
    for (struct rb_exec **pp = &rb->execs; *pp; pp = &(*pp)->next) {
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    }
    runbook_exec_free(e->x);
    runbook_doc_free(e->doc);
    free(e);
}

static json_t *exec_view(const struct rb_exec *e)
{
    const char *cur = runbook_exec_current_step(e->x);
    return json_pack(
        "{s:s, s:s, s:i, s:s?, s:s, s:s?, s:O, s:O, s:s, s:I}", "executionId", e->id, "document",
        e->document, "documentVersion", e->version, "incidentId", *e->incident ? e->incident : NULL,
        "status", runbook_status_name(runbook_exec_status(e->x)), "currentStep", cur,
        "stepExecutions", runbook_exec_records(e->x), "outputs", runbook_exec_outputs(e->x),
        "failureMessage", runbook_exec_failure(e->x), "createdAt", (json_int_t)e->created_at);
}

/* Write the execution's state and view in the turn's transaction. */
static int persist(struct server *s, struct rb_exec *e)
{
    json_t *state = NULL, *row;
    int rc = runbook_exec_to_json(e->x, &state);
    if (rc)
        return rc;
    row = json_pack("{s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:o, s:o}", "id", e->id, "document",
                    e->document, "version", e->version, "incidentId", e->incident, "mode", e->mode,
                    "createdAt", (json_int_t)e->created_at, "updatedAt", (json_int_t)server_now(s),
                    "view", exec_view(e), "state", state);
    if (!row)
        return CORDON_ENOMEM;
    rc = doc_put(s, "runbook-exec", e->id, row);
    json_decref(row);
    if (rc)
        log_error("runbook state not stored", "execution=%s error=%s", e->id, cordon_strerror(rc));
    return rc;
}

static void on_kick(uv_timer_t *t);

/* Queue fx's effects for e (moved out of fx), then arm the kick timer. */
static void enqueue(struct runbooks *rb, struct rb_exec *e, struct runbook_effects *fx)
{
    for (size_t i = 0; i < fx->n; i++) {
        struct rb_queued *q = calloc(1, sizeof(*q));
        if (!q) {
            log_error("runbook effect dropped", "execution=%s reason=ENOMEM", e->id);
            continue;
        }
        snprintf(q->exec_id, sizeof(q->exec_id), "%s", e->id);
        snprintf(q->incident, sizeof(q->incident), "%s", e->incident);
        q->e = fx->v[i];
        fx->v[i].args = NULL;
        if (rb->qtail)
            rb->qtail->next = q;
        else
            rb->qhead = q;
        rb->qtail = q;
    }
    runbook_effects_clear(fx);
    if (rb->qhead)
        uv_timer_start(&rb->kick, on_kick, 0, 0);
}

/* After an engine call: persist, queue effects, forget the execution when finished. */
static void after_call(struct runbooks *rb, struct rb_exec *e, struct runbook_effects *fx)
{
    persist(rb->s, e);
    enqueue(rb, e, fx);
    if (runbook_status_terminal(runbook_exec_status(e->x))) {
        log_info("runbook execution finished", "execution=%s status=%s", e->id,
                 runbook_status_name(runbook_exec_status(e->x)));
        if (*e->incident && incidents_note_runbook)
            incidents_note_runbook(rb->s, e->incident, e->id, "",
                                   runbook_status_name(runbook_exec_status(e->x)),
                                   runbook_exec_failure(e->x));
        /* queued effects of a finished execution still run (STATUS, CANCEL) by id */
        exec_unlink_free(rb, e);
    }
}

static void deliver(struct runbooks *rb, const char *exec_id, const char *effect_id,
                    const struct runbook_result *r)
{
    struct rb_exec *e = exec_find(rb, exec_id);
    struct runbook_effects fx;
    int rc;
    if (!e)
        return;
    runbook_effects_init(&fx);
    rc = runbook_exec_on_result(e->x, effect_id, r, server_now(rb->s), &fx);
    if (rc == CORDON_ENOTFOUND) {
        log_info("runbook result ignored", "execution=%s effect=%s reason=not_awaited", exec_id,
                 effect_id);
    } else if (rc) {
        log_error("runbook result failed", "execution=%s effect=%s error=%s", exec_id, effect_id,
                  cordon_strerror(rc));
    }
    after_call(rb, e, &fx);
    runbook_effects_free(&fx);
}

static void deliver_ok(struct runbooks *rb, const char *exec_id, const char *effect_id,
                       json_t *resp)
{
    struct runbook_result r = { .ok = true, .response = resp };
    deliver(rb, exec_id, effect_id, &r);
    json_decref(resp);
}

static void deliver_err(struct runbooks *rb, const char *exec_id, const char *effect_id,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void deliver_err(struct runbooks *rb, const char *exec_id, const char *effect_id,
                        const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct runbook_result r = { .ok = false, .error = msg };
    log_info("runbook action failed", "execution=%s effect=%s error=\"%s\"", exec_id, effect_id,
             msg);
    deliver(rb, exec_id, effect_id, &r);
}

/* ---- scripts ------------------------------------------------------------------------------ */

/* Every handle of p closes through here; p is freed after the last one, once released. */
static void proc_closed(uv_handle_t *h)
{
    struct rb_proc *p = h->data;
    if (--p->nopen > 0 || !p->released)
        return;
    buf_free(&p->obuf);
    buf_free(&p->ebuf);
    free(p->input);
    free(p);
}

static void proc_unlink(struct rb_proc *p)
{
    for (struct rb_proc **pp = &p->rb->procs; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
}

/* Forget p: close its handles (those not closing yet); freed by the last close callback. */
static void proc_close(struct rb_proc *p)
{
    uv_handle_t *hs[] = { (uv_handle_t *)&p->proc, (uv_handle_t *)&p->in, (uv_handle_t *)&p->out,
                          (uv_handle_t *)&p->err, (uv_handle_t *)&p->timer };
    proc_unlink(p);
    p->released = true;
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++)
        if (!uv_is_closing(hs[i]))
            uv_close(hs[i], proc_closed);
}

static void proc_kill(struct rb_proc *p)
{
    if (!p->exited && p->proc.pid > 0)
        kill(-p->proc.pid, SIGKILL); /* the whole process group (UV_PROCESS_DETACHED) */
}

static void proc_finish(struct rb_proc *p)
{
    struct runbooks *rb = p->rb;
    char exec_id[RUNBOOK_EXEC_ID_MAX + 1], effect_id[RUNBOOK_EFFECT_ID_MAX];
    char tail[512];
    size_t el;

    if (p->done)
        return;
    p->done = true;
    uv_timer_stop(&p->timer);
    store_doc_delete(rb->s->store, "runbook-proc", p->effect_id);
    snprintf(exec_id, sizeof(exec_id), "%s", p->exec_id);
    snprintf(effect_id, sizeof(effect_id), "%s", p->effect_id);
    el = p->ebuf.len;
    snprintf(tail, sizeof(tail), "%s",
             el > 400 ? p->ebuf.ptr + el - 400 : (p->ebuf.ptr ? p->ebuf.ptr : ""));
    for (char *c = tail; *c; c++)
        if (*c == '\n' || *c == '"')
            *c = ' ';
    log_info("runbook script ended", "execution=%s effect=%s status=%lld signal=%d", exec_id,
             effect_id, (long long)p->exit_status, p->term_signal);

    if (p->cancelled) {
        proc_close(p);
        return;
    }
    if (p->timed_out) {
        struct runbook_result r = { .ok = false, .timed_out = true };
        char msg[128];
        snprintf(msg, sizeof(msg), "script timed out after %lld s; its process group was killed",
                 (long long)(p->timeout_ms / 1000));
        r.error = msg;
        proc_close(p);
        deliver(rb, exec_id, effect_id, &r);
        return;
    }
    if (p->too_big) {
        proc_close(p);
        deliver_err(rb, exec_id, effect_id, "script output exceeds %d bytes",
                    RUNBOOK_SCRIPT_PAYLOAD_MAX_BYTES);
        return;
    }
    if (p->exit_status != 0 || p->term_signal) {
        int64_t st = p->exit_status;
        int sig = p->term_signal;
        proc_close(p);
        deliver_err(rb, exec_id, effect_id, "script failed (exit status %lld, signal %d): %s",
                    (long long)st, sig, tail);
        return;
    }
    {
        json_t *v = NULL;
        if (p->obuf.len)
            v = json_loadb(p->obuf.ptr, p->obuf.len, JSON_DECODE_ANY, NULL);
        if (!v && p->bash) {
            size_t n = p->obuf.len;
            while (n && (p->obuf.ptr[n - 1] == '\n' || p->obuf.ptr[n - 1] == '\r'))
                n--;
            v = json_stringn(p->obuf.ptr ? p->obuf.ptr : "", n);
        }
        if (!v && !p->bash) {
            proc_close(p);
            deliver_err(rb, exec_id, effect_id, "the handler's return value is not JSON");
            return;
        }
        proc_close(p);
        deliver_ok(rb, exec_id, effect_id, v);
    }
}

static void proc_maybe_finish(struct rb_proc *p)
{
    if (p->exited && p->out_eof && p->err_eof)
        proc_finish(p);
}

static void on_grace(uv_timer_t *t)
{
    proc_finish(t->data);
}

static void on_timeout(uv_timer_t *t)
{
    struct rb_proc *p = t->data;
    if (p->exited) { /* grace period over */
        proc_finish(p);
        return;
    }
    p->timed_out = true;
    log_info("runbook script timed out", "execution=%s effect=%s pid=%d", p->exec_id, p->effect_id,
             p->proc.pid);
    proc_kill(p);
}

static void on_proc_exit(uv_process_t *h, int64_t status, int sig)
{
    struct rb_proc *p = h->data;
    p->exited = true;
    p->exit_status = status;
    p->term_signal = sig;
    if (p->timed_out || p->cancelled)
        kill(-h->pid, SIGKILL); /* stragglers of the group */
    uv_timer_stop(&p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_grace, RUNBOOK_EXIT_GRACE_MS, 0);
    proc_maybe_finish(p);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char scratch[65536];
    (void)h;
    (void)hint;
    b->base = scratch;
    b->len = sizeof(scratch);
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
    struct rb_proc *p = st->data;
    bool is_out = st == (uv_stream_t *)&p->out;
    struct buf *bb = is_out ? &p->obuf : &p->ebuf;
    if (n > 0) {
        if (buf_add(bb, b->base, (size_t)n)) {
            if (is_out && !p->too_big) {
                p->too_big = true;
                proc_kill(p);
            }
        }
        return;
    }
    if (n < 0) {
        uv_read_stop(st);
        if (is_out)
            p->out_eof = true;
        else
            p->err_eof = true;
        proc_maybe_finish(p);
    }
}

static void on_written(uv_write_t *w, int status)
{
    struct rb_proc *p = w->data;
    (void)status;
    if (!uv_is_closing((uv_handle_t *)&p->in))
        uv_close((uv_handle_t *)&p->in, proc_closed); /* EOF on the script's stdin */
}

static bool runtime_is_bash(const char *rt)
{
    return rt && strcmp(rt, "bash") == 0;
}

/*
 * Run `script` (runtime python3* or bash) for effect `ef` with `payload` on
 * stdin; the result is delivered to the execution when the process ends.
 */
static void spawn_script(struct runbooks *rb, const char *exec_id, const struct runbook_effect *ef,
                         const char *rt, const char *script, const char *handler,
                         const json_t *payload)
{
    struct server *s = rb->s;
    bool bash = runtime_is_bash(rt);
    struct rb_proc *p;
    uv_process_options_t o = { 0 };
    uv_stdio_container_t io[3];
    char *argv[6];
    json_t *in;
    int rc;

    if (!script) {
        deliver_err(rb, exec_id, ef->id,
                    "only inline Script is supported (attachments are not run by cordond)");
        return;
    }
    p = calloc(1, sizeof(*p));
    if (!p) {
        deliver_err(rb, exec_id, ef->id, "out of memory");
        return;
    }
    p->rb = rb;
    p->bash = bash;
    snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id);
    snprintf(p->effect_id, sizeof(p->effect_id), "%s", ef->id);
    buf_init(&p->obuf, RUNBOOK_STDOUT_MAX);
    buf_init(&p->ebuf, RUNBOOK_STDERR_MAX);
    p->timeout_ms = ef->timeout_ms > 0 ? ef->timeout_ms : RUNBOOK_SCRIPT_MAX_SECONDS * 1000LL;
    if (p->timeout_ms > s->cfg.runbook_script_timeout_max_ms)
        p->timeout_ms = s->cfg.runbook_script_timeout_max_ms;
    if (bash) {
        in = json_incref((json_t *)payload);
        argv[0] = RUNBOOK_BASH;
        argv[1] = "-c";
        argv[2] = (char *)script; /* the document's program itself, never concatenated */
        argv[3] = "cordon-script";
        argv[4] = NULL;
    } else {
        in = json_pack("{s:s, s:s?, s:O?, s:{s:s, s:s}}", "script", script, "handler", handler,
                       "payload", payload, "context", "executionId", exec_id, "stepName", ef->step);
        argv[0] = s->cfg.runbook_python;
        argv[1] = "-I";
        argv[2] = "-c";
        argv[3] = (char *)PY_DRIVER;
        argv[4] = NULL;
    }
    p->input = in ? json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(in);
    if (!p->input)
        p->input = strdup("{}");

    uv_pipe_init(s->loop, &p->in, 0);
    uv_pipe_init(s->loop, &p->out, 0);
    uv_pipe_init(s->loop, &p->err, 0);
    uv_timer_init(s->loop, &p->timer);
    p->in.data = p->out.data = p->err.data = p->timer.data = p->proc.data = p;
    p->nopen = 5; /* in, out, err, timer, and the process handle (closed even if spawn fails) */
    io[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    io[0].data.stream = (uv_stream_t *)&p->in;
    io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[1].data.stream = (uv_stream_t *)&p->out;
    io[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[2].data.stream = (uv_stream_t *)&p->err;
    o.file = argv[0];
    o.args = argv;
    o.stdio = io;
    o.stdio_count = 3;
    o.exit_cb = on_proc_exit;
    o.flags = UV_PROCESS_DETACHED; /* own process group: a timeout kills all of it */
    {
        static char *env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", NULL };
        o.env = env;
    }
    p->next = rb->procs;
    rb->procs = p;
    rc = uv_spawn(s->loop, &p->proc, &o);
    if (rc) {
        p->done = true;
        p->exited = true;
        proc_close(p);
        deliver_err(rb, exec_id, ef->id, "cannot start %s: %s", argv[0], uv_strerror(rc));
        return;
    }
    log_info("runbook script started", "execution=%s effect=%s runtime=%s pid=%d", exec_id, ef->id,
             rt ? rt : "python3", p->proc.pid);
    {
        /* durable record of the process group: a restart kills it before retrying */
        json_t *row = json_pack("{s:i, s:s}", "pid", p->proc.pid, "execution", exec_id);
        if (row)
            doc_put(s, "runbook-proc", ef->id, row);
        json_decref(row);
    }
    uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
    uv_read_start((uv_stream_t *)&p->err, on_alloc, on_read);
    {
        uv_buf_t b = uv_buf_init(p->input, (unsigned)strlen(p->input));
        p->wreq.data = p;
        if (uv_write(&p->wreq, (uv_stream_t *)&p->in, &b, 1, on_written))
            uv_close((uv_handle_t *)&p->in, proc_closed);
    }
    uv_timer_start(&p->timer, on_timeout, (uint64_t)p->timeout_ms, 0);
}

static void cancel_effect(struct runbooks *rb, const char *effect_id)
{
    char key[RUNBOOK_EFFECT_ID_MAX + 8];
    for (struct rb_proc *p = rb->procs; p; p = p->next) {
        if (strcmp(p->effect_id, effect_id) == 0 && !p->done) {
            p->cancelled = true;
            log_info("runbook script cancelled", "effect=%s pid=%d", effect_id, p->proc.pid);
            proc_kill(p);
        }
    }
    snprintf(key, sizeof(key), "rb:%s", effect_id);
    timers_cancel(rb->s, key);
}

static void run_script(struct runbooks *rb, const char *exec_id, const struct runbook_effect *ef)
{
    spawn_script(rb, exec_id, ef, json_string_value(json_object_get(ef->args, "runtime")),
                 json_string_value(json_object_get(ef->args, "script")),
                 json_string_value(json_object_get(ef->args, "handler")),
                 json_object_get(ef->args, "inputPayload"));
}

/* ---- other effects ------------------------------------------------------------------------ */

static const char *incident_of(struct runbooks *rb, const char *exec_id, const json_t *args)
{
    const char *id = json_string_value(json_object_get(args, "incidentId"));
    struct rb_exec *e;
    if (id && *id)
        return id;
    e = exec_find(rb, exec_id);
    return e && *e->incident ? e->incident : NULL;
}

static int quarantine_things(struct runbooks *rb, const char *incident, const json_t *things,
                             bool release, char *err, size_t errlen)
{
    size_t i;
    const json_t *t;
    json_array_foreach(things, i, t)
    {
        const char *name = json_string_value(t);
        int rc;
        if (!name) {
            snprintf(err, errlen, "thing names must be strings");
            return CORDON_EINVAL;
        }
        rc = release ? registry_release(rb->s, name, "") : registry_quarantine(rb->s, name, "");
        if (rc) {
            snprintf(err, errlen, "%s of %s failed: %s", release ? "release" : "quarantine", name,
                     cordon_strerror(rc));
            return rc;
        }
        if (incident && !release && incidents_note_quarantine)
            incidents_note_quarantine(rb->s, incident, name, true);
        if (incident && release && incidents_note_release)
            incidents_note_release(rb->s, incident, name);
        log_info(release ? "runbook released thing" : "runbook quarantined thing",
                 "thing=%s incident=%s", name, incident ? incident : "");
    }
    return 0;
}

/* Read a registered function's script (small, local: read on the loop). */
static int read_small_file(const char *path, struct buf *out)
{
    char chunk[4096];
    size_t n;
    int rc = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return CORDON_ENOTFOUND;
    while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = buf_add(out, chunk, n);
    if (ferror(f))
        rc = CORDON_EINVAL;
    fclose(f);
    if (!rc)
        rc = buf_addc(out, '\0');
    return rc;
}

static void invoke_function(struct runbooks *rb, const char *exec_id,
                            const struct runbook_effect *ef)
{
    const char *fn = json_string_value(json_object_get(ef->args, "functionName"));
    const json_t *payload = json_object_get(ef->args, "payload");
    char err[512];

    if (fn &&
        (strcmp(fn, "cordon-contain") == 0 || strcmp(fn, "aws-iot-incident-containment") == 0)) {
        const char *inc = json_string_value(json_object_get(payload, "incidentId"));
        json_t *things;
        if (!inc)
            inc = json_string_value(json_object_get(payload, "IncidentId"));
        if (!inc || !*inc) {
            deliver_err(rb, exec_id, ef->id, "%s: the payload has no incidentId", fn);
            return;
        }
        if (!incidents_involved_things) {
            deliver_err(rb, exec_id, ef->id,
                        "%s: the incident module is not available in this cordond", fn);
            return;
        }
        things = incidents_involved_things(rb->s, inc);
        if (!things) {
            deliver_err(rb, exec_id, ef->id, "%s: no incident %s", fn, inc);
            return;
        }
        if (quarantine_things(rb, inc, things, false, err, sizeof(err))) {
            json_decref(things);
            deliver_err(rb, exec_id, ef->id, "%s: %s", fn, err);
            return;
        }
        deliver_ok(rb, exec_id, ef->id, json_pack("{s:o}", "thingsDetected", things));
        return;
    }
    for (int i = 0; fn && i < rb->s->cfg.runbook_nfunctions; i++) {
        const struct config_function *f = &rb->s->cfg.runbook_functions[i];
        struct buf text;
        if (strcmp(f->name, fn) != 0)
            continue;
        buf_init(&text, RUNBOOK_FUNCTION_SCRIPT_MAX);
        if (read_small_file(f->script, &text)) {
            buf_free(&text);
            deliver_err(rb, exec_id, ef->id, "function %s: cannot read %s", fn, f->script);
            return;
        }
        spawn_script(rb, exec_id, ef, f->runtime, text.ptr, f->handler, payload);
        buf_free(&text);
        return;
    }
    deliver_err(rb, exec_id, ef->id, "function %s is not registered in cordond", fn ? fn : "?");
}

/* A parameter by its AWS (PascalCase) or camelCase name. */
static const char *pstr(const json_t *params, const char *pascal)
{
    const char *v = json_string_value(json_object_get(params, pascal));
    char camel[64];
    if (v)
        return v;
    snprintf(camel, sizeof(camel), "%s", pascal);
    camel[0] = (char)(camel[0] >= 'A' && camel[0] <= 'Z' ? camel[0] + 32 : camel[0]);
    return json_string_value(json_object_get(params, camel));
}

static int list_violations_cb(void *ctx, const struct store_violation *v)
{
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:I}", "violationId", v->id, "thingName",
                                         v->thing, "securityProfileName", v->profile,
                                         "violationStartTime", (json_int_t)v->started_at));
    return 0;
}

static void call_api(struct runbooks *rb, const char *exec_id, const struct runbook_effect *ef)
{
    const char *svc = json_string_value(json_object_get(ef->args, "service"));
    const char *api = json_string_value(json_object_get(ef->args, "api"));
    const json_t *pa = json_object_get(ef->args, "params");
    const char *inc = incident_of(rb, exec_id, ef->args);
    int rc;

    if (!svc || !api) {
        deliver_err(rb, exec_id, ef->id, "CALL_API without service or api");
        return;
    }
    if (strcmp(svc, "iot") == 0 && (strcmp(api, "AddThingToThingGroup") == 0 ||
                                    strcmp(api, "RemoveThingFromThingGroup") == 0)) {
        const char *g = pstr(pa, "ThingGroupName"), *t = pstr(pa, "ThingName");
        bool add = api[0] == 'A';
        if (!g || !t) {
            deliver_err(rb, exec_id, ef->id, "iot %s needs ThingGroupName and ThingName", api);
            return;
        }
        rc = add ? registry_member_add(rb->s, g, t, "") : registry_member_remove(rb->s, g, t, "");
        if (rc) {
            deliver_err(rb, exec_id, ef->id, "iot %s %s/%s: %s", api, g, t, cordon_strerror(rc));
            return;
        }
        if (strcmp(g, "QUARANTINED") == 0 && inc) {
            if (add && incidents_note_quarantine)
                incidents_note_quarantine(rb->s, inc, t, true);
            if (!add && incidents_note_release)
                incidents_note_release(rb->s, inc, t);
        }
        log_info("runbook api call", "api=iot:%s group=%s thing=%s", api, g, t);
        deliver_ok(rb, exec_id, ef->id, json_object());
        return;
    }
    if (strcmp(svc, "iot") == 0 && strcmp(api, "ListActiveViolations") == 0) {
        const char *t = pstr(pa, "ThingName");
        struct store_violation_filter f;
        json_t *arr = json_array();
        memset(&f, 0, sizeof(f));
        f.active = 1;
        f.thing = t;
        f.limit = 250;
        rc = store_violations_list(rb->s->store, &f, list_violations_cb, arr);
        if (rc) {
            json_decref(arr);
            deliver_err(rb, exec_id, ef->id, "iot ListActiveViolations: %s", cordon_strerror(rc));
            return;
        }
        deliver_ok(rb, exec_id, ef->id, json_pack("{s:o}", "activeViolations", arr));
        return;
    }
    if (strcmp(svc, "iot") == 0 && strcmp(api, "UpdateCertificate") == 0) {
        /* Cordon keeps one credential per thing: certificateId is the thing name */
        const char *id = pstr(pa, "CertificateId"), *st = pstr(pa, "NewStatus");
        struct control_cmd cmd = { 0 };
        char key[RUNBOOK_EFFECT_ID_MAX + 300];
        if (!id || !st || !registry_thing(rb->s, id)) {
            deliver_err(rb, exec_id, ef->id,
                        "iot UpdateCertificate: certificateId must name a thing (Cordon keeps "
                        "one credential per thing), got %s",
                        id ? id : "nothing");
            return;
        }
        if (strcmp(st, "INACTIVE") && strcmp(st, "REVOKED")) {
            deliver_err(rb, exec_id, ef->id,
                        "iot UpdateCertificate: newStatus %s is not supported (INACTIVE or "
                        "REVOKED revoke the thing's credential; issue a new one to restore)",
                        st);
            return;
        }
        cmd.type = CONTROL_CMD_REVOKE;
        snprintf(cmd.thing, sizeof(cmd.thing), "%s", id);
        snprintf(key, sizeof(key), "ctl:revoke:%s:%s", id, ef->id);
        rc = store_credential_delete(rb->s->store, id);
        if (rc == CORDON_ENOTFOUND)
            rc = 0;
        if (!rc)
            rc = broker_command(rb->s, &cmd, key, "", "REVOKE_CREDENTIALS", "{}");
        if (rc) {
            deliver_err(rb, exec_id, ef->id, "iot UpdateCertificate %s: %s", id,
                        cordon_strerror(rc));
            return;
        }
        log_info("runbook api call", "api=iot:UpdateCertificate thing=%s status=%s", id, st);
        deliver_ok(rb, exec_id, ef->id, json_object());
        return;
    }
    if (strcmp(svc, "ssm-incidents") == 0) {
        int (*fn)(struct server *, const json_t *, json_t **, char *, size_t) = NULL;
        json_t *resp = NULL;
        char err[1024] = "";
        if (strcmp(api, "UpdateIncidentRecord") == 0)
            fn = incidents_api_update;
        else if (strcmp(api, "CreateTimelineEvent") == 0)
            fn = incidents_api_timeline_event;
        else if (strcmp(api, "UpdateRelatedItems") == 0)
            fn = incidents_api_related_items;
        if (fn) {
            rc = fn(rb->s, pa, &resp, err, sizeof(err));
            if (rc) {
                deliver_err(rb, exec_id, ef->id, "ssm-incidents %s: %s", api,
                            err[0] ? err : cordon_strerror(rc));
                return;
            }
            log_info("runbook api call", "api=ssm-incidents:%s", api);
            deliver_ok(rb, exec_id, ef->id, resp);
            return;
        }
    }
    deliver_err(rb, exec_id, ef->id, "%s %s is not available in this cordond", svc, api);
}

/*
 * cordon:httpRequest: any of GET, POST, PUT, PATCH, DELETE, HEAD on the
 * loop's curl multi. The result is {StatusCode, Headers, Body}; the body is
 * kept up to RUNBOOK_HTTP_BODY_MAX bytes (the interpreter caps responses at
 * 200 KiB) and a status outside 2xx fails the attempt (docs/runbooks.md).
 */
#define RUNBOOK_HTTP_BODY_MAX    (128 * 1024)
#define RUNBOOK_HTTP_HEADERS_MAX (16 * 1024)

struct http_call {
    struct runbooks *rb;
    char exec_id[RUNBOOK_EXEC_ID_MAX + 1];
    char effect_id[RUNBOOK_EFFECT_ID_MAX];
    struct buf body;    /* response body, capped */
    struct buf headers; /* raw response header lines, capped */
    bool truncated;
};

static size_t http_on_body(char *ptr, size_t size, size_t n, void *arg)
{
    struct http_call *c = arg;
    if (buf_add(&c->body, ptr, size * n))
        c->truncated = true; /* keep what fits; the rest is dropped */
    return size * n;
}

static size_t http_on_header(char *ptr, size_t size, size_t n, void *arg)
{
    struct http_call *c = arg;
    if (size * n >= 7 && !strncmp(ptr, "HTTP/", 5))
        buf_reset(&c->headers); /* a new response (after a 100 Continue) */
    else
        (void)buf_add(&c->headers, ptr, size * n);
    return size * n;
}

/* "Name: value\r\n" lines → {"name": "value"} (lower-case names, last one wins). */
static json_t *http_headers_json(const struct buf *h)
{
    json_t *o = json_object();
    const char *p = h->ptr ? h->ptr : "";
    while (o && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon && colon > p) {
            char name[128], value[1024];
            size_t nl = (size_t)(colon - p), vl;
            const char *v = colon + 1;
            while (v < p + len && (*v == ' ' || *v == '\t'))
                v++;
            vl = (size_t)(p + len - v);
            while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                vl--;
            if (nl < sizeof(name) && vl < sizeof(value)) {
                for (size_t i = 0; i < nl; i++)
                    name[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
                name[nl] = '\0';
                memcpy(value, v, vl);
                value[vl] = '\0';
                json_object_set_new(o, name, json_stringn_nocheck(value, vl));
            }
        }
        p = eol ? eol + 1 : p + len;
    }
    return o;
}

static void http_call_free(struct http_call *c)
{
    buf_free(&c->body);
    buf_free(&c->headers);
    free(c);
}

static void on_http_done(struct server *s, void *arg, long status, const char *error)
{
    struct http_call *c = arg;
    (void)s;
    if (status == 0) {
        deliver_err(c->rb, c->exec_id, c->effect_id, "HTTP request failed: %s",
                    error && *error ? error : "transport error");
    } else {
        json_t *body = json_stringn(c->body.ptr ? c->body.ptr : "", c->body.len);
        if (!body) /* not UTF-8: say so rather than pass bytes on */
            body = json_string("(response body is not UTF-8 text)");
        json_t *resp =
            json_pack("{s:i, s:o, s:o, s:b}", "StatusCode", (int)status, "Headers",
                      http_headers_json(&c->headers), "Body", body, "BodyTruncated", c->truncated);
        if (!resp)
            deliver_err(c->rb, c->exec_id, c->effect_id, "out of memory");
        else
            deliver_ok(c->rb, c->exec_id, c->effect_id, resp);
    }
    http_call_free(c);
}

static void http_request(struct runbooks *rb, const char *exec_id, const struct runbook_effect *ef)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
    const char *method = json_string_value(json_object_get(ef->args, "method"));
    const char *url = json_string_value(json_object_get(ef->args, "url"));
    const char *body = json_string_value(json_object_get(ef->args, "body"));
    json_t *hdrs = json_object_get(ef->args, "headers");
    struct curl_slist *list = NULL;
    struct http_call *c;
    char *data = NULL;
    CURL *easy;
    size_t m;
    const char *key;
    json_t *val;
    int rc;

    if (!method || !*method)
        method = "GET";
    for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
        if (!strcmp(method, methods[m]))
            break;
    if (m == sizeof(methods) / sizeof(methods[0])) {
        deliver_err(rb, exec_id, ef->id,
                    "HTTP method %s is not supported (GET, POST, PUT, PATCH, DELETE, HEAD)",
                    method);
        return;
    }
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
        deliver_err(rb, exec_id, ef->id, "Url: expected an http:// or https:// URL");
        return;
    }
    c = calloc(1, sizeof(*c));
    easy = curl_easy_init();
    if (!c || !easy) {
        free(c);
        if (easy)
            curl_easy_cleanup(easy);
        deliver_err(rb, exec_id, ef->id, "out of memory");
        return;
    }
    c->rb = rb;
    snprintf(c->exec_id, sizeof(c->exec_id), "%s", exec_id);
    snprintf(c->effect_id, sizeof(c->effect_id), "%s", ef->id);
    buf_init(&c->body, RUNBOOK_HTTP_BODY_MAX);
    buf_init(&c->headers, RUNBOOK_HTTP_HEADERS_MAX);

    json_object_foreach(hdrs, key, val)
    {
        const char *v = json_string_value(val);
        char line[2048];
        if (!v || strpbrk(key, "\r\n:") || strpbrk(v, "\r\n"))
            continue; /* no header injection */
        snprintf(line, sizeof(line), "%s: %s", key, v);
        struct curl_slist *n = curl_slist_append(list, line);
        if (n)
            list = n;
    }
    {
        char idem[RUNBOOK_EFFECT_ID_MAX + 32];
        snprintf(idem, sizeof(idem), "Idempotency-Key: %s", ef->id);
        struct curl_slist *n = curl_slist_append(list, idem);
        if (n)
            list = n;
    }
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                     ef->timeout_ms > 0 ? (long)ef->timeout_ms : (long)WEBCLIENT_TIMEOUT_MS);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET"))
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
    if (body && strcmp(method, "GET") && strcmp(method, "HEAD")) {
        data = strdup(body);
        if (!data) {
            curl_easy_cleanup(easy);
            curl_slist_free_all(list);
            http_call_free(c);
            deliver_err(rb, exec_id, ef->id, "out of memory");
            return;
        }
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(data));
    }
    rc = webclient_perform(rb->s, easy, list, data, on_http_done, c);
    if (rc) {
        http_call_free(c);
        deliver_err(rb, exec_id, ef->id, "HTTP request not started: %s", cordon_strerror(rc));
    }
}

static void run_effect(struct runbooks *rb, const char *exec_id, const char *incident,
                       const struct runbook_effect *ef)
{
    struct server *s = rb->s;
    char err[512];
    switch (ef->kind) {
    case RUNBOOK_EFFECT_RUN_SCRIPT:
        run_script(rb, exec_id, ef);
        break;
    case RUNBOOK_EFFECT_INVOKE_FUNCTION:
        invoke_function(rb, exec_id, ef);
        break;
    case RUNBOOK_EFFECT_CALL_API:
        call_api(rb, exec_id, ef);
        break;
    case RUNBOOK_EFFECT_HTTP_REQUEST:
        http_request(rb, exec_id, ef);
        break;
    case RUNBOOK_EFFECT_PUBLISH_MQTT: {
        const char *topic = json_string_value(json_object_get(ef->args, "topic"));
        const char *payload = json_string_value(json_object_get(ef->args, "payload"));
        int rc;
        if (!topic) {
            deliver_err(rb, exec_id, ef->id, "PUBLISH_MQTT without topic");
            break;
        }
        rc = outbox_add(s, "mqtt", ef->id, topic, payload ? payload : "",
                        payload ? strlen(payload) : 0);
        if (rc)
            deliver_err(rb, exec_id, ef->id, "publish not queued: %s", cordon_strerror(rc));
        else
            deliver_ok(rb, exec_id, ef->id, json_object());
        break;
    }
    case RUNBOOK_EFFECT_QUARANTINE:
    case RUNBOOK_EFFECT_RELEASE: {
        const json_t *things = json_object_get(ef->args, "things");
        bool rel = ef->kind == RUNBOOK_EFFECT_RELEASE;
        if (quarantine_things(rb, incident_of(rb, exec_id, ef->args), things, rel, err,
                              sizeof(err)))
            deliver_err(rb, exec_id, ef->id, "%s", err);
        else
            deliver_ok(rb, exec_id, ef->id, json_pack("{s:O}", "things", things));
        break;
    }
    case RUNBOOK_EFFECT_NOTIFY: {
        const char *msg = json_string_value(json_object_get(ef->args, "message"));
        const char *inc = incident_of(rb, exec_id, ef->args);
        log_info("runbook notify", "execution=%s step=%s message=\"%s\"", exec_id, ef->step,
                 msg ? msg : "");
        if (inc && incidents_note_runbook)
            incidents_note_runbook(s, inc, exec_id, ef->step, "Notify", msg ? msg : "");
        deliver_ok(rb, exec_id, ef->id, json_object());
        break;
    }
    case RUNBOOK_EFFECT_WAIT_UNTIL: {
        char key[RUNBOOK_EFFECT_ID_MAX + 8], payload[RUNBOOK_EXEC_ID_MAX + 32];
        snprintf(key, sizeof(key), "rb:%s", ef->id);
        snprintf(payload, sizeof(payload), "%s\n%lld", exec_id, (long long)ef->due_ms);
        timers_set(s, key, RUNBOOK_TIMER_KIND, ef->due_ms, payload);
        break;
    }
    case RUNBOOK_EFFECT_WAIT_SIGNAL:
        break;
    case RUNBOOK_EFFECT_CANCEL: {
        const char *id = json_string_value(json_object_get(ef->args, "effectId"));
        if (id)
            cancel_effect(rb, id);
        break;
    }
    case RUNBOOK_EFFECT_STATUS: {
        const char *st = json_string_value(json_object_get(ef->args, "status"));
        const char *msg = json_string_value(json_object_get(ef->args, "message"));
        const char *scope = json_string_value(json_object_get(ef->args, "scope"));
        log_info("runbook status", "execution=%s scope=%s step=%s status=%s", exec_id,
                 scope ? scope : "", ef->step, st ? st : "");
        if (*incident && incidents_note_runbook && scope && strcmp(scope, "step") == 0)
            incidents_note_runbook(s, incident, exec_id, ef->step, st ? st : "", msg ? msg : "");
        break;
    }
    }
}

static void on_kick(uv_timer_t *t)
{
    struct runbooks *rb = t->data;
    while (rb->qhead) {
        struct rb_queued *q = rb->qhead;
        rb->qhead = q->next;
        if (!rb->qhead)
            rb->qtail = NULL;
        run_effect(rb, q->exec_id, q->incident, &q->e);
        json_decref(q->e.args);
        free(q);
    }
}

static void on_timer(struct server *s, void *arg, const char *key, const char *payload)
{
    struct runbooks *rb = arg;
    char exec_id[RUNBOOK_EXEC_ID_MAX + 1];
    const char *nl = strchr(payload, '\n');
    size_t n = nl ? (size_t)(nl - payload) : strlen(payload);
    int64_t due = nl ? strtoll(nl + 1, NULL, 10) : 0, now = server_now(s);
    struct rb_exec *e;
    struct runbook_effects fx;
    (void)key;
    if (n >= sizeof(exec_id))
        return;
    memcpy(exec_id, payload, n);
    exec_id[n] = 0;
    e = exec_find(rb, exec_id);
    if (!e)
        return;
    runbook_effects_init(&fx);
    runbook_exec_on_timer(e->x, now > due ? now : due, &fx);
    after_call(rb, e, &fx);
    runbook_effects_free(&fx);
}

/* ---- start / signals ------------------------------------------------------------------------ */

static void new_exec_id(struct runbooks *rb, char *out, size_t len)
{
    unsigned char r[6] = { 0 };
    uv_random(NULL, NULL, r, sizeof(r), 0, NULL);
    snprintf(out, len, "exec-%llx-%02x%02x%02x%02x%02x%02x-%u",
             (unsigned long long)server_now(rb->s), r[0], r[1], r[2], r[3], r[4], r[5],
             ++rb->counter);
}

static void diag_set(struct cordon_diag *d, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void diag_set(struct cordon_diag *d, const char *code, const char *fmt, ...)
{
    va_list ap;
    cordon_diag_clear(d);
    snprintf(d->code, sizeof(d->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof(d->message), fmt, ap);
    va_end(ap);
}

static int start_mode(struct server *s, const char *name, const char *version, const json_t *params,
                      const char *incident_id, bool interactive, char *exec_id, size_t exec_id_len,
                      struct cordon_diag *diag)
{
    struct runbooks *rb = g_rb;
    json_t *ver, *resolved = NULL;
    struct rb_exec *e;
    struct runbook_exec_config cfg = { 0 };
    struct runbook_effects fx;
    const char *text;
    int vn = version && *version ? atoi(version) : 0, rc;

    cordon_diag_clear(diag);
    if (!rb)
        return CORDON_ESTATE;
    ver = name ? version_get(s, name, vn) : NULL;
    if (!ver) {
        diag_set(diag, "not_found", "no runbook %s%s%s", name ? name : "?", vn ? " version " : "",
                 vn ? version : "");
        return CORDON_ENOTFOUND;
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        json_decref(ver);
        return CORDON_ENOMEM;
    }
    snprintf(e->document, sizeof(e->document), "%s", name);
    e->version = (int)json_integer_value(json_object_get(ver, "version"));
    snprintf(e->incident, sizeof(e->incident), "%s", incident_id ? incident_id : "");
    snprintf(e->mode, sizeof(e->mode), "%s", interactive ? "Interactive" : "Auto");
    e->created_at = server_now(s);
    text = json_string_value(json_object_get(ver, "content"));
    rc = doc_load(text, strlen(text), name, &e->doc, diag);
    json_decref(ver);
    if (rc)
        goto fail;
    if (params && !json_is_object(params)) {
        diag_set(diag, "invalid_parameters", "parameters must be an object");
        rc = CORDON_EINVAL;
        goto fail;
    }
    rc = runbook_params_resolve(e->doc, params, &resolved, diag);
    if (rc && params) {
        struct cordon_diag d2;
        if (runbook_params_resolve_strings(e->doc, params, &resolved, &d2) == 0)
            rc = 0;
    }
    if (rc)
        goto fail;
    new_exec_id(rb, e->id, sizeof(e->id));
    cfg.account_id = "cordon";
    cfg.region = "local";
    cfg.interactive = interactive;
    rc = runbook_exec_new(&e->x, e->doc, e->id, resolved, &cfg, diag);
    json_decref(resolved);
    if (rc)
        goto fail;
    e->next = rb->execs;
    rb->execs = e;
    snprintf(exec_id, exec_id_len, "%s", e->id);
    log_info("runbook execution started", "execution=%s document=%s version=%d incident=%s", e->id,
             name, e->version, e->incident);
    runbook_effects_init(&fx);
    rc = runbook_exec_start(e->x, server_now(s), &fx);
    after_call(rb, e, &fx);
    runbook_effects_free(&fx);
    return rc;
fail:
    runbook_exec_free(e->x);
    runbook_doc_free(e->doc);
    free(e);
    return rc;
}

int runbooks_start(struct server *s, const char *name, const char *version, const json_t *params,
                   const char *incident_id, char *exec_id, size_t exec_id_len,
                   struct cordon_diag *diag)
{
    return start_mode(s, name, version, params, incident_id, false, exec_id, exec_id_len, diag);
}

/* ---- recovery -------------------------------------------------------------------------------- */

static int recover_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    json_t **arr = ctx;
    (void)kind;
    (void)name;
    json_t *j = json_loads(body, 0, NULL);
    if (!j)
        return 0;
    const char *st = json_string_value(json_object_get(json_object_get(j, "view"), "status"));
    if (st && (strcmp(st, "Success") == 0 || strcmp(st, "Failed") == 0 ||
               strcmp(st, "Cancelled") == 0 || strcmp(st, "TimedOut") == 0)) {
        json_decref(j);
        return 0;
    }
    json_array_append_new(*arr, j);
    return 0;
}

static int orphan_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    int pid = j ? (int)json_integer_value(json_object_get(j, "pid")) : 0;
    (void)kind;
    if (pid > 1 && kill(-pid, SIGKILL) == 0)
        log_info("runbook script of the previous run killed", "effect=%s pgid=%d", name, pid);
    json_decref(j);
    json_array_append_new(ctx, json_string(name));
    return 0;
}

/* Scripts still running from before a crash: kill their process groups, forget them. */
static void kill_orphans(struct runbooks *rb)
{
    json_t *names = json_array(), *n;
    size_t i;
    store_docs_list(rb->s->store, "runbook-proc", orphan_cb, names);
    json_array_foreach(names, i, n)
    {
        store_doc_delete(rb->s->store, "runbook-proc", json_string_value(n));
    }
    json_decref(names);
}

static void recover_all(struct runbooks *rb)
{
    struct server *s = rb->s;
    json_t *arr = json_array(), *row;
    size_t i;
    store_docs_list(s->store, "runbook-exec", recover_cb, &arr);
    json_array_foreach(arr, i, row)
    {
        struct cordon_diag diag;
        struct runbook_effects fx;
        struct rb_exec *e = calloc(1, sizeof(*e));
        const char *doc = json_string_value(json_object_get(row, "document"));
        json_t *ver;
        const char *text;
        if (!e || !doc)
            break;
        snprintf(e->id, sizeof(e->id), "%s", json_string_value(json_object_get(row, "id")));
        snprintf(e->document, sizeof(e->document), "%s", doc);
        e->version = (int)json_integer_value(json_object_get(row, "version"));
        snprintf(e->incident, sizeof(e->incident), "%s",
                 json_string_value(json_object_get(row, "incidentId"))
                     ? json_string_value(json_object_get(row, "incidentId"))
                     : "");
        snprintf(e->mode, sizeof(e->mode), "%s",
                 json_string_value(json_object_get(row, "mode"))
                     ? json_string_value(json_object_get(row, "mode"))
                     : "Auto");
        e->created_at = json_integer_value(json_object_get(row, "createdAt"));
        ver = version_get(s, doc, e->version);
        text = ver ? json_string_value(json_object_get(ver, "content")) : NULL;
        if (!text || doc_load(text, strlen(text), doc, &e->doc, &diag) ||
            runbook_exec_from_json(&e->x, e->doc, json_object_get(row, "state"), NULL, &diag)) {
            log_error("runbook execution not restored", "execution=%s document=%s version=%d",
                      e->id, doc, e->version);
            json_decref(ver);
            runbook_doc_free(e->doc);
            free(e);
            continue;
        }
        json_decref(ver);
        e->next = rb->execs;
        rb->execs = e;
        runbook_effects_init(&fx);
        runbook_exec_recover(e->x, server_now(s), &fx);
        log_info("runbook execution restored", "execution=%s status=%s step=%s", e->id,
                 runbook_status_name(runbook_exec_status(e->x)),
                 runbook_exec_current_step(e->x) ? runbook_exec_current_step(e->x) : "");
        after_call(rb, e, &fx);
        runbook_effects_free(&fx);
    }
    json_decref(arr);
}

/* ---- API ------------------------------------------------------------------------------------- */

static void diag_error(struct http_res *res, int rc, const struct cordon_diag *d)
{
    int status = rc == CORDON_ENOTFOUND ? 404 : rc == CORDON_ETOOBIG ? 413 : 422;
    char lc[32];
    snprintf(lc, sizeof(lc), "%d:%d:", d->line, d->column);
    if (d->line > 0 && !strstr(d->message, lc))
        http_error(res, status, *d->code ? d->code : "invalid_document", "%d:%d: %s", d->line,
                   d->column, d->message);
    else
        http_error(res, status, *d->code ? d->code : "invalid_document", "%s",
                   *d->message ? d->message : cordon_strerror(rc));
}

static void api_put(struct server *s, struct http_req *req, struct http_res *res)
{
    struct cordon_diag d;
    int version = 0, rc;
    bool created;
    rc = runbooks_put_document(s, req->params[0], req->body, req->body_len, &version, &created, &d);
    if (rc) {
        diag_error(res, rc, &d);
        return;
    }
    http_json(res, created ? 201 : 200,
              json_pack("{s:s, s:i, s:b}", "name", req->params[0], "version", version, "created",
                        created));
}

static void api_validate(struct server *s, struct http_req *req, struct http_res *res)
{
    struct cordon_diag d;
    struct runbook_doc *doc = NULL;
    const char *file = http_header(req, "X-Cordon-Filename");
    int rc = doc_load(req->body, req->body_len, file ? file : "document", &doc, &d);
    (void)s;
    if (rc) {
        diag_error(res, rc, &d);
        return;
    }
    http_json(res, 200,
              json_pack("{s:b, s:i, s:i, s:s?}", "valid", 1, "steps", (int)doc->nsteps,
                        "parameters", (int)doc->nparams, "description", doc->description));
    runbook_doc_free(doc);
}

static int list_docs_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    json_t *j = json_loads(body, 0, NULL);
    (void)kind;
    (void)name;
    if (j && json_is_true(json_object_get(j, "deleted"))) {
        json_decref(j);
    } else if (j) {
        json_object_del(j, "versions");
        json_array_append_new(ctx, j);
    }
    return 0;
}

static void api_list(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *arr = json_array();
    (void)req;
    store_docs_list(s->store, "runbook", list_docs_cb, arr);
    http_json(res, 200, json_pack("{s:o}", "runbooks", arr));
}

static void api_get(struct server *s, struct http_req *req, struct http_res *res)
{
    const char *v = http_query(req, "version");
    json_t *meta = doc_get(s, "runbook", req->params[0]), *ver;
    if (meta && json_is_true(json_object_get(meta, "deleted")) && !v) {
        json_decref(meta);
        meta = NULL;
    }
    if (!meta) {
        http_error(res, 404, "not_found", "no runbook %s", req->params[0]);
        return;
    }
    ver = version_get(s, req->params[0], v ? atoi(v) : 0);
    if (!ver) {
        json_decref(meta);
        http_error(res, 404, "not_found", "runbook %s has no version %s", req->params[0],
                   v ? v : "?");
        return;
    }
    json_object_set(ver, "latest", json_object_get(meta, "latest"));
    json_object_set(ver, "versions", json_object_get(meta, "versions"));
    json_decref(meta);
    http_json(res, 200, ver);
}

static void api_exec_start(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *b = http_body_json(req, res);
    struct cordon_diag d;
    char id[RUNBOOK_EXEC_ID_MAX + 1], vbuf[32] = "";
    const char *doc, *mode, *inc;
    const json_t *v;
    int rc;
    if (!b)
        return;
    doc = json_string_value(json_object_get(b, "document"));
    mode = json_string_value(json_object_get(b, "mode"));
    inc = json_string_value(json_object_get(b, "incidentId"));
    v = json_object_get(b, "version");
    if (json_is_integer(v))
        snprintf(vbuf, sizeof(vbuf), "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        snprintf(vbuf, sizeof(vbuf), "%s", json_string_value(v));
    if (!doc) {
        json_decref(b);
        http_error(res, 400, "invalid_request", "document is required");
        return;
    }
    if (mode && strcmp(mode, "Auto") && strcmp(mode, "Interactive")) {
        json_decref(b);
        http_error(res, 400, "invalid_request", "mode must be Auto or Interactive");
        return;
    }
    rc = start_mode(s, doc, vbuf, json_object_get(b, "parameters"), inc,
                    mode && strcmp(mode, "Interactive") == 0, id, sizeof(id), &d);
    json_decref(b);
    if (rc) {
        diag_error(res, rc, &d);
        return;
    }
    http_json(res, 201, json_pack("{s:s}", "executionId", id));
}

struct list_ctx {
    json_t *arr;
    const char *status, *document;
};

static int list_exec_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    struct list_ctx *c = ctx;
    json_t *j = json_loads(body, 0, NULL), *view;
    (void)kind;
    (void)name;
    if (!j)
        return 0;
    view = json_object_get(j, "view");
    const char *st = json_string_value(json_object_get(view, "status"));
    const char *doc = json_string_value(json_object_get(view, "document"));
    if ((!c->status || (st && strcmp(st, c->status) == 0)) &&
        (!c->document || (doc && strcmp(doc, c->document) == 0)) &&
        json_array_size(c->arr) < RUNBOOK_LIST_MAX) {
        json_t *o = json_deep_copy(view);
        json_object_del(o, "stepExecutions");
        json_array_append_new(c->arr, o);
    }
    json_decref(j);
    return 0;
}

static void api_exec_list(struct server *s, struct http_req *req, struct http_res *res)
{
    struct list_ctx c = { json_array(), http_query(req, "status"), http_query(req, "document") };
    store_docs_list(s->store, "runbook-exec", list_exec_cb, &c);
    http_json(res, 200, json_pack("{s:o}", "executions", c.arr));
}

static void api_exec_get(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *row = doc_get(s, "runbook-exec", req->params[0]);
    if (!row) {
        http_error(res, 404, "not_found", "no execution %s", req->params[0]);
        return;
    }
    http_json(res, 200, json_incref(json_object_get(row, "view")));
    json_decref(row);
}

static int signal_kind(const char *t, enum runbook_signal_kind *k)
{
    static const struct {
        const char *n;
        enum runbook_signal_kind k;
    } m[] = { { "Approve", RUNBOOK_SIGNAL_APPROVE },    { "Reject", RUNBOOK_SIGNAL_REJECT },
              { "Resume", RUNBOOK_SIGNAL_RESUME },      { "StartStep", RUNBOOK_SIGNAL_START_STEP },
              { "StopStep", RUNBOOK_SIGNAL_STOP_STEP }, { "Cancel", RUNBOOK_SIGNAL_CANCEL } };
    for (size_t i = 0; t && i < sizeof(m) / sizeof(m[0]); i++)
        if (strcmp(t, m[i].n) == 0) {
            *k = m[i].k;
            return 0;
        }
    return CORDON_EINVAL;
}

static void api_exec_signal(struct server *s, struct http_req *req, struct http_res *res)
{
    struct runbooks *rb = g_rb;
    json_t *b = http_body_json(req, res);
    struct rb_exec *e;
    struct runbook_signal sig = { 0 };
    struct runbook_effects fx;
    struct cordon_diag d;
    const char *type, *step, *cur;
    char sxid[256] = "";
    int rc;
    if (!b)
        return;
    type = json_string_value(json_object_get(b, "type"));
    step = json_string_value(json_object_get(b, "step"));
    if (signal_kind(type, &sig.kind)) {
        json_decref(b);
        http_error(res, 400, "invalid_signal",
                   "type must be Resume, Approve, Reject, StartStep, StopStep or Cancel");
        return;
    }
    e = exec_find(rb, req->params[0]);
    if (!e) {
        json_t *row = doc_get(s, "runbook-exec", req->params[0]);
        json_decref(b);
        if (row)
            http_error(res, 409, "execution_finished", "execution %s has finished", req->params[0]);
        else
            http_error(res, 404, "not_found", "no execution %s", req->params[0]);
        json_decref(row);
        return;
    }
    cur = runbook_exec_current_step(e->x);
    if (step &&
        (sig.kind == RUNBOOK_SIGNAL_RESUME || sig.kind == RUNBOOK_SIGNAL_APPROVE ||
         sig.kind == RUNBOOK_SIGNAL_REJECT) &&
        (!cur || strcmp(cur, step) != 0)) {
        http_error(res, 409, "wrong_step", "step %s is not waiting (current step: %s)", step,
                   cur ? cur : "none");
        json_decref(b);
        return;
    }
    sig.approver = req->token_name ? req->token_name : "";
    sig.comment = json_string_value(json_object_get(b, "comment"));
    sig.step_name = step;
    if (sig.kind == RUNBOOK_SIGNAL_STOP_STEP) {
        const char *sx = json_string_value(json_object_get(b, "stepExecutionId"));
        const json_t *recs = runbook_exec_records(e->x), *r;
        size_t i;
        if (!sx) {
            json_array_foreach(recs, i, r)
            {
                const char *n = json_string_value(json_object_get(r, "StepName"));
                if (n && (!step || strcmp(n, step) == 0)) {
                    const char *id = json_string_value(json_object_get(r, "StepExecutionId"));
                    snprintf(sxid, sizeof(sxid), "%s", id ? id : "");
                }
            }
            sx = sxid;
        }
        sig.step_execution_id = sx;
    }
    runbook_effects_init(&fx);
    rc = runbook_exec_signal(e->x, &sig, server_now(s), &fx, &d);
    if (rc) {
        json_decref(b);
        runbook_effects_free(&fx);
        http_error(res, rc == CORDON_ESTATE ? 409 : 422, *d.code ? d.code : "signal_refused", "%s",
                   *d.message ? d.message : cordon_strerror(rc));
        return;
    }
    log_info("runbook signal", "execution=%s type=%s by=%s", e->id, type, sig.approver);
    json_decref(b);
    {
        char id[RUNBOOK_EXEC_ID_MAX + 1];
        snprintf(id, sizeof(id), "%s", e->id);
        after_call(rb, e, &fx);
        runbook_effects_free(&fx);
        json_t *row = doc_get(s, "runbook-exec", id);
        http_json(res, 200, row ? json_incref(json_object_get(row, "view")) : json_object());
        json_decref(row);
    }
}

/* ---- module ---------------------------------------------------------------------------------- */

int runbooks_init(struct server *s)
{
    struct runbooks *rb = calloc(1, sizeof(*rb));
    int rc = 0;
    if (!rb)
        return CORDON_ENOMEM;
    rb->s = s;
    g_rb = rb;
    uv_timer_init(s->loop, &rb->kick);
    rb->kick.data = rb;
    rc |= timers_kind(s, RUNBOOK_TIMER_KIND, on_timer, rb);
    rc |= http_route(s, "POST", "/api/v1/runbooks/validate", HTTP_ROLE_VIEWER, api_validate);
    rc |= http_route(s, "GET", "/api/v1/runbooks", HTTP_ROLE_VIEWER, api_list);
    rc |= http_route(s, "GET", "/api/v1/runbooks/{name}", HTTP_ROLE_VIEWER, api_get);
    rc |= http_route(s, "PUT", "/api/v1/runbooks/{name}", HTTP_ROLE_ADMIN, api_put);
    rc |= http_route(s, "POST", "/api/v1/executions", HTTP_ROLE_RESPONDER, api_exec_start);
    rc |= http_route(s, "GET", "/api/v1/executions", HTTP_ROLE_VIEWER, api_exec_list);
    rc |= http_route(s, "GET", "/api/v1/executions/{id}", HTTP_ROLE_VIEWER, api_exec_get);
    rc |= http_route(s, "POST", "/api/v1/executions/{id}/signals", HTTP_ROLE_RESPONDER,
                     api_exec_signal);
    if (rc)
        return CORDON_ENOMEM;
    kill_orphans(rb);
    recover_all(rb);
    return 0;
}

void runbooks_free(struct server *s)
{
    struct runbooks *rb = g_rb;
    (void)s;
    if (!rb)
        return;
    while (rb->procs) {
        struct rb_proc *p = rb->procs;
        p->cancelled = true;
        p->done = true;
        proc_kill(p);
        proc_close(p); /* unlinks; freed by the close callbacks */
    }
    while (rb->qhead) {
        struct rb_queued *q = rb->qhead;
        rb->qhead = q->next;
        json_decref(q->e.args);
        free(q);
    }
    while (rb->execs)
        exec_unlink_free(rb, rb->execs);
    uv_close((uv_handle_t *)&rb->kick, (uv_close_cb)free); /* kick is rb's first member */
    g_rb = NULL;
}
