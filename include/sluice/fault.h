/* Named fault points, for tests that prove crash safety deterministically.
 *
 * SLUICE_FAULT=NAME:N kills the process with SIGKILL (no cleanup, no
 * flush: as a crash or `kill -9` would) the Nth time it passes the point
 * NAME. Points are compiled in always; unarmed, each costs one branch on a
 * global. The points (grep SL_FAULT_POINT):
 *
 *   flow.after_sink_write       a batch is in the sink, its checkpoint not stored
 *   flow.after_checkpoint       the checkpoint is stored, the source not acked
 *   flow.after_commit           the sink published, the acks not stored
 *   flow.acks_mid_transaction   inside the transaction storing them
 *   lake.after_marker           the lake listed its files, none published
 *   lake.after_first_publish    one file of several published
 *   file_sink.after_rename      the file is in place, the folder not synced
 *   run.after_step_recorded     a step's row is stored, the next not started
 *   map.after_item_status       a map item's outcome is stored, others may be running
 */
#ifndef SLUICE_FAULT_H
#define SLUICE_FAULT_H

#include "sluice/common.h"

extern int sl_fault_armed; /* set by sl_fault_init when SLUICE_FAULT is */

/* Reads SLUICE_FAULT once (the command line calls it at start). Returns 0,
 * or SL_EINVAL when it is set but not NAME:N with N >= 1. */
int sl_fault_init(void);
/* Counts a pass through name and kills the process on the armed one. */
void sl_fault_hit(const char *name);

#define SL_FAULT_POINT(name)                                                               \
    do {                                                                                   \
        if (SL_UNLIKELY(sl_fault_armed)) {                                                 \
            sl_fault_hit(name);                                                            \
        }                                                                                  \
    } while (0)

#endif
