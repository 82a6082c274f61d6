//! The `http` crate's types through a Degu server and client (feature
//! `http`): an `HttpApp` serving `http::Request`s, `Client::send` sending
//! them, and what Degu refuses named in the error.

#![cfg(feature = "http")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use degu_client::Client;
use degu_core::{Error, Incoming, Outgoing};
use degu_server::interop::HttpApp;
use degu_server::{App, Request, Server, ServerHandle, ServerOptions, Session};

use crate::util::IO_TIMEOUT;

type HttpRequest = http::Request<Option<Incoming<'static>>>;

/// An app in `http` types: echoes the method, URI, a header and the body;
/// `/bad` answers with a header value Degu does not send.
fn server(calls: Arc<AtomicUsize>) -> ServerHandle {
    let app = HttpApp::new(move |mut request: HttpRequest| {
        calls.fetch_add(1, Ordering::SeqCst);
        if request.uri().path() == "/bad" {
            let bad = http::HeaderValue::from_bytes(b"caf\xc3\xa9")?;
            return Ok(http::Response::builder()
                .header("x-name", bad)
                .body(Outgoing::None)?);
        }
        let echo = request
            .headers()
            .get("x-id")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let summary = format!(
            "{} {} {:?}",
            request.method(),
            request.uri(),
            request.version()
        );
        let body: Outgoing<'static> = request.body_mut().take().into();
        Ok(http::Response::builder()
            .status(http::StatusCode::CREATED)
            .header("x-summary", summary)
            .header("x-id", echo)
            .header("set-cookie", "a=1")
            .header("set-cookie", "b=2")
            .body(body)?)
    });
    let options = ServerOptions::default().with_timeout(Some(IO_TIMEOUT));
    Server::bind(&"127.0.0.1:0".parse().unwrap(), app, options)
        .unwrap()
        .spawn()
        .unwrap()
}

#[test]
fn http_requests_and_responses_round_trip_through_degu() {
    let calls = Arc::new(AtomicUsize::new(0));
    let server = server(calls.clone());
    let client = Client::new(server.address().clone()).with_timeout(Some(IO_TIMEOUT));

    let request = http::Request::put("/things/7?fields=a,b")
        .header("x-id", "42")
        .body(b"payload".to_vec())
        .unwrap();
    let mut response = client.send(request).unwrap();
    assert_eq!(response.status(), http::StatusCode::CREATED);
    assert_eq!(response.version(), http::Version::HTTP_11);
    let h = response.headers();
    assert_eq!(h["x-summary"], "PUT /things/7?fields=a,b HTTP/1.1");
    assert_eq!(h["x-id"], "42");
    let cookies: Vec<_> = h.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let body = response.body_mut().as_mut().unwrap().read_all().unwrap();
    assert_eq!(body, b"payload");

    // An absolute URI: its path and query are the target, its authority
    // the host.
    let request = http::Request::get("http://example.test:8080/x")
        .body(())
        .unwrap();
    let mut response = client.send(request).unwrap();
    assert_eq!(response.headers()["x-summary"], "GET /x HTTP/1.1");
    assert!(
        response
            .body_mut()
            .take()
            .unwrap()
            .read_all()
            .unwrap()
            .is_empty()
    );
    assert_eq!(client.connections_opened(), 1);

    // Refused before a byte is sent, naming what was refused.
    let before = calls.load(Ordering::SeqCst);
    let bad = http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap();
    let request = http::Request::get("/")
        .header("x-name", bad)
        .body(())
        .unwrap();
    let e = client.send(request).unwrap_err();
    assert!(
        matches!(e, Error::BadHeaderValue { ref name, .. } if name == "x-name"),
        "{e:?}"
    );
    assert_eq!(e.to_string(), r#"bad x-name value: "caf\xc3\xa9""#);
    let request = http::Request::builder()
        .method(http::Method::TRACE)
        .uri("/")
        .body(())
        .unwrap();
    let e = client.send(request).unwrap_err();
    assert_eq!(e.to_string(), r#"bad method: "TRACE""#);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "nothing reached the app"
    );

    // The app's response with a header Degu does not send is the app's
    // error, which names the header (the server logs it and closes the
    // connection, as for any app error).
    let e = client
        .send(http::Request::get("/bad").body(()).unwrap())
        .unwrap_err();
    assert!(matches!(e, Error::UnexpectedEof(_)), "{e:?}");
    let app = HttpApp::new(|_: HttpRequest| {
        let bad = http::HeaderValue::from_bytes(b"caf\xc3\xa9")?;
        Ok(http::Response::builder().header("x-name", bad).body(())?)
    });
    let mut session = Session::new(degu_core::IPV4_LOOPBACK, None, 1);
    let mut request = Request::new(degu_core::Method::Get, "/").unwrap();
    let e = App::call(&app, &mut session, &mut request).unwrap_err();
    assert_eq!(e.to_string(), r#"bad x-name value: "caf\xc3\xa9""#);
    server.shutdown();
}

#[test]
fn a_request_head_goes_to_http_and_back() {
    let body = degu_core::Incoming::Body(degu_core::Body::new(&b"hi"[..], 2));
    let original = http::Request::post("/a/b%20c?x=[1]")
        .version(http::Version::HTTP_10)
        .header("x-id", "7")
        .header("x-many", "1")
        .header("x-many", "2")
        .body(Some(body))
        .unwrap();
    let mut request = Request::from_http(original).unwrap();
    assert_eq!(request.method, degu_core::Method::Post);
    assert_eq!(request.path, ["a", "b c"]);
    assert_eq!(request.query.as_deref(), Some("x=[1]"));
    assert_eq!(request.version, degu_core::Version::Http10);
    let mut back = request.to_http().unwrap();
    assert!(request.body.is_none(), "the body moved");
    assert_eq!(back.method(), http::Method::POST);
    assert_eq!(back.uri(), "/a/b%20c?x=[1]");
    assert_eq!(back.version(), http::Version::HTTP_10);
    let many: Vec<_> = back.headers().get_all("x-many").iter().collect();
    assert_eq!(many, ["1", "2"]);
    assert_eq!(back.body_mut().take().unwrap().read_all().unwrap(), b"hi");

    // What Degu refuses, named.
    let e = Request::from_http(http::Request::get("/a/../b").body(None).unwrap()).unwrap_err();
    assert!(e.to_string().starts_with("bad uri"), "{e}");
    let e = Request::from_http(
        http::Request::get("/")
            .header("x-pad", "value ")
            .body(None)
            .unwrap(),
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::BadHeaderValue { ref name, .. } if name == "x-pad"),
        "{e:?}"
    );
}
