/* admin_strategies.c — the strategies screens of ac-admin (see cgi/admin.h). */
#include "cgi/admin.h"

const struct admin_area admin_strategies_area = { NULL, 0, NULL };
