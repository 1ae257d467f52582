/* proc.c — see proc.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/proc.h"

extern char **environ;

/* environ with env's entries replacing those of the same name; the array
 * is malloc'd (the strings are not copied), NULL on no memory. */
static char **
merged_env(char *const env[])
{
	size_t n = 0, k = 0, i, j;
	char **out;

	for (i = 0; environ[i] != NULL; i++)
		n++;
	for (j = 0; env != NULL && env[j] != NULL; j++)
		n++;
	if ((out = calloc(n + 1, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; environ[i] != NULL; i++) {
		size_t len = strcspn(environ[i], "=");
		int replaced = 0;

		for (j = 0; env != NULL && env[j] != NULL && !replaced; j++)
			replaced = strncmp(env[j], environ[i], len) == 0 && env[j][len] == '=';
		if (!replaced)
			out[k++] = environ[i];
	}
	for (j = 0; env != NULL && env[j] != NULL; j++)
		out[k++] = env[j];
	out[k] = NULL;
	return out;
}

int
ac_proc_run(char *const argv[], char *const env[], char *err, size_t errsz)
{
	char **envp;
	int report[2], child_errno = 0, status, devnull;
	pid_t pid;
	ssize_t got;

	if ((envp = merged_env(env)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", argv[0]);
		return -1;
	}
	/* the child writes its exec errno here; a close on exec says it ran */
	if (pipe2(report, O_CLOEXEC) == -1) {
		snprintf(err, errsz, "%s: pipe: %s", argv[0], strerror(errno));
		free(envp);
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(err, errsz, "%s: fork: %s", argv[0], strerror(errno));
		close(report[0]);
		close(report[1]);
		free(envp);
		return -1;
	}
	if (pid == 0) {
		close(report[0]);
		signal(SIGPIPE, SIG_DFL);
		if ((devnull = open("/dev/null", O_RDONLY)) != -1) {
			dup2(devnull, STDIN_FILENO);
			close(devnull);
		}
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execvpe(argv[0], argv, envp);
		child_errno = errno;
		(void)!write(report[1], &child_errno, sizeof(child_errno));
		_exit(127);
	}
	close(report[1]);
	free(envp);
	while ((got = read(report[0], &child_errno, sizeof(child_errno))) == -1 && errno == EINTR)
		;
	close(report[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errsz, "%s: waitpid: %s", argv[0], strerror(errno));
			return -1;
		}
	if (got == (ssize_t)sizeof(child_errno)) {
		snprintf(err, errsz, "%s: %s", argv[0], strerror(child_errno));
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
