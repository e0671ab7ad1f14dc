/* What the higher layers need from the server object beyond the public API. */
#ifndef SIO_SIO_SERVER_H
#define SIO_SIO_SERVER_H

#include "sio.h"

/* Call fn(ud) when a graceful shutdown starts, before waiting for connections to close:
 * the layer closes its sessions. 0 or SIO_ENOMEM. */
int sio__server_on_shutdown(sio_server *io, void (*fn)(void *ud), void *ud);

#endif
