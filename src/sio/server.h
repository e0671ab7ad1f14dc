/* What the higher layers need from the server object beyond the public API. */
#ifndef SIO_SIO_SERVER_H
#define SIO_SIO_SERVER_H

#include "base/log.h"
#include "sio.h"

struct sio__io;
/* The Socket.IO part of the server, made by the first sio_of(); free_fn runs when the
 * server is destroyed, before the loop's last turn. */
struct sio__io *sio__server_io(const sio_server *io);
void sio__server_set_io(sio_server *io, struct sio__io *x, void (*free_fn)(struct sio__io *x));
const sio_server_options *sio__server_options(const sio_server *io);
const sio__logger *sio__server_log(const sio_server *io);

/* Call fn(ud) when a graceful shutdown starts, before waiting for connections to close:
 * the layer closes its sessions. 0 or SIO_ENOMEM. */
int sio__server_on_shutdown(sio_server *io, void (*fn)(void *ud), void *ud);

#endif
