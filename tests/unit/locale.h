/*
 * A locale whose decimal point is a comma, for tests of code that must read and write
 * numbers the same in every locale. It is compiled with localedef (glibc's libc-bin) into a
 * temporary directory and found through LOCPATH; only LC_NUMERIC is defined.
 * Include after <cmocka.h>.
 */
#ifndef SIO_TESTS_LOCALE_H
#define SIO_TESTS_LOCALE_H

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[64];
} comma_locale;

/* Switch LC_NUMERIC to the comma locale; the test fails when it cannot be made. */
static void comma_locale_enter(comma_locale *l)
{
    strcpy(l->dir, "/tmp/sio-locale-XXXXXX");
    assert_non_null(mkdtemp(l->dir));
    char path[128], cmd[512];
    snprintf(path, sizeof path, "%s/comma.def", l->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("LC_NUMERIC\ndecimal_point \"<U002C>\"\nthousands_sep \"<U002E>\"\ngrouping 3\n"
          "END LC_NUMERIC\n",
          f);
    fclose(f);
    /* -c: write the locale although the other categories are left undefined. */
    snprintf(cmd, sizeof cmd, "localedef -c -i %s -f UTF-8 %s/comma.UTF-8 >/dev/null 2>&1", path,
             l->dir);
    int rc = system(cmd); /* non-zero for the warnings about the undefined categories */
    (void)rc;
    setenv("LOCPATH", l->dir, 1);
    assert_non_null(setlocale(LC_NUMERIC, "comma.UTF-8"));
    assert_string_equal(localeconv()->decimal_point, ",");
}

static void comma_locale_leave(comma_locale *l)
{
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", l->dir);
    int rc = system(cmd);
    (void)rc;
}

#endif
