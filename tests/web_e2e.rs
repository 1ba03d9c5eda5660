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
use zohocrm::testkit::{Decision, Fault, Route};

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
    let app = start_app(web::StoreChoice::Sqlite(dir.path().join("tokens.sqlite3"))).await;
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

// ---------------------------------------------------------------------------------------------
// Plain HTTP (no browser): one app user's browser as a client that follows no redirect.

/// The example on loopback against its in-process simulator, with its tokens in `store`.
async fn start_app(store: web::StoreChoice) -> web::WebApp {
    let listen = "127.0.0.1:0".parse().expect("address");
    let options = web::WebOptions { listen, store, backend: web::Backend::Simulator };
    web::start(options).await.expect("start the web example")
}

/// The example with its tokens in a new temporary directory (removed when dropped).
async fn start_in_temp() -> (tempfile::TempDir, web::WebApp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = start_app(web::StoreChoice::Sqlite(dir.path().join("tokens.sqlite3"))).await;
    (dir, app)
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().expect("HTTP client")
}

/// The session cookie a response sets (`None`: it sets none; `Some("")`: it clears it).
fn set_session(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.strip_prefix("zohocrm_web_session=").map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    })
}

fn location(response: &reqwest::Response) -> String {
    let value = response.headers().get("location").unwrap_or_else(|| panic!("no Location ({})", response.status()));
    value.to_str().expect("Location").to_owned()
}

/// A signed-in app user over plain HTTP.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Visitor {
    /// Signs `user` in from the app's own page.
    async fn sign_in(app: &web::WebApp, user: &str) -> Visitor {
        let (http, base) = (http_client(), app.url());
        let password = web::DEMO_USERS.iter().find(|(u, _)| *u == user).expect("a demo user").1;
        let request =
            http.post(format!("{base}/login")).header("origin", &base).header("sec-fetch-site", "same-origin");
        let response = request.form(&[("user", user), ("password", password)]).send().await.expect("POST /login");
        assert_eq!(response.status(), 303, "sign-in");
        let cookie = set_session(&response).filter(|c| !c.is_empty()).expect("a session cookie");
        Visitor { http, base, cookie }
    }

    async fn get(&self, url: &str) -> reqwest::Response {
        let request = self.http.get(url).header("cookie", format!("zohocrm_web_session={}", self.cookie));
        request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    async fn home(&self) -> String {
        self.get(&self.base).await.text().await.expect("the page")
    }

    /// The per-session token of the page's forms (empty if there is none).
    async fn csrf(&self) -> String {
        let page = self.home().await;
        let start = page.find("name=\"csrf\" value=\"").map(|i| i + "name=\"csrf\" value=\"".len());
        start.and_then(|s| page[s..].split('"').next()).unwrap_or_default().to_owned()
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let request = self.http.post(format!("{}{path}", self.base));
        let request = request.header("cookie", format!("zohocrm_web_session={}", self.cookie)).form(form);
        request.send().await.unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Connect (or Reconnect: the same form) as `email` on the simulator's pages, accepting the
    /// consent for `environment`; returns the app's answer to Zoho's redirect.
    async fn connect(&self, sim: &zohocrm::testkit::Simulator, environment: &str, email: &str) -> reqwest::Response {
        let csrf = self.csrf().await;
        let started = self.post("/connect", &[("environment", environment), ("csrf", &csrf)]).await;
        assert_eq!(started.status(), 303, "connect starts at Zoho");
        let env = environment.parse().expect("environment");
        let redirect = sim.consent(&location(&started), email, env, Decision::Accept).await.expect("consent");
        self.get(&redirect).await
    }
}

/// Login CSRF: a page elsewhere cannot sign the browser in (as the attacker's account), because
/// SameSite limits when a cookie is sent, not when it is set. A cross-origin or cross-site
/// POST /login is refused with 403 and sets no cookie; the app's own form still signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_posted_from_another_site_is_refused_without_a_cookie() {
    let (_dir, app) = start_in_temp().await;
    let (http, url) = (http_client(), format!("{}/login", app.url()));
    let form = [("user", "bob"), ("password", "builder")];
    for (name, value) in [
        ("origin", "https://evil.example"),
        ("origin", "null"),
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
    ] {
        let response = http.post(&url).header(name, value).form(&form).send().await.expect("POST /login");
        assert_eq!(response.status(), 403, "{name}: {value}");
        assert!(response.headers().get("set-cookie").is_none(), "{name}: {value} sets a cookie");
    }
    let own = http.post(&url).header("origin", app.url()).header("sec-fetch-site", "same-origin");
    let response = own.form(&form).send().await.expect("POST /login");
    assert_eq!(response.status(), 303);
    assert!(set_session(&response).is_some_and(|c| c.starts_with("bob.")));
}

/// The forms of a signed-in user carry a per-session token: a POST riding the cookie without it
/// (a same-site page), with a wrong one or with another session's is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_without_the_sessions_form_token_are_refused() {
    let (_dir, app) = start_in_temp().await;
    let sim = app.simulator.clone().expect("simulator");
    let alice = Visitor::sign_in(&app, "alice").await;
    let answer = alice.connect(&sim, "production", "us.user@zylker.example").await;
    assert_eq!((answer.status().as_u16(), location(&answer)), (303, "/".to_owned()));
    let key = TokenKey::new("alice", DataCenter::Us, Environment::Production);
    assert_eq!(stored_keys(&app, "alice").await, vec![key.clone()]);

    let bobs = Visitor::sign_in(&app, "bob").await.csrf().await;
    for token in ["", "00", bobs.as_str()] {
        for (path, form) in [
            ("/disconnect", vec![("csrf", token)]),
            ("/connect", vec![("environment", "sandbox"), ("csrf", token)]),
            ("/logout", vec![("csrf", token)]),
        ] {
            let form = if token.is_empty() { form[..form.len() - 1].to_vec() } else { form };
            let response = alice.post(path, &form).await;
            assert_eq!(response.status(), 403, "POST {path} with token `{token}`");
            assert!(set_session(&response).is_none(), "POST {path} touched the session cookie");
        }
    }
    assert_eq!(stored_keys(&app, "alice").await, vec![key], "the connection is still stored");
    assert!(alice.home().await.contains("id=\"app-user\">alice<"), "still signed in");

    let response = alice.post("/disconnect", &[("csrf", &alice.csrf().await)]).await;
    assert_eq!(response.status(), 303);
    assert!(stored_keys(&app, "alice").await.is_empty(), "the page's own form disconnects");
}

/// Sign out ends the session on the server: a cookie copied before it no longer signs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_copied_before_sign_out_is_refused_after_it() {
    let (_dir, app) = start_in_temp().await;
    let alice = Visitor::sign_in(&app, "alice").await;
    assert!(alice.home().await.contains("id=\"app-user\">alice<"));
    let response = alice.post("/logout", &[("csrf", &alice.csrf().await)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(set_session(&response).as_deref(), Some(""), "sign out clears the cookie");
    let page = alice.home().await; // the old cookie, sent again
    assert!(page.contains("id=\"login\"") && !page.contains("id=\"app-user\""), "the old cookie still works:\n{page}");
    // Signing in again from a browser that has a session ends that session too.
    let bob = Visitor::sign_in(&app, "bob").await;
    let again = bob.http.post(format!("{}/login", bob.base)).header("origin", &bob.base);
    let again = again.header("cookie", format!("zohocrm_web_session={}", bob.cookie));
    let again = again.form(&[("user", "bob"), ("password", "builder")]).send().await.expect("POST /login");
    assert_eq!(again.status(), 303);
    assert!(bob.home().await.contains("id=\"login\""), "the first session outlived the second sign-in");
    // Two session cookies (one planted for a parent domain, say) sign nobody in.
    let (carol, alice) = (Visitor::sign_in(&app, "carol").await, Visitor::sign_in(&app, "alice").await);
    let both = format!("zohocrm_web_session={}; zohocrm_web_session={}", carol.cookie, alice.cookie);
    let page =
        carol.http.get(&carol.base).header("cookie", both).send().await.expect("GET /").text().await.expect("page");
    assert!(page.contains("id=\"login\""), "which of two cookies signed in?\n{page}");
}

/// A forged redirect (wrong or missing `state`) is refused and leaves the connection in progress
/// alone: Zoho's real redirect afterwards still completes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_callback_does_not_cancel_the_connection_in_progress() {
    let (_dir, app) = start_in_temp().await;
    let sim = app.simulator.clone().expect("simulator");
    let alice = Visitor::sign_in(&app, "alice").await;
    let started = alice.post("/connect", &[("environment", "production"), ("csrf", &alice.csrf().await)]).await;
    assert_eq!(started.status(), 303);
    for forged in ["code=x&state=y", "error=access_denied&state=y", "code=x"] {
        let response = alice.get(&format!("{}/zoho/callback?{forged}", app.url())).await;
        assert_eq!(response.status(), 400, "{forged}");
        assert!(response.text().await.expect("page").contains("Connection refused"), "{forged}");
    }
    let redirect = sim
        .consent(&location(&started), "us.user@zylker.example", Environment::Production, Decision::Accept)
        .await
        .expect("consent");
    let answer = alice.get(&redirect).await;
    assert_eq!(answer.status(), 303, "the real redirect completes the connection: {}", answer.text().await.unwrap());
    let key = TokenKey::new("alice", DataCenter::Us, Environment::Production);
    assert_eq!(stored_keys(&app, "alice").await, vec![key]);
    // The SDK's own deadline is the example's, and reads as the example's "too slow".
    assert_eq!(web::describe(&zohocrm::Error::Callback(zohocrm::error::CallbackError::Expired)).0, "Too slow");
}

/// Reconnecting as another Zoho account (one that already granted this client, so Zoho sends no
/// refresh token without `prompt=consent`) must not keep the old account's refresh token: after
/// the access token expires, the dashboard still shows the account reconnected as.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_as_another_zoho_account_survives_a_refresh() {
    let (_dir, app) = start_in_temp().await;
    let sim = app.simulator.clone().expect("simulator");
    let (patricia, us_user) = ("patricia.boyle@zylker.example", "us.user@zylker.example");
    let bob = Visitor::sign_in(&app, "bob").await;
    assert_eq!(bob.connect(&sim, "production", patricia).await.status(), 303);
    let alice = Visitor::sign_in(&app, "alice").await;
    assert_eq!(alice.connect(&sim, "production", us_user).await.status(), 303);
    assert!(alice.home().await.contains(us_user));
    assert_eq!(alice.connect(&sim, "production", patricia).await.status(), 303, "reconnect as another account");
    assert!(alice.home().await.contains(patricia));
    sim.advance(Duration::from_secs(2 * 3600)); // past the access token's hour: the next page refreshes
    let page = alice.home().await;
    assert!(!page.contains("id=\"error\""), "an error after the refresh:\n{page}");
    assert!(page.contains(patricia) && !page.contains(us_user), "the refresh went back to the old account:\n{page}");
    assert!(bob.home().await.contains(patricia), "bob's own connection is untouched");
}

/// Each simulator run keeps its tokens in a fresh private directory, removed at exit: a row of an
/// earlier run names that run's simulator port, which no later simulator answers. With real Zoho
/// there is no default in the shared temp directory: the store must be named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_simulator_run_defaults_to_a_fresh_private_store() {
    use std::os::unix::fs::PermissionsExt;
    let mut paths = Vec::new();
    for run in 0..2 {
        let (choice, scratch) = web::default_store(&web::Backend::Simulator).expect("a default store");
        let web::StoreChoice::Sqlite(path) = choice.clone() else { panic!("SQLite by default, got {choice:?}") };
        assert!(!paths.contains(&path), "run {run} reuses {}", path.display());
        let dir = path.parent().expect("a directory").to_owned();
        let mode = std::fs::metadata(&dir).expect("the store's directory").permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "{} is not private", dir.display());
        let app = start_app(choice).await;
        let sim = app.simulator.clone().expect("simulator");
        let alice = Visitor::sign_in(&app, "alice").await;
        let page = alice.home().await;
        assert!(!page.contains("id=\"error\""), "run {run} shows an error:\n{page}");
        assert_eq!(alice.connect(&sim, "production", "us.user@zylker.example").await.status(), 303);
        assert!(alice.home().await.contains("us.user@zylker.example"));
        drop(app);
        drop(scratch);
        assert!(!dir.exists(), "{} is left behind", dir.display());
        paths.push(path);
    }
    let real = web::Backend::Zoho {
        credentials: zohocrm::ClientCredentials::new(
            "1000.CLIENT",
            zohocrm::testkit::default_client_secret(DataCenter::Us),
        ),
        redirect_uri: "http://localhost:8080/zoho/callback".into(),
    };
    assert!(web::default_store(&real).is_err(), "real Zoho needs --sqlite PATH or --postgres URL");
}
