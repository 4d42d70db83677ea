/* Transport: libwebsockets context, the event loop and its batching. */
#ifndef SRV_TRANSPORT_H
#define SRV_TRANSPORT_H

#include "srv.h"

/* Listens per s->cfg.  0 on success. */
int srv_transport_start(srv *s);
/* Serves until s->stopping; each loop turn ends with srv_batch_end. */
void srv_transport_run(srv *s);
/* Async-signal-safe: makes the loop turn so it sees s->stopping. */
void srv_transport_wake(srv *s);
void srv_transport_stop(srv *s);

#endif
