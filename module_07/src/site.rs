//! The demo server's small web site, for lesson 7.4's crawler: a few hundred
//! HTML pages that link to each other, with everything a crawler must cope
//! with. Each page links
//!
//! - to other pages, written every way HTML allows: relative (`12.html`,
//!   `./12.html#top`, `../page/12.html`), from the root (`/site/page/12.html`)
//!   and absolute (`http://127.0.0.1:PORT/site/page/12.html`);
//! - to itself and to pages that link back (cycles), and to one page twice
//!   (duplicates);
//! - now and then to a file (`/site/files/3.bin`), a slow page, a page that
//!   fails (404, 500 every time, 500 once, a connection dropped midway, an
//!   answer slower than any sensible time limit), a redirect, another host
//!   (`http://localhost:PORT/…`: the same server under another name, so a
//!   test can see that the crawler never went there), and links that are no
//!   web pages (`mailto:`, `javascript:`);
//! - and, inside an HTML comment, to a page nothing else links to: a regular
//!   expression would find that link, an HTML parser does not.
//!
//! The site map is a pure function ([`Resource::links`]), so a test computes
//! the set a correct crawler must visit ([`reachable`]) without crawling.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

/// Pages `/site/page/0.html` … that link to each other.
pub const PAGES: usize = 200;
/// Pages `PAGES ..` that exist but that no page links to: the first is the
/// target of the redirect, the second linked only from inside a comment,
/// the third only from the page on the other host.
pub const ORPHANS: usize = 3;
/// Every 20th page links to a file.
pub const FILES: usize = PAGES / 20;
/// Pages 25, 75, 125, … link to a slow page each.
pub const SLOW_PAGES: usize = PAGES / 50;
/// Where a crawl of the site starts.
pub const START: &str = "/site/page/0.html";

/// How the site's pages behave in time.
#[derive(Clone, Copy, Debug)]
pub struct SiteConfig {
    /// Every page and file answers after this long.
    pub delay: Duration,
    /// The `/site/slow/…` pages answer after this long.
    pub slow: Duration,
    /// `/site/too-slow.html` answers after this long: longer than the
    /// crawler's time limit per request, so it fails as a time-out.
    pub too_slow: Duration,
}

impl SiteConfig {
    /// Lesson 7.4's demo: 5 ms a page, four slow pages of 100 ms, and one
    /// that outlasts the lesson's time limit of 0.5 s.
    pub const DEMO: Self = Self {
        delay: Duration::from_millis(5),
        slow: Duration::from_millis(100),
        too_slow: Duration::from_secs(3),
    };
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            delay: Duration::ZERO,
            slow: Duration::ZERO,
            too_slow: Duration::from_secs(10),
        }
    }
}

/// A path on the site and what the server does there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// `/site/page/{n}.html`, an HTML page with links.
    Page(usize),
    /// `/site/slow/{k}.html`, a page that answers after [`SiteConfig::slow`].
    Slow(usize),
    /// `/site/files/{k}.bin`, a file of [`file_size`] bytes (not HTML).
    File(usize),
    /// `/site/missing.html`: 404.
    Missing,
    /// `/site/broken.html`: 500, every time.
    Broken,
    /// `/site/flaky.html`: 500 the first time, then a page.
    Flaky,
    /// `/site/dropped.html`: half a page, then the connection drops.
    Dropped,
    /// `/site/too-slow.html`: a page after [`SiteConfig::too_slow`].
    TooSlow,
    /// `/site/moved.html`: 301, to the first orphan page.
    Moved,
    /// `/site/offsite.html`: linked only under another host name.
    Offsite,
}

/// Where a link leads, as far as a crawler of this site is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A resource of this site, on this host.
    Here(Resource),
    /// Another host, or no web page at all (`mailto:`): never fetched.
    Elsewhere,
}

/// The size of file `k`: no two alike, none a round number.
pub fn file_size(k: usize) -> usize {
    3_000 + 1_517 * k
}

impl Resource {
    /// The resource at `path` (e.g. `/site/page/12.html`), if any.
    pub fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/site/")?;
        let numbered = |prefix: &str, suffix: &str, limit: usize| {
            let n: usize = rest
                .strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse()
                .ok()?;
            // `012.html` parses as 12: the same page under a second path.
            (n < limit && n.to_string().len() + prefix.len() + suffix.len() == rest.len())
                .then_some(n)
        };
        Some(match rest {
            "missing.html" => Self::Missing,
            "broken.html" => Self::Broken,
            "flaky.html" => Self::Flaky,
            "dropped.html" => Self::Dropped,
            "too-slow.html" => Self::TooSlow,
            "moved.html" => Self::Moved,
            "offsite.html" => Self::Offsite,
            _ => {
                if let Some(n) = numbered("page/", ".html", PAGES + ORPHANS) {
                    Self::Page(n)
                } else if let Some(k) = numbered("slow/", ".html", SLOW_PAGES) {
                    Self::Slow(k)
                } else {
                    Self::File(numbered("files/", ".bin", FILES)?)
                }
            }
        })
    }

    /// The resource's path.
    pub fn path(self) -> String {
        match self {
            Self::Page(n) => format!("/site/page/{n}.html"),
            Self::Slow(k) => format!("/site/slow/{k}.html"),
            Self::File(k) => format!("/site/files/{k}.bin"),
            Self::Missing => "/site/missing.html".into(),
            Self::Broken => "/site/broken.html".into(),
            Self::Flaky => "/site/flaky.html".into(),
            Self::Dropped => "/site/dropped.html".into(),
            Self::TooSlow => "/site/too-slow.html".into(),
            Self::Moved => "/site/moved.html".into(),
            Self::Offsite => "/site/offsite.html".into(),
        }
    }

    /// Where [`Resource::Moved`] redirects: a page no link leads to.
    pub const MOVED_TO: Self = Self::Page(PAGES);
    /// The orphan page that only a commented-out link names.
    pub const IN_A_COMMENT: Self = Self::Page(PAGES + 1);

    /// The links on this resource's page, each as written in its `href`
    /// (`origin` is `http://127.0.0.1:PORT`) with where it leads. Empty for
    /// what is no HTML page with links (files, failures, the redirect).
    pub fn links(self, origin: &str) -> Vec<(String, Target)> {
        let here = Target::Here;
        let page = |n: usize| here(Self::Page(n % PAGES));
        match self {
            Self::Page(n) => {
                let (a, b, c) = ((7 * n + 1) % PAGES, (13 * n + 5) % PAGES, (n + 1) % PAGES);
                let mut links = vec![
                    (format!("{a}.html"), page(a)),
                    // The same page again, and a fragment: one URL to fetch.
                    (format!("./{a}.html#top"), page(a)),
                    (format!("/site/page/{b}.html"), page(b)),
                    (format!("{origin}/site/page/{c}.html"), page(c)),
                    // Itself: the shortest cycle.
                    (format!("../page/{n}.html"), page(n)),
                ];
                if n.is_multiple_of(20) && n / 20 < FILES {
                    links.push((format!("../files/{}.bin", n / 20), here(Self::File(n / 20))));
                }
                if n % 50 == 25 {
                    links.push((format!("../slow/{}.html", n / 50), here(Self::Slow(n / 50))));
                }
                let special = match n {
                    0 => Some(("mailto:crawler@example.com".into(), Target::Elsewhere)),
                    10 => Some(("../missing.html".into(), here(Self::Missing))),
                    20 => Some(("/site/broken.html".into(), here(Self::Broken))),
                    30 => Some(("../flaky.html".into(), here(Self::Flaky))),
                    40 => Some(("../dropped.html".into(), here(Self::Dropped))),
                    50 => Some(("../too-slow.html".into(), here(Self::TooSlow))),
                    60 => Some(("../moved.html".into(), here(Self::Moved))),
                    70 => Some((offsite_href(origin), Target::Elsewhere)),
                    80 => Some(("javascript:void(0)".into(), Target::Elsewhere)),
                    _ => None,
                };
                links.extend(special);
                links
            }
            Self::Slow(k) => vec![
                (format!("../page/{}.html", 30 * k + 7), page(30 * k + 7)),
                (START.into(), here(Self::Page(0))),
            ],
            Self::Flaky | Self::TooSlow => vec![("page/199.html".into(), page(199))],
            // Only a crawler that strays onto the other host finds this one.
            Self::Offsite => vec![(
                format!("page/{}.html", PAGES + 2),
                here(Self::Page(PAGES + 2)),
            )],
            Self::File(_) | Self::Missing | Self::Broken | Self::Dropped | Self::Moved => {
                Vec::new()
            }
        }
    }

    /// Where a crawler that stays on this host goes from here: the links
    /// to this site, and the redirect's target.
    pub fn leads_to(self) -> Vec<Self> {
        if self == Self::Moved {
            return vec![Self::MOVED_TO];
        }
        // Hosts do not matter for where a link leads.
        self.links("http://host")
            .into_iter()
            .filter_map(|(_, target)| match target {
                Target::Here(resource) => Some(resource),
                Target::Elsewhere => None,
            })
            .collect()
    }
}

/// The link to [`Resource::Offsite`]: the same server, but under the name
/// `localhost`, which is another host than `127.0.0.1` to a crawler.
fn offsite_href(origin: &str) -> String {
    let port = origin.rsplit(':').next().unwrap_or_default();
    format!("http://localhost:{port}/site/offsite.html")
}

/// The paths a correct crawler of this host visits from [`START`]: every
/// resource reachable by links and redirects, each once. The site's map,
/// walked breadth-first; what the tests compare the crawlers against.
pub fn reachable() -> BTreeSet<String> {
    let start = Resource::parse(START).expect("START is on the site");
    let mut seen = BTreeSet::from([start]);
    let mut queue = VecDeque::from([start]);
    while let Some(resource) = queue.pop_front() {
        for next in resource.leads_to() {
            if seen.insert(next) {
                queue.push_back(next);
            }
        }
    }
    seen.into_iter().map(Resource::path).collect()
}

/// The HTML of a page with `links` (as from [`Resource::links`]), plus the
/// things a crawler must not take for links.
pub fn page_html(title: &str, links: &[(String, Target)]) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\n<body><h1>{title}</h1>\n<ul>\n"
    );
    for (i, (href, _)) in links.iter().enumerate() {
        // Attributes as HTML allows them: quoted, unquoted, upper case.
        match i % 3 {
            0 => html.push_str(&format!("<li><a href=\"{href}\">link {i}</a>\n")),
            1 => html.push_str(&format!("<li><A HREF='{href}' class=x>link {i}</A>\n")),
            _ => html.push_str(&format!(
                "<li><a title=\"a > b\" href=\"{href}\">link {i}</a>\n"
            )),
        }
    }
    html.push_str(&format!(
        "</ul>\n<!-- retired: <a href=\"{}\">old</a> -->\n<a name=\"top\">no href</a>\n</body></html>\n",
        Resource::IN_A_COMMENT.path()
    ));
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_parses_back_to_its_resource() {
        let mut all: Vec<Resource> = (0..PAGES + ORPHANS).map(Resource::Page).collect();
        all.extend((0..SLOW_PAGES).map(Resource::Slow));
        all.extend((0..FILES).map(Resource::File));
        all.extend([
            Resource::Missing,
            Resource::Broken,
            Resource::Flaky,
            Resource::Dropped,
            Resource::TooSlow,
            Resource::Moved,
            Resource::Offsite,
        ]);
        for resource in all {
            assert_eq!(Resource::parse(&resource.path()), Some(resource));
        }
        for bad in [
            "/site/page/012.html",
            "/site/page/203.html",
            "/site/x",
            "/page/1.html",
        ] {
            assert_eq!(Resource::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_reachable_set_has_every_kind_but_no_orphan_and_no_other_host() {
        let reachable = reachable();
        // All linked pages, the redirect's target, the files, the slow
        // pages, the six special ones; not the other two orphans, nor the
        // page linked only from the other host.
        assert_eq!(reachable.len(), PAGES + 1 + FILES + SLOW_PAGES + 6);
        assert!(reachable.contains(&Resource::MOVED_TO.path()));
        assert!(!reachable.contains(&Resource::IN_A_COMMENT.path()));
        assert!(!reachable.contains(&Resource::Offsite.path()));
        assert!(!reachable.contains(&Resource::Page(PAGES + 2).path()));
    }
}
