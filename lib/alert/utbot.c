/* utbot.c — see utbot.h. */
#include <math.h>
#include <stddef.h>

#include "alert/utbot.h"

int
ac_utbot_init(struct ac_utbot *u, const struct ac_utbot_params *p, const char **errstr)
{
	*errstr = NULL;
	if (!(p->key_value > 0) || !isfinite(p->key_value))
		*errstr = "key value must be a number > 0";
	else if (p->atr_period < 1)
		*errstr = "ATR period must be >= 1";
	else if (p->ema_period < 1)
		*errstr = "EMA period must be >= 1";
	if (*errstr != NULL)
		return -1;
	u->p = *p;
	u->alpha_ema = 2.0 / (p->ema_period + 1.0);
	u->n = 0;
	u->close_prev = u->src_prev = u->stop_prev = u->ema_prev = NAN;
	u->tr_sum = u->src_sum = 0;
	u->src = u->atr = u->stop = u->ema = NAN;
	return 0;
}

/* ta.tr(true): high - low on the first bar, where close[1] is na. */
static double
true_range(const struct ac_bar *b, double close_prev)
{
	double r = b->high - b->low;

	if (isnan(close_prev))
		return r;
	return fmax(r, fmax(fabs(b->high - close_prev), fabs(b->low - close_prev)));
}

/* One step of an RMA/EMA seeded with the mean of its first len values:
 * na until value number len (n counts from 1), then the recursion. */
static double
smooth(double prev, double x, double alpha, long long n, int len, double *seed_sum)
{
	if (n < len) {
		*seed_sum += x;
		return NAN;
	}
	if (n == len)
		return (*seed_sum + x) / len;
	return alpha * x + (1 - alpha) * prev;
}

/* xATRTrailingStop as the script writes it; na while nLoss is. */
static double
trailing_stop(double src, double src_prev, double stop_prev, double nloss)
{
	double p = isnan(stop_prev) ? 0 : stop_prev;
	double s1 = isnan(src_prev) ? 0 : src_prev;

	if (isnan(nloss))
		return NAN;
	if (src > p && s1 > p)
		return fmax(p, src - nloss);
	if (src < p && s1 < p)
		return fmin(p, src + nloss);
	return src > p ? src - nloss : src + nloss;
}

/* ta.crossover(a, b): false when any of the four values is na. */
static int
crossover(double a, double b, double a_prev, double b_prev)
{
	return a > b && a_prev <= b_prev;
}

enum ac_utbot_signal
ac_utbot_feed(struct ac_utbot *u, const struct ac_bar *b)
{
	double src = u->p.heikin_ashi ? (b->open + b->high + b->low + b->close) / 4 : b->close;
	enum ac_utbot_signal sig = AC_UTBOT_NONE;

	u->n++;
	u->atr = smooth(u->atr, true_range(b, u->close_prev), 1.0 / u->p.atr_period, u->n,
	    u->p.atr_period, &u->tr_sum);
	u->stop = trailing_stop(src, u->src_prev, u->stop_prev, u->p.key_value * u->atr);
	u->ema = smooth(u->ema, src, u->alpha_ema, u->n, u->p.ema_period, &u->src_sum);
	u->src = src;
	if (src > u->stop && crossover(u->ema, u->stop, u->ema_prev, u->stop_prev))
		sig = AC_UTBOT_BUY;
	else if (src < u->stop && crossover(u->stop, u->ema, u->stop_prev, u->ema_prev))
		sig = AC_UTBOT_SELL;
	u->close_prev = b->close;
	u->src_prev = src;
	u->stop_prev = u->stop;
	u->ema_prev = u->ema;
	return sig;
}

const char *
ac_utbot_signal_name(enum ac_utbot_signal s)
{
	return s == AC_UTBOT_BUY ? "buy" : s == AC_UTBOT_SELL ? "sell" : NULL;
}
