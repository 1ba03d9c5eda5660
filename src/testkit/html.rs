//! The simulated Zoho Accounts pages: sign-in, consent and error. Plain HTML forms that work in
//! a real browser; the `consent` module submits the same forms over HTTP.

/// Escapes text for HTML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Reverses [`esc`].
pub(crate) fn unesc(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f6f9;margin:0}main{max-width:460px;margin:60px auto;background:#fff;border-radius:8px;padding:32px;box-shadow:0 2px 8px rgba(0,0,0,.1)}h1{font-size:22px}label{display:block;margin:14px 0 6px;font-weight:600}select{width:100%;padding:8px}button{margin:20px 8px 0 0;padding:10px 22px;border:0;border-radius:4px;font-size:15px;cursor:pointer}.accept{background:#1a73e8;color:#fff}.reject{background:#e8eaed}.scopes li{font-family:monospace}.err{color:#b3261e}.dc{color:#666;font-size:13px}";

fn page(title: &str, extra_head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>{extra_head}<style>{STYLE}</style></head>\n<body><main>\n{body}\n</main></body></html>\n",
        esc(title)
    )
}

fn hidden(fields: &[(String, String)]) -> String {
    fields.iter().map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", esc(k), esc(v))).collect()
}

/// The sign-in page: pick a user.
pub(crate) fn signin_page(
    dc_label: &str,
    action: &str,
    fields: &[(String, String)],
    users: &[(String, String)],
) -> String {
    let options: String = users
        .iter()
        .map(|(email, name)| {
            format!("<option value=\"{}\">{} &lt;{}&gt;</option>\n", esc(email), esc(name), esc(email))
        })
        .collect();
    let body = format!(
        "<h1>Sign in to Zoho (simulated)</h1>\n<p class=\"dc\">Accounts server: {}</p>\n<form id=\"sim-signin\" method=\"post\" action=\"{}\">\n{}<label for=\"email\">User</label>\n<select id=\"email\" name=\"email\">\n{options}</select>\n<button class=\"accept\" type=\"submit\">Sign in</button>\n</form>",
        esc(dc_label),
        esc(action),
        hidden(fields)
    );
    page("Zoho Accounts - Sign in", "", &body)
}

/// What the consent page shows and posts.
pub(crate) struct ConsentPage<'a> {
    /// The accounts server, shown to the user.
    pub dc_label: &'a str,
    /// Where the form posts.
    pub action: &'a str,
    /// Hidden fields carried through.
    pub fields: &'a [(String, String)],
    pub client_id: &'a str,
    pub email: &'a str,
    pub scopes: &'a [String],
}

/// The consent page: pick the environment (org), then Accept or Reject.
pub(crate) fn consent_page(p: &ConsentPage<'_>) -> String {
    let ConsentPage { dc_label, action, fields, client_id, email, scopes } = *p;
    let scope_items: String = scopes.iter().map(|s| format!("<li>{}</li>", esc(s))).collect();
    let body = format!(
        "<h1>Allow access?</h1>\n<p>The application <b>{}</b> would like to access your Zoho account <b>{}</b>.</p>\n<p class=\"dc\">Accounts server: {}</p>\n<ul class=\"scopes\">{scope_items}</ul>\n<form id=\"sim-consent\" method=\"post\" action=\"{}\">\n{}<label for=\"environment\">Organization</label>\n<select id=\"environment\" name=\"environment\">\n<option value=\"production\">Production</option>\n<option value=\"sandbox\">Sandbox</option>\n<option value=\"developer\">Developer</option>\n</select>\n<button class=\"accept\" type=\"submit\" name=\"decision\" value=\"accept\">Accept</button>\n<button class=\"reject\" type=\"submit\" name=\"decision\" value=\"reject\">Reject</button>\n</form>",
        esc(client_id),
        esc(email),
        esc(dc_label),
        esc(action),
        hidden(fields)
    );
    page("Zoho Accounts - Consent", "", &body)
}

/// Zoho-like error page; `code` is also in `<meta name="zoho-sim-error">` for programs.
pub(crate) fn error_page(code: &str, message: &str) -> String {
    let head = format!("<meta name=\"zoho-sim-error\" content=\"{}\">", esc(code));
    let body =
        format!("<h1>An error occurred</h1>\n<p class=\"err\"><b>{}</b></p>\n<p>{}</p>", esc(code), esc(message));
    page("Zoho Accounts - Error", &head, &body)
}

/// The error code of an [`error_page`], if `html` is one.
pub(crate) fn error_code(html: &str) -> Option<String> {
    let start =
        html.find("<meta name=\"zoho-sim-error\" content=\"")? + "<meta name=\"zoho-sim-error\" content=\"".len();
    let end = html[start..].find('"')? + start;
    Some(unesc(&html[start..end]))
}

/// A form of one of the simulator's pages: its action and hidden fields.
pub(crate) struct ParsedForm {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// Finds the form `<form id="{id}" ...>` and reads its action and hidden inputs.
pub(crate) fn parse_form(html: &str, id: &str) -> Option<ParsedForm> {
    let open = format!("<form id=\"{id}\" method=\"post\" action=\"");
    let start = html.find(&open)? + open.len();
    let action_end = html[start..].find('"')? + start;
    let action = unesc(&html[start..action_end]);
    let form_end = html[action_end..].find("</form>")? + action_end;
    let mut fields = Vec::new();
    let mut rest = &html[action_end..form_end];
    let marker = "<input type=\"hidden\" name=\"";
    while let Some(i) = rest.find(marker) {
        rest = &rest[i + marker.len()..];
        let name_end = rest.find('"')?;
        let name = unesc(&rest[..name_end]);
        rest = rest[name_end..].strip_prefix("\" value=\"")?;
        let value_end = rest.find('"')?;
        fields.push((name, unesc(&rest[..value_end])));
        rest = &rest[value_end..];
    }
    Some(ParsedForm { action, fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_round_trip_through_the_parser() {
        let fields =
            vec![("state".to_owned(), "a\"b<c>&d'".to_owned()), ("scope".to_owned(), "ZohoCRM.users.READ".to_owned())];
        let html = signin_page("us", "/accounts/us/oauth/v2/auth/signin", &fields, &[("a@b".into(), "A B".into())]);
        let form = parse_form(&html, "sim-signin").unwrap();
        assert_eq!(form.action, "/accounts/us/oauth/v2/auth/signin");
        assert_eq!(form.fields, fields);
        assert!(parse_form(&html, "sim-consent").is_none());
        assert_eq!(error_code(&error_page("invalid_client", "x")).as_deref(), Some("invalid_client"));
        assert_eq!(error_code(&html), None);
    }
}
