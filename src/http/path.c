/*
 * Path normalisation. The request target is decoded first and the segments examined
 * after, so every spelling of a parent reference ("..", "%2e%2e", ".%2E", "%2e%2e%2f")
 * meets the same check. Parent segments are refused rather than resolved: no legitimate
 * client sends them (browsers resolve them before sending), and refusing leaves no room
 * for a resolution bug to reach outside a served directory.
 */
#include "http/path.h"

#include <string.h>

#include "base/url.h"
#include "sio.h"

ptrdiff_t sio__http_path_normalize(const char *path, size_t n, char *out, size_t outcap)
{
    if (!n || path[0] != '/') return SIO_EINVAL;
    /* Decode in pieces into out, then rewrite out segment by segment in place: the
     * result is never longer than the decoded path. */
    size_t dl = 0;
    for (size_t i = 0; i < n;) {
        char ch = path[i];
        if (ch == '%') {
            char d;
            if (n - i < 3 || sio__url_decode(&d, path + i, 3, 0) != 1) return SIO_EINVAL;
            ch = d;
            i += 3;
        } else {
            i++;
        }
        if (ch == '\0' || ch == '\\') return SIO_EINVAL;
        if (dl + 1 >= outcap) return SIO_ETOOBIG;
        out[dl++] = ch;
    }
    size_t o = 0, i = 0;
    while (i < dl) {
        while (i < dl && out[i] == '/') i++;
        size_t s = i;
        while (i < dl && out[i] != '/') i++;
        size_t sl = i - s;
        if (sl == 0) break;
        if (sl == 1 && out[s] == '.') continue;
        if (sl == 2 && out[s] == '.' && out[s + 1] == '.') return SIO_EINVAL;
        out[o++] = '/';
        memmove(out + o, out + s, sl);
        o += sl;
    }
    /* Keep a trailing slash (directories), and "/" for the root. */
    if (o == 0 || (dl && out[dl - 1] == '/') ||
        (dl >= 2 && out[dl - 1] == '.' && out[dl - 2] == '/'))
        out[o++] = '/';
    out[o] = 0;
    return (ptrdiff_t)o;
}
