/* barcsv.c — see barcsv.h. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alert/barcsv.h"

/* The columns read; an export carries one more for each plot of the
 * chart's indicators, counted and ignored, up to ANYCOLS in all. */
#define MAXCOLS 6
#define ANYCOLS 64

static const char *const columns[MAXCOLS] = { "time", "open", "high", "low", "close", "volume" };

struct field {
	const char	*s;
	size_t		 len;
};

void
ac_barcsv_init(struct ac_barcsv *r)
{
	memset(r, 0, sizeof(*r));
}

static int
fail(struct ac_barcsv *r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "line %ld: ", r->line);

	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Splits line at commas, each field trimmed of blanks and of one pair of
 * quotes, the first MAXCOLS into f; the number of fields, ANYCOLS + 1
 * meaning too many. */
static int
split(const char *s, size_t len, struct field *f)
{
	int n = 0;
	size_t i = 0;

	for (;;) {
		size_t a = i, b;

		while (i < len && s[i] != ',')
			i++;
		b = i;
		while (a < b && (s[a] == ' ' || s[a] == '\t'))
			a++;
		while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t'))
			b--;
		if (b - a >= 2 && s[a] == '"' && s[b - 1] == '"')
			a++, b--;
		if (n == ANYCOLS)
			return ANYCOLS + 1;
		if (n < MAXCOLS)
			f[n] = (struct field){ s + a, b - a };
		n++;
		if (i == len)
			return n;
		i++;
	}
}

static int
header(struct ac_barcsv *r, const struct field *f, int n)
{
	if (n < 5 || n > ANYCOLS)
		return fail(r, "the header must be time,open,high,low,close[,volume] (and at most %d"
		    " columns)", ANYCOLS);
	r->has_volume = n >= MAXCOLS && f[5].len == 6 && strncasecmp(f[5].s, "volume", 6) == 0;
	for (int i = 0; i < (r->has_volume ? MAXCOLS : 5); i++)
		if (f[i].len != strlen(columns[i]) ||
		    strncasecmp(f[i].s, columns[i], f[i].len) != 0)
			return fail(r, "header column %d is \"%.*s\", expected \"%s\"", i + 1,
			    (int)(f[i].len > 20 ? 20 : f[i].len), f[i].s, columns[i]);
	r->ncols = n;
	return 0;
}

/* A finite number filling the whole field. */
static int
number(const struct field *f, double *out)
{
	char tmp[64], *end;

	if (f->len == 0 || f->len >= sizeof(tmp))
		return -1;
	memcpy(tmp, f->s, f->len);
	tmp[f->len] = '\0';
	errno = 0;
	*out = strtod(tmp, &end);
	return *end != '\0' || errno != 0 || !isfinite(*out) || isspace((unsigned char)tmp[0])
	    ? -1 : 0;
}

/* n digits at s as an int, or -1. */
static int
digits(const char *s, size_t len, size_t at, int n)
{
	int v = 0;

	if (at + n > len)
		return -1;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[at + i]))
			return -1;
		v = v * 10 + (s[at + i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil), so no timegm() or TZ is involved. */
static long long
days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) ? 29 : dm[m - 1];
}

/* The zone at s[i..len): "Z", "+HH:MM", "+HHMM" or "+HH"; seconds east. */
static int
zone(const char *s, size_t len, size_t i, long long *east)
{
	int sign, hh, mm = 0;

	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		*east = 0;
		return i + 1 == len ? 0 : -1;
	}
	if (i >= len || (s[i] != '+' && s[i] != '-'))
		return -1;
	sign = s[i++] == '-' ? -1 : 1;
	if ((hh = digits(s, len, i, 2)) < 0 || hh > 23)
		return -1;
	i += 2;
	if (i < len && s[i] == ':')
		i++;
	if (i < len && ((mm = digits(s, len, i, 2)) < 0 || mm > 59))
		return -1;
	if (i < len && i + 2 != len)
		return -1;
	*east = sign * (hh * 3600LL + mm * 60LL);
	return 0;
}

int
ac_barcsv_time(const char *s, size_t len, long long *out, const char **errstr)
{
	int y, mo, d, h, mi, sec = 0;
	size_t i;
	long long east;

	*errstr = NULL;
	for (i = 0; i < len && i <= 12 && isdigit((unsigned char)s[i]); i++)
		;
	if (len > 0 && i == len) {
		*out = 0;
		for (i = 0; i < len; i++)
			*out = *out * 10 + (s[i] - '0');
		return 0;
	}
	if ((y = digits(s, len, 0, 4)) < 1970 || len < 16 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    (mo = digits(s, len, 5, 2)) < 1 || mo > 12 ||
	    (d = digits(s, len, 8, 2)) < 1 || d > days_in_month(y, mo) ||
	    (h = digits(s, len, 11, 2)) < 0 || h > 23 || (mi = digits(s, len, 14, 2)) < 0 || mi > 59) {
		*errstr = "time is neither Unix seconds nor ISO-8601 (2024-01-02T03:04:05Z)";
		return -1;
	}
	i = 16;
	if (i < len && s[i] == ':') {
		if ((sec = digits(s, len, i + 1, 2)) < 0 || sec > 60) {
			*errstr = "time has bad seconds";
			return -1;
		}
		i += 3;
		if (i < len && s[i] == '.')
			for (i++; i < len && isdigit((unsigned char)s[i]); i++)
				;
	}
	if (zone(s, len, i, &east) != 0) {
		*errstr = "time needs a zone: Z or an offset like +05:30";
		return -1;
	}
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + sec - east;
	return 0;
}

/* The bar in f (r->ncols fields), checked. */
static int
bar(struct ac_barcsv *r, const struct field *f, struct ac_bar *out)
{
	double *v[] = { &out->open, &out->high, &out->low, &out->close, &out->volume };
	const char *errstr;

	if (ac_barcsv_time(f[0].s, f[0].len, &out->time, &errstr) != 0)
		return fail(r, "%s, got \"%.*s\"", errstr, (int)(f[0].len > 40 ? 40 : f[0].len),
		    f[0].s);
	out->volume = 0;
	for (int i = 1; i < (r->has_volume ? MAXCOLS : 5); i++)
		if (number(&f[i], v[i - 1]) != 0 && !(i == 5 && f[i].len == 0))
			return fail(r, "%s is not a number: \"%.*s\"", columns[i],
			    (int)(f[i].len > 40 ? 40 : f[i].len), f[i].s);
	if (out->low > out->high || out->open < out->low || out->open > out->high ||
	    out->close < out->low || out->close > out->high)
		return fail(r, "open and close must lie between low and high");
	if (r->nbars > 0 && out->time <= r->last_time)
		return fail(r, "time %lld does not come after the previous bar's %lld",
		    out->time, r->last_time);
	r->last_time = out->time;
	r->nbars++;
	return 1;
}

static int
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

int
ac_barcsv_line(struct ac_barcsv *r, const char *line, size_t len, struct ac_bar *out)
{
	struct field f[MAXCOLS];
	int n;

	r->line++;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (memchr(line, '\0', len) != NULL)
		return fail(r, "a NUL byte");
	if (r->line == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3, len -= 3;	/* a UTF-8 BOM, as spreadsheets write */
	if (blank(line, len))
		return 0;
	n = split(line, len, f);
	if (r->ncols == 0)
		return header(r, f, n);
	if (n > ANYCOLS)
		return fail(r, "more than %d fields, the header has %d", ANYCOLS, r->ncols);
	if (n != r->ncols)
		return fail(r, "%d fields, the header has %d", n, r->ncols);
	return bar(r, f, out);
}
