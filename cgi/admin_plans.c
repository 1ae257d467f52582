/* admin_plans.c — the plans screens of ac-admin (see cgi/admin.h). */
#include "cgi/admin.h"

const struct admin_area admin_plans_area = { NULL, 0, NULL };
