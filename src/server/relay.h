/*
 * Live delivery between server processes over one shared store
 * (store_pg.c): every log entry reaches the connections of this process
 * through the log, in seq order per group, whichever process accepted it;
 * inbox entries accepted elsewhere are pushed from the inbox.  With a
 * store only one process uses (SQLite) there is no relay and the held
 * events of batch.c are the whole story.
 */
#ifndef SRV_RELAY_H
#define SRV_RELAY_H

#include "srv.h"

/* Sets up s->relay when the store is shared (has notices); 0 or -1. */
int srv_relay_init(srv *s);
void srv_relay_free(srv *s);
/* An entry this process appended in the open batch (the event sink). */
void srv_relay_local(srv *s, const srv_group *g, uint64_t seq);
/* After the batch committed: pushes the groups' new entries, the other
 * processes' ones before and between this process's, in log order. */
void srv_relay_flush(srv *s);
/* After the batch failed: forgets what srv_relay_local noted. */
void srv_relay_drop(srv *s);
/* Outside a batch: takes the other processes' notices and pushes what
 * they announce, catching up from the log after a lost connection. */
void srv_relay_poll(srv *s);

#endif
