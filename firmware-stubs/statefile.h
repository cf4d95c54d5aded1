/*
 * statefile.h - meter counters that survive a restart of the simulator, as real meter firmware
 * keeps them in non-volatile memory. One JSON file holds the counters of every instrument of
 * the process: {"<id>": {"run_seconds": N, "energy_wh": N, "samples": N, "run_ms_frac": N,
 * "energy_frac": F}, ...}. Written atomically (temporary file, fsync, rename).
 */
#ifndef LS_STATEFILE_H
#define LS_STATEFILE_H

#include <stddef.h>

#include "meter.h"

/* Restore the counters of each of the n meters found in path. A missing file is not an
 * error (a new meter). LS_ERR_INVAL with a reason in err for a file that is not ours. */
int statefile_load(const char *path, struct meter *const *meters, size_t n, char *err,
                   size_t errlen);

/* Save the counters of the n meters. LS_ERR_IO with a logged reason. */
int statefile_save(const char *path, struct meter *const *meters, size_t n);

#endif /* LS_STATEFILE_H */
