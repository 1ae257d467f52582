/*
 * opt.h — command-line options declared as tables and parsed by one
 * function, in the manner of nginx's module commands: each option names
 * its type, its bounds and where its value goes (an offsetof into the
 * command's struct).
 *
 *	struct in { const char *email; long long count; int force; };
 *	static const struct ac_opt opts[] = {
 *		AC_OPT_STR("email", struct in, email),
 *		AC_OPT_NUM("count", struct in, count, 1, 100),
 *		AC_OPT_FLAG("force", struct in, force, 1),
 *		AC_OPT_END
 *	};
 *	rc = ac_opt_parse(opts, argc, argv, &in, err, sizeof(err));
 */
#ifndef AC_OPT_H
#define AC_OPT_H

#include <stddef.h>

enum ac_opt_type {
	AC_OT_STR,	/* const char *: the argument */
	AC_OT_NUM,	/* long long: the argument in [min, max] */
	AC_OT_FLAG	/* int: set to min; takes no argument */
};

struct ac_opt {
	const char	*name;		/* --name */
	enum ac_opt_type type;
	size_t		 off;		/* where the value goes */
	long long	 min, max;	/* NUM: bounds; STR: length bounds (max 0: any);
					 * FLAG: the value set */
};

#define AC_OPT_STR(n, T, f)		{ n, AC_OT_STR, offsetof(T, f), 0, 0 }
#define AC_OPT_STRLEN(n, T, f, lo, hi)	{ n, AC_OT_STR, offsetof(T, f), lo, hi }
#define AC_OPT_NUM(n, T, f, lo, hi)	{ n, AC_OT_NUM, offsetof(T, f), lo, hi }
#define AC_OPT_FLAG(n, T, f, v)		{ n, AC_OT_FLAG, offsetof(T, f), v, 0 }
#define AC_OPT_END			{ NULL, AC_OT_STR, 0, 0, 0 }

/* What ac_opt_parse() found. */
enum ac_opt_result {
	AC_OPT_OK = 0,
	AC_OPT_USAGE,	/* an unknown option, a missing argument or an operand
			 * (getopt has said which on stderr) */
	AC_OPT_BAD	/* a value out of its bounds: "--name VALUE: why" in err */
};

/*
 * Parses the options of argv[1..argc-1] (getopt_long, long options only)
 * into dst by the table opts (ended by AC_OPT_END, at most 32 options); no
 * operand may follow. Values are stored as they are met.
 */
enum ac_opt_result ac_opt_parse(const struct ac_opt *opts, int argc, char *argv[], void *dst,
		    char *err, size_t errsz);

#endif
