/*
 * pgarray.h — PostgreSQL array literals ("{1,2,NULL,\"a b\"}") built up in
 * memory, for batched statements that take whole columns as one parameter
 * and unnest() them: one round trip for thousands of rows.
 */
#ifndef AC_PGARRAY_H
#define AC_PGARRAY_H

#include <stddef.h>

#include "base/buf.h"

struct ac_pgarray {
	struct ac_buf	 b;
	int		 n;		/* elements so far */
};

/* An empty array; aborts on OOM (here and in the calls below). */
void		 ac_pgarray_init(struct ac_pgarray *a);
void		 ac_pgarray_free(struct ac_pgarray *a);

/* Appends an integer, a number ("%.15g"), a string (quoted and escaped;
 * NULL appends SQL NULL). */
void		 ac_pgarray_ll(struct ac_pgarray *a, long long v);
void		 ac_pgarray_num(struct ac_pgarray *a, double v);
void		 ac_pgarray_str(struct ac_pgarray *a, const char *s);

/* The literal, valid until the next append or ac_pgarray_free(). */
const char	*ac_pgarray_text(struct ac_pgarray *a);

#endif
