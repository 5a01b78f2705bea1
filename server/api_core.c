/*
 * api_core.c — GET /healthz, GET /metrics, GET /api/v1/openapi.json.
 */
#include "cordon.h"
#include "http.h"
#include "metrics_prom.h"
#include "modules.h"
#include "mqtt.h"
#include "server.h"

#include <string.h>

static void api_healthz(struct server *s, struct http_req *req, struct http_res *res)
{
    (void)req;
    http_json(res, 200,
              json_pack("{s:s,s:s,s:s,s:i}", "status", "ok", "version", CORDON_VERSION, "mqtt",
                        mqtt_connected(s) ? "connected" : "disconnected", "schemaVersion",
                        store_schema_version(s->store)));
}

static void api_metrics(struct server *s, struct http_req *req, struct http_res *res)
{
    (void)req;
    res->status = 200;
    res->content_type = "text/plain; version=0.0.4";
    metrics_render(s, &res->body);
}

/* ---- OpenAPI: generated from the route table ------------------------------ */

struct oa_ctx {
    json_t *paths;
};

static void oa_route(void *ctx, const char *method, const char *pattern, enum http_role role)
{
    struct oa_ctx *c = ctx;
    json_t *item = json_object_get(c->paths, pattern), *op, *params, *responses;
    char m[8];
    size_t i;

    if (!item) {
        item = json_object();
        json_object_set_new(c->paths, pattern, item);
    }
    for (i = 0; method[i] && i < sizeof(m) - 1; i++)
        m[i] = (char)(method[i] | 0x20);
    m[i] = 0;
    params = json_array();
    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        if (!e)
            break;
        json_array_append_new(params, json_pack("{s:s%,s:s,s:b,s:{s:s}}", "name", p + 1,
                                                (size_t)(e - p - 1), "in", "path", "required", 1,
                                                "schema", "type", "string"));
    }
    responses = json_pack("{s:{s:s}}", "200", "description", "success");
    if (strcmp(m, "post") == 0)
        json_object_set_new(responses, "201", json_pack("{s:s}", "description", "created"));
    if (strcmp(m, "delete") == 0 || strcmp(m, "put") == 0)
        json_object_set_new(responses, "204", json_pack("{s:s}", "description", "no content"));
    json_object_set_new(responses, "400",
                        json_pack("{s:s}", "$ref", "#/components/responses/Error"));
    if (role != HTTP_ROLE_NONE) {
        json_object_set_new(responses, "401",
                            json_pack("{s:s}", "$ref", "#/components/responses/Error"));
        json_object_set_new(responses, "403",
                            json_pack("{s:s}", "$ref", "#/components/responses/Error"));
    }
    json_object_set_new(responses, "404",
                        json_pack("{s:s}", "$ref", "#/components/responses/Error"));
    json_object_set_new(responses, "413",
                        json_pack("{s:s}", "$ref", "#/components/responses/Error"));
    op = json_pack("{s:s,s:o,s:o}", "summary", pattern, "parameters", params, "responses",
                   responses);
    if (role != HTTP_ROLE_NONE) {
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "bearer"));
        json_object_set_new(op, "x-cordon-role", json_string(http_role_name(role)));
    } else {
        json_object_set_new(op, "security", json_array());
    }
    json_object_set_new(item, m, op);
}

static void api_openapi(struct server *s, struct http_req *req, struct http_res *res)
{
    struct oa_ctx c = { json_object() };
    json_t *doc;
    (void)req;
    http_routes_each(s, oa_route, &c);
    doc = json_pack("{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o}", "openapi", "3.0.3", "info", "title",
                    "cordond REST API", "version", CORDON_VERSION, "description", "See docs/api.md",
                    "servers", "url", "/", "paths", c.paths);
    if (doc) {
        json_t *err = json_pack("{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s}}}}}", "type", "object",
                                "properties", "error", "type", "object", "properties", "code",
                                "type", "string", "message", "type", "string");
        json_t *resp =
            json_pack("{s:s,s:{s:{s:{s:s}}}}", "description", "error", "content",
                      "application/json", "schema", "$ref", "#/components/schemas/Error");
        json_t *comp = json_pack("{s:{s:{s:s,s:s}},s:{s:o},s:{s:o}}", "securitySchemes", "bearer",
                                 "type", "http", "scheme", "bearer", "responses", "Error", resp,
                                 "schemas", "Error", err);
        if (!comp) {
            json_decref(doc);
            doc = NULL;
        } else {
            json_object_set_new(doc, "components", comp);
        }
    }
    if (!doc) {
        http_error(res, 500, "internal", "cannot build the OpenAPI document");
        return;
    }
    http_json(res, 200, doc);
}

int api_core_init(struct server *s)
{
    int rc = 0;
    rc |= http_route(s, "GET", "/healthz", HTTP_ROLE_NONE, api_healthz);
    rc |= http_route(s, "GET", "/metrics", HTTP_ROLE_NONE, api_metrics);
    rc |= http_route(s, "GET", "/api/v1/openapi.json", HTTP_ROLE_NONE, api_openapi);
    return rc ? CORDON_ENOMEM : 0;
}
