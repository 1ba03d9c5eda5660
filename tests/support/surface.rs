//! Reads the API surface of a generated client from its source with `syn`: every operation's
//! HTTP method, path, Rust method, parameters (name, type, required, location) and response
//! types, as the generated code actually builds the request.

use std::collections::BTreeMap;

use quote::ToTokens;
use serde::Serialize;
use syn::visit::Visit;

/// The source that is compiled into `zohocrm::<client>`: the `OUT_DIR` copy when the `codegen`
/// feature is on, the committed `generated/` copy otherwise.
pub fn compiled_source(client: &str) -> &'static str {
    #[cfg(feature = "codegen")]
    let source = match client {
        "accounts" => include_str!(concat!(env!("OUT_DIR"), "/accounts.rs")),
        "crm" => include_str!(concat!(env!("OUT_DIR"), "/crm.rs")),
        other => panic!("unknown client {other}"),
    };
    #[cfg(not(feature = "codegen"))]
    let source = committed_source(client);
    source
}

/// The committed copy in `generated/`.
pub fn committed_source(client: &str) -> &'static str {
    match client {
        "accounts" => include_str!("../../generated/accounts.rs"),
        "crm" => include_str!("../../generated/crm.rs"),
        other => panic!("unknown client {other}"),
    }
}

/// The spec a client is generated from.
pub fn spec_source(client: &str) -> &'static str {
    match client {
        "accounts" => include_str!("../../spec/accounts.yaml"),
        "crm" => include_str!("../../spec/crm-v2.yaml"),
        other => panic!("unknown client {other}"),
    }
}

/// The two generated clients.
pub const CLIENTS: &[&str] = &["accounts", "crm"];

/// One generated operation.
#[derive(Clone, Debug, Serialize)]
pub struct Operation {
    /// The spec's `operationId`, as passed to the hooks.
    pub operation_id: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path template; `{x}` is the builder setter `x`.
    pub path: String,
    /// The `Client` method that starts the call.
    pub rust_method: String,
    /// Parameters, in the order the builder declares them.
    pub params: Vec<Param>,
    /// `T` of `ResponseValue<T>` on success.
    pub success: String,
    /// `E` of `Error<E>`.
    pub error: String,
    /// Status patterns handled by `send`, and whether each is a success or a documented error.
    pub responses: BTreeMap<String, String>,
}

/// One parameter of an operation.
#[derive(Clone, Debug, Serialize)]
pub struct Param {
    /// The builder setter.
    pub rust: String,
    /// The name on the wire (query or header name); the setter name for path and body.
    pub name: String,
    /// The Rust type the setter converts into.
    pub ty: String,
    /// Whether `send` fails when it is not set.
    pub required: bool,
    /// `path`, `query`, `header`, `body (json)` or `body (form)`.
    #[serde(rename = "in")]
    pub location: String,
}

/// Renders a syntax node as compact Rust (`::std::string::String`, `types::Record`).
fn render(node: &impl ToTokens) -> String {
    let text = node.to_token_stream().to_string();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        // Keep a space only between two word characters (`dyn Trait`), drop it elsewhere.
        if c == ' ' {
            let prev_word = out.chars().last().is_some_and(|p: char| p.is_alphanumeric() || p == '_');
            let next_word = chars.peek().is_some_and(|n| n.is_alphanumeric() || *n == '_');
            if prev_word && next_word {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// The doc text of an item (its `///` or `/** */` comments).
fn doc_text(attrs: &[syn::Attribute]) -> String {
    let mut doc = String::new();
    for attr in attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value
        {
            doc.push_str(&s.value());
            doc.push('\n');
        }
    }
    doc
}

/// `(method, path)` from a doc comment's "Sends a `GET` request to `/path`".
pub fn documented_route(attrs: &[syn::Attribute]) -> Option<(String, String)> {
    let doc = doc_text(attrs);
    let rest = doc.split("Sends a `").nth(1)?;
    let (method, rest) = rest.split_once('`')?;
    let path = rest.split('`').nth(1)?;
    Some((method.to_owned(), path.to_owned()))
}

/// The first generic argument of a path type (`Result<T, _>` -> `T`, `Option<T>` -> `T`).
fn first_generic(ty: &syn::Type, outer: &str) -> Option<syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != outer {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

/// Extracts every operation of one generated file, sorted by path then method.
pub fn operations(source: &str) -> Vec<Operation> {
    let file = syn::parse_file(source).expect("generated code parses");

    // `impl Client { pub fn list_users(&self) -> builder::ListUsers<'_> }`: builder -> method.
    let mut starts: BTreeMap<String, (String, Option<(String, String)>)> = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || render(&imp.self_ty) != "Client" {
            continue;
        }
        for ii in &imp.items {
            let syn::ImplItem::Fn(f) = ii else { continue };
            let syn::ReturnType::Type(_, ret) = &f.sig.output else {
                continue;
            };
            let ret = render(ret);
            if let Some(builder) = ret.strip_prefix("builder::") {
                let builder = builder.split('<').next().unwrap_or_default().to_owned();
                starts.insert(builder, (f.sig.ident.to_string(), documented_route(&f.attrs)));
            }
        }
    }

    let builder_mod = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|(_, items)| items),
            _ => None,
        })
        .expect("a top-level `mod builder`");

    let mut fields: BTreeMap<String, Vec<(String, syn::Type)>> = BTreeMap::new();
    let mut sends: BTreeMap<String, syn::ImplItemFn> = BTreeMap::new();
    for item in builder_mod {
        match item {
            syn::Item::Struct(s) => {
                let list = s
                    .fields
                    .iter()
                    .filter_map(|f| Some((f.ident.as_ref()?.to_string(), f.ty.clone())))
                    .filter(|(name, _)| name != "client")
                    .collect();
                fields.insert(s.ident.to_string(), list);
            }
            syn::Item::Impl(imp) => {
                let name = render(&imp.self_ty);
                let name = name.split('<').next().unwrap_or_default().to_owned();
                for ii in &imp.items {
                    if let syn::ImplItem::Fn(f) = ii
                        && f.sig.ident == "send"
                    {
                        sends.insert(name.clone(), f.clone());
                    }
                }
            }
            _ => {}
        }
    }

    let mut ops = Vec::new();
    for (builder, (rust_method, documented)) in &starts {
        let send = sends.get(builder).unwrap_or_else(|| panic!("builder {builder} has no send"));
        let struct_fields = fields.get(builder).unwrap_or_else(|| panic!("builder {builder} has no struct"));
        let param_names: Vec<String> = struct_fields.iter().map(|(n, _)| n.clone()).collect();

        let mut v = SendVisitor { params: &param_names, ..SendVisitor::default() };
        v.visit_block(&send.block);

        let (success, error) = send_types(&send.sig);
        let method = v.method.clone().unwrap_or_else(|| panic!("{builder}: no HTTP method call found"));
        let path = v.path.clone().unwrap_or_else(|| panic!("{builder}: no url format! found"));
        if let Some((doc_method, doc_path)) = documented {
            assert_eq!(
                (&method, &path),
                (doc_method, doc_path),
                "{builder}: the extracted route disagrees with the generated doc comment"
            );
        }

        let params = struct_fields
            .iter()
            .map(|(name, ty)| {
                let inner = first_generic(ty, "Result").unwrap_or_else(|| panic!("{builder}.{name}: not a Result"));
                let (required, ty) = match first_generic(&inner, "Option") {
                    Some(t) => (false, t),
                    None => (true, inner),
                };
                let mut ty = render(&ty);
                let (wire, location) = if name == "body" {
                    ty = ty.replace("types::builder::", "types::");
                    (name.clone(), format!("body ({})", v.body_kind.clone().unwrap_or_else(|| "?".into())))
                } else if v.path_params.contains(name) {
                    (name.clone(), "path".to_owned())
                } else if let Some(wire) = v.query.get(name) {
                    (wire.clone(), "query".to_owned())
                } else if let Some(wire) = v.headers.get(name) {
                    (wire.clone(), "header".to_owned())
                } else {
                    panic!("{builder}.{name}: not used in path, query, headers or body");
                };
                Param { rust: name.clone(), name: wire, ty, required, location }
            })
            .collect();

        ops.push(Operation {
            operation_id: v.operation_id.clone().unwrap_or_else(|| panic!("{builder}: no operation_id")),
            method,
            path,
            rust_method: rust_method.clone(),
            params,
            success,
            error,
            responses: v.responses.clone(),
        });
    }
    ops.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    ops
}

/// `Result<ResponseValue<S>, Error<E>>` -> (S, E).
fn send_types(sig: &syn::Signature) -> (String, String) {
    let syn::ReturnType::Type(_, ret) = &sig.output else { panic!("send returns nothing") };
    let ok = first_generic(ret, "Result").expect("send returns a Result");
    let success = first_generic(&ok, "ResponseValue").map(|t| render(&t)).unwrap_or_else(|| render(&ok));
    let syn::Type::Path(p) = &**ret else { unreachable!() };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last().expect("segment").arguments else {
        panic!("Result without arguments")
    };
    let err = args
        .args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .nth(1)
        .expect("Result<_, E>");
    let error = first_generic(err, "Error").map(|t| render(&t)).unwrap_or_else(|| "()".into());
    (success, error)
}

/// Walks the body of a builder's `send`.
#[derive(Default)]
struct SendVisitor<'p> {
    params: &'p [String],
    method: Option<String>,
    path: Option<String>,
    path_params: Vec<String>,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body_kind: Option<String>,
    operation_id: Option<String>,
    responses: BTreeMap<String, String>,
    if_let: Vec<String>,
}

/// Every single-segment path identifier inside an expression.
fn idents(expr: &syn::Expr) -> Vec<String> {
    struct Collect(Vec<String>);
    impl<'ast> Visit<'ast> for Collect {
        fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
            if let Some(id) = p.path.get_ident() {
                self.0.push(id.to_string());
            }
        }
    }
    let mut c = Collect(Vec::new());
    c.visit_expr(expr);
    c.0
}

fn lit_str(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for SendVisitor<'_> {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if mac.path.is_ident("format") {
            let args = mac
                .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
                .expect("format! arguments parse");
            let mut args = args.iter();
            if let Some(template) = args.next().and_then(lit_str)
                && let Some(rest) = template.strip_prefix("{}/")
            {
                args.next(); // client.baseurl
                let mut path = format!("/{rest}");
                for arg in args {
                    let name = idents(arg)
                        .into_iter()
                        .find(|i| self.params.contains(i))
                        .expect("a path argument names a builder field");
                    path = path.replacen("{}", &format!("{{{name}}}"), 1);
                    self.path_params.push(name);
                }
                self.path = Some(path);
            }
        }
        syn::visit::visit_macro(self, mac);
    }

    fn visit_expr_if(&mut self, e: &'ast syn::ExprIf) {
        if let syn::Expr::Let(l) = &*e.cond
            && let Some(name) = idents(&l.expr).into_iter().find(|i| self.params.contains(i))
        {
            self.if_let.push(name);
            syn::visit::visit_expr_if(self, e);
            self.if_let.pop();
            return;
        }
        syn::visit::visit_expr_if(self, e);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        let name = call.method.to_string();
        let receiver = render(&call.receiver);
        match name.as_str() {
            "get" | "post" | "put" | "delete" | "patch" | "head" | "options" if receiver == "client.client" => {
                self.method = Some(name.to_ascii_uppercase());
            }
            "query" => {
                // .query(&progenitor_client::QueryParam::new("wire", &field))
                if let Some(syn::Expr::Reference(r)) = call.args.first()
                    && let syn::Expr::Call(c) = &*r.expr
                    && let (Some(wire), Some(value)) = (c.args.first().and_then(lit_str), c.args.iter().nth(1))
                    && let Some(field) = idents(value).into_iter().find(|i| self.params.contains(i))
                {
                    self.query.insert(field, wire);
                }
            }
            "append" if receiver == "header_map" => {
                if let Some(wire) = call.args.first().and_then(lit_str) {
                    let field = call
                        .args
                        .iter()
                        .nth(1)
                        .and_then(|v| idents(v).into_iter().find(|i| self.params.contains(i)))
                        .or_else(|| self.if_let.last().cloned())
                        .expect("a header value names a builder field");
                    self.headers.insert(field, wire);
                }
            }
            "json" => self.body_kind = Some("json".into()),
            "form_urlencoded" => self.body_kind = Some("form".into()),
            _ => {}
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_struct(&mut self, s: &'ast syn::ExprStruct) {
        if s.path.is_ident("OperationInfo") {
            for f in &s.fields {
                if render(&f.member) == "operation_id" {
                    self.operation_id = lit_str(&f.expr);
                }
            }
        }
        syn::visit::visit_expr_struct(self, s);
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        if render(&m.expr).ends_with("status().as_u16()") {
            for arm in &m.arms {
                let pattern = render(&arm.pat).replace("u16", "");
                let body = render(&arm.body);
                let kind = if body.contains("UnexpectedResponse") {
                    continue;
                } else if body.contains("ErrorResponse") {
                    "error"
                } else {
                    "success"
                };
                self.responses.insert(pattern, kind.to_owned());
            }
        }
        syn::visit::visit_expr_match(self, m);
    }
}

/// `operationId`s declared in a spec, minus the browser-only ones code generation skips.
pub fn spec_operation_ids(spec: &str) -> Vec<String> {
    let lines: Vec<&str> = spec.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut ids = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(id) = line.trim().strip_prefix("operationId:") else {
            continue;
        };
        let level = indent(line);
        // The operation object: every line around this one indented at least as deep.
        let start =
            (0..i).rev().find(|&j| !lines[j].trim().is_empty() && indent(lines[j]) < level).map_or(0, |j| j + 1);
        let end = (i + 1..lines.len())
            .find(|&j| !lines[j].trim().is_empty() && indent(lines[j]) < level)
            .unwrap_or(lines.len());
        let browser_only =
            lines[start..end].iter().any(|l| l.trim() == "x-zohocrm-browser-only: true" && indent(l) == level);
        if !browser_only {
            ids.push(id.trim().trim_matches(['"', '\'']).to_owned());
        }
    }
    ids.sort();
    ids
}
