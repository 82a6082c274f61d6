//! Sixteen bytes at a time: which bytes of a block fall outside a class,
//! whether a block starts with a known header name, and lowercasing a
//! short name in place.
//!
//! The parser's hot loops (header names, header values, reason phrases)
//! ask one question of sixteen bytes at once: which of them are not in the
//! class? The answer is a [`Flags`] value, non-zero when some byte is out.
//!
//! On x86-64 ([`sse2`]) the classes are a few SSE2 compares (SSE2 is part
//! of the x86-64 baseline, so no run-time detection is needed) and the
//! flags one bit per byte from `pmovmskb`; the `safe_arch` crate gives
//! those instructions a safe interface, so this crate keeps `unsafe`
//! forbidden. Elsewhere ([`portable`]) the same questions are branch-free
//! byte predicates that the compiler vectorizes as it can, their flags one
//! `0xFF` byte per byte in a `u128`. Both are compiled for the tests on
//! x86-64, and checked against [`tables`](crate::tables) for every byte at
//! every position.
//!
//! Why blocks and not bytes, even for a compare of fourteen bytes: a
//! buffer that was just written (by `recv`, or by a copy) is read fastest
//! in the widths it was written in; a chain of single-byte loads and
//! branches over it costs more than the rest of a short header line.

#[cfg(target_arch = "x86_64")]
pub(crate) use sse2::{
    Flags, bad_name, bad_value, first, lower_eq, lowercase, newlines, next, skip,
};

#[cfg(not(target_arch = "x86_64"))]
pub(crate) use portable::{
    Flags, bad_name, bad_value, first, lower_eq, lowercase, newlines, next, skip,
};

/// The lane indices of a block, for masks of its first `n` bytes.
#[cfg(target_arch = "x86_64")]
const LANES: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

/// SSE2 through `safe_arch`: flags are one bit per byte.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use safe_arch::{
        add_i8_m128i, bitand_m128i, bitandnot_m128i, bitor_m128i, cmp_eq_mask_i8_m128i,
        cmp_lt_mask_i8_m128i, load_unaligned_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
        store_unaligned_m128i,
    };

    use super::LANES;

    /// The bytes of a sixteen-byte block that are out of a class: bit `i`
    /// set when byte `i` is out.
    pub(crate) type Flags = u32;

    /// The index of the first byte flagged in `flags` (non-zero).
    #[inline(always)]
    pub(crate) fn first(flags: Flags) -> usize {
        flags.trailing_zeros() as usize
    }

    /// `flags` without the flags of its first `n` bytes (`n` below 16).
    #[inline(always)]
    pub(crate) fn skip(flags: Flags, n: usize) -> Flags {
        flags >> n << n
    }

    /// `flags` without its first flag (`flags` non-zero).
    #[inline(always)]
    pub(crate) fn next(flags: Flags) -> Flags {
        flags & flags.wrapping_sub(1)
    }

    /// The `\n` bytes of `block`.
    #[inline(always)]
    pub(crate) fn newlines(block: &[u8; 16]) -> Flags {
        bits(cmp_eq_mask_i8_m128i(
            load_unaligned_m128i(block),
            splat(b'\n'),
        ))
    }

    /// Sixteen copies of `b`.
    #[inline(always)]
    fn splat(b: u8) -> m128i {
        set_splat_i8_m128i(b as i8)
    }

    /// The lanes of `x` in `lo..lo + n` (`n` at most 128), as a mask: SSE2
    /// has only signed compares, so the range is moved to start at -128.
    #[inline(always)]
    fn in_range(x: m128i, lo: u8, n: u8) -> m128i {
        let shifted = add_i8_m128i(x, splat(0x80u8.wrapping_sub(lo)));
        cmp_lt_mask_i8_m128i(shifted, splat(0x80u8.wrapping_add(n)))
    }

    /// The mask's lanes as bits.
    #[inline(always)]
    fn bits(mask: m128i) -> Flags {
        move_mask_i8_m128i(mask) as Flags
    }

    /// A mask of the first `n` lanes (`n` at most 16).
    #[inline(always)]
    fn head(n: usize) -> m128i {
        cmp_lt_mask_i8_m128i(m128i::from(LANES), splat(n as u8))
    }

    /// Bytes out of [`VALUE`](crate::tables::VALUE): not visible ASCII,
    /// space or tab.
    #[inline(always)]
    pub(crate) fn bad_value(block: &[u8; 16]) -> Flags {
        let x = load_unaligned_m128i(block);
        // Below the space as signed bytes: the controls and every byte
        // from 0x80; the tab is taken back out, DEL added.
        let low = cmp_lt_mask_i8_m128i(x, splat(b' '));
        let tab = cmp_eq_mask_i8_m128i(x, splat(b'\t'));
        let del = cmp_eq_mask_i8_m128i(x, splat(0x7f));
        bits(bitor_m128i(bitandnot_m128i(tab, low), del))
    }

    /// Bytes out of [`NAME`](crate::tables::NAME): not an ASCII letter,
    /// digit or `-`.
    #[inline(always)]
    pub(crate) fn bad_name(block: &[u8; 16]) -> Flags {
        let x = load_unaligned_m128i(block);
        // `| 0x20` maps each uppercase letter onto its lowercase one, and
        // no other byte onto a lowercase letter.
        let letter = in_range(bitor_m128i(x, splat(0x20)), b'a', 26);
        let digit = in_range(x, b'0', 10);
        let dash = cmp_eq_mask_i8_m128i(x, splat(b'-'));
        bits(bitor_m128i(bitor_m128i(letter, digit), dash)) ^ 0xFFFF
    }

    /// True when the first `n` bytes of `block` (at most sixteen, bytes
    /// of [`NAME`](crate::tables::NAME)), lowercased, are those of `lower`.
    #[inline(always)]
    pub(crate) fn lower_eq(block: &[u8; 16], lower: &[u8; 16], n: usize) -> bool {
        let x = bitor_m128i(load_unaligned_m128i(block), splat(0x20));
        let ne = bitandnot_m128i(
            cmp_eq_mask_i8_m128i(x, load_unaligned_m128i(lower)),
            head(n),
        );
        bits(ne) == 0
    }

    /// Lowercases the first `n` bytes of `block` (at most sixteen, bytes
    /// of [`NAME`](crate::tables::NAME), for which lowercase is `| 0x20`),
    /// the others left as they are: one sixteen-byte store of the block as
    /// it was loaded for [`bad_name`].
    #[inline(always)]
    pub(crate) fn lowercase(block: &mut [u8; 16], n: usize) {
        let x = load_unaligned_m128i(block);
        let lower = bitand_m128i(head(n), splat(0x20));
        store_unaligned_m128i(block, bitor_m128i(x, lower));
    }
}

/// Byte predicates the compiler vectorizes as it can: flags are one `0xFF`
/// byte per byte of a `u128`.
#[cfg(any(test, not(target_arch = "x86_64")))]
mod portable {
    /// The bytes of a sixteen-byte block that are out of a class: byte `i`
    /// (little-endian) `0xFF` when byte `i` is out.
    pub(crate) type Flags = u128;

    /// The index of the first byte flagged in `flags` (non-zero).
    #[inline(always)]
    pub(crate) fn first(flags: Flags) -> usize {
        (flags.trailing_zeros() / 8) as usize
    }

    /// `flags` without the flags of its first `n` bytes (`n` below 16).
    #[inline(always)]
    pub(crate) fn skip(flags: Flags, n: usize) -> Flags {
        let bits = 8 * n as u32;
        flags >> bits << bits
    }

    /// `flags` without its first flag (`flags` non-zero).
    #[inline(always)]
    pub(crate) fn next(flags: Flags) -> Flags {
        flags & !(0xFF << (flags.trailing_zeros() / 8 * 8))
    }

    /// The `\n` bytes of `block`.
    #[inline(always)]
    pub(crate) fn newlines(block: &[u8; 16]) -> Flags {
        bad(block, |c| c != b'\n')
    }

    // The predicates use `&` and `|`, never `&&`, `||` or `matches!`:
    // branch-free, so that sixteen of them become vector instructions.

    /// Visible ASCII, space and tab.
    #[inline(always)]
    fn is_value(c: u8) -> bool {
        (c.wrapping_sub(b' ') < 0x7f - b' ') | (c == b'\t')
    }

    /// ASCII letters, digits and `-`.
    #[inline(always)]
    fn is_name(c: u8) -> bool {
        ((c | 0x20).wrapping_sub(b'a') < 26) | (c.wrapping_sub(b'0') < 10) | (c == b'-')
    }

    /// The bytes of `block` that fail `ok`, as `0xFF` bytes of a `u128`
    /// (little-endian): a sixteen-byte array of flags read as one `u128`
    /// stays one vector compare.
    #[inline(always)]
    fn bad(block: &[u8; 16], ok: impl Fn(u8) -> bool) -> Flags {
        let mut bad = [0u8; 16];
        for (flag, &b) in bad.iter_mut().zip(block) {
            *flag = u8::from(!ok(b)) * 0xFF;
        }
        u128::from_le_bytes(bad)
    }

    /// Bytes out of [`VALUE`](crate::tables::VALUE).
    #[inline(always)]
    pub(crate) fn bad_value(block: &[u8; 16]) -> Flags {
        bad(block, is_value)
    }

    /// Bytes out of [`NAME`](crate::tables::NAME).
    #[inline(always)]
    pub(crate) fn bad_name(block: &[u8; 16]) -> Flags {
        bad(block, is_name)
    }

    /// True when the first `n` bytes of `block` (at most sixteen, bytes
    /// of [`NAME`](crate::tables::NAME)), lowercased, are those of `lower`.
    #[inline(always)]
    pub(crate) fn lower_eq(block: &[u8; 16], lower: &[u8; 16], n: usize) -> bool {
        block
            .iter()
            .zip(lower)
            .take(n)
            .fold(true, |eq, (&a, &b)| eq & (a | 0x20 == b))
    }

    /// Lowercases the first `n` bytes of `block` (at most sixteen, bytes
    /// of [`NAME`](crate::tables::NAME), for which lowercase is `| 0x20`),
    /// the others left as they are: as one `u128`.
    #[inline(always)]
    pub(crate) fn lowercase(block: &mut [u8; 16], n: usize) {
        let lower = 1u128.checked_shl(8 * n as u32).unwrap_or(0).wrapping_sub(1)
            & u128::from_le_bytes([0x20; 16]);
        *block = (u128::from_le_bytes(*block) | lower).to_le_bytes();
    }
}

#[cfg(test)]
mod tests {
    use crate::tables;

    /// The checks, for one implementation.
    macro_rules! checks {
        ($imp:ident) => {
            mod $imp {
                use super::super::$imp::*;
                use super::tables;

                /// Every byte at every position of a block, against the
                /// table; `first` and `skip` find it.
                #[test]
                fn flags_agree_with_the_tables() {
                    let checks: [(u16, fn(&[u8; 16]) -> Flags); 2] =
                        [(tables::VALUE, bad_value), (tables::NAME, bad_name)];
                    for (class, bad) in checks {
                        for b in 0..=255u8 {
                            for at in 0..16 {
                                let mut block = [b'a'; 16];
                                block[at] = b;
                                let flags = bad(&block);
                                let what = format!("class {class} byte {b} at {at}");
                                if tables::is_in(b, class) {
                                    assert_eq!(flags, 0, "{what}");
                                    continue;
                                }
                                assert_ne!(flags, 0, "{what}");
                                assert_eq!(first(flags), at, "{what}");
                                assert_eq!(skip(flags, at), flags, "{what}");
                                if at < 15 {
                                    assert_eq!(skip(flags, at + 1), 0, "{what}");
                                }
                            }
                        }
                    }
                }

                /// Every byte at every position, and every pair of
                /// places: `first` and `next` walk the newlines in order.
                #[test]
                fn newlines_are_found_in_order() {
                    for b in 0..=255u8 {
                        for at in 0..16 {
                            let mut block = [b'a'; 16];
                            block[at] = b;
                            let flags = newlines(&block);
                            if b != b'\n' {
                                assert_eq!(flags, 0, "{b} at {at}");
                                continue;
                            }
                            assert_eq!(first(flags), at);
                            assert_eq!(next(flags), 0);
                        }
                    }
                    for a in 0..16 {
                        for b in a + 1..16 {
                            let mut block = [b'\r'; 16];
                            block[a] = b'\n';
                            block[b] = b'\n';
                            let flags = newlines(&block);
                            assert_eq!(first(flags), a, "{a} {b}");
                            assert_eq!(first(next(flags)), b, "{a} {b}");
                            assert_eq!(next(next(flags)), 0, "{a} {b}");
                        }
                    }
                }

                #[test]
                fn first_and_skip_see_every_flag() {
                    let mut block = [b'a'; 16];
                    block[3] = b':';
                    block[9] = b':';
                    let flags = bad_name(&block);
                    assert_eq!(first(flags), 3);
                    assert_eq!(first(skip(flags, 4)), 9);
                    assert_eq!(skip(flags, 10), 0);
                }

                /// Every length, and a difference at every place in and
                /// after the name (after it, never seen).
                #[test]
                fn lower_eq_compares_only_the_name() {
                    let lower = *b"content-length\0\0";
                    for n in 0..=16 {
                        let mut block = *b"Content-Length: ";
                        assert!(lower_eq(&block, &block.map(|b| b | 0x20), n), "{n}");
                        assert_eq!(lower_eq(&block, &lower, n), n <= 14, "{n}");
                        for at in 0..16 {
                            block = *b"CONTENT-LENGTH: ";
                            block[at] = b'x';
                            let same = (at >= n || lower[at] == b'x') && n <= 14;
                            assert_eq!(lower_eq(&block, &lower, n), same, "{n} {at}");
                        }
                    }
                }

                #[test]
                fn lowercase_touches_only_the_name() {
                    for n in 0..=16 {
                        let mut block = *b"ABCDEFGHIJKLMNOP";
                        lowercase(&mut block, n);
                        let mut expected = *b"ABCDEFGHIJKLMNOP";
                        expected[..n].make_ascii_lowercase();
                        assert_eq!(block, expected, "{n}");
                    }
                }
            }
        };
    }

    #[cfg(target_arch = "x86_64")]
    checks!(sse2);
    checks!(portable);
}
