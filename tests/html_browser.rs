//! The HTML report in a real browser: Debian's `chromium`, headless, opens the page written by
//! `tickbench report --html` (recorded Criterion fixtures compared, a generated history of
//! 100 benchmarks × 200 runs with one known step, the load-test fixture) from `file://`:
//!
//! - the page loads with no script error (the page's own error hook writes `data-errors` on
//!   `<html>`, read from `--dump-dom`; the browser's console log on stderr is checked too);
//! - after the scripts ran, every chart holds as many point elements as its data has;
//! - a screenshot is not blank (decoded here: many distinct colours, a share of non-white).
//!
//! Without chromium the test fails and says how to install it (`.ci/run` installs it).
//! Its own binary: it starts a browser, which the CLI tests beside it would slow down.

#[path = "support/history_gen.rs"]
mod history_gen;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/recorded");
const LOADTEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/loadtest/run.json"
);

fn chromium() -> PathBuf {
    for candidate in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(candidate).output() {
            if out.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            }
        }
    }
    panic!(
        "chromium is not installed; this test needs a headless browser: \
         `apt-get install -y chromium` (.ci/run does this)"
    );
}

/// Chromium, headless, on `page` with `args`; a fresh profile directory per call.
fn browse(page: &Path, profile: &Path, args: &[&str]) -> Output {
    Command::new(chromium())
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

fn report(dir: &Path) -> PathBuf {
    let history = dir.join("history.jsonl");
    history_gen::generated_history(&history, 200, 100, 120);
    let out = Command::new(assert_cmd::cargo::cargo_bin!("tickbench"))
        .current_dir(dir)
        .env_remove("CRITERION_HOME")
        .env_remove("CARGO_TARGET_DIR")
        .args([
            "report", "--html", "report", "--old", "r1,r2", "--new", "s1",
        ])
        .arg("--criterion-dir")
        .arg(RECORDED)
        .arg("--history")
        .arg(&history)
        .args(["--loadtest", LOADTEST])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    dir.join("report/index.html").canonicalize().unwrap()
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    tag[start..].split('"').next()
}

#[test]
fn the_report_loads_without_errors_draws_every_point_and_is_not_blank() {
    let tmp = tempfile::tempdir().unwrap();
    let page = report(tmp.path());

    let out = browse(
        &page,
        &tmp.path().join("profile-dom"),
        &["--enable-logging=stderr", "--v=0", "--dump-dom"],
    );
    assert!(out.status.success(), "chromium failed: {out:?}");
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(dom.contains("</html>"), "no DOM dumped:\n{log}");
    let html_tag = &dom[dom.find("<html").unwrap()..];
    let html_tag = &html_tag[..html_tag.find('>').unwrap()];
    assert_eq!(
        attr(html_tag, "data-errors"),
        None,
        "script errors on the page"
    );
    for line in log.lines() {
        assert!(
            !(line.contains("Uncaught") || (line.contains("CONSOLE") && line.contains("ERROR"))),
            "console error: {line}"
        );
    }
    let charts: Vec<&str> = dom
        .match_indices("<svg class=\"chart\"")
        .map(|(i, _)| &dom[i..i + dom[i..].find("</svg>").unwrap()])
        .collect();
    // 8 compared benchmarks, 100 trends, 1 load test.
    assert_eq!(charts.len(), 109, "charts in the rendered DOM");
    for c in &charts {
        let points: usize = attr(c, "data-points").unwrap().parse().unwrap();
        assert!(points > 0);
        assert_eq!(
            c.matches("<circle class=\"pt").count(),
            points,
            "{}",
            &c[..200]
        );
    }
    assert!(
        dom.matches("class=\"cp\"").count() >= 1,
        "no change point drawn"
    );

    let shot = tmp.path().join("shot.png");
    let out = browse(
        &page,
        &tmp.path().join("profile-shot"),
        &[
            "--window-size=1400,1800",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(out.status.success(), "chromium failed: {out:?}");
    let (w, h, pixels) = png::decode(&std::fs::read(&shot).expect("a screenshot"));
    assert_eq!((w, h), (1400, 1800));
    let mut colours: Vec<[u8; 3]> = pixels.clone();
    colours.sort_unstable();
    colours.dedup();
    let ink = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
    println!(
        "screenshot {w}×{h}: {} colours, {:.1} % not white",
        colours.len(),
        ink as f64 / pixels.len() as f64 * 100.0
    );
    assert!(
        colours.len() >= 16,
        "{} colours: a blank page",
        colours.len()
    );
    assert!(
        ink * 100 >= pixels.len(),
        "under 1 % of the screenshot is not white"
    );
}

/// Just enough PNG to read a browser's screenshot: 8-bit RGB or RGBA, not interlaced.
mod png {
    /// `(width, height, RGB pixels)`.
    pub fn decode(bytes: &[u8]) -> (usize, usize, Vec<[u8; 3]>) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        let (mut pos, mut idat) = (8, Vec::new());
        let (mut w, mut h, mut channels) = (0, 0, 0);
        while pos + 8 <= bytes.len() {
            let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
            let kind = &bytes[pos + 4..pos + 8];
            let data = &bytes[pos + 8..pos + 8 + len];
            match kind {
                b"IHDR" => {
                    w = u32::from_be_bytes(data[0..4].try_into().unwrap()) as usize;
                    h = u32::from_be_bytes(data[4..8].try_into().unwrap()) as usize;
                    assert_eq!(data[8], 8, "bit depth");
                    channels = match data[9] {
                        2 => 3,
                        6 => 4,
                        other => panic!("colour type {other}"),
                    };
                    assert_eq!(data[12], 0, "interlaced");
                }
                b"IDAT" => idat.extend_from_slice(data),
                _ => {}
            }
            pos += 12 + len;
        }
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&idat).expect("zlib data");
        let stride = w * channels;
        assert_eq!(raw.len(), h * (stride + 1), "image data size");
        let mut out = vec![0u8; h * stride];
        for y in 0..h {
            let filter = raw[y * (stride + 1)];
            let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
            for x in 0..stride {
                let a = if x >= channels {
                    out[y * stride + x - channels]
                } else {
                    0
                };
                let b = if y > 0 { out[(y - 1) * stride + x] } else { 0 };
                let c = if x >= channels && y > 0 {
                    out[(y - 1) * stride + x - channels]
                } else {
                    0
                };
                let predicted = match filter {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    4 => {
                        let p = i16::from(a) + i16::from(b) - i16::from(c);
                        let (pa, pb, pc) = (
                            (p - i16::from(a)).abs(),
                            (p - i16::from(b)).abs(),
                            (p - i16::from(c)).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                    other => panic!("filter {other}"),
                };
                out[y * stride + x] = line[x].wrapping_add(predicted);
            }
        }
        let pixels = out
            .chunks_exact(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        (w, h, pixels)
    }
}
