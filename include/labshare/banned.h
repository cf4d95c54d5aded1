/*
 * banned.h - functions LabShare code must not call (after git's banned.h).
 *
 * Included last, after every other #include, by each LabShare .c file. Unbounded string
 * functions and unchecked number parsing become compile errors; use snprintf, struct ls_buf
 * and the ls_parse_* functions of num.h instead.
 */
#ifndef LS_BANNED_H
#define LS_BANNED_H

#define LS_BANNED(func) sorry_##func##_is_banned_in_labshare

#undef strcpy
#define strcpy(x, y) LS_BANNED(strcpy)
#undef strcat
#define strcat(x, y) LS_BANNED(strcat)
#undef sprintf
#define sprintf(...) LS_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) LS_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) LS_BANNED(strtok)
#undef atoi
#define atoi(x) LS_BANNED(atoi)
#undef atol
#define atol(x) LS_BANNED(atol)
#undef atoll
#define atoll(x) LS_BANNED(atoll)
#undef localtime
#define localtime(x) LS_BANNED(localtime)
#undef gmtime
#define gmtime(x) LS_BANNED(gmtime)

#endif /* LS_BANNED_H */
