/* opt.c — see opt.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/opt.h"
#include "base/util.h"

#define OPT_MAX	32

/* Stores arg by o into dst: 0, or -1 with the reason in *why. */
static int
store(const struct ac_opt *o, const char *arg, char *dst, const char **why)
{
	size_t len;

	*why = NULL;
	switch (o->type) {
	case AC_OT_FLAG:
		*(int *)(dst + o->off) = (int)o->min;
		break;
	case AC_OT_NUM:
		*(long long *)(dst + o->off) = ac_strtonum(arg, o->min, o->max, why);
		break;
	case AC_OT_STR:
		len = strlen(arg);
		if (o->max > 0 && ((long long)len < o->min || (long long)len > o->max)) {
			*why = "invalid";
			return -1;
		}
		*(const char **)(dst + o->off) = arg;
		break;
	}
	return *why != NULL ? -1 : 0;
}

enum ac_opt_result
ac_opt_parse(const struct ac_opt *opts, int argc, char *argv[], void *dst, char *err,
    size_t errsz)
{
	struct option lo[OPT_MAX + 1];
	const char *why;
	size_t n;
	int c;

	for (n = 0; opts[n].name != NULL; n++) {
		if (n == OPT_MAX)
			abort();
		lo[n] = (struct option){ opts[n].name, opts[n].type == AC_OT_FLAG ?
		    no_argument : required_argument, NULL, (int)n + 1 };
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c < 1 || (size_t)c > n)
			return AC_OPT_USAGE;
		if (store(&opts[c - 1], optarg, dst, &why) == -1) {
			if (opts[c - 1].type == AC_OT_STR)
				snprintf(err, errsz, "--%s %s: invalid (%lld to %lld bytes)",
				    opts[c - 1].name, optarg, opts[c - 1].min, opts[c - 1].max);
			else
				snprintf(err, errsz, "--%s %s: %s", opts[c - 1].name, optarg, why);
			return AC_OPT_BAD;
		}
	}
	return optind == argc ? AC_OPT_OK : AC_OPT_USAGE;
}
