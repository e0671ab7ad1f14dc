/* Content types by file extension. */
#ifndef SIO_HTTP_MIME_H
#define SIO_HTTP_MIME_H

/* The type for path's extension (case-insensitive); "application/octet-stream" when
 * unknown. A static string. */
const char *sio__mime_type(const char *path);

#endif
