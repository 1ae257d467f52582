/* proof.c — see proof.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/crypto.h"
#include "base/err.h"
#include "billing/proof.h"

#define FIELD		"proof"
#define INFLATE_MAX	(64u << 20)	/* bytes a PDF's streams may expand to, all told */
#define OVERLAP		128		/* bytes kept between inflated chunks: a name or tag
					 * split across two is still seen whole */

static const struct {
	const char	*ext, *mime;
} types[] = {
	[AC_PROOF_PNG] = { "png", "image/png" },
	[AC_PROOF_JPEG] = { "jpg", "image/jpeg" },
	[AC_PROOF_PDF] = { "pdf", "application/pdf" },
};

/* Markup a browser or a server would run if the file were ever served as
 * something else: refused anywhere in any proof. */
static const char *const markup[] = { "<script", "<html", "<?php", "<svg" };

/* PDF names that run code or carry other files. */
static const char *const pdf_active[] = {
	"JavaScript", "JS", "Launch", "EmbeddedFile", "EmbeddedFiles",
};

#define damaged(e, ...)	ac_err_set((e), AC_E_UNPROCESSABLE, FIELD, __VA_ARGS__)

const char *
ac_proof_ext(enum ac_proof_type t)
{
	return t >= AC_PROOF_PNG && t <= AC_PROOF_PDF ? types[t].ext : NULL;
}

const char *
ac_proof_mime(enum ac_proof_type t)
{
	return t >= AC_PROOF_PNG && t <= AC_PROOF_PDF ? types[t].mime : NULL;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The limit as a person reads it: "5 MB", "512 KB", "300 bytes". */
static void
human_size(size_t n, char out[32])
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(out, 32, "%zu MB", n >> 20);
	else if (n >= 1000000 && n % 1000000 == 0)
		snprintf(out, 32, "%zu MB", n / 1000000);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, 32, "%zu KB", n >> 10);
	else
		snprintf(out, 32, "%zu bytes", n);
}

/* The name as sent is only ever logged, but a path in it means a client
 * that is up to something. */
static int
filename_check(const char *fn, struct ac_err *e)
{
	if (fn == NULL)
		return 0;
	for (const char *p = fn; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return ac_err_set(e, AC_E_INVALID, FIELD,
			    "the proof's file name holds a control character");
	if (strchr(fn, '/') || strchr(fn, '\\') || strstr(fn, ".."))
		return ac_err_set(e, AC_E_INVALID, FIELD,
		    "the proof's file name must be a plain name, not a path");
	return 0;
}

/* The first markup tag (ignoring case) in the n bytes at d, or NULL. */
static const char *
find_markup(const unsigned char *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (d[i] != '<')
			continue;
		for (size_t k = 0; k < sizeof(markup) / sizeof(markup[0]); k++) {
			size_t ml = strlen(markup[k]), j;

			if (n - i < ml)
				continue;
			for (j = 1; j < ml && (d[i + j] | 0x20) == (markup[k][j] | 0x20); j++)
				continue;
			if (j == ml)
				return markup[k];
		}
	}
	return NULL;
}

/* Chunks from the signature to IEND, each checksum right, nothing after. */
static int
png_check(const unsigned char *d, size_t len, struct ac_err *e)
{
	size_t off = 8;

	for (int first = 1;; first = 0) {
		const unsigned char *type = d + off + 4;
		uint32_t clen;

		if (len - off < 12 || (clen = be32(d + off)) > 0x7fffffffu || clen > len - off - 12)
			return damaged(e, "the PNG image is cut short or damaged");
		for (int i = 0; i < 4; i++)
			if (!((type[i] | 0x20) >= 'a' && (type[i] | 0x20) <= 'z'))
				return damaged(e, "the PNG image is damaged");
		if (crc32(0, type, clen + 4) != be32(type + 4 + clen))
			return damaged(e, "the PNG image is damaged (a checksum does not match)");
		if (first && (memcmp(type, "IHDR", 4) != 0 || clen != 13))
			return damaged(e, "the PNG image is damaged (no header)");
		off += 12 + (size_t)clen;
		if (memcmp(type, "IEND", 4) == 0) {
			if (off != len)
				return damaged(e, "the PNG image has data after its end");
			return 0;
		}
	}
}

/* Segments from SOI through each scan's entropy-coded data to EOI, which
 * must be the last two bytes. */
static int
jpeg_check(const unsigned char *d, size_t len, struct ac_err *e)
{
	size_t off = 2, seglen;
	int scans = 0;
	unsigned char m;

	for (;;) {
		if (off >= len || d[off] != 0xff)
			return damaged(e, "the JPEG image is cut short or damaged");
		while (off < len && d[off] == 0xff)	/* fill bytes */
			off++;
		if (off >= len)
			return damaged(e, "the JPEG image is cut short");
		m = d[off++];
		if (m == 0xd9) {
			if (scans == 0)
				return damaged(e, "the JPEG image holds no picture");
			if (off != len)
				return damaged(e, "the JPEG image has data after its end");
			return 0;
		}
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))	/* no length */
			continue;
		if (m == 0x00 || m == 0xd8)
			return damaged(e, "the JPEG image is damaged");
		if (len - off < 2 || (seglen = (size_t)d[off] << 8 | d[off + 1]) < 2 ||
		    seglen > len - off)
			return damaged(e, "the JPEG image is cut short");
		off += seglen;
		if (m != 0xda)
			continue;
		/* entropy-coded data: FF is followed by 00 (a stuffed byte) or
		 * a restart marker until the next real marker */
		scans++;
		while (off + 1 < len && !(d[off] == 0xff && d[off + 1] != 0x00 &&
		    !(d[off + 1] >= 0xd0 && d[off + 1] <= 0xd7)))
			off++;
		if (off + 1 >= len)
			return damaged(e, "the JPEG image is cut short");
	}
}

/* 1 if a PDF delimiter or white space ends a name at c. */
static int
pdf_name_end(unsigned char c)
{
	return c <= ' ' || c == 0x7f || strchr("()<>[]{}/%", c) != NULL;
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The first active name (/JavaScript, /J#53, ...) in the n bytes at d,
 * #xx escapes decoded, or NULL. */
static const char *
find_active(const unsigned char *d, size_t n)
{
	char name[32];

	for (size_t i = 0; i < n; i++) {
		size_t j = i + 1, nl = 0;

		if (d[i] != '/')
			continue;
		while (j < n && !pdf_name_end(d[j]) && nl < sizeof(name) - 1) {
			int hi, lo;

			if (d[j] == '#' && j + 2 < n && (hi = hexval(d[j + 1])) >= 0 &&
			    (lo = hexval(d[j + 2])) >= 0) {
				name[nl++] = (char)(hi << 4 | lo);
				j += 3;
			} else
				name[nl++] = (char)d[j++];
		}
		name[nl] = '\0';
		for (size_t k = 0; k < sizeof(pdf_active) / sizeof(pdf_active[0]); k++)
			if (strcmp(name, pdf_active[k]) == 0)
				return pdf_active[k];
	}
	return NULL;
}

/* Inflates one stream's n bytes at s (if they are zlib data at all) and
 * looks for active names and markup in what comes out; *budget bounds the
 * total output against a decompression bomb. 0, or -1 with e. */
static int
pdf_stream_check(const unsigned char *s, size_t n, size_t *budget, struct ac_err *e)
{
	unsigned char buf[OVERLAP + 65536];
	const char *hit = NULL;
	size_t keep = 0, got;
	z_stream z;
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK)
		return ac_err_set(e, AC_E_INTERNAL, FIELD, "the PDF could not be checked");
	z.next_in = (unsigned char *)(uintptr_t)s;	/* zlib's API is not const */
	z.avail_in = n > UINT_MAX ? UINT_MAX : (uInt)n;
	do {
		z.next_out = buf + keep;
		z.avail_out = sizeof(buf) - keep;
		rc = inflate(&z, Z_NO_FLUSH);
		got = sizeof(buf) - keep - z.avail_out;
		if (got > *budget) {
			inflateEnd(&z);
			return damaged(e, "the PDF expands to more than we can check");
		}
		*budget -= got;
		if ((hit = find_active(buf, keep + got)) != NULL ||
		    (hit = find_markup(buf, keep + got)) != NULL)
			break;
		if (keep + got > OVERLAP) {
			memmove(buf, buf + keep + got - OVERLAP, OVERLAP);
			keep = OVERLAP;
		} else
			keep += got;
	} while (rc == Z_OK && (got > 0 || z.avail_in > 0));
	inflateEnd(&z);
	if (hit != NULL)
		return damaged(e, "the PDF carries %s, which is not taken", hit);
	return 0;	/* not Flate (an image, say), or damaged: nothing hidden in it */
}

/* The header, "%%EOF" in the last 1 KiB, no active names in the file or
 * in any stream that inflates. */
static int
pdf_check(const unsigned char *d, size_t len, struct ac_err *e)
{
	size_t tail = len < 1024 ? len : 1024, budget = INFLATE_MAX;
	const unsigned char *p = d, *end = d + len, *s;
	const char *hit;

	if (memmem(d + len - tail, tail, "%%EOF", 5) == NULL)
		return damaged(e, "the PDF is cut short (no %%%%EOF at its end)");
	if ((hit = find_active(d, len)) != NULL)
		return damaged(e, "the PDF carries %s, which is not taken", hit);
	while ((s = memmem(p, (size_t)(end - p), "stream", 6)) != NULL) {
		p = s + 6;
		if (s - d >= 3 && memcmp(s - 3, "end", 3) == 0)
			continue;
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (p < end && (*p == '\n' || *p == '\r'))
			p++;
		else
			continue;	/* the word in some text */
		/* zlib finds the stream's end itself: an "endstream" planted in
		 * its bytes cannot cut the check short */
		if (pdf_stream_check(p, (size_t)(end - p), &budget, e) == -1)
			return -1;
	}
	return 0;
}

int
ac_proof_check(const char *filename, const unsigned char *data, size_t len, size_t max,
    struct ac_err *e)
{
	static const unsigned char png[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	enum ac_proof_type t;
	const char *hit;
	char limit[32];
	int rc;

	if (filename_check(filename, e) == -1)
		return -1;
	if (data == NULL || len == 0)
		return ac_err_set(e, AC_E_INVALID, FIELD, "the proof is an empty file");
	if (len > max) {
		human_size(max, limit);
		return ac_err_set(e, AC_E_TOO_LARGE, FIELD, "the proof is larger than %s", limit);
	}
	if (len >= 8 && memcmp(data, png, 8) == 0)
		t = AC_PROOF_PNG;
	else if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
		t = AC_PROOF_JPEG;
	else if (len >= 8 && (memcmp(data, "%PDF-1.", 7) == 0 || memcmp(data, "%PDF-2.", 7) == 0))
		t = AC_PROOF_PDF;
	else
		return ac_err_set(e, AC_E_MEDIA_TYPE, FIELD,
		    "the proof must be a PNG or JPEG screenshot or a PDF");
	if ((hit = find_markup(data, len)) != NULL)
		return damaged(e, "the proof holds web markup (%s), which is not taken", hit);
	switch (t) {
	case AC_PROOF_PNG:
		rc = png_check(data, len, e);
		break;
	case AC_PROOF_JPEG:
		rc = jpeg_check(data, len, e);
		break;
	default:
		rc = pdf_check(data, len, e);
		break;
	}
	return rc == -1 ? -1 : (int)t;
}

/* The type a stored name's extension says, or 0 if ac_proof_store does
 * not make that name. */
static int
name_type(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	if (name[32] != '.')
		return 0;
	for (int t = AC_PROOF_PNG; t <= AC_PROOF_PDF; t++)
		if (strcmp(name + 33, types[t].ext) == 0)
			return t;
	return 0;
}

int
ac_proof_name_ok(const char *name)
{
	return name_type(name) != 0;
}

/* dir/name into out (PATH_MAX bytes); -1 with errno when it does not fit. */
static int
join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
ac_proof_store(const char *dir, enum ac_proof_type t, const unsigned char *data, size_t len,
    char *name, size_t namesz, struct ac_err *e)
{
	char hex[33], tmpname[48], tmp[PATH_MAX], path[PATH_MAX];
	unsigned char rnd[16];
	int fd = -1, made = 0, saved;

	if (ac_proof_ext(t) == NULL || namesz < AC_PROOF_NAME_SIZE)
		return ac_err_set(e, AC_E_INTERNAL, FIELD, "ac_proof_store: bad type or name size");
	name[0] = '\0';
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		goto fail;
	if (ac_random_bytes(rnd, sizeof(rnd)) == -1)
		goto fail;
	ac_hex(rnd, sizeof(rnd), hex);
	/* a dot name: never one ac_proof_name_ok takes, so never loaded */
	snprintf(tmpname, sizeof(tmpname), ".%s.tmp", hex);
	snprintf(name, namesz, "%s.%s", hex, ac_proof_ext(t));
	if (join(tmp, dir, tmpname) == -1 || join(path, dir, name) == -1)
		goto fail;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)) == -1)
		goto fail;
	made = 1;
	/* the umask does not decide who may read a payment proof */
	if (fchmod(fd, 0640) == -1 || write_all(fd, data, len) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	/* 128 random bits: a rename over an existing proof does not happen */
	if (rename(tmp, path) == -1)
		goto fail;
	made = 0;
	if (fsync_dir(dir) == -1) {
		saved = errno;
		unlink(path);
		errno = saved;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (made)
		unlink(tmp);
	name[0] = '\0';
	return ac_err_set(e, AC_E_INTERNAL, FIELD, "the proof could not be stored: %s",
	    strerror(saved));
}

int
ac_proof_load(const char *dir, const char *name, unsigned char **data, size_t *len,
    enum ac_proof_type *type, struct ac_err *e)
{
	char path[PATH_MAX];
	unsigned char *buf;
	struct stat st;
	size_t got = 0;
	int fd, t;

	*data = NULL;
	*len = 0;
	if ((t = name_type(name)) == 0 || join(path, dir, name) == -1)
		return ac_err_set(e, AC_E_NOT_FOUND, FIELD, "no such proof");
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ELOOP)
			return ac_err_set(e, AC_E_NOT_FOUND, FIELD, "no such proof");
		return ac_err_set(e, AC_E_INTERNAL, FIELD, "the proof could not be read: %s",
		    strerror(errno));
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ac_err_set(e, AC_E_NOT_FOUND, FIELD, "no such proof");
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return ac_err_set(e, AC_E_INTERNAL, FIELD, "out of memory reading the proof");
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			close(fd);
			free(buf);
			return ac_err_set(e, AC_E_INTERNAL, FIELD, "the proof could not be read");
		}
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = got;
	*type = (enum ac_proof_type)t;
	return 0;
}

void
ac_proof_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];

	if (ac_proof_name_ok(name) && join(path, dir, name) == 0)
		unlink(path);
}
