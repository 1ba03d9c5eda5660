//! What CRM v8 answers differently from v2 for records: `GET /{module}` with mandatory `fields`,
//! the 2,000-record limit of `page` and the page tokens past it, and `actions/count`.

use serde_json::{Value, json};

use super::ctx::{Ctx, compare_values, fields_param, invalid_param, listed, project, required_param, state_filter};
use super::search::search_matcher;
use crate::testkit::state::{self, Org, PageToken, id_order};
use crate::testkit::time::format_iso;
use crate::testkit::wire::Resp;

/// Most field API names one `GET /{module}` may ask for (Zoho: 50).
pub(crate) const MAX_FIELDS: usize = 50;

/// Records reachable with `page` alone (Zoho: 2,000); past it only `page_token` works.
pub(crate) const DISCRETE_LIMIT: usize = 2000;

/// How long a page token lives (Zoho: 24 hours).
pub(crate) const PAGE_TOKEN_MS: i64 = 24 * 3600 * 1000;

pub(super) fn discrete_limit() -> Resp {
    Resp::zoho_error(
        400,
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "You can only get the first 2000 records without using page_token param",
        json!({"limit": DISCRETE_LIMIT}),
    )
}

/// A refused page token. Zoho's exact answer is not documented: the simulator answers
/// `INVALID_DATA` naming the parameter, with why in `details.reason`.
pub(super) fn bad_page_token(reason: &str, message: &str) -> Resp {
    Resp::zoho_error(400, "INVALID_DATA", message, json!({"param_name": "page_token", "reason": reason}))
}

/// Sort fields v8's Get Records accepts (Zoho: `id`, `Created_Time`, `Modified_Time`).
pub(super) const SORTABLE: &[&str] = &["id", "Created_Time", "Modified_Time"];

/// `GET /crm/v8/{module}`: `fields` required (≤ 50), `per_page` ≤ 200, `page` for the first
/// 2,000 records, `page_token` past them.
pub(crate) fn list_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let Some(fields) = fields_param(ctx).filter(|f| !f.is_empty()) else {
        return required_param("fields");
    };
    if fields.len() > MAX_FIELDS {
        return Resp::zoho_error(
            400,
            "LIMIT_EXCEEDED",
            "Max field limit exceeded",
            json!({"param_name": "fields", "limit": MAX_FIELDS}),
        );
    }
    for f in &fields {
        if !f.eq_ignore_ascii_case("id") && org.field(module, f).is_none() {
            return Resp::zoho_error(
                400,
                "INVALID_DATA",
                "invalid data",
                json!({"param_name": "fields", "api_name": f}),
            );
        }
    }
    let token = ctx.req.query_param("page_token").filter(|t| !t.trim().is_empty());
    if token.is_some() && ctx.req.query_param("page").is_some() {
        return invalid_param("page_token", "page and page_token cannot be used together");
    }
    let (page, per_page) = or_answer!(ctx.paging());
    let sort_by = match ctx.req.query_param("sort_by") {
        None => "id",
        Some(s) => match SORTABLE.iter().find(|k| k.eq_ignore_ascii_case(&s)) {
            Some(k) => k,
            None => return invalid_param("sort_by", "invalid data"),
        },
    };
    let desc = match ctx.req.query_param("sort_order").as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return invalid_param("sort_order", "invalid data"),
    };
    let ims = or_answer!(ctx.if_modified_since());
    let keep = or_answer!(state_filter(ctx));
    let ids: Option<Vec<String>> =
        ctx.req.query_param("ids").map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let mut sorted_fields: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
    sorted_fields.sort();
    sorted_fields.dedup();
    let q = |k: &str| ctx.req.query_param(k).unwrap_or_default();
    let query = format!(
        "{module}|{}|{sort_by}|{desc}|{per_page}|{}|{}|{}|{}",
        sorted_fields.join(","),
        q("converted"),
        q("approved"),
        q("ids"),
        ctx.req.header("if-modified-since").unwrap_or_default()
    );
    let offset = match &token {
        Some(t) => match org.page_tokens.get(t.trim()) {
            None => return bad_page_token("invalid", "the page token given seems to be invalid"),
            Some(pt) if pt.expires_ms <= ctx.now_ms => {
                return bad_page_token("expired", "the page token has expired");
            }
            Some(pt) if pt.query != query || !pt.email.eq_ignore_ascii_case(&ctx.me.email) => {
                return bad_page_token(
                    "mismatch",
                    "the page token belongs to another query; repeat the query it came from",
                );
            }
            Some(pt) => pt.offset,
        },
        None => {
            if page.saturating_mul(per_page) > DISCRETE_LIMIT {
                return discrete_limit();
            }
            (page - 1) * per_page
        }
    };
    let mut recs = listed(org, module, keep, ids.as_deref());
    if sort_by == "id" {
        // A module keeps its records in id order (`Org::push_record`).
        if desc {
            recs.reverse();
        }
    } else {
        recs.sort_by(|a, b| {
            let o = compare_values(a.data().get(sort_by), b.data().get(sort_by)).then_with(|| id_order(&a.id, &b.id));
            if desc { o.reverse() } else { o }
        });
    }
    if let Some(t) = ims {
        recs.retain(|r| r.modified_s > t);
        if recs.is_empty() {
            return Resp::empty(304);
        }
    }
    if offset >= recs.len() {
        return Resp::empty(204);
    }
    let end = (offset + per_page).min(recs.len());
    let more = end < recs.len();
    let data: Vec<Value> = recs[offset..end].iter().map(|r| project(r, Some(&fields))).collect();
    let count = data.len();
    // Mint the tokens (and forget the ones a day past their expiry).
    let now = ctx.now_ms;
    org.page_tokens.retain(|_, t| t.expires_ms + PAGE_TOKEN_MS > now);
    let expires_ms = now + PAGE_TOKEN_MS;
    let mut mint = |offset: usize| {
        let value = state::random_hex(24);
        org.page_tokens
            .insert(value.clone(), PageToken { email: ctx.me.email.clone(), query: query.clone(), offset, expires_ms });
        value
    };
    let next = if more { Some(mint(end)) } else { None };
    let previous = if offset > 0 { Some(mint(offset.saturating_sub(per_page))) } else { None };
    let expiry = if next.is_some() || previous.is_some() {
        json!(format_iso(expires_ms.div_euclid(1000), org.offset_secs))
    } else {
        Value::Null
    };
    Resp::json(
        200,
        &json!({"data": data, "info": {
            "per_page": per_page,
            "next_page_token": next,
            "count": count,
            "sort_by": sort_by,
            "page": offset / per_page + 1,
            "previous_page_token": previous,
            "page_token_expiry": expiry,
            "sort_order": if desc { "desc" } else { "asc" },
            "more_records": more
        }}),
    )
}

/// `GET /crm/v8/{module}/actions/count`: `{"count": N}` of the records `criteria`, `email`,
/// `phone` or `word` select (all of them without one). `cvid` together with a search parameter
/// answers Zoho's `AMBIGUITY_DURING_PROCESSING`; `cvid` alone counts every record (the
/// simulator has no custom views).
pub(crate) fn count_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let matcher = or_answer!(search_matcher(org, ctx, module));
    if matcher.is_some() && ctx.req.query_param("cvid").is_some() {
        let given: Vec<Value> = ["cvid", "criteria", "email", "phone", "word"]
            .iter()
            .filter(|p| ctx.req.query_param(p).is_some())
            .map(|p| json!({"param_name": p}))
            .collect();
        return Resp::zoho_error(
            400,
            "AMBIGUITY_DURING_PROCESSING",
            "Please use either Cvid or Search Params. Combination of both the params is not allowed",
            json!({"ambiguity_due_to": given}),
        );
    }
    let keep = or_answer!(state_filter(ctx));
    let n = org
        .records
        .get(module)
        .map(|v| v.iter().filter(|r| keep(r) && matcher.as_ref().is_none_or(|m| m(r))).count())
        .unwrap_or(0);
    Resp::json(200, &json!({"count": n}))
}
