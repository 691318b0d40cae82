//! The public site in a real browser: headless Chromium (Debian package `chromium`, which
//! `tests/run` installs) against `coalition demo` on a free port. The home page shows the count,
//! a search narrows the list, the language switch works, a person page opens. Screenshots are
//! kept in `target/browser/` as test artefacts.
//!
//! **Why Chromium's own command line rather than a WebDriver crate.** The pages work without
//! script, so every step a person takes is a GET of a URL the page itself gives (the search form
//! is `method="get"`, the switch and the names are links): `chromium --headless --dump-dom URL`
//! returns the DOM after Chromium parsed and laid out the page, and `--screenshot` draws it. No
//! chromedriver process, no protocol client, no new dependency. The test fails (never skips)
//! when Chromium is missing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use coalition_server::client::PublicClient;

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_coalition");
/// How long the demo may take to create its ledger and answer (it signs a few thousand events).
const DEMO_START_DEADLINE: Duration = Duration::from_secs(300);
/// How long one Chromium run may take.
const BROWSER_DEADLINE: Duration = Duration::from_secs(60);
/// Names Chromium is installed under, tried in order.
const CHROMIUM_NAMES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// A running `coalition` server process, killed when dropped.
pub(crate) struct Running {
    child: Child,
    pub(crate) url: String,
}

impl Running {
    /// Starts `coalition ARGS --listen 127.0.0.1:PORT` in `dir` and waits for `/healthz`.
    pub(crate) fn start(dir: &Path, args: &[&str]) -> Self {
        let listen = format!("127.0.0.1:{}", free_port());
        let child = Command::new(BINARY)
            .current_dir(dir)
            .args(args)
            .args(["--listen", &listen])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start coalition");
        let mut running = Self { child, url: format!("http://{listen}") };
        let public = PublicClient::new(&running.url).expect("client");
        let deadline = Instant::now() + DEMO_START_DEADLINE;
        while public.health().is_err() {
            if let Ok(Some(status)) = running.child.try_wait() {
                panic!("coalition {args:?} exited with {status} before answering");
            }
            assert!(Instant::now() < deadline, "coalition {args:?} did not answer within {DEMO_START_DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
        running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in CHROMIUM_NAMES {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!("Chromium is not installed: `tests/run` installs it (apt-get install chromium), or install it by hand");
}

/// Where screenshots are kept: `target/browser/` of the workspace.
fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser");
    std::fs::create_dir_all(&dir).expect("create target/browser");
    dir
}

/// Runs headless Chromium with `args` and `url`; returns its standard output.
fn browse(profile: &Path, args: &[&str], url: &str) -> String {
    let mut child = Command::new(chromium())
        // --no-sandbox: tests run as root in a container, where Chromium's sandbox cannot start.
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + BROWSER_DEADLINE;
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                panic!("chromium did not finish {url} within {BROWSER_DEADLINE:?}");
            }
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let output = child.wait_with_output().expect("chromium output");
    let dom = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success() || !dom.is_empty(), "chromium failed on {url}");
    dom
}

fn dom(profile: &Path, url: &str) -> String {
    let dom = browse(profile, &["--dump-dom"], url);
    assert!(dom.contains("</html>"), "{url}: no document: {dom}");
    dom
}

fn screenshot(profile: &Path, url: &str, name: &str) -> PathBuf {
    let file = artefacts().join(name);
    let _ = std::fs::remove_file(&file);
    browse(profile, &[&format!("--screenshot={}", file.display()), "--window-size=1280,1600"], url);
    let bytes = std::fs::read(&file).unwrap_or_else(|error| panic!("no screenshot {}: {error}", file.display()));
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000, "{} is not a drawn PNG", file.display());
    file
}

/// The `href` values of the links whose href starts with `prefix`, in document order.
fn links(dom: &str, prefix: &str) -> Vec<String> {
    let needle = format!("href=\"{prefix}");
    dom.match_indices(&needle)
        .filter_map(|(start, _)| dom[start + 6..].split('"').next())
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

/// The number in the page's headline `<h1>`.
fn headline_count(dom: &str) -> u64 {
    let heading = dom.split("<h1").nth(1).and_then(|rest| rest.split("</h1>").next()).expect("an h1");
    let digits: String = heading
        .split('>')
        .skip(1)
        .collect::<String>()
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("no count in the headline: {heading}"))
}

#[test]
fn a_person_uses_the_site_in_chromium() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("chromium-profile");
    let demo = Running::start(dir.path(), &["demo", "--data", "demo"]);
    let list = PublicClient::new(&demo.url).expect("client").get_list().expect("list");

    // The home page loads and shows the count of people detained now.
    let home = dom(&profile, &format!("{}/?lang=en", demo.url));
    assert!(home.contains("<html lang=\"en\""), "{home}");
    assert_eq!(headline_count(&home), list.counts.detained_now as u64, "the headline count");
    let people = links(&home, "/persons/");
    assert_eq!(people.len(), coalition_server::PAGE_ENTRIES.min(list.count), "a full first page");
    let shot = screenshot(&profile, &format!("{}/?lang=en", demo.url), "home-en.png");
    eprintln!("screenshot: {}", shot.display());

    // A search narrows the list: the form is a GET form on `/` with a field `q`, so submitting
    // it loads `/?q=...`. Search for the first person's surname as printed.
    assert!(home.contains("<form method=\"get\" action=\"/\""), "a GET search form");
    assert!(home.contains("name=\"q\""), "a search field named q");
    let person_name = home
        .split(&format!("href=\"{}\"", people[0].replace('&', "&amp;")))
        .nth(1)
        .and_then(|rest| rest.split('>').nth(1))
        .and_then(|rest| rest.split('<').next())
        .expect("the first person's name")
        .to_owned();
    let surname = person_name.split_whitespace().last().expect("a surname").to_owned();
    let search_url = format!("{}/?lang=en&q={}", demo.url, surname);
    let found = dom(&profile, &search_url);
    let narrowed = links(&found, "/persons/");
    assert!(!narrowed.is_empty() && narrowed.len() < list.count, "{surname}: {} of {}", narrowed.len(), list.count);
    assert!(narrowed.contains(&people[0]), "the person searched for is found");
    assert!(found.contains(&format!("value=\"{surname}\"")), "the field keeps the search");
    screenshot(&profile, &search_url, "search-en.png");

    // The language switch: the English page links to Ukrainian and the link works.
    let switch = links(&home, "/?").into_iter().find(|href| href.contains("lang=uk")).expect("a link to Ukrainian");
    let ukrainian = dom(&profile, &format!("{}{switch}", demo.url));
    assert!(ukrainian.contains("<html lang=\"uk\""));
    assert!(ukrainian.contains("Щонайменше"), "the Ukrainian headline");
    assert_eq!(headline_count(&ukrainian), list.counts.detained_now as u64);
    screenshot(&profile, &format!("{}{switch}", demo.url), "home-uk.png");

    // A person page opens from the list.
    let person_url = format!("{}{}", demo.url, people[0]);
    let person = dom(&profile, &person_url);
    assert!(person.contains(&person_name), "{person_name} on their page");
    assert!(person.contains("/api/v1/feeds/"), "the signed history links to the feeds");
    screenshot(&profile, &person_url, "person-en.png");
}
