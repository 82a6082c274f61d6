//! [`FilesApp`]: serves a directory, with ranges and `sendfile`.

use std::fs::File;
use std::path::{Path, PathBuf};

use degu_core::{Body, Method, Response};

use crate::app::{App, AppResult};
use crate::request::Request;
use crate::session::Session;

/// Serves the files under a directory: `GET` and `HEAD` (others get
/// `405`), `content-length`, a single `range` (`206` with
/// `content-range`; past the end `416`), a `content-type` from the
/// extension, `index.html` for a directory.
///
/// It never leaves its directory: `.` and `..` and any component that
/// starts with a dot are `404` (dot files are not served), a symlink that
/// leads out of the directory is `403`; absolute components and NUL bytes
/// cannot get past the request parser.
///
/// Over a plain socket the file goes out with `sendfile(2)`; over TLS
/// through an ordinary read/write loop.
///
/// ```
/// use degu_server::{App, Request, Session, files::FilesApp};
/// use degu_core::Method;
/// let dir = std::env::temp_dir().join(format!("degu-files-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// std::fs::write(dir.join("hello.txt"), "hello, world").unwrap();
/// let app = FilesApp::new(&dir).unwrap();
/// let mut s = Session::new(degu_core::IPV4_LOOPBACK, None, 10);
/// let r = app.call(&mut s, &mut Request::new(Method::Get, "/hello.txt").unwrap()).unwrap();
/// assert_eq!(r.status, 200);
/// assert_eq!(r.headers.get("content-type"), Some("text/plain; charset=utf-8"));
/// assert_eq!(r.body.framing(), degu_core::Framing::Length(12));
/// let r = app.call(&mut s, &mut Request::new(Method::Get, "/../etc/passwd").unwrap()).unwrap();
/// assert_eq!(r.status, 404);
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct FilesApp {
    root: PathBuf,
}

impl FilesApp {
    /// Serves `dir` (which must exist; it is canonicalized now).
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<FilesApp> {
        let root = dir.as_ref().canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(FilesApp { root })
    }

    /// The served directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// The `content-type` for a file name's extension (common types; others
/// are `application/octet-stream`).
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("wasm") => "application/wasm",
        Some("pdf") => "application/pdf",
        Some("woff") => "font/woff",
        Some("woff2") => "font/woff2",
        Some("mp4") => "video/mp4",
        Some("webm") => "video/webm",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

fn status(code: u16, reason: &'static str) -> AppResult {
    Ok(Response::new(code, reason))
}

impl App for FilesApp {
    fn call(&self, _session: &mut Session, request: &mut Request) -> AppResult {
        let head = match request.method {
            Method::Get => false,
            Method::Head => true,
            _ => {
                return Ok(Response::new(405, "Method Not Allowed").header("allow", "GET, HEAD")?);
            }
        };
        let mut path = self.root.clone();
        let n = request.path.len();
        for (i, c) in request.path.iter().enumerate() {
            if c.is_empty() && i + 1 == n {
                break; // a trailing slash: the directory's index
            }
            if c.is_empty() || c.starts_with('.') || c.contains(['/', '\\', '\0']) {
                return status(404, "Not Found");
            }
            path.push(c);
        }
        let mut real = match path.canonicalize() {
            Ok(p) => p,
            Err(_) => return status(404, "Not Found"),
        };
        if !real.starts_with(&self.root) {
            return status(403, "Forbidden");
        }
        let trailing_slash = request.path.last().is_some_and(String::is_empty);
        let is_dir = real.is_dir();
        if is_dir {
            if request.path.last().is_some_and(|c| !c.is_empty()) {
                let location = format!("{}/", request.uri.split('?').next().unwrap_or("/"));
                return Ok(Response::new(301, "Moved Permanently").header("location", location)?);
            }
            real = real.join("index.html");
            match real.canonicalize() {
                Ok(p) if p.starts_with(&self.root) => real = p,
                Ok(_) => return status(403, "Forbidden"),
                Err(_) => return status(404, "Not Found"),
            }
        }
        let file = match File::open(&real) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return status(403, "Forbidden");
            }
            Err(_) => return status(404, "Not Found"),
        };
        let meta = file.metadata()?;
        // A trailing slash names a directory, never a file.
        if !meta.is_file() || (trailing_slash && !is_dir) {
            return status(404, "Not Found");
        }
        let total = meta.len();
        let mut r;
        let (start, len) = match request.range() {
            None => {
                r = Response::new(200, "OK");
                (0, total)
            }
            Some(range) => match range.content_range(total) {
                Ok(cr) => {
                    r = Response::new(206, "Partial Content")
                        .header("content-range", cr.to_string())?;
                    (cr.start(), cr.len())
                }
                Err(_) => {
                    return Ok(Response::new(416, "Range Not Satisfiable")
                        .header("content-range", format!("bytes */{total}"))?);
                }
            },
        };
        r = r
            .header("content-type", content_type(&real))?
            .header("accept-ranges", "bytes")?;
        if head {
            return Ok(r.header("content-length", len.to_string())?);
        }
        Ok(r.body(Body::file(file, start, len)))
    }
}
