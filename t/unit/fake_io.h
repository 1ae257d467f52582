/*
 * fake_io.h — a request without a FastCGI peer, for the unit tests: the
 * parameters from a list, the body from memory (chunk bytes a read, 0
 * all), the answer into out. Static: each test includes it once.
 */
#ifndef AC_FAKE_IO_H
#define AC_FAKE_IO_H

#include <string.h>
#include <sys/types.h>

struct fake {
	const char	**params;	/* NAME, VALUE, ..., NULL */
	const char	*body;
	size_t		 body_len, pos, chunk;	/* chunk: bytes per read (0: all) */
	char		 out[8192];
	size_t		 outlen;
};

static const char *
fake_param(void *ctx, const char *name)
{
	struct fake *f = ctx;

	for (const char **p = f->params; p && p[0]; p += 2)
		if (strcmp(p[0], name) == 0)
			return p[1];
	return NULL;
}

static ssize_t
fake_read(void *ctx, char *buf, size_t n)
{
	struct fake *f = ctx;
	size_t left = f->body_len - f->pos;

	if (f->chunk && n > f->chunk)
		n = f->chunk;
	if (n > left)
		n = left;
	if (n == 0)
		return 0;
	memcpy(buf, f->body + f->pos, n);
	f->pos += n;
	return (ssize_t)n;
}

static int
fake_write(void *ctx, const char *buf, size_t n)
{
	struct fake *f = ctx;

	if (f->outlen + n >= sizeof(f->out))
		return -1;
	memcpy(f->out + f->outlen, buf, n);
	f->outlen += n;
	f->out[f->outlen] = '\0';
	return 0;
}

#endif
