//! Preamble parsing: degu-core (with all of its validation) side by side
//! with httparse, on the same bytes.
//!
//! Each case is one criterion group `parse-<id>` with two functions,
//! `degu` and `httparse`; `cargo xtask bench` reads their medians.
//!
//! degu-core parses in place (it lowercases header names), so both
//! contenders copy the wire bytes into one reused buffer *inside* the timed
//! closure, then parse that buffer: the copy is the same for both. degu
//! parses the preamble without its `\r\n\r\n` (its `Reader` finds the
//! terminator), httparse the whole wire form (it looks for the terminator
//! itself). Both build their header array inside the closure, and leave
//! their result where the parser put it (behind `black_box`, not moved
//! out by an `unwrap`); that every case parses is checked by the tests of
//! `degu-bench`.

#![allow(
    unreachable_pub,
    reason = "a test or bench binary: `pub` marks what its modules share"
)]
#![allow(
    missing_docs,
    reason = "criterion_group! defines an undocumented pub fn"
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use degu_bench::{Case, REQUESTS, RESPONSES};

fn bench_case(c: &mut Criterion, case: &Case, request: bool) {
    let wire = case.wire;
    let n = wire.len();
    let mut group = c.benchmark_group(case.group());
    group.throughput(Throughput::Bytes(n as u64));
    let mut buf = vec![0u8; n];
    if request {
        group.bench_function("degu", |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(wire));
                let r = degu_core::parse_request(&mut buf[..n - 4]);
                black_box(&r);
            })
        });
        group.bench_function("httparse", |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(wire));
                let mut headers = [httparse::EMPTY_HEADER; 20];
                let mut req = httparse::Request::new(&mut headers);
                let status = req.parse(&buf);
                black_box((&req, &status));
            })
        });
    } else {
        group.bench_function("degu", |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(wire));
                let r = degu_core::parse_response(&mut buf[..n - 4]);
                black_box(&r);
            })
        });
        group.bench_function("httparse", |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(wire));
                let mut headers = [httparse::EMPTY_HEADER; 20];
                let mut resp = httparse::Response::new(&mut headers);
                let status = resp.parse(&buf);
                black_box((&resp, &status));
            })
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    for case in REQUESTS {
        bench_case(c, case, true);
    }
    for case in RESPONSES {
        bench_case(c, case, false);
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
