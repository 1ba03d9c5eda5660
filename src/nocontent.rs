//! Body-less answers: turns Zoho's `204 No Content` and `304 Not Modified` into empty results.
//!
//! progenitor declares one success status per operation, so an operation that answers `200` with
//! a body cannot also declare `204` (no records, no users) or `304` (nothing changed since
//! `If-Modified-Since`). Those answers reach the caller as
//! [`progenitor_client::Error::UnexpectedResponse`] carrying the status. [`NoContent`] maps
//! exactly those two statuses to an empty result and leaves every other error as it was.
//!
//! ```
//! use zohocrm::nocontent::{NoContent, Outcome};
//! # async fn demo(client: &zohocrm::crm::Client) -> Result<(), zohocrm::crm::Error<zohocrm::crm::types::ErrorEnvelope>> {
//! // `None` when Zoho answers 204 (no users) or 304 (not modified).
//! let users = client.list_users().send().await.or_empty()?;
//! if let Some(page) = users {
//!     println!("{} users", page.users.len());
//! }
//!
//! // Or keep apart "nothing there" and "nothing changed".
//! match client
//!     .list_modules()
//!     .if_modified_since("2019-07-25T15:26:49+05:30")
//!     .send()
//!     .await
//!     .or_outcome()?
//! {
//!     Outcome::Value(modules) => println!("{} modules", modules.modules.len()),
//!     Outcome::NotModified => println!("cached metadata is still current"),
//!     _ => println!("no modules"),
//! }
//! # Ok(())
//! # }
//! ```

use progenitor_client::{Error, ResponseValue};
use reqwest::StatusCode;

/// Why a response carried no value.
///
/// ```
/// use zohocrm::nocontent::Empty;
/// use reqwest::StatusCode;
/// assert_eq!(Empty::from_status(StatusCode::NO_CONTENT), Some(Empty::NoContent));
/// assert_eq!(Empty::from_status(StatusCode::NOT_MODIFIED), Some(Empty::NotModified));
/// assert_eq!(Empty::from_status(StatusCode::OK), None);
/// assert_eq!(Empty::NotModified.status(), StatusCode::NOT_MODIFIED);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Empty {
    /// `204 No Content`: the result is empty (no records, no users, no metadata).
    NoContent,
    /// `304 Not Modified`: nothing changed since the `If-Modified-Since` time sent.
    NotModified,
}

impl Empty {
    /// The empty kind a status stands for: `204` and `304` only, `None` for every other status.
    pub fn from_status(status: StatusCode) -> Option<Empty> {
        match status {
            StatusCode::NO_CONTENT => Some(Empty::NoContent),
            StatusCode::NOT_MODIFIED => Some(Empty::NotModified),
            _ => None,
        }
    }

    /// The HTTP status of this empty answer.
    pub fn status(self) -> StatusCode {
        match self {
            Empty::NoContent => StatusCode::NO_CONTENT,
            Empty::NotModified => StatusCode::NOT_MODIFIED,
        }
    }
}

/// The result of a call that may legitimately answer without a body.
///
/// ```
/// use zohocrm::nocontent::{Empty, Outcome};
/// let page: Outcome<Vec<u32>> = Outcome::Value(vec![1, 2]);
/// assert_eq!(page.as_ref().value(), Some(&vec![1, 2]));
/// assert_eq!(page.map(|v| v.len()).value(), Some(2));
/// let nothing: Outcome<Vec<u32>> = Outcome::from(Empty::NoContent);
/// assert_eq!(nothing.empty(), Some(Empty::NoContent));
/// assert_eq!(nothing.value(), None);
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// The operation answered with a body.
    Value(T),
    /// `204 No Content`: the result is empty.
    NoContent,
    /// `304 Not Modified`: what the caller has is still current.
    NotModified,
}

impl<T> Outcome<T> {
    /// The value, or `None` for either empty answer.
    pub fn value(self) -> Option<T> {
        match self {
            Outcome::Value(v) => Some(v),
            Outcome::NoContent | Outcome::NotModified => None,
        }
    }

    /// Which empty answer this is, or `None` when there is a value.
    pub fn empty(&self) -> Option<Empty> {
        match self {
            Outcome::Value(_) => None,
            Outcome::NoContent => Some(Empty::NoContent),
            Outcome::NotModified => Some(Empty::NotModified),
        }
    }

    /// Whether this is one of the empty answers.
    pub fn is_empty(&self) -> bool {
        self.empty().is_some()
    }

    /// Borrows the value.
    pub fn as_ref(&self) -> Outcome<&T> {
        match self {
            Outcome::Value(v) => Outcome::Value(v),
            Outcome::NoContent => Outcome::NoContent,
            Outcome::NotModified => Outcome::NotModified,
        }
    }

    /// Transforms the value, keeping an empty answer as it is.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Value(v) => Outcome::Value(f(v)),
            Outcome::NoContent => Outcome::NoContent,
            Outcome::NotModified => Outcome::NotModified,
        }
    }
}

impl<T> Outcome<ResponseValue<T>> {
    /// Drops the status and headers of a value answer, keeping the decoded body.
    pub fn into_inner(self) -> Outcome<T> {
        self.map(ResponseValue::into_inner)
    }
}

impl<T> From<Empty> for Outcome<T> {
    fn from(empty: Empty) -> Self {
        match empty {
            Empty::NoContent => Outcome::NoContent,
            Empty::NotModified => Outcome::NotModified,
        }
    }
}

/// Turns `204`/`304` answers of a generated operation into empty results.
///
/// Implemented for what every generated `send()` returns,
/// `Result<ResponseValue<T>, progenitor_client::Error<E>>`. Only
/// [`Error::UnexpectedResponse`] with status `204` or `304` becomes empty; every other error,
/// including other unexpected statuses, is returned unchanged.
///
/// Operations whose spec declares `2XX` decode any `2xx` answer as JSON, so a `204` there
/// arrives as [`Error::InvalidResponsePayload`] with an empty body and is left unchanged.
///
/// ```
/// use progenitor_client::{Error, ResponseValue};
/// use reqwest::{StatusCode, header::HeaderMap};
/// use zohocrm::nocontent::{NoContent, Outcome};
///
/// let no_content = http::Response::builder().status(204).body("").unwrap();
/// let sent: Result<ResponseValue<u32>, Error<()>> =
///     Err(Error::UnexpectedResponse(reqwest::Response::from(no_content)));
/// assert!(matches!(sent.or_empty(), Ok(None)));
///
/// let ok: Result<ResponseValue<u32>, Error<()>> =
///     Ok(ResponseValue::new(7, StatusCode::OK, HeaderMap::new()));
/// assert_eq!(ok.or_outcome().map(Outcome::into_inner).ok(), Some(Outcome::Value(7)));
///
/// let bad: Result<ResponseValue<u32>, Error<()>> = Err(Error::InvalidRequest("no module".into()));
/// assert!(matches!(bad.or_empty(), Err(Error::InvalidRequest(_))));
/// ```
// The error type is progenitor's, as returned by every generated `send()`.
#[expect(clippy::result_large_err, reason = "the error type is progenitor's, as every generated `send()` returns it")]
pub trait NoContent<T, E> {
    /// The value, `Ok(None)` for `204` or `304`, or the untouched error.
    fn or_empty(self) -> Result<Option<ResponseValue<T>>, Error<E>>;

    /// Like [`NoContent::or_empty`], but says which empty answer it was.
    fn or_outcome(self) -> Result<Outcome<ResponseValue<T>>, Error<E>>;
}

impl<T, E> NoContent<T, E> for Result<ResponseValue<T>, Error<E>> {
    fn or_empty(self) -> Result<Option<ResponseValue<T>>, Error<E>> {
        self.or_outcome().map(Outcome::value)
    }

    fn or_outcome(self) -> Result<Outcome<ResponseValue<T>>, Error<E>> {
        match self {
            Ok(value) => Ok(Outcome::Value(value)),
            Err(Error::UnexpectedResponse(response)) => match Empty::from_status(response.status()) {
                Some(empty) => Ok(Outcome::from(empty)),
                None => Err(Error::UnexpectedResponse(response)),
            },
            Err(other) => Err(other),
        }
    }
}

#[cfg(test)]
#[expect(clippy::result_large_err, reason = "the error type is progenitor's, as every generated `send()` returns it")]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    type Sent = Result<ResponseValue<String>, Error<String>>;

    fn unexpected(status: u16) -> Sent {
        let response = http::Response::builder().status(status).body("").unwrap();
        Err(Error::UnexpectedResponse(reqwest::Response::from(response)))
    }

    fn value(status: StatusCode) -> Sent {
        Ok(ResponseValue::new("body".to_owned(), status, HeaderMap::new()))
    }

    #[test]
    fn maps_exactly_204_and_304_to_empty() {
        assert!(matches!(unexpected(204).or_empty(), Ok(None)));
        assert!(matches!(unexpected(304).or_empty(), Ok(None)));
        assert_eq!(unexpected(204).or_outcome().unwrap().empty(), Some(Empty::NoContent));
        assert_eq!(unexpected(304).or_outcome().unwrap().empty(), Some(Empty::NotModified));
    }

    #[test]
    fn every_other_unexpected_status_is_left_untouched() {
        for status in [100, 200, 201, 202, 203, 205, 206, 207, 301, 302, 303, 305, 307, 400, 401, 404, 429, 500, 503] {
            match unexpected(status).or_empty() {
                Err(Error::UnexpectedResponse(r)) => assert_eq!(r.status().as_u16(), status),
                other => panic!("status {status}: expected the untouched error, got {other:?}"),
            }
            match unexpected(status).or_outcome() {
                Err(Error::UnexpectedResponse(r)) => assert_eq!(r.status().as_u16(), status),
                other => panic!("status {status}: expected the untouched error, got {other:?}"),
            }
        }
    }

    #[test]
    fn other_errors_are_left_untouched() {
        let invalid: Sent = Err(Error::InvalidRequest("module was not initialized".into()));
        assert!(matches!(invalid.or_empty(), Err(Error::InvalidRequest(m)) if m == "module was not initialized"));

        let documented: Sent = Err(Error::ErrorResponse(ResponseValue::new(
            "INVALID_TOKEN".to_owned(),
            StatusCode::UNAUTHORIZED,
            HeaderMap::new(),
        )));
        match documented.or_outcome() {
            Err(Error::ErrorResponse(rv)) => {
                assert_eq!(rv.status(), StatusCode::UNAUTHORIZED);
                assert_eq!(rv.into_inner(), "INVALID_TOKEN");
            }
            other => panic!("expected the documented error, got {other:?}"),
        }

        // A `2XX` operation answering 204 fails to decode the empty body: not ours to guess.
        let empty_payload: Sent =
            Err(Error::InvalidResponsePayload(bytes::Bytes::new(), serde_json::from_slice::<String>(b"").unwrap_err()));
        assert!(matches!(empty_payload.or_empty(), Err(Error::InvalidResponsePayload(b, _)) if b.is_empty()));

        let custom: Sent = Err(Error::Custom("hook".into()));
        assert!(matches!(custom.or_outcome(), Err(Error::Custom(m)) if m == "hook"));
    }

    #[test]
    fn values_pass_through_with_status_and_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("x-probe", "1".parse().unwrap());
        let sent: Sent = Ok(ResponseValue::new("v".to_owned(), StatusCode::CREATED, headers));
        let got = sent.or_empty().unwrap().unwrap();
        assert_eq!(got.status(), StatusCode::CREATED);
        assert_eq!(got.headers()["x-probe"], "1");
        assert_eq!(got.into_inner(), "v");

        assert_eq!(value(StatusCode::OK).or_outcome().unwrap().into_inner(), Outcome::Value("body".to_owned()));
    }

    #[test]
    fn empty_and_outcome_helpers_agree() {
        for empty in [Empty::NoContent, Empty::NotModified] {
            assert_eq!(Empty::from_status(empty.status()), Some(empty));
            let outcome = Outcome::<u8>::from(empty);
            assert_eq!(outcome.empty(), Some(empty));
            assert!(outcome.is_empty());
            assert_eq!(outcome.as_ref().value(), None);
            assert_eq!(outcome.map(|v| v + 1).empty(), Some(empty));
        }
        assert_eq!(Empty::from_status(StatusCode::OK), None);
        let full = Outcome::Value(1u8);
        assert!(!full.is_empty());
        assert_eq!(full.as_ref().value(), Some(&1));
        assert_eq!(full.map(|v| v + 1).value(), Some(2));
    }
}
