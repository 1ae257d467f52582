/*
 * channel.h — the delivery channels, spelled once: the enum every layer
 * passes around, its wire name ("telegram"), the bit a set of channels
 * uses, and the parser for what a user or an operator typed; and the
 * providers that carry them (lib/deliver/provider.h speaks their APIs).
 */
#ifndef AC_CHANNEL_H
#define AC_CHANNEL_H

enum ac_channel { AC_CH_EMAIL = 0, AC_CH_TELEGRAM, AC_CH_SMS, AC_CH_PUSH, AC_CH__MAX };

#define AC_CH_BIT(ch)	(1u << (ch))
#define AC_CH_ALL	((1u << AC_CH__MAX) - 1)

/* "email", "telegram", "sms", "push" ("email" for an out-of-range value). */
const char	*ac_channel_name(enum ac_channel ch);

/* The names in enum order, then NULL (a field table's enum values). */
extern const char *const ac_channel_names[AC_CH__MAX + 1];

/* The channel a name spells, or -1. Exact, lower case. */
int		 ac_channel_parse(const char *s);

/* The delivery providers. */
enum ac_prov {
	AC_PROV_TELEGRAM = 0,
	AC_PROV_RESEND,
	AC_PROV_SMTP,
	AC_PROV_NETGSM,
	AC_PROV_TWILIO,
	AC_PROV_ONESIGNAL,
	AC_PROV__MAX
};

/* "telegram" "resend" "smtp" "netgsm" "twilio" "onesignal". */
const char	*ac_prov_name(enum ac_prov p);

/* The upper-case part of its settings' names: AC_<KEY>_... ("TELEGRAM"). */
const char	*ac_prov_key(enum ac_prov p);

#endif
