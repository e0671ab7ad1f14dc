/*
 * Error names and messages, generated from the SIO_ERR_MAP X-macro in sio.h so the enum,
 * the names and the messages cannot drift apart. libuv's codes are passed to libuv.
 */
#include "sio.h"

const char *sio_strerror(int err)
{
    switch (err) {
#define X(name, msg)                                                                               \
    case SIO_E##name:                                                                              \
        return msg;
        SIO_ERR_MAP(X)
#undef X
    case 0:
        return "success";
    default:
        /* libuv allocates (and leaks) a string for codes it does not know. */
        if (err > 0 || err < -4096) return "unknown error";
        return uv_strerror(err);
    }
}

const char *sio_err_name(int err)
{
    switch (err) {
#define X(name, msg)                                                                               \
    case SIO_E##name:                                                                              \
        return "E" #name;
        SIO_ERR_MAP(X)
#undef X
    case 0:
        return "OK";
    default:
        if (err > 0 || err < -4096) return "EUNKNOWN";
        return uv_err_name(err);
    }
}
