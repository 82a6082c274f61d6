//! Every address family: 127.0.0.1, [::1], a unix path, abstract unix
//! names (kernel-chosen and named); the bound address is getsockname's;
//! AF_UNIX sessions carry the peer's credentials.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use degu_core::{IPV4_LOOPBACK, IPV6_LOOPBACK, ScopeId};
use degu_server::{Address, Server, ServerOptions, demo};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::util::{Client, Json, Stream, TempDir, proc_status, req};

/// This process's `(pid, effective uid, effective gid)`.
fn my_credentials() -> Json {
    let field = |name: &str| -> f64 {
        proc_status(name)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    Json::Arr(vec![
        Json::Num(f64::from(std::process::id())),
        Json::Num(field("Uid")),
        Json::Num(field("Gid")),
    ])
}

fn bind(address: &Address) -> Server {
    Server::bind(address, demo::app, ServerOptions::default()).unwrap()
}

/// The server's address is what getsockname says, and round-trips as text.
fn check_address(server: &Server) -> Address {
    let address = server.address().clone();
    let from_kernel = degu_server::socket::from_sock_addr(&server.sock().local_addr().unwrap());
    assert_eq!(address, from_kernel);
    assert_eq!(address.to_string().parse::<Address>().unwrap(), address);
    address
}

#[test]
fn ipv4_loopback() {
    let server = bind(&IPV4_LOOPBACK);
    let address = check_address(&server);
    let Address::Tcp4 { ip, port } = address else {
        panic!("{address:?}")
    };
    assert_eq!(ip, Ipv4Addr::LOCALHOST);
    assert_ne!(port, 0);
    assert_eq!(address.to_string(), format!("127.0.0.1:{port}"));
    let handle = server.spawn().unwrap();
    assert_eq!(handle.address(), &address);
    let mut c = Client::connect(&address);
    let Stream::Tcp(sock) = c.stream() else {
        unreachable!()
    };
    assert_eq!(
        sock.peer_addr().unwrap(),
        SocketAddr::new(IpAddr::V4(ip), port)
    );
    let me = sock.local_addr().unwrap();
    let j = c.get("/info").json();
    assert_eq!(j.get("session").get("address").str(), me.to_string());
    assert_eq!(*j.get("session").get("credentials"), Json::Null);
    assert_eq!(handle.shutdown(), 0);
}

#[test]
fn ipv6_loopback() {
    let server = match Server::bind(&IPV6_LOOPBACK, demo::app, ServerOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            println!("note: skipping the [::1] test, IPv6 loopback unavailable: {e}");
            return;
        }
    };
    let address = check_address(&server);
    let Address::Tcp6 {
        ip,
        port,
        flowinfo,
        ref scope_id,
    } = address
    else {
        panic!("{address:?}")
    };
    assert_eq!(
        (ip, flowinfo, scope_id),
        (Ipv6Addr::LOCALHOST, 0, &ScopeId::Index(0))
    );
    assert_ne!(port, 0);
    assert_eq!(address.to_string(), format!("[::1]:{port}"));
    let handle = server.spawn().unwrap();
    let mut c = Client::connect(&address);
    let Stream::Tcp(sock) = c.stream() else {
        unreachable!()
    };
    let me = sock.local_addr().unwrap();
    assert!(me.is_ipv6());
    let j = c.get("/info").json();
    assert_eq!(j.get("session").get("address").str(), me.to_string());
    assert_eq!(*j.get("session").get("credentials"), Json::Null);
    assert_eq!(
        c.send_body("PUT", "/echo", b"over IPv6").text(),
        "over IPv6"
    );
    assert_eq!(handle.shutdown(), 0);
}

#[test]
fn unix_socket_file() {
    let dir = TempDir::new();
    let path = dir.path().join("degu.sock");
    let address: Address = format!("unix:{}", path.display()).parse().unwrap();
    assert_eq!(address, Address::unix(&path).unwrap());
    let server = bind(&address);
    assert_eq!(check_address(&server), address);
    assert!(path.exists(), "no socket file");
    let handle = server.spawn().unwrap();

    let mut c = Client::connect(&address);
    let j = c.get("/info").json();
    let session = j.get("session");
    assert_eq!(*session.get("credentials"), my_credentials());
    // An unnamed client socket is `unix:@`.
    assert_eq!(session.get("address").str(), "unix:@");
    assert_eq!(
        c.send_body("POST", "/echo", b"over a unix path").text(),
        "over a unix path"
    );
    assert_eq!(handle.shutdown(), 0);
    c.expect_closed();
    assert!(!path.exists(), "socket file left behind");
    assert!(Stream::connect(&address).is_err());
}

static NAMES: AtomicUsize = AtomicUsize::new(0);

fn unique_name(what: &str) -> String {
    format!(
        "degu-test-{what}-{}-{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::SeqCst)
    )
}

#[test]
fn abstract_kernel_chosen_name() {
    let server = bind(&"unix:@".parse().unwrap());
    let address = check_address(&server);
    let Address::Abstract(name) = &address else {
        panic!("{address:?}")
    };
    assert!(!name.is_empty(), "the kernel chose no name");
    let text = address.to_string();
    assert!(
        text.starts_with("unix:@") && text.len() > "unix:@".len(),
        "{text}"
    );
    let parsed: Address = text.parse().unwrap();
    assert_eq!(parsed, address);
    let handle = server.spawn().unwrap();

    // Connect through the address parsed back from its text.
    let mut c = Client::connect(&parsed);
    let j = c.get("/info").json();
    assert_eq!(*j.get("session").get("credentials"), my_credentials());
    assert_eq!(j.get("session").get("address").str(), "unix:@");
    assert_eq!(c.get("/bytes/5").bytes(), [0, 1, 2, 3, 4]);
    assert_eq!(handle.shutdown(), 0);
    c.expect_closed();
    assert!(Stream::connect(&parsed).is_err(), "name still bound");
}

#[test]
fn abstract_name_and_named_peer() {
    let name = unique_name("server");
    let address: Address = format!("unix:@{name}").parse().unwrap();
    assert_eq!(address, Address::Abstract(name.clone().into_bytes()));
    let server = bind(&address);
    assert_eq!(check_address(&server), address);
    let handle = server.spawn().unwrap();

    // A client bound to its own abstract name: the session sees that name.
    let client_name = unique_name("client");
    let sock = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    let mut bind_to = vec![0u8];
    bind_to.extend_from_slice(client_name.as_bytes());
    let path = <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&bind_to);
    sock.bind(&SockAddr::unix(path).unwrap()).unwrap();
    let (_, target) = degu_server::socket::sock_addr(&address).unwrap();
    sock.connect(&target).unwrap();
    let stream: std::os::unix::net::UnixStream = sock.into();
    stream
        .set_read_timeout(Some(crate::util::IO_TIMEOUT))
        .unwrap();
    stream
        .set_write_timeout(Some(crate::util::IO_TIMEOUT))
        .unwrap();
    let mut c = Client::from_stream(Stream::Unix(stream));
    c.send(req("GET", "/info", &[]));
    let j = c.response(false).json();
    assert_eq!(
        j.get("session").get("address").str(),
        format!("unix:@{client_name}")
    );
    assert_eq!(*j.get("session").get("credentials"), my_credentials());
    assert_eq!(handle.shutdown(), 0);
    c.expect_closed();
}
