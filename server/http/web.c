#include "web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labshare/log.h"
#include "labshare/rc.h"
#include "labshare/banned.h"

/* The UI is a few dozen files and two charting/calendar packages (~3 MB); the limits only stop
 * a wrong web_root (say "/") from reading a disk into memory. */
#define WEB_MAX_FILES 512
#define WEB_MAX_BYTES (64u * 1024 * 1024)
#define WEB_MAX_DEPTH 6

struct web {
    struct web_file files[WEB_MAX_FILES];
    size_t count;
    size_t bytes;
};

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *path)
{
    size_t n = strlen(path);

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t e = strlen(types[i].ext);
        if (n > e && strcmp(path + n - e, types[i].ext) == 0)
            return types[i].type;
    }
    return NULL; /* not served: source maps, licences, anything unexpected */
}

static int slurp(const char *file, char **out, size_t *len)
{
    struct stat sb;
    char *buf = NULL;
    size_t got = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = LS_ERR_IO;

    *out = NULL;
    if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)WEB_MAX_BYTES)
        goto out;
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        rc = LS_ERR_NOMEM;
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r <= 0)
            goto out;
        got += (size_t)r;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    buf = NULL;
    rc = LS_OK;
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

static int add_file(struct web *w, const char *root, const char *rel)
{
    char full[PATH_MAX], gzname[PATH_MAX];
    struct web_file *f;
    unsigned char hash[crypto_hash_sha256_BYTES];
    const char *type = type_of(rel);
    char *body = NULL, *gz = NULL;
    size_t len = 0, gz_len = 0;
    int rc;

    if (!type)
        return LS_OK;
    if (w->count >= WEB_MAX_FILES) {
        ls_error("web: more than %d files under %s", WEB_MAX_FILES, root);
        return LS_ERR_TOOBIG;
    }
    if ((size_t)snprintf(full, sizeof(full), "%s%s", root, rel) >= sizeof(full) ||
        (size_t)snprintf(gzname, sizeof(gzname), "%s.gz", full) >= sizeof(gzname))
        return LS_ERR_TOOBIG;
    rc = slurp(full, &body, &len);
    if (rc)
        return rc;
    if (access(gzname, R_OK) == 0 && slurp(gzname, &gz, &gz_len)) {
        free(body);
        return LS_ERR_IO;
    }
    if (w->bytes + len + gz_len > WEB_MAX_BYTES) {
        ls_error("web: the files under %s are over %u bytes", root, WEB_MAX_BYTES);
        free(body);
        free(gz);
        return LS_ERR_TOOBIG;
    }
    f = &w->files[w->count];
    f->path = strdup(rel);
    if (!f->path) {
        free(body);
        free(gz);
        return LS_ERR_NOMEM;
    }
    w->bytes += len + gz_len;
    f->content_type = type;
    f->body = body;
    f->len = len;
    f->gz = gz;
    f->gz_len = gz_len;
    crypto_hash_sha256(hash, (const unsigned char *)body, len);
    snprintf(f->etag, sizeof(f->etag), "\"%02x%02x%02x%02x%02x%02x%02x%02x%02x%02x\"", hash[0],
             hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7], hash[8], hash[9]);
    f->long_lived = strncmp(rel, "/vendor/", 8) == 0;
    w->count++;
    return LS_OK;
}

/* Walk dir (relative "rel" under root), depth-limited, skipping dot files and *.gz. */
static int walk(struct web *w, const char *root, const char *rel, int depth)
{
    char dirname[PATH_MAX];
    DIR *d;
    struct dirent *e;
    int rc = LS_OK;

    if (depth > WEB_MAX_DEPTH)
        return LS_OK;
    if ((size_t)snprintf(dirname, sizeof(dirname), "%s%s", root, rel) >= sizeof(dirname))
        return LS_ERR_TOOBIG;
    d = opendir(dirname);
    if (!d)
        return LS_ERR_IO;
    while (rc == LS_OK && (e = readdir(d)) != NULL) {
        char sub[PATH_MAX];
        struct stat sb;
        size_t n = strlen(e->d_name);

        if (e->d_name[0] == '.' || (n > 3 && strcmp(e->d_name + n - 3, ".gz") == 0))
            continue;
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name) >= sizeof(sub))
            continue;
        if ((size_t)snprintf(dirname, sizeof(dirname), "%s%s", root, sub) >= sizeof(dirname) ||
            lstat(dirname, &sb))
            continue;
        if (S_ISDIR(sb.st_mode))
            rc = walk(w, root, sub, depth + 1);
        else if (S_ISREG(sb.st_mode))
            rc = add_file(w, root, sub);
    }
    closedir(d);
    return rc;
}

int web_load(const char *root, struct web **out)
{
    struct web *w = calloc(1, sizeof(*w));
    struct stat sb;
    int rc;

    *out = NULL;
    if (!w)
        return LS_ERR_NOMEM;
    if (stat(root, &sb) || !S_ISDIR(sb.st_mode)) {
        ls_warn("web: no UI at %s (run make, or set [server] web_root); serving the API only",
                root);
        *out = w;
        return LS_OK;
    }
    rc = walk(w, root, "", 0);
    if (rc) {
        web_free(w);
        return rc == LS_ERR_IO ? LS_ERR_IO : rc;
    }
    if (!web_find(w, "/"))
        ls_warn("web: %s has no index.html", root);
    ls_info("web: %zu files (%zu bytes) from %s", w->count, w->bytes, root);
    *out = w;
    return LS_OK;
}

void web_free(struct web *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++) {
        free((char *)w->files[i].path);
        free((char *)w->files[i].body);
        free((char *)w->files[i].gz);
    }
    free(w);
}

const struct web_file *web_find(const struct web *w, const char *path)
{
    if (!w || !path)
        return NULL;
    if (strcmp(path, "/") == 0)
        path = "/index.html";
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->files[i].path, path) == 0)
            return &w->files[i];
    return NULL;
}

size_t web_count(const struct web *w)
{
    return w ? w->count : 0;
}
