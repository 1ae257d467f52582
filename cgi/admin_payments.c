/* admin_payments.c — the payments screens of ac-admin (see cgi/admin.h). */
#include "cgi/admin.h"

const struct admin_area admin_payments_area = { NULL, 0, NULL };
