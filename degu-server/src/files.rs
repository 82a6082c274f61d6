//! [`FilesApp`]: serves a directory, with ranges and `sendfile`.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use degu_core::{Body, Method, Response};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::app::{App, AppResult};
use crate::request::Request;
use crate::session::Session;

/// Serves the files under a directory: `GET` and `HEAD` (others get
/// `405`), `content-length`, a single `range` (`206` with
/// `content-range`; past the end `416`), a `content-type` from the
/// extension, `index.html` for a directory.
///
/// It never leaves its directory. A component that starts with a dot is
/// `404` (dot files are not served); `.` and `..` components, escaped
/// slashes, absolute components and NUL bytes cannot get past the request
/// parser. Each file
/// is opened beneath the directory in one step (`openat2` with
/// `RESOLVE_BENEATH`), so a symlink is followed only while it stays
/// inside (one that leads out is `403`), and a directory swapped for a
/// symlink while a request runs cannot lead it outside either. An
/// absolute symlink, which `RESOLVE_BENEATH` does not follow, and a kernel
/// without `openat2` (before Linux 5.6, or a sandbox that forbids it) take
/// the other safe way: the file is opened once, and the path of what was
/// opened (`/proc/self/fd`) must be inside. Only regular files are served:
/// a FIFO, a socket or a device is `404`, and is opened without waiting
/// (`O_NONBLOCK`), so a FIFO cannot hold the connection.
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
/// let r = app.call(&mut s, &mut Request::new(Method::Get, "/.profile").unwrap()).unwrap();
/// assert_eq!(r.status, 404); // dot files are not served
/// assert!(Request::new(Method::Get, "/../etc/passwd").is_err()); // nor is `..` ever a component
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct FilesApp {
    root: PathBuf,
    /// The root, opened once: files are opened beneath it.
    dir: Arc<OwnedFd>,
}

impl FilesApp {
    /// Serves `dir` (which must exist; it is canonicalized and opened
    /// now).
    pub fn new(dir: impl AsRef<Path>) -> io::Result<FilesApp> {
        let root = dir.as_ref().canonicalize()?;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(&root, flags, Mode::empty()).map_err(|e| {
            let e = io::Error::from(e);
            io::Error::new(e.kind(), format!("{}: {e}", root.display()))
        })?;
        Ok(FilesApp {
            root,
            dir: Arc::new(fd),
        })
    }

    /// The served directory (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Opens `rel` (a relative path of checked components, or `.`) beneath
    /// the root, without following a symlink out of it and without waiting
    /// on a FIFO.
    fn open(&self, rel: &Path) -> Result<File, Errno> {
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(self.dir.as_fd(), rel, flags, Mode::empty(), resolve) {
            Ok(fd) => Ok(File::from(fd)),
            // An absolute symlink (which `RESOLVE_BENEATH` never follows)
            // may still lead inside; or there is no openat2 here. Open
            // once, then check what was opened.
            Err(Errno::XDEV | Errno::NOSYS | Errno::PERM) => open_checked(&self.root, rel),
            Err(e) => Err(e),
        }
    }
}

/// Opens `root/rel` once (`O_NONBLOCK`: a FIFO does not wait for a
/// writer), then checks that what was opened is beneath `root` by the
/// path the kernel gives for the descriptor: whatever was swapped in
/// along the way, the file served is the one checked. `EXDEV` when it is
/// outside.
fn open_checked(root: &Path, rel: &Path) -> Result<File, Errno> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = rustix::fs::open(root.join(rel), flags, Mode::empty())?;
    let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let opened = std::fs::read_link(link).map_err(|_| Errno::XDEV)?;
    if opened.starts_with(root) {
        Ok(File::from(fd))
    } else {
        Err(Errno::XDEV)
    }
}

/// The response for a file that could not be opened.
fn open_failed(e: Errno) -> AppResult {
    match e {
        // Out of the root (a symlink leading out, or an absolute one),
        // or not readable.
        Errno::XDEV | Errno::LOOP | Errno::ACCESS | Errno::PERM => status(403, "Forbidden"),
        _ => status(404, "Not Found"),
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
        let mut rel = PathBuf::from(".");
        let n = request.path.len();
        for (i, c) in request.path.iter().enumerate() {
            if c.is_empty() && i + 1 == n {
                break; // a trailing slash: the directory's index
            }
            if c.is_empty() || c.starts_with('.') || c.contains(['/', '\\', '\0']) {
                return status(404, "Not Found");
            }
            rel.push(c);
        }
        let trailing_slash = request.path.last().is_some_and(String::is_empty);
        let mut file = match self.open(&rel) {
            Ok(f) => f,
            Err(e) => return open_failed(e),
        };
        let mut meta = file.metadata()?;
        if meta.is_dir() {
            if !trailing_slash && !request.path.is_empty() {
                let location = format!("{}/", request.uri.split('?').next().unwrap_or("/"));
                return Ok(Response::new(301, "Moved Permanently").header("location", location)?);
            }
            rel.push("index.html");
            file = match self.open(&rel) {
                Ok(f) => f,
                Err(e) => return open_failed(e),
            };
            meta = file.metadata()?;
        } else if trailing_slash {
            // A trailing slash names a directory, never a file.
            return status(404, "Not Found");
        }
        // Only regular files: not a FIFO, a socket or a device.
        if !meta.is_file() {
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
            .header("content-type", content_type(&rel))?
            .header("accept-ranges", "bytes")?;
        if head {
            return Ok(r.header("content-length", len.to_string())?);
        }
        Ok(r.body(Body::file(file, start, len)))
    }
}
