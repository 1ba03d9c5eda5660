//! Revoking a refresh token at its data center ([`OAuthClient::revoke`]) and reading the
//! answer by its body, not only its status.

use tracing::Instrument;

use crate::accounts;
use crate::dc::DataCenter;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::token::Token;
use crate::transport::convert_progenitor;

use super::OAuthClient;

impl OAuthClient {
    /// Revokes `token`'s refresh token (and with it every access token minted from it).
    pub async fn revoke(&self, token: &Token) -> Result<()> {
        let dc = token.key.dc;
        // Revoking the refresh token ends the whole grant; an online grant has only the access token.
        let secret = match (&token.refresh_token, &token.access_token) {
            (Some(refresh), _) => SecretString::new(refresh.expose()),
            (None, Some(access)) => SecretString::new(access.expose()),
            (None, None) => return Ok(()),
        };
        let span = tracing::info_span!("zoho.revoke", dc = dc.location(), environment = token.key.environment.as_str());
        let (client, slot) = self.accounts(dc);
        let result = client
            .revoke_token()
            .body(accounts::types::RevokeRequest { token: secret })
            .send()
            .instrument(span.clone())
            .await;
        if let Some(error) = crate::transport::take_error(&slot) {
            return Err(error);
        }
        let (status, answer) = match result {
            Ok(rv) => (rv.status().as_u16(), rv.into_inner()),
            Err(progenitor_client::Error::ErrorResponse(rv)) => (rv.status().as_u16(), rv.into_inner()),
            Err(e) => return Err(convert_progenitor("revoke_token", e, |_| None)),
        };
        revoke_outcome(dc, self.endpoints.accounts_server(dc), status, &answer)
    }
}

/// What a revoke answer means. `{"status":"success"}` is done; Zoho's answer for a token it
/// does not know (`invalid_token`, HTTP 400 or 200) means it is already revoked, which is the
/// goal; anything else is an error (nothing was confirmed).
fn revoke_outcome(
    dc: DataCenter,
    accounts_server: &str,
    status: u16,
    answer: &accounts::types::RevokeResponse,
) -> Result<()> {
    if answer.status.as_deref() == Some("success") && answer.error.is_none() && status < 300 {
        return Ok(());
    }
    match answer.error.as_deref() {
        Some("invalid_token" | "invalid_code") if status == 400 || status < 300 => {
            tracing::info!("the token was already invalid at Zoho");
            Ok(())
        }
        error => Err(Error::OAuth {
            dc,
            accounts_server: accounts_server.to_owned(),
            error: error.unwrap_or("unexpected_revoke_answer").to_owned(),
            description: answer.status.clone().map(|s| format!("HTTP {status}, status {s}")),
            hint: "Zoho did not confirm the revocation; nothing was deleted, try again".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EU: &str = "https://accounts.zoho.eu";

    #[test]
    fn revoke_is_decided_by_the_body_not_only_the_status() {
        let answer = |v: serde_json::Value| serde_json::from_value::<accounts::types::RevokeResponse>(v).unwrap();
        let ok = answer(serde_json::json!({"status": "success"}));
        assert!(revoke_outcome(DataCenter::Eu, EU, 200, &ok).is_ok());
        let gone = answer(serde_json::json!({"error": "invalid_token", "status": "failure"}));
        assert!(revoke_outcome(DataCenter::Eu, EU, 400, &gone).is_ok(), "already revoked is the goal");
        assert!(revoke_outcome(DataCenter::Eu, EU, 200, &gone).is_ok());
        let other = answer(serde_json::json!({"error": "invalid_client", "status": "failure"}));
        let e = revoke_outcome(DataCenter::Eu, EU, 400, &other).unwrap_err();
        assert_eq!(e.zoho_code(), Some("invalid_client"), "a 400 for another reason is not success");
        let failure_200 = answer(serde_json::json!({"status": "failure"}));
        assert!(revoke_outcome(DataCenter::Eu, EU, 200, &failure_200).is_err(), "HTTP 200 with a failure body");
        let empty = answer(serde_json::json!({}));
        assert!(revoke_outcome(DataCenter::Eu, EU, 200, &empty).is_err());
    }
}
