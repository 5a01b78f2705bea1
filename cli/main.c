/*
 * main.c — `cordon`: global options, endpoint/token resolution, the command
 * table and its help texts, dispatch.
 */
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_URL        "http://127.0.0.1:8080"
#define DEFAULT_TOKEN_FILE "./var/admin.token"
#define DEFAULT_TIMEOUT_S  60

/* ---- help texts ----------------------------------------------------------- */

static const char main_usage[] =
    "Usage: cordon [GLOBAL OPTIONS] COMMAND [ARGUMENTS] [OPTIONS]\n"
    "\n"
    "cordon is the command-line client of cordond, the Cordon server. It speaks\n"
    "only the REST API (docs/api.md): everything it does, a script can do with\n"
    "curl. Tables are for people; --json prints the API's JSON for scripts.\n"
    "\n"
    "Commands:\n"
    "%s"
    "\n"
    "Global options (accepted anywhere on the line):\n"
    "  --url URL          API base URL (default " DEFAULT_URL ")\n"
    "  --token TOKEN      API token. Other local users can see it in ps(1):\n"
    "                     prefer --token-file or CORDON_TOKEN\n"
    "  --token-file FILE  read the token from the first line of FILE\n"
    "  --json             print the API's JSON response instead of a table\n"
    "  --timeout SECONDS  limit for a whole request (default 60)\n"
    "  -v, --verbose      show each request and its status on stderr\n"
    "  -h, --help         this help; `cordon COMMAND --help` for one command\n"
    "  --version          print the version\n"
    "\n"
    "Endpoint and token (the first found wins):\n"
    "  1. --url, --token, --token-file\n"
    "  2. the environment: CORDON_URL, CORDON_TOKEN, CORDON_TOKEN_FILE\n"
    "  3. the config file $CORDON_CONFIG, else $XDG_CONFIG_HOME/cordon/cli.conf\n"
    "     (~/.config/cordon/cli.conf): lines `key = value` with the keys url,\n"
    "     token, token_file, timeout; `#` starts a comment\n"
    "  4. " DEFAULT_URL " and the token in " DEFAULT_TOKEN_FILE " when readable\n"
    "     (cordond writes its first admin token there)\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the API refused or failed the request, or an input file is invalid\n"
    "  2  usage error: unknown command, bad option, missing argument\n"
    "  3  cannot connect to the server\n"
    "  4  authentication or authorisation failed (HTTP 401 or 403)\n"
    "\n"
    "Errors from the API are printed as `cordon: <code>: <message>` on stderr.\n"
    "See docs/cli.md for more.\n";

#define GLOBAL_HINT "\nGlobal options (--url, --token-file, --json, ...): see `cordon --help`.\n"

static const char u_things_list[] =
    "Usage: cordon things list [--json]\n"
    "\n"
    "List every registered thing, sorted by name: its credential type, whether it\n"
    "is quarantined, its groups and when it last reported.\n"
    "\n"
    "Example:\n"
    "  cordon things list\n" GLOBAL_HINT;

static const char u_things_get[] =
    "Usage: cordon things get NAME [--json]\n"
    "\n"
    "Show one thing: attributes, groups, quarantine, credentials, last report.\n" GLOBAL_HINT;

static const char u_things_create[] =
    "Usage: cordon things create NAME [--attr KEY=VALUE]... [--cert [--out DIR]]\n"
    "                               [--no-credentials]\n"
    "\n"
    "Register a thing and issue its first credential.\n"
    "\n"
    "By default the thing gets a password: it is printed once and cannot be\n"
    "shown again (the server keeps only an Argon2id hash). With --cert the\n"
    "server issues an X.509 client certificate whose CN is NAME; the files\n"
    "DIR/NAME.crt, DIR/NAME.key (mode 0600) and DIR/ca.crt are written, and an\n"
    "existing NAME.crt or NAME.key is never overwritten.\n"
    "\n"
    "Options:\n"
    "  --attr KEY=VALUE   an attribute of the thing (repeatable)\n"
    "  --cert             issue a certificate instead of a password\n"
    "  --out DIR          where --cert writes its files (default: .)\n"
    "  --no-credentials   register the thing only\n"
    "\n"
    "With --json the output is {\"thing\": THING, \"credentials\": CREDENTIALS}.\n"
    "\n"
    "Examples:\n"
    "  cordon things create pump-0042 --attr site=lyon --attr model=p2\n"
    "  cordon things create cam-7 --cert --out ./pki\n" GLOBAL_HINT;

static const char u_things_delete[] =
    "Usage: cordon things delete NAME\n"
    "\n"
    "Delete a thing, its group memberships and its credentials (the broker\n"
    "forgets them).\n" GLOBAL_HINT;

static const char u_things_credentials[] =
    "Usage: cordon things credentials NAME [--cert [--out DIR]]\n"
    "\n"
    "Issue a new credential for a thing; it replaces the previous one at once.\n"
    "A password is printed once; --cert writes DIR/NAME.crt, DIR/NAME.key\n"
    "(0600) and DIR/ca.crt as for `things create`.\n"
    "\n"
    "Options:\n"
    "  --cert      issue a certificate instead of a password\n"
    "  --out DIR   where --cert writes its files (default: .)\n" GLOBAL_HINT;

static const char u_groups_list[] =
    "Usage: cordon groups list [--json]\n"
    "\n"
    "List thing groups with their member count. QUARANTINED always exists:\n"
    "its members are the things quarantined at the broker.\n" GLOBAL_HINT;

static const char u_groups_get[] = "Usage: cordon groups get NAME [--json]\n"
                                   "\n"
                                   "Show a thing group and its member things.\n" GLOBAL_HINT;

static const char u_groups_create[] =
    "Usage: cordon groups create NAME [--description TEXT]\n"
    "\n"
    "Create a thing group. Groups are usually declared in a stack (cordon apply);\n"
    "a group created here is deleted by the next apply of a stack without it.\n" GLOBAL_HINT;

static const char u_groups_delete[] =
    "Usage: cordon groups delete NAME\n"
    "\n"
    "Delete a thing group (its things stay). QUARANTINED cannot be deleted.\n" GLOBAL_HINT;

static const char u_groups_add_thing[] =
    "Usage: cordon groups add-thing GROUP THING\n"
    "\n"
    "Add a thing to a group. Adding to QUARANTINED quarantines the thing, like\n"
    "`cordon quarantine add THING`.\n" GLOBAL_HINT;

static const char u_groups_remove_thing[] =
    "Usage: cordon groups remove-thing GROUP THING\n"
    "\n"
    "Remove a thing from a group. Removing from QUARANTINED releases it.\n" GLOBAL_HINT;

static const char u_profiles_list[] =
    "Usage: cordon profiles list [--json]\n"
    "\n"
    "List security profiles: targets, number of behaviors, description.\n"
    "Profiles are declared as code: see `cordon plan` and docs/config.md.\n" GLOBAL_HINT;

static const char u_profiles_get[] =
    "Usage: cordon profiles get NAME [--json]\n"
    "\n"
    "Show a security profile and its behaviors (metric and criteria).\n" GLOBAL_HINT;

static const char u_violations_list[] =
    "Usage: cordon violations list [--active | --past] [--thing NAME] [--profile NAME]\n"
    "                              [--behavior NAME] [--verification STATE]\n"
    "                              [--since TIME] [--until TIME] [--limit N]\n"
    "\n"
    "List violations, newest first.\n"
    "\n"
    "Options:\n"
    "  --active             only violations in alarm now\n"
    "  --past               only cleared or invalidated ones\n"
    "  --thing NAME         of this thing\n"
    "  --profile NAME       of this security profile\n"
    "  --behavior NAME      of this behavior\n"
    "  --verification STATE FALSE_POSITIVE, BENIGN_POSITIVE, TRUE_POSITIVE or UNKNOWN\n"
    "  --since TIME         alive at or after TIME\n"
    "  --until TIME         alive at or before TIME\n"
    "  --limit N            at most N (server default 1000)\n"
    "\n"
    "TIME is milliseconds since the epoch, an ISO 8601 UTC time\n"
    "(2026-11-28T06:00:00Z, or a date 2026-11-28), or an age: 30s, 15m, 2h, 7d.\n"
    "\n"
    "Examples:\n"
    "  cordon violations list --active\n"
    "  cordon violations list --thing pump-0042 --since 24h\n" GLOBAL_HINT;

static const char u_violations_get[] =
    "Usage: cordon violations get ID [--json]\n"
    "\n"
    "Show a violation with its events and the mitigation actions it ran.\n" GLOBAL_HINT;

static const char u_violations_verify[] =
    "Usage: cordon violations verify ID STATE [--description TEXT]\n"
    "\n"
    "Record what a responder found. STATE is one of FALSE_POSITIVE,\n"
    "BENIGN_POSITIVE, TRUE_POSITIVE, UNKNOWN (case and - or _ do not matter:\n"
    "`false-positive` works). The description is at most 1000 characters.\n"
    "\n"
    "Example:\n"
    "  cordon violations verify 7f3c... true-positive --description \"port 4444 "
    "backdoor\"\n" GLOBAL_HINT;

static const char u_quarantine_add[] =
    "Usage: cordon quarantine add THING\n"
    "\n"
    "Quarantine a thing: it joins QUARANTINED and the broker allows it only the\n"
    "quarantine topics (reports, logs, commands) and disconnects it once.\n"
    "Idempotent. The broker's confirmation is asynchronous: the output shows\n"
    "the action's status (pending until the broker answers).\n" GLOBAL_HINT;

static const char u_quarantine_remove[] =
    "Usage: cordon quarantine remove THING\n"
    "\n"
    "Release a thing from quarantine (idempotent).\n" GLOBAL_HINT;

static const char u_plan[] =
    "Usage: cordon plan -f FILE [--json]\n"
    "\n"
    "Show what applying the stack in FILE would change, without changing\n"
    "anything. FILE is checked locally first, so errors name it with line and\n"
    "column. Each change is one line:\n"
    "  + KIND NAME           created\n"
    "  ~ KIND NAME  (why)    updated\n"
    "  - KIND NAME           deleted (the running object is not in FILE)\n"
    "The stack format is in docs/config.md; `-` reads FILE from stdin.\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE   the stack (required)\n"
    "\n"
    "Example:\n"
    "  cordon plan -f examples/stack.yaml\n" GLOBAL_HINT;

static const char u_apply[] =
    "Usage: cordon apply -f FILE [--yes]\n"
    "\n"
    "Show the plan for FILE (as `cordon plan`), ask for confirmation, then apply\n"
    "it. The server applies every change in one transaction: all or nothing.\n"
    "Without a terminal to ask on, --yes is required.\n"
    "\n"
    "Options:\n"
    "  -f, --file FILE   the stack (required; `-` for stdin, which then needs --yes)\n"
    "  -y, --yes         do not ask\n"
    "\n"
    "Example:\n"
    "  cordon apply -f examples/stack.yaml --yes\n" GLOBAL_HINT;

static const char u_export[] =
    "Usage: cordon export [-o FILE]\n"
    "\n"
    "Write the running configuration as a stack (YAML, docs/config.md). Applying\n"
    "the exported file changes nothing.\n"
    "\n"
    "Options:\n"
    "  -o, --output FILE   write to FILE (replaced atomically) instead of stdout\n" GLOBAL_HINT;

static const char u_runbooks_put[] =
    "Usage: cordon runbooks put FILE [--name NAME]\n"
    "\n"
    "Store FILE (an SSM Automation 0.3 document, YAML or JSON) as a new version of\n"
    "runbook NAME (default: the file name without its extension). Errors name the\n"
    "line and column. Storing the same content again makes no new version.\n"
    "\n"
    "Example:\n"
    "  cordon runbooks put examples/runbooks/device-incident.yaml\n" GLOBAL_HINT;
static const char u_runbooks_get[] =
    "Usage: cordon runbooks get NAME [--version N]\n"
    "\n"
    "Print the document text (the latest version by default).\n" GLOBAL_HINT;
static const char u_runbooks_list[] =
    "Usage: cordon runbooks list\n"
    "\n"
    "List stored runbooks and their latest version.\n" GLOBAL_HINT;
static const char u_runbooks_validate[] =
    "Usage: cordon runbooks validate FILE\n"
    "\n"
    "Check FILE with the server's validator without storing it; errors name the\n"
    "line and column. Exit status 1 when invalid.\n" GLOBAL_HINT;
static const char u_executions_start[] =
    "Usage: cordon executions start DOC [--param KEY=VALUE]... [--version N]\n"
    "                               [--incident ID] [--interactive]\n"
    "\n"
    "Start an execution of runbook DOC and print its id. A repeated --param KEY\n"
    "makes a list (StringList).\n"
    "\n"
    "Example:\n"
    "  cordon executions start device-incident --param "
    "IncidentId=cordon:incident/1234\n" GLOBAL_HINT;
static const char u_executions_get[] =
    "Usage: cordon executions get ID\n"
    "\n"
    "Show an execution: status, current step, step records with outputs.\n" GLOBAL_HINT;
static const char u_executions_list[] =
    "Usage: cordon executions list [--status S] [--document DOC]\n"
    "\n"
    "List executions.\n" GLOBAL_HINT;
static const char u_executions_signal[] =
    "Usage: cordon executions signal ID TYPE [--step NAME] [--comment TEXT]\n"
    "\n"
    "Send a signal: Resume, Approve, Reject, StartStep, StopStep or Cancel. With\n"
    "Resume/Approve/Reject, --step names the step expected to be waiting (refused\n"
    "otherwise); StartStep runs step NAME (interactive mode); StopStep stops the\n"
    "latest execution of step NAME. The approver is the API token's name.\n"
    "\n"
    "Example:\n"
    "  cordon executions signal exec-1 Resume --step Analysis\n" GLOBAL_HINT;

static const char u_health[] =
    "Usage: cordon health [--json]\n"
    "\n"
    "Check that cordond answers (GET /healthz): version and MQTT link. Needs no\n"
    "token. Exit status 0 when healthy, 1 when the server answers with an\n"
    "error, 3 when it cannot be reached.\n" GLOBAL_HINT;

static const char u_incidents_list[] =
    "Usage: cordon incidents list [--status OPEN|RESOLVED] [--impact N[,N]] [--plan NAME]\n"
    "                             [--since TIME] [--until TIME]\n"
    "\n"
    "List incidents, newest first. TIME is epoch milliseconds or ISO 8601\n"
    "(2026-11-28T06:00:00Z). Values of one filter are ORed (--impact 1,2).\n" GLOBAL_HINT;

static const char u_incidents_get[] =
    "Usage: cordon incidents get ID\n"
    "\n"
    "Show an incident: fields, related items and timeline. ID is the uuid at the\n"
    "end of the incident id (cordon:incident/PLAN/UUID) or the full id.\n" GLOBAL_HINT;

static const char u_incidents_update[] =
    "Usage: cordon incidents update ID [--title T] [--summary S] [--impact 1-5]\n"
    "                               [--status OPEN|RESOLVED]\n"
    "\n"
    "Change an incident; each change is written to its timeline.\n" GLOBAL_HINT;

static const char u_incidents_note[] = "Usage: cordon incidents note ID TEXT\n"
                                       "\n"
                                       "Add a note to the incident's timeline.\n" GLOBAL_HINT;

static const char u_incidents_resolve[] =
    "Usage: cordon incidents resolve ID\n"
    "\n"
    "Resolve an incident: every engagement stops; MTTR is recorded.\n" GLOBAL_HINT;

static const char u_ack[] =
    "Usage: cordon ack CODE [--incident ID] [--note TEXT]\n"
    "\n"
    "Acknowledge a page with the accept code it carries. An essential\n"
    "acknowledgement stops every further page of the incident. When the code\n"
    "matches pages of two open incidents, name the incident with --incident.\n"
    "\n"
    "Example:\n"
    "  cordon ack 40392217\n" GLOBAL_HINT;

static const char u_analysis_create[] =
    "Usage: cordon analysis create INCIDENT [--markdown]\n"
    "\n"
    "Create the post-incident analysis of a resolved incident: overview, measured\n"
    "durations (time to detect, acknowledge, contain, resolve), timeline,\n"
    "questions, action items, checklist. --markdown prints it as Markdown.\n" GLOBAL_HINT;

static const char u_analysis_get[] =
    "Usage: cordon analysis get INCIDENT [--markdown]\n"
    "\n"
    "Print the post-incident analysis as Markdown (--json for the JSON form).\n" GLOBAL_HINT;

static const char u_contacts_list[] =
    "Usage: cordon contacts list\n"
    "\n"
    "List contacts and escalation plans with their channels and activation.\n" GLOBAL_HINT;

static const char u_contacts_get[] = "Usage: cordon contacts get ALIAS\n"
                                     "\n"
                                     "Show a contact (JSON).\n" GLOBAL_HINT;

static const char u_contacts_activate[] =
    "Usage: cordon contacts activate ALIAS CHANNEL CODE\n"
    "\n"
    "Activate a channel with the code it received (POST\n"
    "/api/v1/contacts/ALIAS/channels/CHANNEL/send-activation sends one). A channel\n"
    "is never paged before activation.\n" GLOBAL_HINT;

/*
 * The command table. Two-word names ("things list") are grouped under
 * their first word in help. Later helpers add incidents, ack, runbooks,
 * executions and analysis here.
 */
static const struct cli_command commands[] = {
    { "things list", cmd_things_list, "list things", u_things_list },
    { "things get", cmd_things_get, "show a thing", u_things_get },
    { "things create", cmd_things_create, "register a thing and issue its credential",
      u_things_create },
    { "things delete", cmd_things_delete, "delete a thing", u_things_delete },
    { "things credentials", cmd_things_credentials, "issue a new password or certificate",
      u_things_credentials },
    { "groups list", cmd_groups_list, "list thing groups", u_groups_list },
    { "groups get", cmd_groups_get, "show a group and its things", u_groups_get },
    { "groups create", cmd_groups_create, "create a group", u_groups_create },
    { "groups delete", cmd_groups_delete, "delete a group", u_groups_delete },
    { "groups add-thing", cmd_groups_add_thing, "add a thing to a group", u_groups_add_thing },
    { "groups remove-thing", cmd_groups_remove_thing, "remove a thing from a group",
      u_groups_remove_thing },
    { "profiles list", cmd_profiles_list, "list security profiles", u_profiles_list },
    { "profiles get", cmd_profiles_get, "show a security profile", u_profiles_get },
    { "violations list", cmd_violations_list, "list violations (filters)", u_violations_list },
    { "violations get", cmd_violations_get, "show a violation, its events and actions",
      u_violations_get },
    { "violations verify", cmd_violations_verify, "record a verification state",
      u_violations_verify },
    { "quarantine add", cmd_quarantine_add, "quarantine a thing at the broker", u_quarantine_add },
    { "quarantine remove", cmd_quarantine_remove, "release a thing", u_quarantine_remove },
    { "plan", cmd_config_plan, "show what applying a stack file would change", u_plan },
    { "apply", cmd_config_apply, "apply a stack file atomically", u_apply },
    { "export", cmd_config_export, "write the running configuration as a stack", u_export },
    { "runbooks put", cmd_runbooks_put, "store a runbook document (new version)", u_runbooks_put },
    { "runbooks get", cmd_runbooks_get, "print a runbook document", u_runbooks_get },
    { "runbooks list", cmd_runbooks_list, "list runbooks", u_runbooks_list },
    { "runbooks validate", cmd_runbooks_validate, "validate a runbook file", u_runbooks_validate },
    { "executions start", cmd_executions_start, "start a runbook execution", u_executions_start },
    { "executions get", cmd_executions_get, "show an execution", u_executions_get },
    { "executions list", cmd_executions_list, "list executions", u_executions_list },
    { "executions signal", cmd_executions_signal, "send Resume/Approve/Reject/... to an execution",
      u_executions_signal },
    { "incidents list", cmd_incidents_list, "list incidents (filters)", u_incidents_list },
    { "incidents get", cmd_incidents_get, "show an incident and its timeline", u_incidents_get },
    { "incidents update", cmd_incidents_update, "change title, summary, impact or status",
      u_incidents_update },
    { "incidents note", cmd_incidents_note, "add a note to the timeline", u_incidents_note },
    { "incidents resolve", cmd_incidents_resolve, "resolve an incident", u_incidents_resolve },
    { "ack", cmd_ack, "acknowledge a page by its accept code", u_ack },
    { "analysis create", cmd_analysis_create, "create the post-incident analysis",
      u_analysis_create },
    { "analysis get", cmd_analysis_get, "print the post-incident analysis", u_analysis_get },
    { "contacts list", cmd_contacts_list, "list contacts and channels", u_contacts_list },
    { "contacts get", cmd_contacts_get, "show a contact", u_contacts_get },
    { "contacts activate", cmd_contacts_activate, "activate a channel with its code",
      u_contacts_activate },
    { "health", cmd_health, "check that the server answers", u_health },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_command_list(FILE *f, const char *group)
{
    size_t i, glen = group ? strlen(group) : 0;

    for (i = 0; i < NCOMMANDS; i++) {
        if (group && (strncmp(commands[i].name, group, glen) || commands[i].name[glen] != ' '))
            continue;
        fprintf(f, "  %-22s %s\n", commands[i].name, commands[i].summary);
    }
}

static void print_main_usage(FILE *f)
{
    struct buf list;
    size_t i;

    buf_init(&list, 1 << 16);
    for (i = 0; i < NCOMMANDS; i++)
        buf_printf(&list, "  %-22s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, main_usage, list.ptr ? list.ptr : "");
    buf_free(&list);
}

/* ---- helpers for commands ------------------------------------------------- */

int cli_usage_error(struct cli *c, const char *fmt, ...)
{
    va_list ap;

    fputs("cordon: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    if (c->cmd)
        fputs(c->cmd->usage, stderr);
    return CLI_EXIT_USAGE;
}

int cli_show_one(struct cli *c, int argc, char **argv, const char *missing, const char *too_many,
                 const char *path_fmt, void (*print)(json_t *root))
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    json_t *root = NULL;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, "%s", o.npos ? too_many : missing);
    buf_init(&path, 4096);
    http_path(&path, path_fmt, o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "GET", path.ptr, NULL, &r, &root);
    if (!rc) {
        if (c->json)
            out_raw(&r);
        else
            print(root);
    }
    json_decref(root);
    http_response_free(&r);
    buf_free(&path);
    return rc;
}

static int opt_find(const struct cli_opts *o, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < o->n; i++)
        if (strlen(o->names[i]) == len && !strncmp(o->names[i], name, len))
            return (int)i;
    return -1;
}

int cli_opts_parse(struct cli *c, struct cli_opts *o, const char *specs, int argc, char **argv)
{
    char shorts[CLI_OPTS_MAX];
    const char *p = specs;
    int i, only_pos = 0;

    memset(o, 0, sizeof(*o));
    memset(shorts, 0, sizeof(shorts));
    /* specs: comma-separated "[x|]name[=]" */
    while (p && *p && o->n < CLI_OPTS_MAX) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 2 && p[1] == '|') {
            shorts[o->n] = p[0];
            p += 2;
            len -= 2;
        }
        o->takes_value[o->n] = len && p[len - 1] == '=';
        if (o->takes_value[o->n])
            len--;
        if (len >= sizeof(o->names[0]))
            len = sizeof(o->names[0]) - 1;
        memcpy(o->names[o->n], p, len);
        o->names[o->n++][len] = '\0';
        p = end ? end + 1 : NULL;
    }
    for (i = 0; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        int k = -1;

        if (only_pos || a[0] != '-' || !a[1]) {
            if (o->npos >= CLI_POS_MAX)
                return cli_usage_error(c, "too many arguments");
            o->pos[o->npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(c->cmd->usage, stdout);
            return -1;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            k = opt_find(o, a + 2, len);
            if (eq)
                val = eq + 1;
        } else if (!a[2]) {
            for (size_t s = 0; s < o->n; s++)
                if (shorts[s] == a[1])
                    k = (int)s;
        }
        if (k < 0)
            return cli_usage_error(c, "unknown option '%s'", a);
        if (o->takes_value[k]) {
            if (!val) {
                if (i + 1 >= argc)
                    return cli_usage_error(c, "option '%s' needs a value", a);
                val = argv[++i];
            }
        } else if (val) {
            return cli_usage_error(c, "option '--%s' takes no value", o->names[k]);
        } else {
            val = "1";
        }
        o->value[k] = val;
        if (o->nvalues[k] < 32)
            o->values[k][o->nvalues[k]++] = val;
        else
            return cli_usage_error(c, "option '--%s' given too many times", o->names[k]);
    }
    return 0;
}

const char *cli_opt(const struct cli_opts *o, const char *name)
{
    int k = opt_find(o, name, strlen(name));
    return k < 0 ? NULL : o->value[k];
}

const char *const *cli_opt_all(const struct cli_opts *o, const char *name, int *n)
{
    int k = opt_find(o, name, strlen(name));

    *n = k < 0 ? 0 : o->nvalues[k];
    return k < 0 ? NULL : o->values[k];
}

int cli_read_file(const char *path, struct buf *out)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    char chunk[65536];
    size_t n;

    if (!f) {
        out_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_add(out, chunk, n)) {
            out_error("%s is larger than %d bytes", path, CLI_FILE_MAX);
            if (f != stdin)
                fclose(f);
            return -1;
        }
    if (ferror(f)) {
        out_error("cannot read %s: %s", path, strerror(errno));
        if (f != stdin)
            fclose(f);
        return -1;
    }
    if (f != stdin)
        fclose(f);
    return 0;
}

/* ---- endpoint and token --------------------------------------------------- */

static int set_str(char *dst, size_t size, const char *src, const char *what)
{
    if (strlen(src) >= size) {
        out_error("%s is too long (limit %zu bytes)", what, size - 1);
        return -1;
    }
    strcpy(dst, src);
    return 0;
}

/* The first line of a token file, trimmed. quiet: missing file is not an error. */
static int token_from_file(struct cli *c, const char *path, int quiet)
{
    struct buf b;
    size_t n;
    struct stat st;

    if (quiet && access(path, R_OK))
        return 1;
    buf_init(&b, CLI_TOKEN_MAX + 2);
    if (cli_read_file(path, &b)) {
        buf_free(&b);
        return -1;
    }
    n = strcspn(b.ptr ? b.ptr : "", "\r\n");
    while (n && (b.ptr[n - 1] == ' ' || b.ptr[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= CLI_TOKEN_MAX) {
        out_error("%s: no token on its first line", path);
        buf_free(&b);
        return -1;
    }
    memcpy(c->token, b.ptr, n);
    c->token[n] = '\0';
    snprintf(c->token_source, sizeof(c->token_source), "%s", path);
    if (!stat(path, &st) && (st.st_mode & 077))
        fprintf(stderr, "cordon: warning: %s is readable by other users (chmod 600 it)\n", path);
    buf_free(&b);
    return 0;
}

struct conf {
    char url[CLI_URL_MAX];
    char token[CLI_TOKEN_MAX];
    char token_file[1024];
    char timeout[32];
    char path[1024];
};

static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/* Read the config file if it exists. 0 ok / absent, -1 bad file (message printed). */
static int conf_load(struct conf *cf)
{
    const char *env = getenv("CORDON_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    char line[2048];
    FILE *f;
    int lineno = 0;

    memset(cf, 0, sizeof(*cf));
    if (env && *env)
        snprintf(cf->path, sizeof(cf->path), "%s", env);
    else if (xdg && *xdg)
        snprintf(cf->path, sizeof(cf->path), "%s/cordon/cli.conf", xdg);
    else if (home && *home)
        snprintf(cf->path, sizeof(cf->path), "%s/.config/cordon/cli.conf", home);
    else
        return 0;
    f = fopen(cf->path, "r");
    if (!f) {
        if (env && *env) {
            out_error("cannot open %s (CORDON_CONFIG): %s", cf->path, strerror(errno));
            return -1;
        }
        return 0;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = trim(line), *eq, *key, *val;
        char *dst = NULL;
        size_t size = 0;

        lineno++;
        if (!*s || *s == '#')
            continue;
        eq = strchr(s, '=');
        if (!eq) {
            out_error("%s:%d: expected `key = value`", cf->path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        key = trim(s);
        val = trim(eq + 1);
        if (!strcmp(key, "url")) {
            dst = cf->url;
            size = sizeof(cf->url);
        } else if (!strcmp(key, "token")) {
            dst = cf->token;
            size = sizeof(cf->token);
        } else if (!strcmp(key, "token_file")) {
            dst = cf->token_file;
            size = sizeof(cf->token_file);
        } else if (!strcmp(key, "timeout")) {
            dst = cf->timeout;
            size = sizeof(cf->timeout);
        } else {
            out_error("%s:%d: unknown key '%s' (url, token, token_file, timeout)", cf->path, lineno,
                      key);
            fclose(f);
            return -1;
        }
        if (strlen(val) >= size) {
            out_error("%s:%d: value of %s too long", cf->path, lineno, key);
            fclose(f);
            return -1;
        }
        strcpy(dst, val);
    }
    fclose(f);
    return 0;
}

static int parse_timeout(const char *s, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > 86400)
        return -1;
    *out = v;
    return 0;
}

struct globals {
    const char *url, *token, *token_file, *timeout;
    int json, verbose, help, version;
};

/* Take the global options out of argv wherever they are; return the new argc. */
static int globals_extract(int argc, char **argv, struct globals *g, int *usage_error)
{
    int i, n = 0, in_words = 0;

    *usage_error = 0;
    for (i = 0; i < argc; i++) {
        char *a = argv[i];
        const char **slot = NULL;
        const char *name = NULL;

        if (!strcmp(a, "--")) {
            /* everything after belongs to the command */
            for (; i < argc; i++)
                argv[n++] = argv[i];
            break;
        }
        if (!strcmp(a, "--json")) {
            g->json = 1;
            continue;
        }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            g->verbose = 1;
            continue;
        }
        if (!strcmp(a, "--version")) {
            g->version = 1;
            continue;
        }
        if (!in_words && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
            g->help = 1;
            continue;
        }
        if (!strncmp(a, "--url", 5)) {
            slot = &g->url;
            name = "--url";
        } else if (!strncmp(a, "--token-file", 12)) {
            slot = &g->token_file;
            name = "--token-file";
        } else if (!strncmp(a, "--token", 7)) {
            slot = &g->token;
            name = "--token";
        } else if (!strncmp(a, "--timeout", 9)) {
            slot = &g->timeout;
            name = "--timeout";
        }
        if (slot) {
            size_t len = strlen(name);
            if (a[len] == '=') {
                *slot = a + len + 1;
                continue;
            }
            if (a[len] == '\0') {
                if (i + 1 >= argc) {
                    out_error("option '%s' needs a value", name);
                    *usage_error = 1;
                    return n;
                }
                *slot = argv[++i];
                continue;
            }
        }
        if (a[0] != '-')
            in_words = 1;
        argv[n++] = a;
    }
    return n;
}

static int resolve_endpoint(struct cli *c, const struct globals *g)
{
    struct conf cf;
    const char *url, *s;
    size_t len;
    int rc;

    if (conf_load(&cf))
        return CLI_EXIT_USAGE;
    url = g->url ? g->url : (s = getenv("CORDON_URL")) && *s ? s : cf.url[0] ? cf.url : DEFAULT_URL;
    if (set_str(c->url, sizeof(c->url), url, "the URL"))
        return CLI_EXIT_USAGE;
    len = strlen(c->url);
    while (len && c->url[len - 1] == '/')
        c->url[--len] = '\0';
    if (strncmp(c->url, "http://", 7) && strncmp(c->url, "https://", 8)) {
        out_error("URL '%s' must start with http:// or https://", c->url);
        return CLI_EXIT_USAGE;
    }

    c->timeout_s = DEFAULT_TIMEOUT_S;
    s = g->timeout ? g->timeout : cf.timeout[0] ? cf.timeout : NULL;
    if (s && parse_timeout(s, &c->timeout_s)) {
        out_error("timeout '%s' is not a number of seconds (1..86400)", s);
        return CLI_EXIT_USAGE;
    }

    /* token: flags, environment, config file, default file */
    if (g->token) {
        rc = set_str(c->token, sizeof(c->token), g->token, "the token");
        snprintf(c->token_source, sizeof(c->token_source), "--token");
    } else if (g->token_file) {
        rc = token_from_file(c, g->token_file, 0);
    } else if ((s = getenv("CORDON_TOKEN")) && *s) {
        rc = set_str(c->token, sizeof(c->token), s, "CORDON_TOKEN");
        snprintf(c->token_source, sizeof(c->token_source), "CORDON_TOKEN");
    } else if ((s = getenv("CORDON_TOKEN_FILE")) && *s) {
        rc = token_from_file(c, s, 0);
    } else if (cf.token[0]) {
        rc = set_str(c->token, sizeof(c->token), cf.token, "the token");
        snprintf(c->token_source, sizeof(c->token_source), "%.200s", cf.path);
    } else if (cf.token_file[0]) {
        rc = token_from_file(c, cf.token_file, 0);
    } else {
        rc = token_from_file(c, DEFAULT_TOKEN_FILE, 1);
        if (rc > 0)
            rc = 0; /* no token: requests go without one and get 401 */
    }
    if (rc)
        return CLI_EXIT_USAGE;
    for (s = c->token; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
            out_error("the token from %s holds a blank or control character", c->token_source);
            return CLI_EXIT_USAGE;
        }
    return 0;
}

/* ---- dispatch ------------------------------------------------------------- */

static const struct cli_command *command_find(int argc, char **argv, int *words)
{
    char name[128];
    size_t i;

    if (argc >= 2 && strlen(argv[0]) + strlen(argv[1]) + 2 < sizeof(name)) {
        memcpy(name, argv[0], strlen(argv[0]));
        name[strlen(argv[0])] = ' ';
        strcpy(name + strlen(argv[0]) + 1, argv[1]);
        for (i = 0; i < NCOMMANDS; i++)
            if (!strcmp(commands[i].name, name)) {
                *words = 2;
                return &commands[i];
            }
    }
    for (i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, argv[0])) {
            *words = 1;
            return &commands[i];
        }
    return NULL;
}

static int is_group(const char *word)
{
    size_t i, len = strlen(word);

    for (i = 0; i < NCOMMANDS; i++)
        if (!strncmp(commands[i].name, word, len) && commands[i].name[len] == ' ')
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    struct cli c;
    struct globals g;
    const struct cli_command *cmd;
    int words = 0, rc, usage_error;

    memset(&c, 0, sizeof(c));
    memset(&g, 0, sizeof(g));
    argc = globals_extract(argc - 1, argv + 1, &g, &usage_error);
    argv = argv + 1;
    if (usage_error)
        return CLI_EXIT_USAGE;
    if (g.version) {
        printf("cordon %s\n", CORDON_VERSION);
        return CLI_EXIT_OK;
    }
    if (argc == 0) {
        print_main_usage(g.help ? stdout : stderr);
        return g.help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (!strcmp(argv[0], "help")) {
        /* `cordon help [COMMAND...]` */
        if (argc == 1) {
            print_main_usage(stdout);
            return CLI_EXIT_OK;
        }
        cmd = command_find(argc - 1, argv + 1, &words);
        if (cmd) {
            fputs(cmd->usage, stdout);
            return CLI_EXIT_OK;
        }
        if (is_group(argv[1])) {
            printf("Usage: cordon %s COMMAND ...\n\nCommands:\n", argv[1]);
            print_command_list(stdout, argv[1]);
            return CLI_EXIT_OK;
        }
        out_error("unknown command '%s' (see `cordon --help`)", argv[1]);
        return CLI_EXIT_USAGE;
    }
    cmd = command_find(argc, argv, &words);
    if (!cmd) {
        if (is_group(argv[0])) {
            int want_help =
                g.help || (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")));
            FILE *f = want_help ? stdout : stderr;
            if (!want_help) {
                if (argc > 1)
                    out_error("unknown command '%s %s'", argv[0], argv[1]);
                else
                    out_error("'%s' needs a command", argv[0]);
            }
            fprintf(f, "Usage: cordon %s COMMAND ...\n\nCommands:\n", argv[0]);
            print_command_list(f, argv[0]);
            fprintf(f, "\n`cordon %s COMMAND --help` shows one command.\n", argv[0]);
            return want_help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        }
        out_error("unknown command '%s'\n", argv[0]);
        print_main_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    c.cmd = cmd;
    if (g.help) {
        fputs(cmd->usage, stdout);
        return CLI_EXIT_OK;
    }
    c.json = g.json;
    c.verbose = g.verbose;
    rc = resolve_endpoint(&c, &g);
    if (rc)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        out_error("cannot initialise libcurl");
        return CLI_EXIT_ERROR;
    }
    rc = cmd->run(&c, argc - words, argv + words);
    curl_global_cleanup();
    return rc < 0 ? CLI_EXIT_OK : rc;
}
