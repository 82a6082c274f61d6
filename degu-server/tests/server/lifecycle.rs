//! Graceful shutdown: in-flight requests finish, idle connections close at
//! once, the threads are joined, new connections are refused.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread;
use std::time::Duration;

use degu_server::{App, AppResult, Body, Request, Response, ServerOptions, Session, demo};

use crate::util::{Client, IO_TIMEOUT, RespBody, Stream, pattern, req, serve};

/// Blocks `GET /block` until the test releases it; answers anything else
/// at once.
struct Blocker {
    entered: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
}

impl App for Blocker {
    fn call(&self, _: &mut Session, request: &mut Request) -> AppResult {
        if request.path == ["block"] {
            self.entered.lock().unwrap().send(()).unwrap();
            self.release.lock().unwrap().recv_timeout(IO_TIMEOUT)?;
            let body = Body::new(demo::Pattern { pos: 0 }, 1 << 20);
            return Ok(Response::new(200, "OK").body(body));
        }
        Ok(Response::new(200, "OK").body("ok"))
    }
}

fn blocker(options: ServerOptions) -> (degu_server::ServerHandle, Receiver<()>, Sender<()>) {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let app = Blocker {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    };
    (serve(app, options), entered, release)
}

fn refused(address: &degu_server::Address) -> bool {
    match Stream::connect(address) {
        Err(_) => true,
        Ok(s) => {
            // Accepted by the kernel only if something still listens;
            // it must then never be served.
            let mut c = Client::from_stream(s);
            let _ = c.try_send(req("GET", "/", &[]));
            c.finish().0.is_empty()
        }
    }
}

#[test]
fn shutdown_lets_the_request_in_flight_finish() {
    let (server, entered, release) = blocker(ServerOptions::default());
    let address = server.address().clone();
    let mut idle = Client::connect(&address);
    assert_eq!(idle.get("/").text(), "ok");
    let mut busy = Client::connect(&address);
    busy.send(req("GET", "/block", &[]));
    entered
        .recv_timeout(IO_TIMEOUT)
        .expect("the app was not called");
    assert_eq!(server.connections(), 2);

    let shutter = thread::spawn(move || server.shutdown());
    // The idle keep-alive connection is closed while the request is still
    // in flight.
    idle.expect_closed();
    assert!(Stream::connect(&address).is_err(), "still accepting");
    // Released, the app's whole response arrives, then the close.
    release.send(()).unwrap();
    let r = busy.response(false);
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("connection"), Some("close"));
    assert_eq!(r.body, RespBody::Bytes(pattern(0, 1 << 20)));
    busy.expect_closed();
    assert_eq!(shutter.join().unwrap(), 0, "threads left behind");
    assert!(refused(&address));
}

#[test]
fn shutdown_gives_up_on_a_stuck_app_after_its_bound() {
    let options = ServerOptions::default().with_shutdown_timeout(Duration::from_millis(200));
    let (server, entered, release) = blocker(options);
    let address = server.address().clone();
    let mut busy = Client::connect(&address);
    busy.send(req("GET", "/block", &[]));
    entered
        .recv_timeout(IO_TIMEOUT)
        .expect("the app was not called");
    // The app ignores the shutdown: its socket is shut down after the
    // bound, and shutdown returns, reporting the thread it left behind.
    assert_eq!(server.shutdown(), 1);
    busy.expect_closed();
    release.send(()).unwrap();
    assert!(refused(&address));
}

#[test]
fn shutdown_closes_idle_connections_and_refuses_new_ones() {
    let server = serve(demo::app, ServerOptions::default());
    let address = server.address().clone();
    let mut clients: Vec<Client> = (0..5).map(|_| Client::connect(&address)).collect();
    for c in &mut clients {
        assert_eq!(c.get("/").text(), "hello, world");
    }
    // One connected but silent, one half-way through a preamble.
    let mut silent = Client::connect(&address);
    let mut partial = Client::connect(&address);
    partial.send("GET / HTTP/1.1\r\nhost");
    // Make sure both were accepted before shutting down.
    let mut probe = Client::connect(&address);
    assert_eq!(probe.get("/").text(), "hello, world");
    assert_eq!(server.shutdown(), 0);
    for c in clients
        .iter_mut()
        .chain([&mut silent, &mut partial, &mut probe])
    {
        c.expect_closed();
    }
    assert!(refused(&address));
}

#[test]
fn dropping_the_handle_shuts_down() {
    let server = serve(demo::app, ServerOptions::default());
    let address = server.address().clone();
    let mut c = Client::connect(&address);
    assert_eq!(c.get("/").text(), "hello, world");
    drop(server);
    c.expect_closed();
    assert!(refused(&address));
}
