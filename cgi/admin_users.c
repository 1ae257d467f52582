/* admin_users.c — the users screens of ac-admin (see cgi/admin.h). */
#include "cgi/admin.h"

const struct admin_area admin_users_area = { NULL, 0, NULL };
