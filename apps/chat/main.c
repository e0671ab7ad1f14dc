/*
 * sio-chat: the libsio demo chat server.
 *
 * For now it serves the chat's page and assets from --public; the real-time part arrives
 * with the Socket.IO layer. Run it with `make run` and open http://localhost:3000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: sio-chat [--host H] [--port P] [--public DIR]\n"
            "\n"
            "  --host H      address to listen on (default: all interfaces, \"::\" and 0.0.0.0)\n"
            "  --port P      TCP port (default: 3000)\n"
            "  --public DIR  directory with the chat page and its assets\n"
            "                (default: apps/chat/public)\n"
            "  --help        show this help\n"
            "\n"
            "SIGINT or SIGTERM shuts the server down gracefully.\n");
}

int main(int argc, char **argv)
{
    const char *host = NULL, *public_dir = "apps/chat/public";
    int port = 3000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--host") && v) {
            host = v, i++;
        } else if (!strcmp(a, "--port") && v) {
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 0 || p > 65535) {
                fprintf(stderr, "sio-chat: bad port: %s\n", v);
                return 2;
            }
            port = (int)p, i++;
        } else if (!strcmp(a, "--public") && v) {
            public_dir = v, i++;
        } else {
            fprintf(stderr, "sio-chat: unknown or incomplete option: %s\n\n", a);
            usage(stderr);
            return 2;
        }
    }

    sio_server *io = sio_server_new(NULL, &(sio_server_options){.static_dir = public_dir});
    if (!io) {
        fprintf(stderr, "sio-chat: cannot start (is --public %s a directory?)\n", public_dir);
        return 1;
    }
    int r;
    if (host) {
        r = sio_listen(io, host, port);
    } else if ((r = sio_listen(io, "::", port)) != 0) {
        r = sio_listen(io, "0.0.0.0", port); /* no IPv6 on this machine */
    }
    if (r) {
        fprintf(stderr, "sio-chat: cannot listen on port %d: %s\n", port, sio_strerror(r));
        sio_server_free(io);
        return 1;
    }
    printf("sio-chat: listening on http://localhost:%d\n", sio_server_port(io, 0));
    fflush(stdout);
    r = sio_run(io);
    sio_server_free(io);
    return r ? 1 : 0;
}
