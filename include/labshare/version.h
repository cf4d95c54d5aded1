/* version.h - the LabShare release, shown by --version and in gateway status. */
#ifndef LS_VERSION_H
#define LS_VERSION_H

#define LS_VERSION "0.1.0"

#endif /* LS_VERSION_H */
