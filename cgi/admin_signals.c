/* admin_signals.c — the signals screens of ac-admin (see cgi/admin.h). */
#include "cgi/admin.h"

const struct admin_area admin_signals_area = { NULL, 0, NULL };
