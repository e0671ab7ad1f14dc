/*
 * HTTP dates, computed with Howard Hinnant's civil-date algorithms instead of gmtime_r
 * and timegm: pure, thread-safe and independent of the process's time zone.
 */
#include "http/date.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sio.h"

static const char days[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

size_t sio__http_date_format(char out[32], int64_t t)
{
    int64_t z = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - z * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(z, &y, &m, &d);
    int wd = (int)(((z % 7) + 7) % 7);
    if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999;
    snprintf(out, 32, "%s, %02u %s %04d %02d:%02d:%02d GMT", days[wd], d, months[m - 1], (int)y,
             (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    return 29;
}

static int month_index(const char *s)
{
    for (int i = 0; i < 12; i++)
        if (!strncasecmp(s, months[i], 3)) return i + 1;
    return 0;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int sio__http_date_parse(const char *s, size_t n, int64_t *out)
{
    char buf[64];
    if (n >= sizeof(buf)) return SIO_EINVAL;
    memcpy(buf, s, n);
    buf[n] = 0;
    int d, y, hh, mm, ss, mon;
    const char *comma = strchr(buf, ',');
    if (comma && n == 29 && comma == buf + 3) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        const char *p = buf + 5;
        if (!digits(p, 2, &d) || p[2] != ' ' || !(mon = month_index(p + 3)) || p[6] != ' ' ||
            !digits(p + 7, 4, &y) || p[11] != ' ' || !digits(p + 12, 2, &hh) || p[14] != ':' ||
            !digits(p + 15, 2, &mm) || p[17] != ':' || !digits(p + 18, 2, &ss) ||
            strcmp(p + 20, " GMT"))
            return SIO_EINVAL;
    } else if (comma) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        const char *p = comma + 2;
        if (comma[1] != ' ' || strlen(p) != 22 || !digits(p, 2, &d) || p[2] != '-' ||
            !(mon = month_index(p + 3)) || p[6] != '-' || !digits(p + 7, 2, &y) || p[9] != ' ' ||
            !digits(p + 10, 2, &hh) || p[12] != ':' || !digits(p + 13, 2, &mm) || p[15] != ':' ||
            !digits(p + 16, 2, &ss) || strcmp(p + 18, " GMT"))
            return SIO_EINVAL;
        y += y < 70 ? 2000 : 1900;
    } else if (n == 24) {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        const char *p = buf + 4;
        char dd[2] = {p[4] == ' ' ? '0' : p[4], p[5]};
        if (buf[3] != ' ' || !(mon = month_index(p)) || p[3] != ' ' || !digits(dd, 2, &d) ||
            p[6] != ' ' || !digits(p + 7, 2, &hh) || p[9] != ':' || !digits(p + 10, 2, &mm) ||
            p[12] != ':' || !digits(p + 13, 2, &ss) || p[15] != ' ' || !digits(p + 16, 4, &y))
            return SIO_EINVAL;
    } else {
        return SIO_EINVAL;
    }
    if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return SIO_EINVAL;
    *out = days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 + hh * 3600 + mm * 60 + ss;
    return 0;
}
