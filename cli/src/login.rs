//! `zohocrm login`: the browser flow with a loopback listener, the pasted-redirect flow
//! (`--no-browser`) and the Self Client flow (`--self-client --dc … --code …`).
//!
//! The redirect carries the grant code: it is handed to the SDK (`Zoho::complete_authorization`)
//! and never printed, logged or echoed back to the browser.

use std::io::BufRead as _;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use zohocrm::oauth::PendingAuthorization;

use crate::fail::{self, Failure};

/// How long the loopback listener waits for the browser.
const WAIT: Duration = Duration::from_secs(300);

/// A loopback redirect URI: where to listen and which path Zoho redirects to.
pub struct Loopback {
    listener: TcpListener,
    path: String,
}

/// Binds the listener of a loopback redirect URI (`http://127.0.0.1:PORT/path`,
/// `http://localhost:PORT/path`, `http://[::1]:PORT/path`). `Ok(None)`: the redirect URI is
/// not a loopback one (the redirect must then be pasted).
pub async fn bind(redirect_uri: &str) -> Result<Option<Loopback>, Failure> {
    let url = url::Url::parse(redirect_uri)
        .map_err(|e| Failure::usage(format!("the redirect URI {redirect_uri:?} is not a URL: {e}")))?;
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => ip.to_string(),
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => ip.to_string(),
        Some(url::Host::Domain("localhost")) => "127.0.0.1".to_owned(),
        _ => return Ok(None),
    };
    if url.scheme() != "http" {
        return Ok(None);
    }
    let port = url.port().unwrap_or(80);
    let listener = TcpListener::bind((host.as_str(), port)).await.map_err(|e| {
        Failure::usage(format!("cannot listen on {host}:{port} for Zoho's redirect ({redirect_uri}): {e}"))
            .hint("free that port, set another registered redirect URI in ZOHO_REDIRECT_URI, or use --no-browser")
    })?;
    Ok(Some(Loopback { listener, path: url.path().to_owned() }))
}

impl Loopback {
    /// Waits for the browser's request to the redirect path; answers it with a short page and
    /// returns the redirect URL (`redirect_uri` + its query).
    pub async fn receive(self, redirect_uri: &str) -> Result<String, Failure> {
        let wait = async {
            loop {
                let (mut stream, _) = self
                    .listener
                    .accept()
                    .await
                    .map_err(|e| Failure::other(format!("the loopback listener failed: {e}")))?;
                let mut buffer = vec![0u8; 16 * 1024];
                let mut len = 0;
                while len < buffer.len() {
                    match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer[len..])).await {
                        Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                        Ok(Ok(n)) => {
                            len += n;
                            if buffer[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                                break;
                            }
                        }
                    }
                }
                let head = String::from_utf8_lossy(&buffer[..len]);
                let target = head
                    .lines()
                    .next()
                    .and_then(|line| line.strip_prefix("GET "))
                    .and_then(|rest| rest.split(' ').next())
                    .unwrap_or("");
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                if path != self.path {
                    let _ = stream
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    continue;
                }
                let denied = query.split('&').any(|kv| kv.starts_with("error="));
                let page = if denied {
                    "<!doctype html><title>zohocrm</title><p>Access was not granted. You can close this window.</p>"
                } else {
                    "<!doctype html><title>zohocrm</title><p>zohocrm received Zoho's answer. You can close this window and return to the terminal.</p>"
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
                let base = redirect_uri.split('?').next().unwrap_or(redirect_uri);
                return Ok::<String, Failure>(format!("{base}?{query}"));
            }
        };
        tokio::time::timeout(WAIT, wait).await.map_err(|_| {
            Failure::new(fail::AUTH, format!("no answer from the browser within {} minutes", WAIT.as_secs() / 60))
                .hint("run `zohocrm login` again, or `zohocrm login --no-browser` to paste the redirect")
        })?
    }
}

/// Opens `url` in the user's browser: `$BROWSER` if set (`none` or empty: don't), else the
/// platform's opener. Returns whether a browser was started.
pub fn open_browser(url: &str) -> bool {
    let command = match std::env::var("BROWSER") {
        Ok(b) if b.trim().is_empty() || b.trim() == "none" => return false,
        Ok(b) => b,
        Err(_) if cfg!(target_os = "macos") => "open".to_owned(),
        Err(_) if cfg!(windows) => "explorer".to_owned(),
        Err(_) => "xdg-open".to_owned(),
    };
    std::process::Command::new(command)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .is_ok()
}

/// Reads the redirect URL the user pastes (the first non-empty line of standard input).
pub async fn read_pasted(pending: &PendingAuthorization) -> Result<String, Failure> {
    let expected = pending.redirect_uri().to_owned();
    let line = tokio::task::spawn_blocking(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            match line {
                Ok(l) if l.trim().is_empty() => continue,
                Ok(l) => return Ok(Some(l.trim().to_owned())),
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    })
    .await
    .map_err(|e| Failure::other(format!("reading standard input failed: {e}")))?
    .map_err(|e| Failure::usage(format!("cannot read the pasted redirect from standard input: {e}")))?;
    let Some(line) = line else {
        return Err(Failure::usage("standard input ended before a redirect URL was pasted")
            .hint(format!("paste the whole address your browser was sent to (it starts with {expected})")));
    };
    Ok(line)
}

/// Reads a Self Client code from standard input (so it stays out of the shell history and `ps`).
pub async fn read_pasted_code() -> Result<String, Failure> {
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("Paste the Self Client code from Zoho's API console:");
    }
    let line = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await
    .map_err(|e| Failure::other(format!("reading standard input failed: {e}")))?
    .map_err(|e| Failure::usage(format!("cannot read the code from standard input: {e}")))?;
    let code = line.trim().to_owned();
    if code.is_empty() {
        return Err(
            Failure::usage("no Self Client code on standard input").hint("pass --code CODE or pipe the code in")
        );
    }
    Ok(code)
}
