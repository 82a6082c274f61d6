//! Byte classes, one bit per class, looked up in a single 256-entry table.
//!
//! With `A` = `-0-9a-z`, `U` = `A-Z` and `VCHAR` = `!`..`~` (every visible
//! ASCII byte):
//!
//! | class | bytes |
//! |---|---|
//! | [`NAME`] (incoming header name) | `A` `U` |
//! | [`LOWER_NAME`] (outgoing header name) | `A` |
//! | [`VALUE`] (header value) | `VCHAR` space tab (RFC 9110 field content; no obs-text, no other control byte) |
//! | [`URI`] | [`QUERY`]'s (which has `/` and `?`) |
//! | [`PATH`] (path component) | `A` `U` `+.:_~` `!$&'()*,;=@` `%` (an escape: `%` and two hex digits) |
//! | [`QUERY`] | [`PATH`]'s, `/?`, and what browsers send raw: `[]{}\|^` and backquote |
//! | [`REASON`] | as [`VALUE`] |
//! | [`EXT_KEY`] | `A` `U` |
//! | [`EXT_VALUE`] | `A` `U` `+.:_~` `"'()*,;<>[]` |
//! | [`DIGIT`] | `0-9` |
//! | [`HEX`] | `0-9A-Fa-f` |
//! | [`ESCAPE`] | `%` |

/// Incoming header name bytes (lowercased after the check).
pub const NAME: u16 = 1 << 0;
/// Outgoing header name bytes: lowercase only.
pub const LOWER_NAME: u16 = 1 << 1;
/// Header value bytes.
pub const VALUE: u16 = 1 << 2;
/// URI bytes.
pub const URI: u16 = 1 << 3;
/// Path component bytes.
pub const PATH: u16 = 1 << 4;
/// Query bytes.
pub const QUERY: u16 = 1 << 5;
/// Reason phrase bytes.
pub const REASON: u16 = 1 << 6;
/// Chunk-extension key bytes.
pub const EXT_KEY: u16 = 1 << 7;
/// Chunk-extension value bytes.
pub const EXT_VALUE: u16 = 1 << 8;
/// Decimal digits.
pub const DIGIT: u16 = 1 << 9;
/// Hexadecimal digits.
pub const HEX: u16 = 1 << 10;
/// `%`, which starts an escape in a path component.
pub const ESCAPE: u16 = 1 << 11;

const fn build() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        let lower = c == b'-' || c.is_ascii_digit() || c.is_ascii_lowercase();
        let upper = c.is_ascii_uppercase();
        let a_u = lower || upper;
        let mark = matches!(c, b'+' | b'.' | b':' | b'_' | b'~');
        let sub_delims = matches!(
            c,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b',' | b';' | b'=' | b'@'
        );
        let path = a_u || mark || sub_delims || c == b'%';
        let query = path
            || matches!(
                c,
                b'/' | b'?' | b'[' | b']' | b'{' | b'}' | b'|' | b'^' | b'`'
            );
        let field = c.is_ascii_graphic() || c == b' ' || c == b'\t';
        let punct = matches!(
            c,
            b'"' | b'\'' | b'(' | b')' | b'*' | b',' | b';' | b'<' | b'>' | b'[' | b']'
        );
        let mut v = 0u16;
        if a_u {
            v |= NAME | EXT_KEY;
        }
        if lower {
            v |= LOWER_NAME;
        }
        if field {
            v |= VALUE | REASON;
        }
        if query {
            v |= URI | QUERY;
        }
        if path {
            v |= PATH;
        }
        if a_u || mark || punct {
            v |= EXT_VALUE;
        }
        if c.is_ascii_digit() {
            v |= DIGIT;
        }
        if c.is_ascii_hexdigit() {
            v |= HEX;
        }
        if c == b'%' {
            v |= ESCAPE;
        }
        t[b] = v;
        b += 1;
    }
    t
}

/// The table: `TABLE[byte] & CLASS != 0` when `byte` is in `CLASS`.
pub static TABLE: [u16; 256] = build();

/// [`TABLE`] for `const fn`s, which cannot read a `static`.
const CONST_TABLE: [u16; 256] = build();

/// [`all_in`] in a `const fn`, for checks made when a program is compiled.
pub const fn const_all_in(bytes: &[u8], class: u16) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if CONST_TABLE[bytes[i] as usize] & class == 0 {
            return false;
        }
        i += 1;
    }
    true
}

/// True when every byte of `bytes` is in `class`.
#[inline]
pub fn all_in(bytes: &[u8], class: u16) -> bool {
    // Branch-free accumulation: one lookup and one AND per byte.
    bytes.iter().fold(class, |acc, &b| acc & TABLE[b as usize]) == class
}

/// True when `byte` is in `class`.
#[inline]
pub fn is_in(byte: u8, class: u16) -> bool {
    TABLE[byte as usize] & class != 0
}
