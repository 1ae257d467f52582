/*
 * backup.h — one alertcast's backup set and its restore.
 *
 * A set is one tar file, DIR/alertcast-YYYYMMDDTHHMMSSZ.tar (UTC), holding
 * manifest.json, database.dump (pg_dump's custom format: the whole
 * database AC_DATABASE_URL names, in one snapshot) and state.tar.gz (the
 * state folder: the spool, jwt.key, payment proofs). It is written in a
 * hidden folder of DIR and linked to its name only when whole, so a set
 * under that name is always complete. pg_dump, pg_restore and tar run by
 * fork and exec (base/proc.h); the conninfo reaches them in PG*
 * environment variables, never in their argv, so no password shows in ps.
 */
#ifndef AC_BACKUP_H
#define AC_BACKUP_H

#include <stddef.h>

#include "base/db.h"
#include "base/err.h"

struct ac_backup_cfg {
	const char	*database_url;	/* a libpq conninfo or URI */
	const char	*state_dir;	/* AC_STATE_DIR */
	const char	*dir;		/* where sets are written (AC_BACKUP_DIR) */
	const char	*pg_bindir;	/* pg_dump's folder; NULL or "": $PATH */
	int		 keep;		/* sets kept in dir, the newest (>= 1) */
};

struct ac_backup_out {
	char		 file[4096];	/* the set's path */
	long long	 bytes;
	double		 seconds;
	int		 removed;	/* older sets removed by retention */
};

struct ac_restore_out {
	long long	 bytes;		/* of the set read */
	double		 seconds;
	int		 tables;	/* in the database afterwards */
};

/* 1 if name is a set's file name, alertcast-YYYYMMDDTHHMMSSZ.tar (the
 * only names retention counts or removes), else 0. Pure. */
int	ac_backup_name_ok(const char *name);

/*
 * Writes a new set into c->dir (made 0700 if missing), then removes all
 * but the newest c->keep sets there. 0 with *out filled, or -1 with e:
 * AC_E_CONFLICT when a set of this second exists, AC_E_NOT_FOUND without
 * a state folder, AC_E_INTERNAL when pg_dump or tar failed (their own
 * message is on stderr). A failed run leaves no set behind.
 */
int	ac_backup_make(const struct ac_backup_cfg *c, struct ac_backup_out *out,
	    struct ac_err *e);

/*
 * Restores the set file into the database db is connected to, which must
 * hold no table, in one transaction (pg_restore --single-transaction),
 * then its state folder over c->state_dir. Refuses with AC_E_CONFLICT,
 * changing nothing, when the database has tables or when the spool holds
 * alerts not yet stored (unless overwrite_spool: then the set's spool
 * replaces it). 0 with *out filled, or -1 with e.
 */
int	ac_backup_restore(struct ac_db *db, const struct ac_backup_cfg *c, const char *file,
	    int overwrite_spool, struct ac_restore_out *out, struct ac_err *e);

#endif
