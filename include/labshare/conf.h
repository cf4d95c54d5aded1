/*
 * conf.h - table-driven INI configuration (libinih), shared by the gateway and the server.
 *
 * Each program describes its keys in one table of struct ls_conf_key: section, name, type,
 * where the value goes (offset into the program's config struct), bounds and default. Defaults
 * are text parsed like values, so a table can be checked by walking it
 * (ls_conf_check_table). Any thread, on distinct config structs.
 */
#ifndef LS_CONF_H
#define LS_CONF_H

#include <stddef.h>

enum ls_conf_type {
    LS_CONF_STR,    /* copied into a char[size] */
    LS_CONF_INT,    /* int in [min, max] */
    LS_CONF_I64,    /* int64_t in [min, max] */
    LS_CONF_DOUBLE, /* finite double in [min, max] */
    LS_CONF_CUSTOM  /* parsed by the key's custom function */
};

struct ls_conf_key;

/* Parse value for key k into base. On error return LS_ERR_INVAL with a reason in err that
 * does not repeat the key name. */
typedef int (*ls_conf_parse_fn)(const struct ls_conf_key *k, void *base, const char *value,
                                char *err, size_t errlen);

struct ls_conf_key {
    const char *section; /* "gateway", or a prefix such as "modbus:" for per-device sections */
    const char *name;
    enum ls_conf_type type;
    size_t offset; /* of the member in the struct the section fills */
    size_t size;   /* of that member (strings) or a tag for custom parsers */
    double min, max;
    const char *def; /* default value as text; NULL = none */
    ls_conf_parse_fn custom;
};

/* Offset and size of member m of struct type T, for table entries. */
#define LS_CONF_AT(T, m) offsetof(T, m), sizeof(((T *)0)->m)

/* Parse value into base for k. On error LS_ERR_INVAL and "name: reason" in err. */
int ls_conf_set(const struct ls_conf_key *k, void *base, const char *value, char *err,
                size_t errlen);

/* Apply the defaults of every key of the table whose section is section. */
void ls_conf_defaults(const struct ls_conf_key *keys, size_t n, const char *section, void *base);

/* Find the key of a table for (section, name): section matches exactly or by the key's
 * prefix ("modbus:" matches "modbus:icp-ms-01"). *known_section is set to 1 when some key of
 * the table belongs to the section. NULL when no key matches. */
const struct ls_conf_key *ls_conf_find(const struct ls_conf_key *keys, size_t n,
                                       const char *section, const char *name, int *known_section);

/* Walk a table: every default must parse within bounds (into a scratch buffer of base_size
 * bytes), bounds must not be reversed. Returns the number of bad entries, each reported on
 * stderr. */
int ls_conf_check_table(const struct ls_conf_key *keys, size_t n, size_t base_size);

/* Run ini_parse(path, handler, user) and turn its result into "path:line: message" (message
 * from first_error, the handler's first error, or a generic syntax error) in err.
 * LS_ERR_IO when the file cannot be opened, LS_ERR_INVAL on an error, LS_OK otherwise. */
int ls_conf_parse_file(const char *path,
                       int (*handler)(void *, const char *, const char *, const char *), void *user,
                       const char *first_error, char *err, size_t errlen);

#endif /* LS_CONF_H */
