#include "broker.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "labshare/log.h"
#include "labshare/mqtt_loop.h"
#include "labshare/json_guard.h"
#include "labshare/rc.h"
#include "labshare/wire.h"
#include "labshare/banned.h"

#define CONTROL_TOPIC "$CONTROL/dynamic-security/v1"
#define RESPONSE_TOPIC CONTROL_TOPIC "/response"

/* What the plugin itself uses for new passwords (mosquitto 2.0 src/password_mosq.h): PBKDF2
 * with SHA-512, a 12-byte salt, 101 iterations. The server's password is random and long, so
 * the iteration count is not what protects it. */
#define PW_SALT_LEN 12
#define PW_HASH_LEN 64
#define PW_ITERATIONS 101

const char *broker_plugin_path(const struct srv_config *cfg)
{
    static const char *const places[] = {
        "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
        "/usr/lib/mosquitto_dynamic_security.so",
        "/usr/local/lib/mosquitto_dynamic_security.so",
    };

    if (cfg->mqtt_dynsec_plugin[0])
        return access(cfg->mqtt_dynsec_plugin, R_OK) == 0 ? cfg->mqtt_dynsec_plugin : NULL;
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
        if (access(places[i], R_OK) == 0)
            return places[i];
    return NULL;
}

/* ---- the broker's configuration ------------------------------------------------------------ */

static json_t *acl(const char *type, const char *topic)
{
    return json_pack("{s:s, s:s, s:b}", "acltype", type, "topic", topic, "allow", 1);
}

int broker_ingest_filter(const struct srv_config *cfg, enum ls_topic_kind kind, int shared,
                         char *buf, size_t len)
{
    char plain[128];
    int n;

    if (ls_topic(plain, sizeof(plain), "+", kind))
        return LS_ERR_INVAL;
    if (!shared || !cfg->mqtt_share_group[0])
        n = snprintf(buf, len, "%s", plain);
    else
        n = snprintf(buf, len, "$share/%s/%s", cfg->mqtt_share_group, plain);
    return n < 0 || (size_t)n >= len ? LS_ERR_INVAL : LS_OK;
}

/* The server's role: every gateway's readings and status in (plainly, and shared with the other
 * servers of its group), acks and commands out, and the control topic by which it admits
 * gateways. */
static json_t *server_role(const struct srv_config *cfg)
{
    char readings[128], status[128], sh_readings[192], sh_status[192], ack[128], cmd[128];

    broker_ingest_filter(cfg, LS_TOPIC_READINGS, 0, readings, sizeof(readings));
    broker_ingest_filter(cfg, LS_TOPIC_STATUS, 0, status, sizeof(status));
    broker_ingest_filter(cfg, LS_TOPIC_READINGS, 1, sh_readings, sizeof(sh_readings));
    broker_ingest_filter(cfg, LS_TOPIC_STATUS, 1, sh_status, sizeof(sh_status));
    ls_topic(ack, sizeof(ack), "+", LS_TOPIC_ACK);
    ls_topic(cmd, sizeof(cmd), "+", LS_TOPIC_CMD);
    /* $CONTROL topics are never open by default, not even to receive: granted explicitly */
    return json_pack("{s:s, s:s, s:[o,o,o,o,o,o,o,o,o]}", "rolename", BROKER_SERVER_ROLE,
                     "textname", "LabShare server", "acls", acl("subscribeLiteral", readings),
                     acl("subscribeLiteral", status), acl("subscribeLiteral", sh_readings),
                     acl("subscribeLiteral", sh_status), acl("publishClientSend", ack),
                     acl("publishClientSend", cmd), acl("publishClientSend", CONTROL_TOPIC),
                     acl("subscribeLiteral", RESPONSE_TOPIC),
                     acl("publishClientReceive", RESPONSE_TOPIC));
}

/* The plugin's stored form of a password: base64 of the salt and of the PBKDF2 hash. */
static int hash_password(const char *password, char *salt64, size_t salt_len, char *hash64,
                         size_t hash_len)
{
    unsigned char salt[PW_SALT_LEN], hash[PW_HASH_LEN];

    randombytes_buf(salt, sizeof(salt));
    if (!PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, sizeof(salt), PW_ITERATIONS,
                           EVP_sha512(), sizeof(hash), hash))
        return LS_ERR_IO;
    if (salt_len < sodium_base64_ENCODED_LEN(sizeof(salt), sodium_base64_VARIANT_ORIGINAL) ||
        hash_len < sodium_base64_ENCODED_LEN(sizeof(hash), sodium_base64_VARIANT_ORIGINAL))
        return LS_ERR_INVAL;
    sodium_bin2base64(salt64, salt_len, salt, sizeof(salt), sodium_base64_VARIANT_ORIGINAL);
    sodium_bin2base64(hash64, hash_len, hash, sizeof(hash), sodium_base64_VARIANT_ORIGINAL);
    return LS_OK;
}

/* mosquitto started as root drops to the user "mosquitto": what it reads and writes (the
 * dynamic-security file, which it rewrites on every change, and its persistence) is given to
 * that user when we run as root. -1 when there is none or we are not root. */
static void broker_user(uid_t *uid, gid_t *gid)
{
    struct passwd *pw = geteuid() == 0 ? getpwnam("mosquitto") : NULL;

    *uid = pw ? pw->pw_uid : (uid_t)-1;
    *gid = pw ? pw->pw_gid : (gid_t)-1;
}

static int give_to_broker(const char *path, char *err, size_t errlen)
{
    uid_t uid;
    gid_t gid;

    broker_user(&uid, &gid);
    if (uid != (uid_t)-1 && chown(path, uid, gid) != 0) {
        snprintf(err, errlen, "cannot give %s to the mosquitto user: %s", path, strerror(errno));
        return LS_ERR_IO;
    }
    return LS_OK;
}

static int write_file(const char *path, const char *text, mode_t mode, char *err, size_t errlen)
{
    char tmp[PATH_MAX + 64];
    FILE *f;
    int ok;

    snprintf(tmp, sizeof(tmp), "%s.new", path);
    f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return LS_ERR_IO;
    }
    ok = fputs(text, f) >= 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || chmod(tmp, mode) != 0 || give_to_broker(tmp, err, errlen) ||
        rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return LS_ERR_IO;
    }
    return LS_OK;
}

static int write_dynsec(const struct srv_config *cfg, const char *path, char *err, size_t errlen)
{
    char salt[64], hash[128];
    json_t *root;
    char *text;
    int rc;

    if (hash_password(cfg->mqtt_password, salt, sizeof(salt), hash, sizeof(hash))) {
        snprintf(err, errlen, "cannot hash the server's MQTT password");
        return LS_ERR_IO;
    }
    /* Default access: nobody publishes or subscribes unless a role allows it. */
    root = json_pack("{s:{s:b, s:b, s:b, s:b}, s:[{s:s, s:s, s:s, s:s, s:i, s:[{s:s}]}], s:[],"
                     " s:[o]}",
                     "defaultACLAccess", "publishClientSend", 0, "publishClientReceive", 1,
                     "subscribe", 0, "unsubscribe", 1, "clients", "username", cfg->mqtt_username,
                     "textname", "LabShare server", "salt", salt, "password", hash, "iterations",
                     PW_ITERATIONS, "roles", "rolename", BROKER_SERVER_ROLE, "groups", "roles",
                     server_role(cfg));
    text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    sodium_memzero(hash, sizeof(hash));
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return LS_ERR_NOMEM;
    }
    /* It holds password hashes: the broker's user only. */
    rc = write_file(path, text, 0600, err, errlen);
    free(text);
    return rc;
}

int broker_config_write(const struct srv_config *cfg, const char *dir, int *kept, char *err,
                        size_t errlen)
{
    char conf[16384], path[PATH_MAX + 32], dynsec[PATH_MAX + 32], absdir[PATH_MAX];
    const char *plugin = broker_plugin_path(cfg);
    int n;

    *kept = 0;
    if (!cfg->mqtt_username[0] || !cfg->mqtt_password[0]) {
        snprintf(err, errlen,
                 "[mqtt] username and password are required: they become the server's account "
                 "on the broker");
        return LS_ERR_INVAL;
    }
    if (!plugin) {
        snprintf(err, errlen,
                 "mosquitto's dynamic-security plugin was not found (install Debian's "
                 "mosquitto, or set [mqtt] dynsec_plugin)");
        return LS_ERR_INVAL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return LS_ERR_IO;
    }
    if (give_to_broker(dir, err, errlen))
        return LS_ERR_IO;
    /* The broker may run from another directory: every path in its config is absolute. */
    if (!realpath(dir, absdir)) {
        snprintf(err, errlen, "cannot resolve %s: %s", dir, strerror(errno));
        return LS_ERR_IO;
    }
    {
        /* the broker's user must be able to walk down to DIR */
        uid_t uid;
        gid_t gid;
        char up[PATH_MAX];
        struct stat sb;
        broker_user(&uid, &gid);
        snprintf(up, sizeof(up), "%s", absdir);
        for (char *slash; uid != (uid_t)-1 && (slash = strrchr(up, '/')) && slash != up;) {
            *slash = '\0';
            if (stat(up, &sb) == 0 && !(sb.st_mode & S_IXOTH) && sb.st_uid != uid) {
                snprintf(err, errlen,
                         "%s is closed to the user mosquitto, which the broker runs as: it could "
                         "not read %s (chmod o+x %s, or choose another DIR)",
                         up, absdir, up);
                return LS_ERR_INVAL;
            }
        }
    }
    snprintf(dynsec, sizeof(dynsec), "%s/dynamic-security.json", absdir);
    if (access(dynsec, F_OK) == 0)
        *kept = 1; /* it holds the gateways registered since: never overwritten */
    else if (write_dynsec(cfg, dynsec, err, errlen))
        return LS_ERR_IO;
    n = snprintf(conf, sizeof(conf),
                 "# Written by labshare-server broker-config: a mosquitto 2.0 broker for this\n"
                 "# server. Run it with: mosquitto -c %s/mosquitto.conf\n"
                 "# Nobody is anonymous; accounts and topic rights live in dynamic-security.json,\n"
                 "# which the server changes through the broker while it runs (gateways\n"
                 "# registered, rotated, disabled), so it is never edited by hand.\n"
                 "per_listener_settings false\n"
                 "allow_anonymous false\n"
                 "listener %d %s\n"
                 "%s%s%s%s%s%s%s%s%s"
                 "plugin %s\n"
                 "plugin_opt_config_file %s\n"
                 "persistence true\n"
                 "persistence_location %s/\n"
                 "retain_available true\n"
                 "max_packet_size %d\n",
                 absdir, cfg->mqtt_port, cfg->mqtt_host, cfg->mqtt_certfile[0] ? "certfile " : "",
                 cfg->mqtt_certfile, cfg->mqtt_certfile[0] ? "\n" : "",
                 cfg->mqtt_keyfile[0] ? "keyfile " : "", cfg->mqtt_keyfile,
                 cfg->mqtt_keyfile[0] ? "\n" : "",
                 cfg->mqtt_cafile[0] && cfg->mqtt_certfile[0] ? "cafile " : "",
                 cfg->mqtt_certfile[0] ? cfg->mqtt_cafile : "",
                 cfg->mqtt_cafile[0] && cfg->mqtt_certfile[0] ? "\n" : "", plugin, dynsec, absdir,
                 /* a batch of LS_PAYLOAD_MAX plus the MQTT header: larger packets are refused by
                    the broker before anyone copies them */
                 LS_PAYLOAD_MAX + 1024);
    if (n < 0 || (size_t)n >= sizeof(conf)) {
        snprintf(err, errlen, "paths too long");
        return LS_ERR_INVAL;
    }
    snprintf(path, sizeof(path), "%s/mosquitto.conf", absdir);
    return write_file(path, conf, 0644, err, errlen);
}

/* ---- the control client -------------------------------------------------------------------- */

/* Commands waiting for their answer: one at a time is plenty (gateways are registered by
 * people), so callers queue on the mutex. */
struct broker {
    const struct srv_config *cfg;
    struct mosquitto *mosq;
    struct ls_mqtt_loop *loop; /* its network thread (mqtt_loop.h) */
    char **(*disabled_ids)(void *arg, size_t *n);
    void *arg;
    pthread_mutex_t call; /* one command in flight */
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t answered;
    int connected;
    int subscribed;
    unsigned long next_id;
    char waiting[64];  /* correlation data of the command in flight, "" = none */
    json_t *responses; /* its answer, once it came */
};

int broker_publish(struct broker *b, const char *topic, const char *payload, int retain)
{
    int connected;

    if (!b)
        return LS_ERR_TIMEOUT;
    pthread_mutex_lock(&b->lock);
    connected = b->connected;
    pthread_mutex_unlock(&b->lock);
    if (!connected || mosquitto_publish(b->mosq, NULL, topic, (int)strlen(payload), payload, 1,
                                        retain ? true : false) != MOSQ_ERR_SUCCESS)
        return LS_ERR_TIMEOUT;
    return LS_OK;
}

void broker_gateway_user(const char *id, char *user)
{
    snprintf(user, BROKER_USER_MAX, BROKER_GW_USER_PREFIX "%s", id);
}

static void send_disables(struct broker *b)
{
    size_t n = 0;
    char **ids = b->disabled_ids ? b->disabled_ids(b->arg, &n) : NULL;
    json_t *cmds = json_array();

    for (size_t i = 0; i < n && cmds; i++) {
        char user[BROKER_USER_MAX];
        broker_gateway_user(ids[i], user);
        json_array_append_new(
            cmds, json_pack("{s:s, s:s}", "command", "disableClient", "username", user));
    }
    if (cmds && json_array_size(cmds) > 0) {
        json_t *root = json_pack("{s:o}", "commands", json_incref(cmds));
        char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
        if (s)
            mosquitto_publish(b->mosq, NULL, CONTROL_TOPIC, (int)strlen(s), s, 1, false);
        ls_info("broker: %zu disabled gateway account(s) locked out again", n);
        free(s);
        json_decref(root);
    }
    json_decref(cmds);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* A broker configured before [mqtt] share_group (or with another group) lacks the role's ACLs of
 * the shared filters: grant them, so the ingest's shared subscription is not refused. When they
 * are there the broker answers that they exist, and nothing changes. */
static void send_share_acls(struct broker *b)
{
    char filter[192];
    json_t *cmds = json_array();

    for (int k = 0; k < 2 && cmds; k++)
        if (b->cfg->mqtt_share_group[0] &&
            broker_ingest_filter(b->cfg, k ? LS_TOPIC_STATUS : LS_TOPIC_READINGS, 1, filter,
                                 sizeof(filter)) == LS_OK)
            json_array_append_new(cmds,
                                  json_pack("{s:s, s:s, s:s, s:s, s:b}", "command", "addRoleACL",
                                            "rolename", BROKER_SERVER_ROLE, "acltype",
                                            "subscribeLiteral", "topic", filter, "allow", 1));
    if (cmds && json_array_size(cmds) > 0) {
        json_t *root = json_pack("{s:O}", "commands", cmds);
        char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
        if (text)
            mosquitto_publish(b->mosq, NULL, CONTROL_TOPIC, (int)strlen(text), text, 1, false);
        free(text);
        json_decref(root);
    }
    json_decref(cmds);
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct broker *b = obj;

    if (rc) {
        ls_warn("broker: control connection refused: %s", mosquitto_connack_string(rc));
        return;
    }
    mosquitto_subscribe(mosq, NULL, RESPONSE_TOPIC, 1);
    pthread_mutex_lock(&b->lock);
    b->connected = 1;
    pthread_mutex_unlock(&b->lock);
    send_share_acls(b);
    send_disables(b);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
                         const int *granted)
{
    struct broker *b = obj;

    (void)mosq;
    (void)mid;
    pthread_mutex_lock(&b->lock);
    b->subscribed = qos_count > 0 && granted[0] <= 2; /* 0x80 = refused by the broker's ACL */
    pthread_cond_broadcast(&b->answered);
    pthread_mutex_unlock(&b->lock);
    if (qos_count < 1 || granted[0] > 2)
        ls_error("broker: the server's account may not read %s: is the broker configured by "
                 "broker-config?",
                 RESPONSE_TOPIC);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct broker *b = obj;

    (void)mosq;
    (void)rc;
    pthread_mutex_lock(&b->lock);
    b->connected = 0;
    b->subscribed = 0;
    pthread_cond_broadcast(&b->answered);
    pthread_mutex_unlock(&b->lock);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    struct broker *b = obj;
    json_t *root, *responses, *r;
    size_t i;

    (void)mosq;
    if (strcmp(m->topic, RESPONSE_TOPIC) != 0 || m->payloadlen <= 0)
        return;
    root = ls_json_loadb(m->payload, (size_t)m->payloadlen, 0, NULL, NULL);
    responses = json_object_get(root, "responses");
    pthread_mutex_lock(&b->lock);
    /* Answers to other control clients (an admin's mosquitto_ctrl) arrive here too: ours carry
     * our correlation data. */
    json_array_foreach(responses, i, r)
    {
        const char *cd = json_string_value(json_object_get(r, "correlationData"));
        if (b->waiting[0] && cd && strcmp(cd, b->waiting) == 0 && !b->responses) {
            b->responses = json_incref(responses);
            pthread_cond_broadcast(&b->answered);
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    json_decref(root);
}

int broker_start(const struct srv_config *cfg, char **(*disabled_ids)(void *arg, size_t *n),
                 void *arg, struct broker **out)
{
    struct broker *b = calloc(1, sizeof(*b));
    char client_id[96];
    int rc;

    if (!b)
        return LS_ERR_NOMEM;
    b->cfg = cfg;
    b->disabled_ids = disabled_ids;
    b->arg = arg;
    pthread_mutex_init(&b->call, NULL);
    pthread_mutex_init(&b->lock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&b->answered, &ca);
        pthread_condattr_destroy(&ca);
    }
    snprintf(client_id, sizeof(client_id), "%s-ctl", cfg->mqtt_client_id);
    b->mosq = mosquitto_new(client_id, true, b);
    if (!b->mosq)
        goto fail;
    mosquitto_connect_callback_set(b->mosq, on_connect);
    mosquitto_disconnect_callback_set(b->mosq, on_disconnect);
    mosquitto_subscribe_callback_set(b->mosq, on_subscribe);
    mosquitto_message_callback_set(b->mosq, on_message);
    mosquitto_reconnect_delay_set(b->mosq, 1, 30, true);
    if (cfg->mqtt_username[0])
        mosquitto_username_pw_set(b->mosq, cfg->mqtt_username,
                                  cfg->mqtt_password[0] ? cfg->mqtt_password : NULL);
    if (cfg->mqtt_cafile[0] &&
        mosquitto_tls_set(b->mosq, cfg->mqtt_cafile, NULL, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        ls_error("broker: TLS set-up failed");
        goto fail;
    }
    rc = mosquitto_connect_async(b->mosq, cfg->mqtt_host, cfg->mqtt_port, 30);
    if (rc)
        ls_warn("broker: cannot reach %s:%d yet (%s); will keep trying", cfg->mqtt_host,
                cfg->mqtt_port, mosquitto_strerror(rc));
    if (ls_mqtt_loop_start(b->mosq, "broker", &b->loop))
        goto fail;
    *out = b;
    return LS_OK;
fail:
    if (b->mosq)
        mosquitto_destroy(b->mosq);
    pthread_cond_destroy(&b->answered);
    pthread_mutex_destroy(&b->lock);
    pthread_mutex_destroy(&b->call);
    free(b);
    return LS_ERR_IO;
}

void broker_stop(struct broker *b)
{
    if (!b)
        return;
    ls_mqtt_loop_stop(b->loop, 1);
    mosquitto_destroy(b->mosq);
    json_decref(b->responses);
    pthread_cond_destroy(&b->answered);
    pthread_mutex_destroy(&b->lock);
    pthread_mutex_destroy(&b->call);
    free(b);
}

static void deadline_in(struct timespec *t, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_sec += ms / 1000;
    t->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/*
 * Send cmds (an array of command objects; stolen) as one control message and wait for the
 * answers. An answer whose error is in the NULL-terminated list ok_errors counts as success
 * (e.g. "Role already exists" when re-registering). LS_OK, LS_ERR_TIMEOUT, LS_ERR_PROTO.
 */
static int run(struct broker *b, json_t *cmds, const char *const *ok_errors)
{
    struct timespec until;
    json_t *root = NULL, *answers = NULL, *r;
    char *text = NULL;
    size_t i;
    int rc = LS_ERR_TIMEOUT;

    if (!b || !cmds) {
        json_decref(cmds);
        return LS_ERR_TIMEOUT;
    }
    pthread_mutex_lock(&b->call);
    pthread_mutex_lock(&b->lock);
    snprintf(b->waiting, sizeof(b->waiting), "labshare-%ld-%lu", (long)getpid(), ++b->next_id);
    json_decref(b->responses);
    b->responses = NULL;
    pthread_mutex_unlock(&b->lock);
    json_array_foreach(cmds, i, r)
        json_object_set_new(r, "correlationData", json_string(b->waiting));
    root = json_pack("{s:o}", "commands", cmds);
    text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    deadline_in(&until, BROKER_CMD_TIMEOUT_MS);
    pthread_mutex_lock(&b->lock);
    /* Wait for the connection and the subscription to the answers first (just after a start). */
    while (!(b->connected && b->subscribed) &&
           pthread_cond_timedwait(&b->answered, &b->lock, &until) == 0)
        ;
    if (text && b->connected && b->subscribed &&
        mosquitto_publish(b->mosq, NULL, CONTROL_TOPIC, (int)strlen(text), text, 1, false) ==
            MOSQ_ERR_SUCCESS) {
        while (!b->responses && pthread_cond_timedwait(&b->answered, &b->lock, &until) == 0)
            ;
        answers = b->responses;
        b->responses = NULL;
    }
    b->waiting[0] = '\0';
    pthread_mutex_unlock(&b->lock);
    pthread_mutex_unlock(&b->call);
    if (answers) {
        rc = LS_OK;
        json_array_foreach(answers, i, r)
        {
            const char *e = json_string_value(json_object_get(r, "error"));
            int fine = !e;
            for (size_t k = 0; e && ok_errors && ok_errors[k]; k++)
                fine |= strcmp(e, ok_errors[k]) == 0;
            if (!fine) {
                ls_warn("broker: %s refused: %s", json_string_value(json_object_get(r, "command")),
                        e);
                rc = LS_ERR_PROTO;
            }
        }
    } else {
        ls_warn("broker: no answer to a control command within %d ms", BROKER_CMD_TIMEOUT_MS);
    }
    json_decref(answers);
    json_decref(root);
    free(text);
    return rc;
}

static json_t *gateway_role(const char *id)
{
    char rolename[LS_ID_MAX + 32], readings[128], status[128], ack[128], cmd[128];

    snprintf(rolename, sizeof(rolename), BROKER_GW_ROLE_PREFIX "%s", id);
    ls_topic(readings, sizeof(readings), id, LS_TOPIC_READINGS);
    ls_topic(status, sizeof(status), id, LS_TOPIC_STATUS);
    ls_topic(ack, sizeof(ack), id, LS_TOPIC_ACK);
    ls_topic(cmd, sizeof(cmd), id, LS_TOPIC_CMD);
    return json_pack("{s:s, s:s, s:[o,o,o,o]}", "command", "createRole", "rolename", rolename,
                     "acls", acl("publishClientSend", readings), acl("publishClientSend", status),
                     acl("subscribeLiteral", ack), acl("subscribeLiteral", cmd));
}

int broker_gateway_add(struct broker *b, const char *id, const char *password)
{
    static const char *const ok[] = {"Client not found", "Role already exists", NULL};
    char rolename[LS_ID_MAX + 32], user[BROKER_USER_MAX];

    snprintf(rolename, sizeof(rolename), BROKER_GW_ROLE_PREFIX "%s", id);
    broker_gateway_user(id, user);
    /* An account left from an earlier attempt is replaced whole: role, password, enabled. */
    return run(b,
               json_pack("[{s:s, s:s}, o, {s:s, s:s, s:s, s:[{s:s}]}]", "command", "deleteClient",
                         "username", user, gateway_role(id), "command", "createClient", "username",
                         user, "password", password, "roles", "rolename", rolename),
               ok);
}

int broker_gateway_password(struct broker *b, const char *id, const char *password)
{
    char user[BROKER_USER_MAX];

    broker_gateway_user(id, user);
    return run(b,
               json_pack("[{s:s, s:s, s:s}]", "command", "setClientPassword", "username", user,
                         "password", password),
               NULL);
}

int broker_gateway_enable(struct broker *b, const char *id, int enabled)
{
    char user[BROKER_USER_MAX];

    broker_gateway_user(id, user);
    return run(b,
               json_pack("[{s:s, s:s}]", "command", enabled ? "enableClient" : "disableClient",
                         "username", user),
               NULL);
}
