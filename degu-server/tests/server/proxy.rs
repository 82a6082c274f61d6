//! ProxyApp end to end: client → proxy → upstream, bodies streaming
//! through with chunk boundaries and extensions intact. Needs the `proxy`
//! feature (on in `cargo test --workspace`, which degu-tls's tests enable).
#![cfg(feature = "proxy")]

use std::time::Duration;

use degu_client::Client;
use degu_core::{Address, Chunk, ChunkedBodyIter, Headers, Incoming};
use degu_server::proxy::ProxyApp;
use degu_server::{Server, ServerHandle, ServerOptions, demo};

use crate::util::TempDir;

fn opts() -> ServerOptions {
    ServerOptions::default().with_timeout(Some(Duration::from_secs(10)))
}

fn upstream(address: &Address) -> ServerHandle {
    Server::bind(address, demo::app, opts())
        .unwrap()
        .spawn()
        .unwrap()
}

fn proxy_to(address: &Address) -> ServerHandle {
    let client = Client::new(address.clone());
    Server::bind(&degu_core::IPV4_LOOPBACK, ProxyApp::new(client), opts())
        .unwrap()
        .spawn()
        .unwrap()
}

fn chunks() -> Vec<Chunk> {
    vec![
        Chunk::with_ext("i", "0", "one"),
        Chunk::new("two two"),
        Chunk::with_ext("json", "yes", "{\"a\":[1,2,3]}"),
        Chunk::with_ext("end", "true", ""),
    ]
}

#[test]
fn chunk_boundaries_and_extensions_survive_a_proxy_chain() {
    let up = upstream(&degu_core::IPV4_LOOPBACK);
    let p1 = proxy_to(up.address());
    let p2 = proxy_to(p1.address()); // two hops
    for front in [&p1, &p2] {
        let mut conn = Client::new(front.address().clone()).connect().unwrap();
        let r = conn
            .put("/echo", &Headers::new(), ChunkedBodyIter::new(chunks()))
            .unwrap();
        assert_eq!(r.status, 200);
        let Some(Incoming::Chunked(body)) = r.body else {
            panic!("not chunked")
        };
        assert_eq!(body.map(Result::unwrap).collect::<Vec<_>>(), chunks());

        // A generated chunked response, and a content-length one.
        let r = conn.get("/chunks/3/5", &Headers::new()).unwrap();
        let Some(Incoming::Chunked(body)) = r.body else {
            panic!("not chunked")
        };
        let got: Vec<Chunk> = body.map(Result::unwrap).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[2], Chunk::with_ext("i", "2", [0u8, 1, 2, 3, 4]));
        let mut r = conn.get("/bytes/100000", &Headers::new()).unwrap();
        let b = r.read_all().unwrap();
        assert!(b.len() == 100_000 && b.iter().enumerate().all(|(i, &x)| x == (i % 251) as u8));
        // The query and the remaining path are forwarded.
        let mut r = conn.get("/info?x=1", &Headers::new()).unwrap();
        let info = String::from_utf8(r.read_all().unwrap()).unwrap();
        assert!(info.contains("\"uri\":\"/info?x=1\""), "{info}");
        let r = conn.head("/", &Headers::new()).unwrap();
        assert_eq!(
            (r.status, r.headers.get("content-length")),
            (200, Some("12"))
        );
    }
}

#[test]
fn a_large_body_streams_through_the_proxy() {
    let up = upstream(&degu_core::IPV4_LOOPBACK);
    let p = proxy_to(up.address());
    let mut conn = Client::new(p.address().clone()).connect().unwrap();
    let n = 64u64 << 20;
    let mut r = conn.get(&format!("/bytes/{n}"), &Headers::new()).unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    loop {
        let k = std::io::Read::read(&mut r.body.as_mut().unwrap(), &mut buf).unwrap();
        if k == 0 {
            break;
        }
        assert_eq!(buf[0], (got % 251) as u8);
        got += k as u64;
    }
    assert_eq!(got, n);
}

#[test]
fn a_large_echo_streams_both_ways_through_a_proxy_chain() {
    // The upstream echoes as the body arrives, so each proxy reads its
    // upstream's response while it still sends the request body up (and
    // the client too): no hop may wait for the whole body first.
    let up = upstream(&degu_core::IPV4_LOOPBACK);
    let p1 = proxy_to(up.address());
    let p2 = proxy_to(p1.address());
    let data: Vec<u8> = (0..32usize << 20).map(|i| (i % 251) as u8).collect();
    let mut conn = Client::new(p2.address().clone()).connect().unwrap();
    let mut r = conn.put("/echo", &Headers::new(), &data[..]).unwrap();
    assert_eq!(r.status, 200);
    assert!(r.read_all().unwrap() == data);
    let chunks: Vec<Chunk> = data
        .chunks(1 << 20)
        .map(Chunk::new)
        .chain([Chunk::new("")])
        .collect();
    let r = conn
        .put(
            "/echo",
            &Headers::new(),
            ChunkedBodyIter::new(chunks.clone()),
        )
        .unwrap();
    let Some(Incoming::Chunked(body)) = r.body else {
        panic!("not chunked")
    };
    assert!(body.map(Result::unwrap).collect::<Vec<_>>() == chunks);
}

#[test]
fn the_proxy_reconnects_once_when_its_upstream_restarted() {
    let dir = TempDir::new();
    let address = Address::unix(dir.path().join("s")).unwrap();
    let up = upstream(&address);
    let p = proxy_to(&address);
    let mut conn = Client::new(p.address().clone()).connect().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert_eq!(r.read_all().unwrap(), b"hello, world");
    assert_eq!(up.shutdown(), 0);
    let up2 = upstream(&address); // same path, a new server
    for _ in 0..3 {
        let mut r = conn.get("/", &Headers::new()).unwrap();
        assert_eq!(
            (r.status, r.read_all().unwrap()),
            (200, b"hello, world".to_vec())
        );
    }
    let mut r = conn.put("/echo", &Headers::new(), "after restart").unwrap();
    assert_eq!(r.read_all().unwrap(), b"after restart");
    drop(up2);
    // Upstream gone for good: 502, and the downstream connection goes on.
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert_eq!(r.status, 502);
    r.read_all().unwrap();
    let mut r = conn.get("/", &Headers::new()).unwrap();
    assert_eq!(r.status, 502);
    r.read_all().unwrap();
}
