//! Any text into `Address::from_str`: never a panic; what is accepted is
//! valid, and its `Display` parses back to the same address.
#![no_main]

use degu_core::Address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(a) = text.parse::<Address>() else {
        return;
    };
    a.validate().expect("a parsed address is valid");
    let shown = a.to_string();
    let again: Address = shown.parse().expect("Display parses back");
    assert_eq!(again, a, "{text:?} -> {shown:?}");
    assert_eq!(again.to_string(), shown);
});
