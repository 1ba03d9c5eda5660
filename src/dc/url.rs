//! Received URLs: sanitizing them for errors (userinfo, query and fragment redacted, length
//! capped) and canonicalizing them for comparison with the table in force.

use super::DcError;

/// Longest received value kept in an error, in characters.
const MAX_SHOWN: usize = 200;

/// Caps the length and escapes control characters of a short received value.
pub(super) fn sanitize_short(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_SHOWN).flat_map(char::escape_debug).collect();
    if s.chars().count() > MAX_SHOWN {
        out.push('…');
    }
    out
}

/// Removes userinfo, query and fragment from a received URL-like value, then caps and escapes it.
///
/// Conservative on purpose: everything before the last `@` ahead of any `?`/`#` is treated as
/// userinfo. When percent-decoding the value (repeatedly) reveals parts that must be redacted,
/// the decoded form is shown, redacted; otherwise the value is shown as received.
pub(super) fn sanitize_url(s: &str) -> String {
    fn redact(s: &str) -> String {
        let (scheme, rest) = match s.find("://") {
            Some(i) => s.split_at(i + 3),
            None => ("", s),
        };
        let (before, after) = rest.split_at(rest.find(['?', '#']).unwrap_or(rest.len()));
        let before = match before.rfind('@') {
            Some(at) => format!("[redacted]@{}", &before[at + 1..]),
            None => before.to_owned(),
        };
        let after = match after.chars().next() {
            Some(mark) => format!("{mark}[redacted]"),
            None => String::new(),
        };
        format!("{scheme}{before}{after}")
    }
    let mut decoded = s.to_owned();
    for _ in 0..4 {
        let next = percent_encoding::percent_decode_str(&decoded).decode_utf8_lossy().into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let redacted_decoded = redact(&decoded);
    if redacted_decoded != decoded { sanitize_short(&redacted_decoded) } else { sanitize_short(&redact(s)) }
}

// ---------------------------------------------------------------------------------------------
// URL normalisation
// ---------------------------------------------------------------------------------------------

/// Longest URL considered at all.
const MAX_URL_LEN: usize = 2048;

/// Characters allowed in a base URL (after at most one whole-value percent-decoding).
fn allowed_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':' | '/' | '[' | ']')
}

/// Why `c` is not allowed, for [`DcError::InvalidUrl`].
fn char_reason(c: char) -> String {
    match c {
        '@' => "userinfo (user@host) is not allowed".to_owned(),
        '?' => "a query string is not allowed".to_owned(),
        '#' => "a fragment is not allowed".to_owned(),
        '%' => "percent-encoded characters inside the URL are not allowed (only the whole value may be \
                percent-encoded, once)"
            .to_owned(),
        '\\' => "backslashes are not allowed".to_owned(),
        c if c.is_whitespace() || c.is_control() => "whitespace and control characters are not allowed".to_owned(),
        c if !c.is_ascii() => "non-ASCII characters are not allowed (write the host in punycode)".to_owned(),
        c => format!("the character {c:?} is not allowed"),
    }
}

/// Normalises a URL received from Zoho (redirect, token response, serverinfo) for comparison
/// with the table: `scheme://authority/path` with scheme and authority lower-cased and one
/// trailing slash removed. Returns `(sanitized value for errors, canonical form)`.
pub(super) fn normalize_received(raw: &str) -> Result<(String, String), DcError> {
    let invalid =
        |shown: &str, reason: &str| DcError::InvalidUrl { received: sanitize_url(shown), reason: reason.to_owned() };
    if raw.is_empty() {
        return Err(invalid(raw, "the value is empty"));
    }
    if raw.len() > MAX_URL_LEN {
        return Err(invalid(raw, "the value is too long"));
    }
    // Zoho may deliver `accounts-server` still percent-encoded (`https%3A%2F%2Faccounts.zoho.com`):
    // decode the whole value once, and only when it is not already a plain URL.
    let decoded: String = if !raw.contains("://") && raw.contains('%') {
        match percent_encoding::percent_decode_str(raw).decode_utf8() {
            Ok(s) => s.into_owned(),
            Err(_) => return Err(invalid(raw, "percent-decoding does not give UTF-8")),
        }
    } else {
        raw.to_owned()
    };
    if let Some(c) = decoded.chars().find(|c| !allowed_url_char(*c)) {
        return Err(invalid(&decoded, &char_reason(c)));
    }
    let Some((scheme, rest)) = decoded.split_once("://") else {
        return Err(invalid(&decoded, "not an absolute URL (expected https://host)"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(invalid(&decoded, "the scheme must be https"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(invalid(&decoded, "the host is missing"));
    }
    if url::Url::parse(&decoded).is_err() {
        return Err(invalid(&decoded, "it does not parse as a URL"));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let canonical = format!("{scheme}://{}{path}", authority.to_ascii_lowercase());
    Ok((sanitize_url(&decoded), canonical))
}

/// Validates an override base URL and returns its canonical form (no trailing slash).
pub(super) fn canonical_override(raw: &str, allow_insecure: bool) -> Result<String, DcError> {
    let invalid = |reason: &str| DcError::InvalidUrl { received: sanitize_url(raw), reason: reason.to_owned() };
    if raw.len() > MAX_URL_LEN {
        return Err(invalid("the value is too long"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&format!("it does not parse as a URL ({e})")))?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(invalid("the scheme must be https (or http for loopback hosts)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("userinfo (user@host) is not allowed"));
    }
    if url.query().is_some() {
        return Err(invalid("a query string is not allowed"));
    }
    if url.fragment().is_some() {
        return Err(invalid("a fragment is not allowed"));
    }
    let Some(host) = url.host() else {
        return Err(invalid("the host is missing"));
    };
    let loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if scheme == "http" && !loopback && !allow_insecure {
        return Err(DcError::InsecureUrl { received: sanitize_url(raw) });
    }
    let path = url.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    if let Some(c) = path.chars().find(|c| !allowed_url_char(*c)) {
        return Err(invalid(&format!("in the path: {}", char_reason(c))));
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{scheme}://{host}{port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_userinfo_query_fragment() {
        assert_eq!(sanitize_url("https://user:pw@evil.com/x?code=1#f"), "https://[redacted]@evil.com/x?[redacted]");
        assert_eq!(sanitize_url("https://evil.com#accounts.zoho.eu"), "https://evil.com#[redacted]");
        assert_eq!(sanitize_url("a\nb"), "a\\nb");
        // Userinfo hidden by percent-encoding (once or twice) is still removed.
        assert_eq!(sanitize_url("https%3A%2F%2Fu%3Apw%40evil.com"), "https://[redacted]@evil.com");
        assert_eq!(sanitize_url("https://u%253Apw%2540evil.com"), "https://[redacted]@evil.com");
        assert_eq!(sanitize_url("https://u:pw\\@evil.com/x"), "https://[redacted]@evil.com/x");
        // Harmless encoding is shown as received.
        assert_eq!(sanitize_url("https://accounts.zoho.eu%2F"), "https://accounts.zoho.eu%2F");
        assert!(sanitize_url(&"x".repeat(5000)).chars().count() <= MAX_SHOWN + 1);
    }

    #[test]
    fn override_canonical_forms() {
        assert_eq!(canonical_override("HTTP://LOCALHOST:8080/Eu/", false).unwrap(), "http://localhost:8080/Eu");
        assert_eq!(canonical_override("http://[::1]:9/", false).unwrap(), "http://[::1]:9");
        assert_eq!(canonical_override("http://127.9.9.9", false).unwrap(), "http://127.9.9.9");
        assert!(matches!(canonical_override("http://10.0.0.1", false), Err(DcError::InsecureUrl { .. })));
        assert_eq!(canonical_override("http://10.0.0.1", true).unwrap(), "http://10.0.0.1");
        assert_eq!(canonical_override("https://gw.example:443/zoho", false).unwrap(), "https://gw.example/zoho");
    }
}
