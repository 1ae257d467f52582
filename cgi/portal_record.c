/*
 * portal_record.c — a strategy's public track record, for anyone:
 *
 *	GET /strategies/N/record	its figures, PnL per month, the equity
 *					curve (inline SVG, no script) and its
 *					recent signals with their arrival and
 *					delivery latency (lib/alert/record.h)
 *
 * A strategy its operator has not opted in is answered 404, as one that
 * does not exist.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alert/record.h"
#include "base/arena.h"
#include "cgi/portal.h"

#define RECENT_SIGNALS	20

/* "+1.25 %" / "-3.00 %" of a number of percent. */
static const char *
percent(struct pctx *c, double v)
{
	return ac_arena_printf(c->r->arena, "%+.2f %%", fabs(v) < 0.005 ? 0.0 : v);
}

/* The text colour of a result: gains green, losses red. */
static const char *
result_class(double v)
{
	return v >= 0.005 ? "text-success" : v <= -0.005 ? "text-danger" : "";
}

/* An ISO UTC time ("2026-01-02T03:04:05Z") as a person reads it
 * ("2026-01-02 03:04:05"), in the arena; NULL stays NULL. */
static const char *
shown_time(struct pctx *c, const char *iso)
{
	char *s;

	if (iso == NULL)
		return NULL;
	s = ac_arena_printf(c->r->arena, "%s", iso);
	if (strlen(s) == 20 && s[10] == 'T' && s[19] == 'Z') {
		s[10] = ' ';
		s[19] = '\0';
	}
	return s;
}

/* Sets "shown_at" on each recent signal, "first_shown" and "last_shown" on d. */
static void
record_times(struct pctx *c, json_t *d)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(d, "recent"), i, v)
		json_object_set_new(v, "shown_at", json_string(shown_time(c, json_string_value(
		    json_object_get(v, "received_at")))));
	json_object_set_new(d, "first_shown", json_string(shown_time(c, json_string_value(
	    json_object_get(d, "first_signal_at")))));
	json_object_set_new(d, "last_shown", json_string(shown_time(c, json_string_value(
	    json_object_get(d, "last_signal_at")))));
}

/* The months' results as shown, newest first. */
static json_t *
record_months(struct pctx *c, const json_t *months)
{
	json_t *out = json_array(), *m;
	size_t i;

	for (i = json_array_size(months); i-- > 0;) {
		double pnl;

		m = json_array_get(months, i);
		pnl = json_real_value(json_object_get(m, "pnl_percent"));
		json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:s, s:s}", "month",
		    json_object_get(m, "month"), "trades", json_object_get(m, "trades"),
		    "wins", json_object_get(m, "wins"), "pnl", percent(c, pnl),
		    "pnl_class", result_class(pnl)));
	}
	return out;
}

/* Sets the headline figures of record d as shown: "win_rate" ("50.0 %",
 * or null without a closed trade), "total" and "total_class", "drawdown",
 * the times shown (record_times) and "first_day" (UTC date, or null).
 * The front page's cards show the same words as the record's own page. */
void
record_figures(struct pctx *c, json_t *d)
{
	double total, dd;
	json_t *rate;
	const char *first;

	total = json_real_value(json_object_get(d, "total_pnl_percent"));
	dd = json_real_value(json_object_get(d, "max_drawdown_percent"));
	rate = json_object_get(d, "win_rate_percent");
	json_object_set_new(d, "win_rate", json_is_number(rate) ? json_string(ac_arena_printf(
	    c->r->arena, "%.1f %%", json_number_value(rate))) : json_null());
	json_object_set_new(d, "total", json_string(percent(c, total)));
	json_object_set_new(d, "total_class", json_string(result_class(total)));
	json_object_set_new(d, "drawdown", json_string(ac_arena_printf(c->r->arena,
	    "%.2f points", dd)));
	record_times(c, d);
	first = json_string_value(json_object_get(d, "first_signal_at"));
	json_object_set_new(d, "first_day", first && strlen(first) >= 10 ?
	    json_string(ac_arena_printf(c->r->arena, "%.10s", first)) : json_null());
}

/* GET /strategies/{id}/record */
void
record_page(struct ac_call *k)
{
	struct pctx *c = k->ctx;
	struct ac_err e = { 0 };
	char *svg = NULL;
	json_t *d, *v;

	if ((d = ac_record(portal.db, k->id, RECENT_SIGNALS, &svg, &e)) == NULL) {
		if (e.code == AC_E_NOT_FOUND)
			not_found(c);
		else
			db_failed(c);
		return;
	}
	record_figures(c, d);
	v = record_months(c, json_object_get(d, "months"));
	json_object_set_new(d, "has_months", json_boolean(json_array_size(v) > 0));
	json_object_set_new(d, "shown_months", v);
	json_object_set_new(d, "has_recent", json_boolean(json_array_size(json_object_get(d,
	    "recent")) > 0));
	json_object_set_new(d, "equity_svg", json_string(svg ? svg : ""));
	free(svg);
	page(c, 200, "record", ac_arena_printf(c->r->arena, "%s: track record",
	    json_string_value(json_object_get(json_object_get(d, "strategy"), "name"))),
	    json_pack("{s:o}", "r", d), NULL);
}
