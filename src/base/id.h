/* Random identifiers: engine.io's base64id (15 bytes from the CSPRNG, URL-safe base64). */
#ifndef SIO_BASE_ID_H
#define SIO_BASE_ID_H

/* Write a 20-character id and a NUL into out. 0, or SIO_EAGAIN when the CSPRNG fails. */
int sio__base64id(char out[21]);

#endif
