//! Pagination (AIP-158): page_size 0 means 50, more than 500 is capped at 500, negative is
//! refused; the page token is opaque, names the last row returned and is bound to the filters
//! it was issued for (reused with other filters it is refused, not silently misapplied).

use occasionali_runtime::Violations;

use crate::store::Pagina;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 500;

/// FNV-1a over the filters: stable across builds and processes.
pub fn impronta(parti: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parti {
        for b in p.bytes().chain([0u8]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Decodes `page_size` and `page_token` of a listing whose filters hash to `impronta`.
pub fn decodifica(
    v: &mut Violations,
    rule: &'static str,
    page_size: i32,
    page_token: &str,
    impronta: u64,
) -> Pagina {
    let prefix = rule.replace('-', "_");
    let limite = match page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => {
            v.add(
                "page_size",
                rule,
                format!("{prefix}_PAGE_SIZE"),
                "must not be negative",
            );
            DEFAULT_PAGE_SIZE
        }
        n => u64::from(n.unsigned_abs()).min(MAX_PAGE_SIZE),
    };
    let token = page_token.trim();
    let dopo = if token.is_empty() {
        None
    } else {
        match leggi(token) {
            Some((seq, i)) if i == impronta => Some(seq),
            Some(_) => {
                v.add(
                    "page_token",
                    rule,
                    format!("{prefix}_PAGE_TOKEN"),
                    "was issued for other filters: repeat the same filters or start again",
                );
                None
            }
            None => {
                v.add(
                    "page_token",
                    rule,
                    format!("{prefix}_PAGE_TOKEN"),
                    "is not a token returned by this RPC",
                );
                None
            }
        }
    };
    Pagina { limite, dopo }
}

/// The token of the next page: empty when this page was not full.
pub fn prossima(pagina: Pagina, righe: usize, ultimo_seq: Option<i64>, impronta: u64) -> String {
    match ultimo_seq {
        Some(seq) if righe as u64 == pagina.limite => format!("{seq:x}.{impronta:016x}"),
        _ => String::new(),
    }
}

fn leggi(token: &str) -> Option<(i64, u64)> {
    let (seq, imp) = token.split_once('.')?;
    Some((
        i64::from_str_radix(seq, 16).ok()?,
        u64::from_str_radix(imp, 16).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_filters() {
        let i = impronta(&["RM", ""]);
        let p = Pagina {
            limite: 2,
            dopo: None,
        };
        let t = prossima(p, 2, Some(42), i);
        let mut v = Violations::new();
        assert_eq!(decodifica(&mut v, "POR-3", 2, &t, i).dopo, Some(42));
        assert!(v.is_empty());
        decodifica(&mut v, "POR-3", 2, &t, impronta(&["MI", ""]));
        assert_eq!(v.len(), 1);
        decodifica(&mut v, "POR-3", -1, "zz", i);
        assert_eq!(v.len(), 3);
        assert_eq!(prossima(p, 1, Some(42), i), "");
        assert_ne!(impronta(&["a", "b"]), impronta(&["ab", ""]));
    }
}
