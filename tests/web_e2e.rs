//! The web example (`examples/web.rs`) in a real browser: headless Chromium driven over WebDriver
//! (chromedriver + fantoccini), against the example's in-process Zoho simulator, on loopback only.
//!
//! An app user signs in, clicks "Connect Zoho CRM" and clicks through the simulator's sign-in and
//! consent pages as an EU user who starts at the US accounts server (and is moved to EU), switches
//! to the sandbox, hits an outage, an expired login, a refused consent and a wrong org, reconnects,
//! disconnects; a second app user connects a China account (CN accounts server) to the developer
//! environment. Screenshots go to `$WEB_E2E_SCREENSHOTS` or `$TMPDIR/zohocrm-web-e2e`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install -y chromium
//! chromium-driver`; override with `CHROMIUM` / `CHROMEDRIVER`). Without them the test says so on
//! stderr and passes, except under `CI=true`, where it fails.

#[path = "../examples/web.rs"]
#[allow(dead_code, reason = "the example is compiled in whole; the test drives its router only")]
mod web;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use zohocrm::TokenKey;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{Fault, Route};

/// Writes to the real stderr, past the test harness's capture: a skip must be seen.
fn loud(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

/// chromedriver as a child process on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(chromedriver: &Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on {addr} within 20 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    driver
}

async fn open_browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--window-size=1100,1000".to_owned(),
        // Loopback only: no proxy, no background traffic to Google.
        "--no-proxy-server".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-default-apps".to_owned(),
        "--disable-features=Translate,OptimizationHints,MediaRouter".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": chromium.display().to_string(), "args": args }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|e| panic!("cannot open a Chromium session through chromedriver: {e}"))
}

/// The browser session plus where screenshots go.
struct Ui {
    c: Client,
    shots: PathBuf,
}

impl Ui {
    async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        match self.c.wait().at_most(Duration::from_secs(15)).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => {
                let url = self.c.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                let source = self.c.source().await.unwrap_or_default();
                self.shot("failure").await;
                panic!("no `{css}` on {url} ({e}); page:\n{source}");
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        self.wait(css).await.text().await.expect("element text")
    }

    async fn click(&self, css: &str) {
        self.wait(css).await.click().await.unwrap_or_else(|e| panic!("click `{css}`: {e}"));
    }

    async fn select(&self, css: &str, value: &str) {
        self.wait(css).await.select_by_value(value).await.unwrap_or_else(|e| panic!("select {value} in `{css}`: {e}"));
    }

    async fn fill(&self, css: &str, text: &str) {
        self.wait(css).await.send_keys(text).await.unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    async fn url(&self) -> url::Url {
        self.c.current_url().await.expect("current URL")
    }

    async fn source(&self) -> String {
        self.c.source().await.expect("page source")
    }

    async fn shot(&self, name: &str) -> PathBuf {
        let path = self.shots.join(format!("{name}.png"));
        if let Ok(png) = self.c.screenshot().await {
            let _ = std::fs::write(&path, png);
        }
        path
    }

    async fn sign_in(&self, base: &str, user: &str, password: &str) {
        self.c.goto(base).await.expect("open the app");
        self.fill("#user", user).await;
        self.fill("#password", password).await;
        self.click("#sign-in").await;
        assert_eq!(self.text("#app-user").await, user);
    }

    /// On the simulator's pages: sign in as `email`, pick `org`, Accept or Reject. Returns the
    /// accounts-server paths the browser saw (sign-in page, consent page) and the OAuth state.
    async fn zoho_pages(&self, email: &str, org: Environment, accept: bool) -> (String, String, String) {
        self.wait("#sim-signin").await;
        let signin = self.url().await;
        let state = signin.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).unwrap_or_default();
        self.select("#sim-signin select[name=email]", email).await;
        self.click("#sim-signin button[type=submit]").await;
        self.wait("#sim-consent").await;
        let consent = self.url().await;
        self.select("#sim-consent select[name=environment]", org.as_str()).await;
        let button = if accept { "accept" } else { "reject" };
        self.click(&format!("#sim-consent button[value={button}]")).await;
        (signin.path().to_owned(), consent.path().to_owned(), state)
    }

    /// The page shows a clear message and nothing that looks like a debug dump or a panic.
    async fn assert_clean_error(&self, expected: &str) {
        let text = self.text("#error").await;
        assert!(text.contains(expected), "expected `{expected}` in the error message, got `{text}`");
        let source = self.source().await;
        for leak in
            ["panicked", "RUST_BACKTRACE", "Error {", "Callback(", "ReauthorizationRequired", "Transport {", "stack"]
        {
            assert!(!source.contains(leak), "the error page shows `{leak}`:\n{source}");
        }
    }
}

async fn stored_keys(app: &web::WebApp, user: &str) -> Vec<TokenKey> {
    let keys = app.zoho.tokens().store().list().await.expect("list the token store");
    keys.into_iter().filter(|k| k.user == user).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_from_eu_and_cn_connect_their_zoho_crm_in_chromium() {
    let started = Instant::now();
    let (chromium, chromedriver) =
        (tool("CHROMIUM", "/usr/bin/chromium"), tool("CHROMEDRIVER", "/usr/bin/chromedriver"));
    let missing: Vec<String> =
        [&chromium, &chromedriver].iter().filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
    if !missing.is_empty() {
        let why = format!(
            "web_e2e SKIPPED: {} not found; install with `apt-get install -y chromium chromium-driver` (or set CHROMIUM / CHROMEDRIVER)",
            missing.join(" and ")
        );
        loud(&format!("\n!!!!! {why} !!!!!\n"));
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why} (CI=true: a skipped browser test is a failure)");
        return;
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let shots = std::env::var_os("WEB_E2E_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("zohocrm-web-e2e"));
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let app = web::start(web::WebOptions {
        listen: "127.0.0.1:0".parse().expect("address"),
        store: web::StoreChoice::Sqlite(dir.path().join("tokens.sqlite3")),
        backend: web::Backend::Simulator,
    })
    .await
    .expect("start the web example");
    let sim = app.simulator.clone().expect("the example starts a simulator by default");
    let base = app.url();

    let driver = start_driver(&chromedriver);
    let profile = dir.path().join("chromium-profile");
    let ui = Ui { c: open_browser(&driver, &chromium, &profile).await, shots: shots.clone() };

    // ---- alice signs in to the app; the page says it runs against the simulator.
    ui.c.goto(&base).await.expect("open the app");
    assert!(ui.text("#simulator-banner").await.contains("local Zoho simulator"));
    ui.shot("01-sign-in").await;
    ui.fill("#user", "alice").await;
    ui.fill("#password", "wrong").await;
    ui.click("#sign-in").await;
    ui.assert_clean_error("Unknown user or wrong password").await;
    ui.sign_in(&base, "alice", "wonderland").await;

    // ---- Connect (production) as the EU user: starts at the US server, moved to EU.
    ui.select("#connect-environment", "production").await;
    ui.click("#connect-button").await;
    let (signin, consent, state) = ui.zoho_pages("eu.user@zylker.example", Environment::Production, true).await;
    assert!(signin.starts_with("/accounts/us/"), "authorization must start at the US server, was {signin}");
    assert!(consent.starts_with("/accounts/eu/"), "the simulator moves the EU user to the EU server, was {consent}");
    assert!(ui.text("#notice").await.contains("Connected your Zoho CRM production org in Europe"));
    assert!(ui.text("#dc").await.contains("EU"));
    assert_eq!(ui.text("#environment-value").await, "production");
    assert!(ui.text("#accounts-server").await.ends_with("/accounts/eu"));
    assert!(ui.text("#api-domain").await.ends_with("/api/eu/production"));
    assert!(ui.text("#zoho-user").await.contains("eu.user@zylker.example"));
    assert!(ui.text("#modules").await.contains("Leads"));
    let leads = ui.text("#leads").await;
    assert!(leads.contains("(EU production)"), "Leads of the EU production org expected:\n{leads}");
    assert_eq!(
        ui.url().await.path(),
        "/",
        "the callback redirects to a clean URL (no code or state in the address bar)"
    );
    ui.shot("02-dashboard-eu-production").await;

    // Secrets stay out of pages and cookies: no Zoho token, no OAuth state.
    let eu_prod = TokenKey::new("alice", DataCenter::Eu, Environment::Production);
    let token = app.zoho.tokens().store().get(&eu_prod).await.expect("store").expect("EU production token stored");
    let (access, refresh) = (
        token.access_token.as_ref().expect("access token").expose().to_owned(),
        token.refresh_token.as_ref().expect("refresh token").expose().to_owned(),
    );
    let cookies = ui.c.get_all_cookies().await.expect("cookies");
    assert_eq!(cookies.len(), 1, "one session cookie");
    let cookie = cookies[0].value().to_owned();
    let source = ui.source().await;
    assert!(state.len() >= 32, "the authorization URL carried a state");
    for secret in [&access, &refresh, &state] {
        assert!(!cookie.contains(secret.as_str()), "a secret is in the session cookie");
        assert!(!source.contains(secret.as_str()), "a secret is on the dashboard");
    }
    assert!(cookie.starts_with("alice."), "the cookie names the app user (signed), not a Zoho account");
    // The cookie is signed: the same cookie for another user is refused (sign-in page), the real one is accepted.
    let http = reqwest::Client::builder().no_proxy().build().expect("HTTP client");
    let get_home = |cookie: String| {
        let request = http.get(&base).header("cookie", format!("zohocrm_web_session={cookie}"));
        async move { request.send().await.expect("GET /").text().await.expect("body") }
    };
    assert!(get_home(cookie.replacen("alice.", "bob.", 1)).await.contains("id=\"login\""));
    assert!(get_home(cookie.clone()).await.contains("id=\"app-user\">alice<"));
    ui.click("#logout").await;
    ui.wait("#login").await;
    ui.sign_in(&base, "alice", "wonderland").await;
    assert_eq!(ui.text("#environment-value").await, "production", "the connection is kept across app sign-ins");

    // ---- Switch environment: sandbox. The production connection is revoked and deleted.
    ui.select("#switch-environment", "sandbox").await;
    ui.click("#switch-button").await;
    ui.zoho_pages("eu.user@zylker.example", Environment::Sandbox, true).await;
    assert!(ui.text("#notice").await.contains("previous production connection was revoked"));
    assert_eq!(ui.text("#environment-value").await, "sandbox");
    assert!(ui.text("#leads").await.contains("(EU sandbox)"));
    let eu_sandbox = TokenKey::new("alice", DataCenter::Eu, Environment::Sandbox);
    assert_eq!(stored_keys(&app, "alice").await, vec![eu_sandbox.clone()]);

    // ---- A Zoho outage: the CRM answers 503 (more often than the SDK retries).
    sim.inject(Route::Users, Fault::Status(503), 50);
    ui.c.goto(&base).await.expect("reload");
    ui.assert_clean_error("Zoho is not reachable right now").await;
    ui.shot("03-outage").await;
    sim.clear_faults();

    // ---- An expired login: the refresh token was revoked at Zoho and the access token expired.
    let token = app.zoho.tokens().store().get(&eu_sandbox).await.expect("store").expect("sandbox token");
    assert!(sim.revoke_refresh_token_out_of_band(token.refresh_token.as_ref().expect("refresh token")));
    sim.advance(Duration::from_secs(2 * 3600));
    ui.c.goto(&base).await.expect("reload");
    ui.assert_clean_error("Your Zoho login has expired").await;
    ui.shot("04-expired-login").await;

    // ---- Reconnect, but Reject on Zoho's consent page.
    ui.click("#reconnect-button").await;
    ui.zoho_pages("eu.user@zylker.example", Environment::Sandbox, false).await;
    assert_eq!(ui.text("#error-title").await, "Access not granted");
    ui.assert_clean_error("You declined access on Zoho's consent page").await;
    ui.shot("05-consent-rejected").await;

    // ---- Reconnect and pick the wrong org: refused, nothing stored.
    ui.c.goto(&base).await.expect("back to the dashboard");
    ui.click("#reconnect-button").await;
    ui.zoho_pages("eu.user@zylker.example", Environment::Developer, true).await;
    ui.assert_clean_error("You asked to connect the sandbox environment but picked the developer org").await;
    assert_eq!(stored_keys(&app, "alice").await, vec![eu_sandbox.clone()]);

    // ---- Reconnect and Accept: the dashboard works again.
    ui.c.goto(&base).await.expect("back to the dashboard");
    ui.click("#reconnect-button").await;
    ui.zoho_pages("eu.user@zylker.example", Environment::Sandbox, true).await;
    assert_eq!(ui.text("#environment-value").await, "sandbox");
    assert!(ui.text("#leads").await.contains("(EU sandbox)"));

    // ---- Disconnect: revoked at the EU server, deleted from the store.
    let revokes = sim.count(Route::Revoke);
    ui.click("#disconnect").await;
    assert!(ui.text("#notice").await.contains("Disconnected"));
    ui.wait("#connect-button").await;
    assert!(stored_keys(&app, "alice").await.is_empty());
    assert!(sim.count(Route::Revoke) > revokes, "disconnect revokes at Zoho");

    // ---- bob: a China account (CN accounts server), developer environment.
    ui.click("#logout").await;
    ui.sign_in(&base, "bob", "builder").await;
    ui.select("#connect-environment", "developer").await;
    ui.click("#connect-china").await;
    ui.click("#connect-button").await;
    let (signin, consent, _) = ui.zoho_pages("cn.user@zylker.example", Environment::Developer, true).await;
    assert!(signin.starts_with("/accounts/cn/"), "China starts at the CN server, was {signin}");
    assert!(consent.starts_with("/accounts/cn/"));
    assert!(ui.text("#dc").await.contains("CN"));
    assert_eq!(ui.text("#environment-value").await, "developer");
    assert!(ui.text("#accounts-server").await.ends_with("/accounts/cn"));
    assert!(ui.text("#zoho-user").await.contains("cn.user@zylker.example"));
    assert!(ui.text("#leads").await.contains("(CN developer)"));
    ui.shot("06-dashboard-cn-developer").await;
    assert_eq!(stored_keys(&app, "bob").await, vec![TokenKey::new("bob", DataCenter::Cn, Environment::Developer)]);

    let _ = ui.c.close().await;
    loud(&format!("web_e2e: passed in {:.1} s; screenshots in {}", started.elapsed().as_secs_f64(), shots.display()));
}
