/*
 * web.h - the web UI's static files, served from memory.
 *
 * `make` assembles the UI into build/web (our pages from server/web plus the npm packages they
 * use, each text file also gzipped). At start-up the server reads that folder once into a
 * table; a request can only ever name a file of that table, so no path from outside reaches
 * the file system. Files are immutable while the server runs.
 */
#ifndef LS_SRV_WEB_H
#define LS_SRV_WEB_H

#include <stddef.h>

struct web;

struct web_file {
    const char *path;         /* "/index.html", "/app/main.js" ... */
    const char *content_type; /* from the extension */
    const char *body;         /* the bytes, and their gzip when there is a .gz beside them */
    size_t len;
    const char *gz; /* NULL when none */
    size_t gz_len;
    char etag[48];  /* a strong ETag: "\"<sha256 prefix>\"" */
    int long_lived; /* under /vendor/<package>-<version>/: cacheable for a day */
};

/* Load every regular file under root (at most WEB_MAX_FILES files of WEB_MAX_BYTES in all) into
 * *out. A missing root is not an error: *out is an empty table, and a warning says where the UI
 * was looked for. LS_ERR_NOMEM, LS_ERR_TOOBIG (over the limits, with a logged reason). */
int web_load(const char *root, struct web **out);
void web_free(struct web *w);

/* The file for a request path ("/" is "/index.html"), or NULL. Borrowed, valid until web_free.
 * Any thread. */
const struct web_file *web_find(const struct web *w, const char *path);

/* How many files were loaded. */
size_t web_count(const struct web *w);

#endif /* LS_SRV_WEB_H */
