/* mailer.c - deliver the notification queue: see mailer.h. */
#include "mailer.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "netguard.h"
#include "notify.h"
#include "notify_queue.h"
#include "store.h"
#include "labshare/log.h"
#include "labshare/num.h"
#include "labshare/rc.h"
#include "labshare/timefmt.h"
#include "labshare/banned.h"

/* How many messages one round claims, how long a claim holds, how often the queue is looked at
 * and the reminders and digest are queued. */
#define MAILER_BATCH 20
#define MAILER_LEASE_MS 120000
#define MAILER_IDLE_MS 1000
#define MAILER_PERIODIC_MS 5000

struct mailer {
    const struct srv_config *cfg;
    struct store *st;
    struct notify_settings ns;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping, running;
    atomic_ullong sent_mail, sent_hooks, failures, given_up;
    char from_addr[256];
};

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

/* The value of a Date header now (RFC 5322). */
static void mail_date(char *out, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;

    if (!localtime_r(&t, &tm) || strftime(out, len, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
        snprintf(out, len, "Thu, 01 Jan 1970 00:00:00 +0000");
}

/* Send r as an e-mail; LS_OK when the SMTP server accepted it, else the reason in err. */
static int send_mail(struct mailer *m, const struct notify_row *r, char *err, size_t elen)
{
    const struct srv_config *cfg = m->cfg;
    struct curl_slist *rcpt = NULL, *hdr = NULL;
    curl_mime *mime = NULL;
    curl_mimepart *part;
    unsigned char h[crypto_generichash_BYTES_MIN];
    char url[600], line[1200], word[900], to[600], hex[sizeof(h) * 2 + 1], date[64];
    const char *domain = strchr(m->from_addr, '@');
    CURL *c = curl_easy_init();
    CURLcode cc;

    if (!c) {
        snprintf(err, elen, "out of memory");
        return LS_ERR_NOMEM;
    }
    snprintf(url, sizeof(url), "%s://%s:%d", strcmp(cfg->mail_tls, "tls") == 0 ? "smtps" : "smtp",
             cfg->mail_host, cfg->mail_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)cfg->send_timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    /* STARTTLS is required, never optional: credentials and mail do not go in clear; the
     * certificate is always verified (libcurl's default), against cafile when given */
    if (strcmp(cfg->mail_tls, "starttls") == 0)
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (cfg->mail_cafile[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->mail_cafile);
    if (cfg->mail_username[0]) {
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->mail_username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->mail_password);
    }
    snprintf(line, sizeof(line), "<%s>", m->from_addr);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, line);
    snprintf(to, sizeof(to), "<%s>", r->recipient);
    rcpt = curl_slist_append(NULL, to);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    /* the headers; the Message-ID is the queue key's, so a repeat is recognisably the same */
    crypto_generichash(h, sizeof(h), (const unsigned char *)r->key, strlen(r->key), NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    mail_date(date, sizeof(date));
    if (notify_header_word(r->subject, word, sizeof(word)))
        snprintf(word, sizeof(word), "LabShare");
    snprintf(line, sizeof(line), "Date: %s", date);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "From: %s", cfg->mail_from);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "To: %s", to);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "Subject: %s", word);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "Message-ID: <%lld.%s@%s>", (long long)r->id, hex,
             domain ? domain + 1 : "labshare");
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-LabShare-Kind: %s", r->kind);
    hdr = curl_slist_append(hdr, line);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    /* the text, and a booking's calendar object */
    mime = curl_mime_init(c);
    part = curl_mime_addpart(mime);
    curl_mime_data(part, r->body, CURL_ZERO_TERMINATED);
    curl_mime_type(part, "text/plain; charset=utf-8");
    curl_mime_encoder(part, "quoted-printable");
    if (r->ics) {
        part = curl_mime_addpart(mime);
        curl_mime_data(part, r->ics, CURL_ZERO_TERMINATED);
        curl_mime_type(part, strstr(r->ics, "METHOD:CANCEL")
                                 ? "text/calendar; charset=utf-8; method=CANCEL"
                                 : "text/calendar; charset=utf-8; method=REQUEST");
        curl_mime_filename(part, "booking.ics");
        curl_mime_encoder(part, "base64");
    }
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    cc = rcpt && hdr && mime ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
    if (cc != CURLE_OK)
        snprintf(err, elen, "%s", curl_easy_strerror(cc));
    curl_mime_free(mime);
    curl_slist_free_all(hdr);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return cc == CURLE_OK ? LS_OK : LS_ERR_IO;
}

/* What the webhook's connection was refused for. */
struct hook_guard {
    int refused;
    char addr[64];
};

/* CURLOPT_OPENSOCKETFUNCTION: no socket towards an internal address (netguard.h). */
static curl_socket_t hook_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct hook_guard *g = arg;

    if (purpose == CURLSOCKTYPE_IPCXN && netguard_addr_internal(&a->addr)) {
        g->refused = 1;
        netguard_addr_text(&a->addr, g->addr, sizeof(g->addr));
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

/* POST r's JSON to its webhook, signed; LS_OK on a 2xx answer. */
static int send_hook(struct mailer *m, const struct notify_row *r, char *err, size_t elen)
{
    struct curl_slist *hdr = NULL;
    char url[512], secret[256], sig[128], line[300];
    struct hook_guard guard = {0};
    long status = 0;
    CURL *c;
    CURLcode cc;
    int rc = store_org_webhook(m->st, r->org_id, url, sizeof(url), secret, sizeof(secret));

    if (rc == LS_OK && !url[0])
        rc = LS_ERR_NOTFOUND;
    if (rc) {
        snprintf(err, elen, "the organisation has no webhook now");
        return LS_ERR_NOTFOUND;
    }
    if (!(c = curl_easy_init())) {
        snprintf(err, elen, "out of memory");
        return LS_ERR_NOMEM;
    }
    notify_sign(secret, (int64_t)time(NULL), r->body, sig, sizeof(sig));
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    snprintf(line, sizeof(line), "X-LabShare-Signature: %s", sig);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-LabShare-Event: %s", r->kind);
    hdr = curl_slist_append(hdr, line);
    snprintf(line, sizeof(line), "X-LabShare-Delivery: %lld", (long long)r->id);
    hdr = curl_slist_append(hdr, line);
    /* the URL as queued: where the organisation pointed it when it happened */
    curl_easy_setopt(c, CURLOPT_URL, r->recipient);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)m->cfg->send_timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    /* straight to the address the URL names: no proxy from the environment, no redirect */
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (!m->cfg->webhook_private) {
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, hook_socket);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &guard);
    }
    cc = hdr ? curl_easy_perform(c) : CURLE_OUT_OF_MEMORY;
    if (cc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK && guard.refused)
        snprintf(err, elen,
                 "the webhook's address %s is internal: refused ([notify] "
                 "webhook_private)",
                 guard.addr);
    else if (cc != CURLE_OK)
        snprintf(err, elen, "%s", curl_easy_strerror(cc));
    else if (status < 200 || status > 299)
        snprintf(err, elen, "the webhook answered %ld", status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return cc == CURLE_OK && status >= 200 && status <= 299 ? LS_OK : LS_ERR_IO;
}

/* Deliver one claimed message and record what became of it. */
static void deliver(struct mailer *m, const struct notify_row *r)
{
    char err[256] = "";
    int64_t now, delay;
    int rc = strcmp(r->channel, "mail") == 0 ? send_mail(m, r, err, sizeof(err))
                                             : send_hook(m, r, err, sizeof(err));

    now = ls_now_ms();
    if (rc == LS_OK) {
        if (store_notify_sent(m->st, r->id, now))
            ls_error("mailer: %s %lld was delivered but cannot be marked so; it is sent again"
                     " when its claim runs out",
                     r->channel, (long long)r->id);
        atomic_fetch_add(strcmp(r->channel, "mail") == 0 ? &m->sent_mail : &m->sent_hooks, 1);
        return;
    }
    atomic_fetch_add(&m->failures, 1);
    delay = (int64_t)m->cfg->retry_min_s * 1000;
    for (int64_t i = 0; i < r->attempts && delay < (int64_t)m->cfg->retry_max_s * 1000; i++)
        delay *= 2;
    if (delay > (int64_t)m->cfg->retry_max_s * 1000)
        delay = (int64_t)m->cfg->retry_max_s * 1000;
    {
        int give_up =
            now - r->created_at > (int64_t)m->cfg->give_up_hours * 3600000 || rc == LS_ERR_NOTFOUND;
        if (give_up) {
            atomic_fetch_add(&m->given_up, 1);
            ls_error("mailer: gave up %s %lld (%s) to %s after %lld attempts: %s", r->channel,
                     (long long)r->id, r->kind, r->recipient, (long long)r->attempts + 1, err);
        } else {
            ls_warn("mailer: %s %lld to %s failed (%s); again in %lld s", r->channel,
                    (long long)r->id, r->recipient, err, (long long)(delay / 1000));
        }
        if (store_notify_failed(m->st, r->id, err, now + delay, give_up, now))
            ls_error("mailer: cannot record the failure of %lld", (long long)r->id);
    }
}

/* Whether anything may be queued by the reminders (bookings starting soon) or the digest
 * (something waiting): read first, so that an idle platform never takes the write lock. */
static int worth_it(struct mailer *m, int64_t now, int digest)
{
    int64_t *a = NULL, *b = NULL, *c = NULL;
    size_t n = 0;
    int rc = digest ? store_waiting_by_org(m->st, now, &a, &b, &c, &n)
                    : store_bookings_starting(
                          m->st, now, now + (int64_t)m->cfg->remind_minutes * 60000, &a, &n);

    free(a);
    free(b);
    free(c);
    return rc != LS_OK || n > 0; /* in doubt, the transaction finds out */
}

/* The reminders and, once the hour has come, today's digest, each in its own transaction. */
static void periodic(struct mailer *m, int64_t now)
{
    if (m->cfg->remind_minutes > 0 && worth_it(m, now, 0)) {
        int rc = store_begin(m->st);
        if (rc == LS_OK)
            rc = notify_reminders(m->st, &m->ns, now, (int64_t)m->cfg->remind_minutes * 60000);
        if (rc == LS_OK)
            rc = store_commit(m->st);
        if (rc) {
            store_rollback(m->st);
            ls_warn("mailer: cannot queue the reminders now");
        }
    }
    if (m->cfg->digest_hour >= 0) {
        time_t t = (time_t)(now / 1000);
        struct tm tm;
        char day[16];
        if (localtime_r(&t, &tm) && tm.tm_hour >= m->cfg->digest_hour &&
            strftime(day, sizeof(day), "%Y-%m-%d", &tm) && worth_it(m, now, 1)) {
            int rc = store_begin(m->st);
            if (rc == LS_OK)
                rc = notify_digest(m->st, &m->ns, now, day);
            if (rc == LS_OK)
                rc = store_commit(m->st);
            if (rc) {
                store_rollback(m->st);
                ls_warn("mailer: cannot queue the digest now");
            }
        }
    }
}

static void *run(void *arg)
{
    struct mailer *m = arg;
    int64_t last_periodic = 0;

    for (;;) {
        struct notify_row *rows = NULL;
        size_t n = 0;
        int64_t now = ls_now_ms();
        int stop;

        pthread_mutex_lock(&m->lock);
        stop = m->stopping;
        pthread_mutex_unlock(&m->lock);
        if (stop)
            break;
        if (now - last_periodic >= MAILER_PERIODIC_MS) {
            periodic(m, now);
            last_periodic = now;
        }
        if (store_notify_claim(m->st, now, MAILER_LEASE_MS, MAILER_BATCH, &rows, &n))
            ls_warn("mailer: cannot read the queue now");
        for (size_t i = 0; i < n; i++) {
            pthread_mutex_lock(&m->lock);
            stop = m->stopping;
            pthread_mutex_unlock(&m->lock);
            if (stop)
                break; /* the rest is claimed; it goes when the claim runs out */
            deliver(m, &rows[i]);
        }
        notify_rows_free(rows, n);
        if (n == MAILER_BATCH)
            continue;
        pthread_mutex_lock(&m->lock);
        if (!m->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += (long)MAILER_IDLE_MS * 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&m->wake, &m->lock, &ts);
        }
        pthread_mutex_unlock(&m->lock);
    }
    return NULL;
}

int mailer_start(const struct srv_config *cfg, struct mailer **out)
{
    struct mailer *m = calloc(1, sizeof(*m));
    int rc;

    *out = NULL;
    if (!m)
        return LS_ERR_NOMEM;
    m->cfg = cfg;
    m->ns.mail = cfg->mail_host[0] != '\0';
    m->ns.platform = cfg->platform_name;
    m->ns.link = cfg->public_url;
    if (m->ns.mail)
        mail_from_address(cfg->mail_from, m->from_addr, sizeof(m->from_addr));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        free(m);
        return LS_ERR_NOMEM;
    }
    if ((rc = store_open(cfg->db, &m->st))) {
        curl_global_cleanup();
        free(m);
        return rc;
    }
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        store_close(m->st);
        curl_global_cleanup();
        free(m);
        return LS_ERR_NOMEM;
    }
    m->running = 1;
    ls_info("mailer: %s%s; webhooks on", m->ns.mail ? "mail through " : "no mail ([mail] host)",
            m->ns.mail ? cfg->mail_host : "");
    *out = m;
    return LS_OK;
}

void mailer_stop(struct mailer *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = 1;
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
    if (m->running)
        pthread_join(m->thread, NULL);
    store_close(m->st);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
    curl_global_cleanup();
    free(m);
}

void mailer_metrics(struct mailer *m, struct ls_buf *out)
{
    char line[1024];

    if (!m)
        return;
    snprintf(line, sizeof(line),
             "# HELP labshare_notifications_sent_total Notifications delivered, by channel.\n"
             "# TYPE labshare_notifications_sent_total counter\n"
             "labshare_notifications_sent_total{channel=\"mail\"} %llu\n"
             "labshare_notifications_sent_total{channel=\"webhook\"} %llu\n"
             "# HELP labshare_notification_failures_total Failed delivery attempts (retried).\n"
             "# TYPE labshare_notification_failures_total counter\n"
             "labshare_notification_failures_total %llu\n"
             "# HELP labshare_notifications_given_up_total Notifications given up.\n"
             "# TYPE labshare_notifications_given_up_total counter\n"
             "labshare_notifications_given_up_total %llu\n",
             (unsigned long long)atomic_load(&m->sent_mail),
             (unsigned long long)atomic_load(&m->sent_hooks),
             (unsigned long long)atomic_load(&m->failures),
             (unsigned long long)atomic_load(&m->given_up));
    ls_buf_adds(out, line);
}
