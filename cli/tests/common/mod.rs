//! Test harness: an in-process Zoho simulator on loopback, the `zohocrm` binary run as a
//! process against it (`--endpoints` = the simulator's JSON line), and the test acting as the
//! user's browser on the simulator's consent pages.

#![allow(dead_code, reason = "shared by several test crates; each uses a part of it")]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{self, ClientRegistration, Decision, SimConfig, Simulator};

pub const EU_USER: &str = "eu.user@zylker.example";

/// A simulator running on its own runtime, a temporary store directory and the endpoint file.
pub struct World {
    pub sim: Simulator,
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    pub endpoints: PathBuf,
    pub redirect_uri: String,
}

/// What one run of the CLI produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl World {
    pub fn start() -> World {
        Self::start_with(SimConfig::default())
    }

    pub fn start_with(config: SimConfig) -> World {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let sim = rt.block_on(Simulator::start_with(config)).expect("simulator");
        // The CLI listens on the redirect URI's port: register a free loopback port for the
        // simulator's default client (first, so the simulator's JSON line carries it).
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let mut client: ClientRegistration = sim.default_client();
        client.redirect_uris.insert(0, redirect_uri.clone());
        sim.register_client(client);
        let dir = tempfile::tempdir().expect("tempdir");
        let endpoints = dir.path().join("sim.json");
        std::fs::write(&endpoints, sim.info_line()).expect("endpoint file");
        World { sim, rt, dir, endpoints, redirect_uri }
    }

    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store").join("tokens.sqlite3")
    }

    /// The CLI with a clean environment: this world's store and endpoints, no browser.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zohocrm"));
        for (k, _) in std::env::vars_os() {
            if k.to_str().is_some_and(|k| k.starts_with("ZOHO_")) {
                cmd.env_remove(&k);
            }
        }
        cmd.env("ZOHO_STORE", self.store())
            .env("ZOHO_ENDPOINTS", &self.endpoints)
            .env("BROWSER", "none")
            .env("HOME", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("xdg"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs the CLI to completion with `stdin` as standard input.
    pub fn run_with(&self, mut cmd: Command, stdin: Option<&str>) -> Outcome {
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawn zohocrm");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        finish(child)
    }

    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_with(self.command(args), None)
    }

    /// Logs in through the browser flow: the CLI listens on the redirect URI, the test signs
    /// `email` in on the consent pages and sends the browser's last request to the CLI.
    pub fn login_browser(&self, args: &[&str], email: &str, environment: Environment, decision: Decision) -> Outcome {
        let mut all = vec!["login"];
        all.extend_from_slice(args);
        let mut child = self.command(&all).spawn().expect("spawn zohocrm login");
        let (url, lines) = wait_for_url(&mut child);
        let redirect = self.rt.block_on(self.sim.consent(&url, email, environment, decision)).expect("consent");
        assert!(redirect.starts_with(&self.redirect_uri), "redirect {redirect} is not to the CLI");
        browser_get(&redirect);
        let mut out = finish_with(child, lines);
        out.stderr = out.stderr.replace(&url, "[authorize url]");
        out
    }

    /// Logs in with `--no-browser`: the redirect URL is pasted on standard input. Returns the
    /// outcome and the redirect (it carries the code, for the secret scan).
    pub fn login_pasted(&self, args: &[&str], email: &str, decision: Decision) -> (Outcome, String) {
        let mut all = vec!["login", "--no-browser"];
        all.extend_from_slice(args);
        let mut cmd = self.command(&all);
        cmd.stdin(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn zohocrm login");
        let (url, lines) = wait_for_url(&mut child);
        let redirect =
            self.rt.block_on(self.sim.consent(&url, email, Environment::Production, decision)).expect("consent");
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{redirect}").expect("paste");
        drop(stdin);
        let mut out = finish_with(child, lines);
        out.stderr = out.stderr.replace(&url, "[authorize url]");
        (out, redirect)
    }

    /// A quick login of the EU user through the pasted flow.
    pub fn login_eu(&self) -> Outcome {
        let (out, _) = self.login_pasted(&[], EU_USER, Decision::Accept);
        assert_eq!(out.code, 0, "{out:?}");
        out
    }

    /// The stored token of `profile` (EU production), read with the SDK's store.
    pub fn stored(&self, profile: &str, dc: DataCenter) -> zohocrm::Token {
        use zohocrm::store::TokenStore as _;
        let path = self.store();
        self.rt.block_on(async move {
            let store = zohocrm::store::SqliteStore::open(&path).await.expect("store");
            let key = zohocrm::TokenKey::new(profile, dc, Environment::Production);
            store.get(&key).await.expect("get").expect("token stored")
        })
    }

    /// Replaces the machine-specific parts of output for golden files.
    pub fn scrub(&self, text: &str) -> String {
        let port = format!(":{}", self.sim.port());
        let mut text = text.replace(&self.dir.path().display().to_string(), "[tmp]").replace(&port, ":[sim]");
        if let Some(p) = self.redirect_uri.split(':').nth(2).and_then(|p| p.split('/').next()) {
            text = text.replace(&format!(":{p}/"), ":[loopback]/");
        }
        let re_secs = |t: &str| {
            let mut out = String::new();
            let mut rest = t;
            while let Some(i) = rest.find("valid for ") {
                out.push_str(&rest[..i + 10]);
                rest = &rest[i + 10..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                out.push('N');
                rest = &rest[digits..];
            }
            out.push_str(rest);
            out
        };
        re_secs(&text)
    }

    pub fn snap(&self, out: &Outcome) -> String {
        format!("exit: {}\n--- stdout\n{}--- stderr\n{}", out.code, self.scrub(&out.stdout), self.scrub(&out.stderr))
    }
}

fn finish(mut child: Child) -> Outcome {
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).expect("stdout");
    }
    stderr.push_str(&reader.join().expect("stderr reader"));
    let status = child.wait().expect("wait");
    Outcome { code: status.code().unwrap_or(-1), stdout, stderr }
}

/// Reads the CLI's stderr until the authorization URL appears; the rest keeps arriving on the
/// returned channel.
fn wait_for_url(child: &mut Child) -> (String, mpsc::Receiver<String>) {
    let err = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    loop {
        let line =
            rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("no URL; stderr so far: {seen:?}"));
        if let Some(url) = line.trim().strip_prefix("http").filter(|u| u.contains("/oauth/v2/auth?")) {
            let url = format!("http{url}");
            let (tx2, rx2) = mpsc::channel();
            for l in seen {
                let _ = tx2.send(l);
            }
            let _ = tx2.send(line.clone());
            std::thread::spawn(move || {
                while let Ok(l) = rx.recv() {
                    if tx2.send(l).is_err() {
                        break;
                    }
                }
            });
            return (url, rx2);
        }
        seen.push(line);
    }
}

fn finish_with(mut child: Child, lines: mpsc::Receiver<String>) -> Outcome {
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).expect("stdout");
    }
    let status = child.wait().expect("wait");
    let mut stderr = String::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        stderr.push_str(&line);
        stderr.push('\n');
    }
    Outcome { code: status.code().unwrap_or(-1), stdout, stderr }
}

/// What the browser does with Zoho's redirect: one GET to the CLI's loopback listener.
pub fn browser_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").expect("http redirect");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(authority).expect("connect to the CLI's listener");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").expect("request");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// Every ZOHO_-free path in `dir` (debug helper).
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// The simulator's secret for `dc`, as text.
pub fn sim_secret(dc: DataCenter) -> String {
    testkit::default_client_secret(dc).expose().to_owned()
}
