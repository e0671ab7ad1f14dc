/*
 * The server's CPU and memory from /proc/PID/{stat,status}, and the generator's own CPU
 * from getrusage: read at the edges of the measured window, never in between.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

/* /proc/PID/file, open for reading; NULL without a pid or when the process is gone. */
static FILE *proc_open(long pid, const char *file)
{
    if (pid <= 0) return NULL;
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/%s", pid, file);
    return fopen(path, "r");
}

long proc_ticks(long pid, long *sys)
{
    *sys = -1;
    char line[1024];
    FILE *f = proc_open(pid, "stat");
    if (!f) return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    /* Fields after the command name (which may hold spaces) start at ") ": state is field 3,
     * utime 14 and stime 15. */
    char *p = strrchr(line, ')');
    if (!p) return -1;
    p += 2;
    unsigned long ut = 0, st = 0;
    if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    *sys = (long)st;
    return (long)(ut + st);
}

long proc_rss_kb(long pid)
{
    char line[256];
    FILE *f = proc_open(pid, "status");
    if (!f) return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
