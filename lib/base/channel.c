/*
 * channel.c — see channel.h.
 */
#include <string.h>

#include "base/channel.h"

const char *const ac_channel_names[AC_CH__MAX + 1] = {
	[AC_CH_EMAIL] = "email", [AC_CH_TELEGRAM] = "telegram",
	[AC_CH_SMS] = "sms", [AC_CH_PUSH] = "push", [AC_CH__MAX] = NULL,
};

const char *
ac_channel_name(enum ac_channel ch)
{
	return (unsigned)ch < AC_CH__MAX ? ac_channel_names[ch] : "email";
}

int
ac_channel_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < AC_CH__MAX; i++)
		if (strcmp(s, ac_channel_names[i]) == 0)
			return i;
	return -1;
}

static const struct {
	const char	*name;
	const char	*key;
} provs[AC_PROV__MAX] = {
	[AC_PROV_TELEGRAM]	= { "telegram", "TELEGRAM" },
	[AC_PROV_RESEND]	= { "resend", "RESEND" },
	[AC_PROV_SMTP]		= { "smtp", "SMTP" },
	[AC_PROV_NETGSM]	= { "netgsm", "NETGSM" },
	[AC_PROV_TWILIO]	= { "twilio", "TWILIO" },
	[AC_PROV_ONESIGNAL]	= { "onesignal", "ONESIGNAL" },
};

const char *
ac_prov_name(enum ac_prov p)
{
	return (unsigned)p < AC_PROV__MAX ? provs[p].name : "?";
}

const char *
ac_prov_key(enum ac_prov p)
{
	return (unsigned)p < AC_PROV__MAX ? provs[p].key : "?";
}
