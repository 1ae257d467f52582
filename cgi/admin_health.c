/* admin_health.c — the health screens of ac-admin (see cgi/admin.h). */
#include "cgi/admin.h"

const struct admin_area admin_health_area = { NULL, 0, NULL };
