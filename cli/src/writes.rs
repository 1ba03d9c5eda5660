//! Record writes: sent in batches of Zoho's 100 records, with the results of the batches Zoho
//! answered kept when a later one fails (they are printed before the error, so a retry can
//! skip the records already written), and the exit code of per-record results.

use std::future::Future;

use serde_json::Value;
use zohocrm::client::{ActionResult, MAX_RECORDS_PER_WRITE};

use crate::fail::{self, Failure};

/// What a batched write came back with.
pub struct Batched {
    /// The per-record results of the batches Zoho answered, in order.
    pub results: Vec<ActionResult>,
    /// The error of the batch that failed; the batches after it were not sent.
    pub error: Option<zohocrm::Error>,
    /// How many items got no result (the failed batch and every later one).
    pub unanswered: usize,
}

impl Batched {
    /// Results of a write that was answered in full.
    pub fn answered(results: Vec<ActionResult>) -> Self {
        Self { results, error: None, unanswered: 0 }
    }

    /// The command's outcome once the results are printed: the error that stopped the batches
    /// (`to_failure` maps it, with a note on what was written), else exit 4 when a record failed.
    pub fn outcome(self, to_failure: impl FnOnce(zohocrm::Error) -> Failure) -> Result<(), Failure> {
        match self.error {
            Some(e) => {
                let mut failure = to_failure(e);
                if !self.results.is_empty() {
                    failure.message.push_str(&format!(
                        " (the results of the first {} records, from earlier batches, are printed; \
                         the other {} got no result)",
                        self.results.len(),
                        self.unanswered
                    ));
                }
                Err(failure)
            }
            None => results_exit(&self.results),
        }
    }
}

/// Sends `items` in batches of [`MAX_RECORDS_PER_WRITE`] with `send`, one after the other,
/// until every batch is answered or one fails.
pub async fn batched<'a, T, F, Fut>(items: &'a [T], mut send: F) -> Batched
where
    F: FnMut(&'a [T]) -> Fut,
    Fut: Future<Output = zohocrm::Result<Vec<ActionResult>>>,
{
    let mut done = Batched::answered(Vec::new());
    let mut sent = 0;
    for chunk in items.chunks(MAX_RECORDS_PER_WRITE) {
        match send(chunk).await {
            Ok(results) => done.results.extend(results),
            Err(e) => {
                done.error = Some(e);
                done.unanswered = items.len() - sent;
                break;
            }
        }
        sent += chunk.len();
    }
    done
}

/// Exit 4 when `failed` of `total` records failed.
fn failed_exit(failed: usize, total: usize) -> Result<(), Failure> {
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::new(fail::API, format!("{failed} of {total} records failed (see the results above)")))
    }
}

/// Exit 4 when any record of a write failed.
pub fn results_exit(results: &[ActionResult]) -> Result<(), Failure> {
    failed_exit(results.iter().filter(|r| !r.is_success()).count(), results.len())
}

/// The outcome of `zohocrm api` once the answer is printed: exit 4 when Zoho refused a record
/// of a write (HTTP 400 or 207 with per-record results; Zoho's `status` is `error`) or answered
/// anything but 2xx, as `records create` and the other writes do.
pub fn api_exit(write: bool, status: u16, body: Option<&Value>) -> Result<(), Failure> {
    let items = body.and_then(|b| b.get("data")).and_then(Value::as_array).filter(|_| write);
    let refused = |item: &&Value| {
        item.get("status").and_then(Value::as_str) == Some("error") && item.get("code").is_some_and(Value::is_string)
    };
    if let Some(items) = items {
        failed_exit(items.iter().filter(refused).count(), items.len())?;
    }
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(Failure::new(fail::API, format!("Zoho CRM answered HTTP {status} (see the answer above)")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_writes_with_a_refused_record_exit_4() {
        let refused = serde_json::json!({"data": [
            {"status": "success", "code": "SUCCESS", "details": {"id": "1"}},
            {"status": "error", "code": "MANDATORY_NOT_FOUND", "details": {"api_name": "Last_Name"}},
        ]});
        let failure = api_exit(true, 207, Some(&refused)).err().map(|f| (f.code, f.message));
        assert_eq!(failure, Some((fail::API, "1 of 2 records failed (see the results above)".to_owned())));
        assert!(api_exit(true, 400, Some(&refused)).is_err());
        // A read's `data` holds records, whatever their fields are called.
        assert!(api_exit(false, 200, Some(&refused)).is_ok());
        assert!(api_exit(true, 201, Some(&serde_json::json!({"data": [{"status": "success"}]}))).is_ok());
        assert!(api_exit(true, 204, None).is_ok());
    }
}
