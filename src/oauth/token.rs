//! The token endpoint: exchanging a code ([`OAuthClient::exchange_code`]) and refreshing
//! ([`OAuthClient::refresh`]), and reading Zoho's answers (lifetimes, scopes, its HTTP-200
//! error bodies and its throttle answer).

use tracing::Instrument;

use crate::accounts;
use crate::dc::{DataCenter, DcError, Environment};
use crate::error::{Error, RateLimitScope, Result};
use crate::refresh::DEFAULT_THROTTLE_BACKOFF;
use crate::token::{Token, TokenKey};
use crate::transport::convert_progenitor;

use super::{CodeGrant, OAuthClient};

impl OAuthClient {
    /// Exchanges a verified code at the user's data center; the token is for `user`.
    pub async fn exchange_code(&self, user: &str, code: &CodeGrant) -> Result<Token> {
        let dc = code.dc;
        let secret = self.credentials.secret_for(dc)?.clone();
        let body = accounts::types::TokenRequest {
            grant_type: accounts::types::GrantType::AuthorizationCode,
            client_id: self.credentials.client_id().to_owned(),
            client_secret: secret,
            redirect_uri: code.redirect_uri.clone(),
            code: Some(code.code.clone()),
            refresh_token: None,
        };
        let response = self.call_token(dc, body, "authorization_code").await?;
        match self.grant_of(user, code, &response) {
            Ok(token) => Ok(token),
            Err(e) => {
                // Zoho minted a grant this connection cannot use (its api_domain is unknown or
                // in another data center, its lifetime unreadable): revoke it, best effort, so
                // it does not count toward Zoho's 20 refresh tokens per user and client (past
                // which Zoho deletes the oldest, possibly a working connection).
                self.revoke_unusable(user, dc, &response).await;
                Err(e)
            }
        }
    }

    /// The token of a code exchange's answer, checked against the code's data center.
    fn grant_of(&self, user: &str, code: &CodeGrant, response: &accounts::types::TokenResponse) -> Result<Token> {
        let dc = code.dc;
        let now = self.clock.now_ms();
        let api_domain = match response.api_domain.as_deref() {
            Some(d) => d.trim_end_matches('/').to_owned(),
            None => self.endpoints.api_domain(dc, Environment::Production).to_owned(),
        };
        let (api_dc, environment) = self.endpoints.resolve_api_domain(&api_domain)?;
        if api_dc != dc {
            return Err(Error::DataCenter(DcError::ApiDomainMismatch {
                expected: dc,
                api_domain: api_domain.clone(),
                belongs_to: api_dc,
            }));
        }
        Ok(Token {
            key: TokenKey::new(user, dc, environment),
            access_token: response.access_token.clone(),
            refresh_token: response.refresh_token.clone(),
            expires_at_ms: now.saturating_add(expires_in_ms(response)?),
            api_domain,
            accounts_server: self.endpoints.accounts_server(dc).to_owned(),
            scopes: scopes_of(response, &code.scopes),
            created_at_ms: now,
            updated_at_ms: now,
        })
    }

    /// Revokes, best effort, the grant of a code-exchange answer that could not be used.
    async fn revoke_unusable(&self, user: &str, dc: DataCenter, response: &accounts::types::TokenResponse) {
        let Some(refresh_token) = response.refresh_token.clone().filter(|rt| !rt.is_empty()) else {
            return; // An online grant's access token expires within the hour.
        };
        let now = self.clock.now_ms();
        let grant = Token {
            key: TokenKey::new(user, dc, Environment::Production),
            access_token: None,
            refresh_token: Some(refresh_token),
            expires_at_ms: now,
            api_domain: String::new(),
            accounts_server: self.endpoints.accounts_server(dc).to_owned(),
            scopes: Vec::new(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        match self.revoke(&grant).await {
            Ok(()) => tracing::info!(dc = dc.location(), "revoked a new grant that could not be used"),
            Err(e) => {
                tracing::warn!(dc = dc.location(), error = %e, "could not revoke a new grant that could not be used")
            }
        }
    }

    /// Mints a new access token from `token`'s refresh token. The refresh token is kept.
    ///
    /// A revoked refresh token gives [`Error::ReauthorizationRequired`]; the throttle gives
    /// [`Error::RateLimited`]. `token` itself is never modified.
    pub async fn refresh(&self, token: &Token) -> Result<Token> {
        let dc = token.key.dc;
        let Some(refresh_token) = token.refresh_token.clone() else {
            return Err(Error::ReauthorizationRequired {
                key: token.key.clone(),
                reason: "the connection has no refresh token (online grant); send the user through authorization again"
                    .into(),
                zoho_error: None,
            });
        };
        let body = accounts::types::TokenRequest {
            grant_type: accounts::types::GrantType::RefreshToken,
            client_id: self.credentials.client_id().to_owned(),
            client_secret: self.credentials.secret_for(dc)?.clone(),
            redirect_uri: None,
            code: None,
            refresh_token: Some(refresh_token),
        };
        let response = match self.call_token(dc, body, "refresh_token").await {
            // Zoho's `invalid_code` (and `invalid_token`), and RFC 6749's `invalid_grant`.
            Err(Error::OAuth { error, .. })
                if error == "invalid_code" || error == "invalid_token" || error == "invalid_grant" =>
            {
                return Err(Error::ReauthorizationRequired {
                    key: token.key.clone(),
                    reason: format!(
                        "Zoho answered {error} to the refresh token: it was revoked (by the user, a password reset, Connected Apps, or the 20-refresh-tokens rule)"
                    ),
                    zoho_error: Some(error),
                });
            }
            other => other?,
        };
        let now = self.clock.now_ms();
        let mut fresh = token.clone();
        fresh.access_token = response.access_token.clone();
        // Zoho sends no new refresh token on refresh; an empty one must not replace ours.
        if let Some(rt) = response.refresh_token.clone().filter(|rt| !rt.is_empty()) {
            fresh.refresh_token = Some(rt);
        }
        if let Some(domain) = response.api_domain.as_deref() {
            let domain = domain.trim_end_matches('/');
            let (api_dc, env) = self.endpoints.resolve_api_domain(domain)?;
            if api_dc == dc && env != token.key.environment {
                return Err(Error::DataCenter(DcError::EnvironmentMismatch {
                    requested: token.key.environment,
                    granted: env,
                }));
            }
            if api_dc != dc {
                return Err(Error::DataCenter(DcError::ApiDomainMismatch {
                    expected: dc,
                    api_domain: domain.to_owned(),
                    belongs_to: api_dc,
                }));
            }
            fresh.api_domain = domain.to_owned();
        }
        fresh.expires_at_ms = now.saturating_add(expires_in_ms(&response)?);
        if let Some(scope) = response.scope.as_deref() {
            fresh.scopes = split_scopes(scope);
        }
        fresh.updated_at_ms = now;
        Ok(fresh)
    }

    async fn call_token(
        &self,
        dc: DataCenter,
        body: accounts::types::TokenRequest,
        grant: &'static str,
    ) -> Result<accounts::types::TokenResponse> {
        let span = tracing::info_span!(
            "zoho.token",
            dc = dc.location(),
            grant_type = grant,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty
        );
        let started = std::time::Instant::now();
        let (client, slot) = self.accounts(dc);
        let result = client.token().body(body).send().instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        if let Some(error) = crate::transport::take_error(&slot) {
            return Err(error);
        }
        let response = match result {
            Ok(rv) => {
                span.record("status", rv.status().as_u16());
                rv.into_inner()
            }
            Err(progenitor_client::Error::ErrorResponse(rv)) => {
                span.record("status", rv.status().as_u16());
                rv.into_inner()
            }
            Err(progenitor_client::Error::InvalidResponsePayload(body, e)) => {
                let reason = crate::error::decode_reason::<accounts::types::TokenResponse>(&body, &e);
                return Err(Error::decode("token", 200, &body, reason));
            }
            Err(e) => return Err(convert_progenitor("token", e, |_| None)),
        };
        if response.access_token.as_ref().is_some_and(|t| !t.is_empty()) {
            return Ok(response);
        }
        Err(token_error(dc, self.endpoints.accounts_server(dc), &response))
    }
}

/// Turns a token response without `access_token` into a typed error.
fn token_error(dc: DataCenter, accounts_server: &str, response: &accounts::types::TokenResponse) -> Error {
    let error = response.error.clone().unwrap_or_else(|| "missing_access_token".to_owned());
    let description = response.error_description.clone();
    let throttled = error.eq_ignore_ascii_case("access denied")
        && description.as_deref().is_some_and(|d| d.contains("too many requests") || d.contains("throttle"));
    if throttled {
        return Error::RateLimited { scope: RateLimitScope::TokenEndpoint, retry_after: DEFAULT_THROTTLE_BACKOFF };
    }
    let hint = match error.as_str() {
        "invalid_client" => format!(
            "the client id or the {} client secret is wrong, the client is registered in another data center, or Multi-DC is not enabled for {} in Zoho's API console",
            dc.location().to_uppercase(),
            dc.name()
        ),
        "invalid_client_secret" => format!(
            "the client secret used for {} is wrong: with Multi-DC each data center may have its own secret (ClientCredentials::with_dc_secret)",
            dc.name()
        ),
        "invalid_code" => "the authorization code expired (codes live about a minute), was already used, or was issued by another data center; send the user through authorization again".to_owned(),
        "invalid_redirect_uri" => "redirect_uri must match the URI registered for the client exactly, and the one the code was issued for".to_owned(),
        "missing_access_token" => "Zoho's answer had neither access_token nor error".to_owned(),
        _ => "see Zoho's OAuth documentation for this error".to_owned(),
    };
    Error::OAuth { dc, accounts_server: accounts_server.to_owned(), error, description, hint }
}

/// The longest access-token lifetime believed (Zoho's are one hour): a larger value is cut to
/// this, so a wrong answer cannot keep a token "fresh" for years.
const MAX_LIFETIME_S: i64 = 86_400;

/// Lifetime of the access token in milliseconds (`expires_in_sec` marks the legacy form, where
/// `expires_in` is milliseconds). Numbers and strings of digits are accepted; a missing value
/// means Zoho's one hour; zero, negative and non-numeric values are a decode error (a token
/// that is expired on arrival would be refreshed on every call).
fn expires_in_ms(response: &accounts::types::TokenResponse) -> Result<i64> {
    let seconds = match (&response.expires_in, &response.expires_in_sec) {
        (_, Some(secs)) => lifetime_seconds(secs)?,
        (Some(secs), None) => lifetime_seconds(secs)?,
        (None, None) => 3_600,
    };
    if seconds > MAX_LIFETIME_S {
        tracing::warn!(expires_in = seconds, "Zoho's token lifetime is implausibly long; using one day");
    }
    Ok(seconds.min(MAX_LIFETIME_S) * 1000)
}

fn lifetime_seconds(value: &accounts::types::Lifetime) -> Result<i64> {
    let parsed = match value {
        accounts::types::Lifetime::Int64(n) => Some(*n),
        accounts::types::Lifetime::String(s) => s.trim().parse::<i64>().ok(),
    };
    match parsed {
        Some(n) if n > 0 => Ok(n),
        _ => {
            let shown: String = value.to_string().chars().take(24).collect();
            Err(Error::decode(
                "token",
                200,
                b"",
                format!("expires_in must be a positive number of seconds, got {shown:?}"),
            ))
        }
    }
}

fn split_scopes(scope: &str) -> Vec<String> {
    scope.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn scopes_of(response: &accounts::types::TokenResponse, requested: &[String]) -> Vec<String> {
    match response.scope.as_deref() {
        Some(s) if !s.trim().is_empty() => split_scopes(s),
        _ => requested.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(value: serde_json::Value) -> accounts::types::TokenResponse {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn expiry_handles_the_legacy_millisecond_form() {
        let modern = response(serde_json::json!({"access_token": "a", "expires_in": 3600}));
        assert_eq!(expires_in_ms(&modern).unwrap(), 3_600_000);
        let legacy =
            response(serde_json::json!({"access_token": "a", "expires_in": 3_600_000, "expires_in_sec": 3600}));
        assert_eq!(expires_in_ms(&legacy).unwrap(), 3_600_000);
    }

    #[test]
    fn expiry_accepts_strings_clamps_huge_values_and_rejects_nonsense() {
        let text = response(serde_json::json!({"access_token": "a", "expires_in": " 3600 "}));
        assert_eq!(expires_in_ms(&text).unwrap(), 3_600_000);
        let huge = response(serde_json::json!({"access_token": "a", "expires_in": i64::MAX}));
        assert_eq!(expires_in_ms(&huge).unwrap(), MAX_LIFETIME_S * 1000, "no overflow, cut to a day");
        for bad in [serde_json::json!(-5), serde_json::json!(0), serde_json::json!("soon"), serde_json::json!("")] {
            let r = response(serde_json::json!({"access_token": "a", "expires_in": bad}));
            let e = expires_in_ms(&r).unwrap_err();
            assert!(matches!(e, Error::Decode { .. }), "{bad}: {e:?}");
            assert!(e.to_string().contains("expires_in"), "{e}");
        }
        let missing = response(serde_json::json!({"access_token": "a"}));
        assert_eq!(expires_in_ms(&missing).unwrap(), 3_600_000);
    }

    #[test]
    fn throttle_body_is_a_rate_limit() {
        let r = response(serde_json::json!({
            "error_description": "You have made too many requests continuously. Please try again after some time.",
            "error": "Access Denied",
            "status": "failure"
        }));
        assert!(matches!(token_error(DataCenter::Eu, "https://accounts.zoho.eu", &r), Error::RateLimited { .. }));
        let r = response(serde_json::json!({"error": "invalid_client"}));
        let e = token_error(DataCenter::Eu, "https://accounts.zoho.eu", &r);
        let text = e.to_string();
        assert!(text.contains("Europe") && text.contains("Multi-DC") && text.contains("accounts.zoho.eu"), "{text}");
    }
}
