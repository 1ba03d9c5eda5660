//! Path parameters of the CRM API: every value is exactly one URL path segment.
//!
//! A module API name or record id goes into the URL path (`/crm/v2/{module}/{record_id}`).
//! URL parsers resolve `.` and `..` segments (also spelled `%2e`), and progenitor's own
//! encoder leaves `\` alone, which URL parsers turn into `/`: `record("Leads", r"..\Contacts\1")`
//! would read a Contact. So values are checked ([`check_segment`]: not empty, not a dot
//! segment in any spelling) and then percent-encoded except for the unreserved characters
//! `A-Z a-z 0-9 - . _ ~` ([`encode_segment`]). The build script rewrites the generated client
//! to call [`segment`], and the CRM `pre` hook checks the final URL against the operation's
//! path template ([`check_request_path`]) before anything is sent.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use progenitor_client::ClientInfo;

use crate::error::Error;
use crate::transport::HookContext;

/// Everything but RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes `value` so that it is one path segment (`/`, `\`, `?`, `#`, `%`, spaces and
/// non-ASCII included).
pub(crate) fn encode_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// Whether `value` is `.` or `..` once percent-decoded (any number of times, any case).
pub(crate) fn is_dot_segment(value: &str) -> bool {
    if !value.contains('%') {
        return value == "." || value == "..";
    }
    let mut current = value.to_owned();
    // Each round removes at least one `%xx`; a handful covers any realistic double encoding.
    for _ in 0..8 {
        if current == "." || current == ".." {
            return true;
        }
        let decoded = percent_decode_str(&current).decode_utf8_lossy().into_owned();
        if decoded == current {
            return false;
        }
        current = decoded;
    }
    // Still decoding after 8 rounds: refuse rather than guess.
    true
}

/// Checks one path parameter: not empty and not a dot segment (`.`, `..`, `%2e`, `%2E%2e`, ...).
pub(crate) fn check_segment(parameter: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(
            parameter,
            "the value is empty; a path parameter must be a module API name or an id",
        ));
    }
    if is_dot_segment(value) {
        return Err(Error::invalid_input(
            parameter,
            format!(
                "{value:?} is a dot segment (`.` or `..`, also when percent-encoded as `%2e`), which URL parsers resolve to another path; pass a module API name or an id"
            ),
        ));
    }
    Ok(())
}

/// Checks and encodes one path parameter for the generated client (build.rs puts this where
/// progenitor wrote `encode_path`). A bad value is stashed as a typed
/// [`Error::InvalidInput`] in the client's failure slot and nothing is sent.
// The error type is progenitor's, as every generated `send()` returns it.
#[expect(clippy::result_large_err, reason = "the error type is progenitor's, as every generated `send()` returns it")]
pub(crate) fn segment<C, I, E>(client: &C, parameter: &str, value: &str) -> Result<String, progenitor_client::Error<E>>
where
    C: ClientInfo<I>,
    I: HookContext,
{
    match check_segment(parameter, value) {
        Ok(()) => Ok(encode_segment(value)),
        Err(e) => Err(progenitor_client::Error::InvalidRequest(client.inner().stash(e))),
    }
}

/// Checks that a request's URL `path` is its operation's template under `base_path`: the same
/// number of segments, literal segments equal, parameter segments valid ([`check_segment`]
/// on the decoded value). Operations without a template pass.
pub(crate) fn check_request_path(
    templates: &[(&str, &str)],
    operation: &str,
    base_path: &str,
    path: &str,
) -> Result<(), Error> {
    let Some((_, template)) = templates.iter().find(|(op, _)| *op == operation) else {
        return Ok(());
    };
    let mismatch = || {
        Error::invalid_input(
            "path",
            format!(
                "{operation}: the request path {path:?} is not {base_path}{template}: a path parameter left its segment"
            ),
        )
    };
    let rest = path.strip_prefix(base_path.trim_end_matches('/')).ok_or_else(mismatch)?;
    // Without a parameter the path is the template itself (no allocation on this path).
    if !template.as_bytes().contains(&b'{') {
        return if rest == *template { Ok(()) } else { Err(mismatch()) };
    }
    if rest.split('/').count() != template.split('/').count() {
        return Err(mismatch());
    }
    for (got, want) in rest.split('/').zip(template.split('/')) {
        match want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            Some(parameter) => check_segment(parameter, &percent_decode_str(got).decode_utf8_lossy())?,
            None if got == want => {}
            None => return Err(mismatch()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_everything_but_unreserved() {
        assert_eq!(encode_segment("Leads"), "Leads");
        assert_eq!(encode_segment("a-b.c_d~e"), "a-b.c_d~e");
        assert_eq!(encode_segment(r"..\Contacts\123"), "..%5CContacts%5C123");
        assert_eq!(encode_segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(encode_segment("Lëads"), "L%C3%ABads");
        assert_eq!(encode_segment("名"), "%E5%90%8D");
    }

    #[test]
    fn refuses_empty_and_dot_segments_in_any_spelling() {
        for bad in ["", ".", "..", "%2e", "%2E", "%2e%2E", ".%2e", "%252e", "%25252e%2e"] {
            assert!(matches!(check_segment("record_id", bad), Err(Error::InvalidInput { .. })), "{bad:?}");
        }
        for good in ["...", "a.", ".a", "1", "%2e%2e%2e", "%", "%zz"] {
            assert!(check_segment("record_id", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn request_paths_must_match_their_template() {
        let t = &[("get_record", "/crm/v2/{module}/{record_id}"), ("list_records", "/crm/v2/{module}")];
        let ok = |op, p| check_request_path(t, op, "/api/us/production", p);
        assert!(ok("get_record", "/api/us/production/crm/v2/Leads/1").is_ok());
        assert!(ok("get_record", "/api/us/production/crm/v2/Leads%2F1/2").is_ok());
        assert!(ok("get_record", "/api/us/production/crm/v2/Leads").is_err());
        assert!(ok("get_record", "/api/us/production/crm/v2/Leads/").is_err());
        assert!(ok("get_record", "/api/us/production/crm/v2/Leads/%2E").is_err());
        assert!(ok("get_record", "/api/us/production/crm/v2/Leads/1/x").is_err());
        assert!(ok("list_records", "/api/us/production/crm/v3/Leads").is_err());
        assert!(ok("list_records", "/other/crm/v2/Leads").is_err());
        assert!(ok("list_records", "/api/us/production/crm/v2/").is_err());
        assert!(ok("get_org", "/anything").is_ok(), "no template, no check");
        assert!(check_request_path(t, "list_records", "", "/crm/v2/Leads").is_ok());
        assert!(check_request_path(t, "list_records", "/", "/crm/v2/Leads").is_ok());
    }
}
