/*
 * proc.h — running another program: fork and execvp of an argv array,
 * never a shell and never a command line built as a string. Its output
 * goes to our stderr, so a command's JSON on stdout stays clean.
 */
#ifndef AC_PROC_H
#define AC_PROC_H

#include <stddef.h>

/*
 * Runs argv[0] (searched in $PATH unless it holds a '/') with argv
 * (NULL-terminated), stdin from /dev/null, stdout and stderr on our
 * stderr, and waits for it. Its environment is ours with each "NAME=value"
 * of env (NULL-terminated, or NULL) set over it, so a secret given there
 * never shows in ps. Returns its exit status (128 + signal when killed),
 * or -1 with a message in err when it could not be started ("pg_dump: No
 * such file or directory").
 */
int	ac_proc_run(char *const argv[], char *const env[], char *err, size_t errsz);

#endif
