//! `GET /{module}/search` (`criteria`, `email`, `phone`, `word`), in v2 and v8 (v8's `info`
//! differs); the record test is shared with v8's filtered lists.

use serde_json::{Value, json};

use super::ctx::{Ctx, fields_param, invalid_module, page_of, project, required_param, state_filter};
use super::shape::Shape;
use crate::testkit::criteria;
use crate::testkit::state::{Org, Rec};
use crate::testkit::wire::Resp;

/// A record test.
pub(crate) type Matcher = Box<dyn Fn(&Rec) -> bool>;

/// The search parameters of a request (`criteria`, else `email`, else `phone`, else `word`) as a
/// record test; `Ok(None)` when none is given.
pub(crate) fn search_matcher(org: &Org, ctx: &Ctx<'_>, module: &'static str) -> Result<Option<Matcher>, Resp> {
    let Some(m) = org.module(module) else {
        return Err(invalid_module(json!({"resource_path_index": 0})));
    };
    let fields = m.def.fields;
    let q = |k: &str| ctx.req.query_param(k).filter(|v| !v.trim().is_empty());
    let matcher: Matcher = if let Some(c) = q("criteria") {
        let expr = match criteria::parse(&c) {
            Ok(e) => e,
            Err(e) => {
                return Err(Resp::zoho_error(
                    400,
                    "INVALID_QUERY",
                    "invalid query formed",
                    json!({"reason": e.reason, "api_name": e.api_name}),
                ));
            }
        };
        for f in criteria::fields(&expr) {
            if !f.eq_ignore_ascii_case("id") && !fields.iter().any(|fd| fd.api_name.eq_ignore_ascii_case(f)) {
                return Err(Resp::zoho_error(
                    400,
                    "INVALID_QUERY",
                    "invalid query formed",
                    json!({"reason": "the field is not available for search", "api_name": f}),
                ));
            }
        }
        Box::new(move |r: &Rec| {
            criteria::matches(&expr, &|name: &str| {
                r.data().iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
            })
        })
    } else if let Some(email) = q("email") {
        let email = email.to_lowercase();
        Box::new(move |r: &Rec| {
            fields
                .iter()
                .filter(|f| f.data_type == "email")
                .any(|f| r.data().get(f.api_name).and_then(Value::as_str).is_some_and(|v| v.to_lowercase() == email))
        })
    } else if let Some(phone) = q("phone") {
        Box::new(move |r: &Rec| {
            fields
                .iter()
                .filter(|f| f.data_type == "phone")
                .any(|f| r.data().get(f.api_name).and_then(Value::as_str).is_some_and(|v| v == phone))
        })
    } else if let Some(word) = q("word") {
        let word = word.to_lowercase();
        Box::new(move |r: &Rec| r.data().values().any(|v| v.as_str().is_some_and(|s| s.to_lowercase().contains(&word))))
    } else {
        return Ok(None);
    };
    Ok(Some(matcher))
}

pub(super) fn search_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let (page, per_page) = or_answer!(ctx.paging());
    let keep = or_answer!(state_filter(ctx));
    let matcher = match search_matcher(org, ctx, module) {
        Ok(Some(m)) => m,
        Ok(None) => return required_param("criteria"),
        Err(r) => return r,
    };
    let fields = fields_param(ctx);
    let empty = Vec::new();
    let hits: Vec<Value> = org
        .records
        .get(module)
        .unwrap_or(&empty)
        .iter()
        .filter(|r| keep(r) && matcher(r))
        .map(|r| match (&fields, ctx.v8) {
            (Some(f), true) => project(r, Some(f)),
            _ => ctx.out(org, Shape::Record(module), r.data()),
        })
        .collect();
    if ctx.v8 {
        return search_page(hits, page, per_page);
    }
    page_of("data", hits, page, per_page)
}

/// One page of v8 search hits, `info` with `sort_by`/`sort_order` as Zoho's v7/v8 sample shows.
pub(crate) fn search_page(items: Vec<Value>, page: usize, per_page: usize) -> Resp {
    let start = (page - 1).saturating_mul(per_page);
    if start >= items.len() {
        return Resp::empty(204);
    }
    let end = (start + per_page).min(items.len());
    let slice = items[start..end].to_vec();
    Resp::json(
        200,
        &json!({"data": slice, "info": {
            "per_page": per_page,
            "count": end - start,
            "sort_by": "id",
            "page": page,
            "sort_order": "desc",
            "more_records": end < items.len()
        }}),
    )
}
