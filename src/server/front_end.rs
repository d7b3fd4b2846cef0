//! The front end's files: the WASM bundle, its JavaScript and split chunks, the stylesheet and
//! `public/`. A release binary carries them (rust-embed, from the site `build.rs` names); in
//! development `--site-root` reads them from a folder instead. Each is served with the build's
//! brotli or gzip copy when the browser takes it, so nothing is compressed per request; names
//! with a content hash are cached for a year without asking again, the others revalidated by
//! their ETag. The HTML shell links the names found here (`Names`).

use std::{borrow::Cow, collections::HashMap, path::PathBuf, sync::Arc};

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, HeaderValue, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use leptos::{nonce::use_nonce, prelude::*, reactive::owner::ArcStoredValue, WasmSplitManifest};

#[derive(rust_embed::Embed)]
#[folder = "$REFLOOP_SITE_DIR"]
#[allow_missing = true]
struct Embedded;

/// A year, and never revalidated: a changed file has a new name.
const HASHED: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Names without a hash (`favicon.svg`, a development build): the browser asks each time.
const UNHASHED: HeaderValue = HeaderValue::from_static("no-cache");

/// Where the files come from, and the names the pages link to.
#[derive(Clone, Debug)]
pub struct FrontEnd {
    source: Source,
    names: Arc<Names>,
}

#[derive(Clone, Debug)]
enum Source {
    Embedded,
    Folder(PathBuf),
}

/// What the HTML shell links to, under `/pkg`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Names {
    pub css: String,
    pub js: String,
    pub wasm: String,
    /// The lazy routes' loader (`__wasm_split.HASH.js`) and, per route, the chunks it loads.
    pub split: Option<(String, HashMap<String, Vec<String>>)>,
    /// Whether the names carry a content hash (a release build).
    pub hashed: bool,
}

/// One file: its bytes, and its content type.
struct File {
    data: Cow<'static, [u8]>,
    etag: String,
}

impl FrontEnd {
    /// The files in this binary, or in `site_root` when given.
    pub fn new(site_root: Option<PathBuf>) -> FrontEnd {
        let source = match site_root {
            Some(root) => Source::Folder(root),
            None => Source::Embedded,
        };
        let names = Names::from_files(&source.list("pkg/"), |path| source.get(path));
        FrontEnd {
            source,
            names: Arc::new(names),
        }
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The site's top-level files (`public/`, e.g. `favicon.svg`), each served at `/NAME`.
    pub fn public_files(&self) -> Vec<String> {
        self.source
            .list("")
            .into_iter()
            .filter(|p| !p.contains('/') && !p.ends_with(".br") && !p.ends_with(".gz"))
            .collect()
    }

    /// Whether there is a bundle to hydrate the pages with.
    pub fn has_bundle(&self) -> bool {
        !self.names.wasm.is_empty()
    }

    /// Where the files come from, for the start-up log.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Embedded => "carried in the binary".into(),
            Source::Folder(root) => format!("read from {} (--site-root)", root.display()),
        }
    }

    /// The response for `path` (relative to the site, e.g. `pkg/refloop.HASH.wasm`), or `None`
    /// when there is no such file.
    pub fn respond(&self, path: &str, request: &HeaderMap) -> Option<Response> {
        if path.is_empty() || path.split('/').any(|part| part == ".." || part.is_empty()) {
            return None;
        }
        let file = self.source.get(path)?;
        let mime = mime_type(path);
        let accepts = request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let (file, encoding) = [("br", ".br"), ("gzip", ".gz")]
            .into_iter()
            .filter(|(coding, _)| accepts_coding(accepts, coding))
            .find_map(|(coding, ext)| {
                self.source
                    .get(&format!("{path}{ext}"))
                    .map(|f| (f, Some(coding)))
            })
            .unwrap_or((file, None));
        let cache = if self.names.hashed && path.starts_with("pkg/") {
            HASHED
        } else {
            UNHASHED
        };
        let etag = format!("\"{}\"", file.etag);
        let mut response = if request
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.as_bytes() == etag.as_bytes())
        {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            Body::from(file.data).into_response()
        };
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(mime).expect("a MIME type is a header value"),
        );
        headers.insert(header::CACHE_CONTROL, cache);
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        if let Some(coding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
        }
        Some(response)
    }
}

/// The `<head>` links to the stylesheet and, on pages that hydrate, the module that loads the
/// WASM bundle and hydrates the page (with the split loader's chunks for the lazy routes, which
/// leptos_axum preloads per page). The inline script carries the response's nonce.
pub fn head(names: &Names, interactive: bool) -> impl IntoView {
    let stylesheet =
        view! { <link rel="stylesheet" id="leptos" href=format!("/pkg/{}", names.css) /> };
    let scripts = (interactive && !names.wasm.is_empty()).then(|| {
        if let Some((loader, chunks)) = &names.split {
            provide_context(WasmSplitManifest(ArcStoredValue::new((
                "/pkg".to_string(),
                chunks.clone(),
                loader.clone(),
            ))));
        }
        let load = format!(
            "import('/pkg/{js}').then(m => m.default({{ module_or_path: '/pkg/{wasm}' }}).then(() => m.hydrate()));",
            js = names.js,
            wasm = names.wasm
        );
        view! {
            <link rel="modulepreload" href=format!("/pkg/{}", names.js) crossorigin="anonymous" />
            <link
                rel="preload"
                href=format!("/pkg/{}", names.wasm)
                r#as="fetch"
                r#type="application/wasm"
                crossorigin="anonymous"
            />
            <script type="module" nonce=use_nonce()>{load}</script>
        }
    });
    (stylesheet, scripts)
}

/// `GET /pkg/…` and the public files (`/favicon.svg`): the file, or 404.
pub async fn serve(State(front_end): State<FrontEnd>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    front_end
        .respond(path, &headers)
        .unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

impl Source {
    fn get(&self, path: &str) -> Option<File> {
        match self {
            Source::Embedded => Embedded::get(path).map(|f| File {
                etag: hex(&f.metadata.sha256_hash()[..12]),
                data: f.data,
            }),
            Source::Folder(root) => {
                let data = std::fs::read(root.join(path)).ok()?;
                let etag = {
                    use sha2::Digest;
                    hex(&sha2::Sha256::digest(&data)[..12])
                };
                Some(File {
                    data: Cow::Owned(data),
                    etag,
                })
            }
        }
    }

    /// The files under `prefix` (e.g. `pkg/`), relative to the site.
    fn list(&self, prefix: &str) -> Vec<String> {
        match self {
            Source::Embedded => Embedded::iter()
                .filter(|p| p.starts_with(prefix))
                .map(Cow::into_owned)
                .collect(),
            Source::Folder(root) => std::fs::read_dir(root.join(prefix))
                .map(|dir| {
                    dir.flatten()
                        .filter(|f| f.file_type().is_ok_and(|t| t.is_file()))
                        .map(|f| format!("{prefix}{}", f.file_name().to_string_lossy()))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

impl Names {
    /// Finds the bundle's names among `files` (`pkg/…`): `refloop.HASH.css|js|wasm` in a
    /// release build (`refloop.css`, `refloop.js`, `refloop_bg.wasm` in a development one), and
    /// the split loader with its manifest.
    fn from_files(files: &[String], read: impl Fn(&str) -> Option<File>) -> Names {
        let find = |prefix: &str, suffix: &str| -> Option<String> {
            files
                .iter()
                .map(|f| f.trim_start_matches("pkg/"))
                .filter(|f| f.starts_with(prefix) && f.ends_with(suffix))
                .min_by_key(|f| f.len())
                .map(str::to_string)
        };
        let css = find("refloop.", ".css").unwrap_or_default();
        let js = find("refloop.", ".js").unwrap_or_default();
        let wasm = find("refloop", ".wasm").unwrap_or_default();
        let split = find("__wasm_split.", ".js").zip(find("__wasm_split_manifest", ".json"));
        let split = split.and_then(|(loader, manifest)| {
            let file = read(&format!("pkg/{manifest}"))?;
            let chunks = serde_json::from_slice(&file.data).ok()?;
            Some((loader, chunks))
        });
        Names {
            hashed: css.matches('.').count() > 1,
            css,
            js,
            wasm,
            split,
        }
    }
}

/// Whether an `Accept-Encoding` value takes `coding` (and does not refuse it with `q=0`).
fn accepts_coding(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|part| {
        let mut pieces = part.split(';').map(str::trim);
        pieces
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case(coding))
            && pieces.all(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_none_or(|q| q > 0.0)
            })
    })
}

fn mime_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "wasm" => "application/wasm",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_and_gzip_are_taken_only_when_the_browser_accepts_them() {
        assert!(accepts_coding("gzip, deflate, br", "br"));
        assert!(accepts_coding("br;q=0.9, gzip", "gzip"));
        assert!(!accepts_coding("gzip, br;q=0", "br"));
        assert!(!accepts_coding("identity", "gzip"));
        assert!(!accepts_coding("", "br"));
    }

    #[test]
    fn the_bundle_names_are_found_with_or_without_hashes() {
        let files = |names: &[&str]| names.iter().map(|n| format!("pkg/{n}")).collect::<Vec<_>>();
        let release = Names::from_files(
            &files(&[
                "refloop.abc123.css",
                "refloop.abc123.css.br",
                "refloop.def456.js",
                "refloop.def456.js.gz",
                "refloop.0a1b2c.wasm",
                "refloop.0a1b2c.wasm.br",
            ]),
            |_| None,
        );
        assert_eq!(
            (
                release.css.as_str(),
                release.js.as_str(),
                release.wasm.as_str()
            ),
            (
                "refloop.abc123.css",
                "refloop.def456.js",
                "refloop.0a1b2c.wasm"
            )
        );
        assert!(release.hashed);
        let development = Names::from_files(
            &files(&["refloop.css", "refloop.js", "refloop_bg.wasm"]),
            |_| None,
        );
        assert_eq!(development.wasm, "refloop_bg.wasm");
        assert!(!development.hashed);
    }
}
