//! Pagination (AIP-158), the same in every context: page_size 0 means 50, more than 500 is
//! capped at 500, negative is refused; the page token is opaque, names the last row returned
//! (its sequence number) and is bound to the filters it was issued for — reused with other
//! filters it is refused, not silently misapplied. Whether the cursor means "before" (newest
//! first) or "after" (oldest first) is the listing's own choice.

use crate::error::Violations;

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 500;

/// A fingerprint of a listing's filters, stable across builds and processes.
pub fn impronta(parti: &[&str]) -> u64 {
    let mut bytes = Vec::new();
    for p in parti {
        bytes.extend_from_slice(p.as_bytes());
        // A separator, so ["a", "b"] and ["ab", ""] differ.
        bytes.push(0);
    }
    occasionali_kernel::ids::fnv1a(&bytes)
}

/// One page request, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pagina {
    pub limite: u64,
    /// The sequence number of the last row of the previous page, if any.
    pub cursore: Option<i64>,
    impronta: u64,
}

impl Pagina {
    /// Decodes `page_size` and `page_token` for a listing whose filters hash to `impronta`.
    pub fn decodifica(
        v: &mut Violations,
        rule: &'static str,
        page_size: i32,
        page_token: &str,
        impronta: u64,
    ) -> Pagina {
        let prefix = rule.replace('-', "_");
        let limite = limite(v, rule, page_size);
        let token = page_token.trim();
        let cursore = if token.is_empty() {
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
        Pagina {
            limite,
            cursore,
            impronta,
        }
    }

    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn da_leggere(&self) -> u64 {
        self.limite + 1
    }

    /// The page out of `da_leggere()` rows read (`(seq, item)` in the listing's order) and the
    /// next page token (empty on the last page).
    pub fn taglia<T>(&self, mut righe: Vec<(i64, T)>) -> (Vec<T>, String) {
        let limite = usize::try_from(self.limite).unwrap_or(usize::MAX);
        let next = if righe.len() > limite {
            righe.truncate(limite);
            righe.last().map(|(seq, _)| self.token(*seq)).unwrap_or_default()
        } else {
            String::new()
        };
        (righe.into_iter().map(|(_, t)| t).collect(), next)
    }

    /// For listings that read exactly `limite` rows: the next token when the page was full.
    pub fn prossima(&self, righe: usize, ultimo_seq: Option<i64>) -> String {
        match ultimo_seq {
            Some(seq) if righe as u64 == self.limite => self.token(seq),
            _ => String::new(),
        }
    }

    fn token(&self, seq: i64) -> String {
        format!("{seq:x}.{:016x}", self.impronta)
    }
}

/// The rows of a page: 0 is the default, more than the cap is capped, negative is refused.
fn limite(v: &mut Violations, rule: &'static str, page_size: i32) -> u64 {
    match page_size {
        0 => DEFAULT_PAGE_SIZE,
        n if n < 0 => {
            v.add(
                "page_size",
                rule,
                format!("{}_PAGE_SIZE", rule.replace('-', "_")),
                "must not be negative",
            );
            DEFAULT_PAGE_SIZE
        }
        n => u64::from(n.unsigned_abs()).min(MAX_PAGE_SIZE),
    }
}

/// As [`Pagina`], for a listing ordered by a time-ordered text id (`pre_<uuid v7>`) rather than
/// a sequence number: the token names the last id returned, bound to the filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaginaPerId {
    pub limite: u64,
    /// The id of the last row of the previous page, if any.
    pub cursore: Option<String>,
    impronta: u64,
}

impl PaginaPerId {
    /// Decodes `page_size` and `page_token`; `e_un_id` says whether a token's id has the
    /// listing's shape (a forged token never reaches SQL as something else).
    pub fn decodifica(
        v: &mut Violations,
        rule: &'static str,
        page_size: i32,
        page_token: &str,
        impronta: u64,
        e_un_id: impl Fn(&str) -> bool,
    ) -> PaginaPerId {
        let limite = limite(v, rule, page_size);
        let token = page_token.trim();
        let prefix = rule.replace('-', "_");
        let cursore = if token.is_empty() {
            None
        } else {
            let letto = token.rsplit_once('.').and_then(|(id, i)| {
                let i = u64::from_str_radix(i, 16).ok()?;
                e_un_id(id).then(|| (id.to_string(), i))
            });
            match letto {
                Some((id, i)) if i == impronta => Some(id),
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
        PaginaPerId {
            limite,
            cursore,
            impronta,
        }
    }

    /// How many rows to fetch: one more than the page, to know whether another follows.
    pub fn da_leggere(&self) -> u64 {
        self.limite + 1
    }

    /// The page out of `da_leggere()` rows read (`(id, item)` in the listing's order) and the
    /// next page token (empty on the last page).
    pub fn taglia<T>(&self, mut righe: Vec<(String, T)>) -> (Vec<T>, String) {
        let limite = usize::try_from(self.limite).unwrap_or(usize::MAX);
        let next = if righe.len() > limite {
            righe.truncate(limite);
            righe
                .last()
                .map(|(id, _)| format!("{id}.{:016x}", self.impronta))
                .unwrap_or_default()
        } else {
            String::new()
        };
        (righe.into_iter().map(|(_, t)| t).collect(), next)
    }
}

fn leggi(token: &str) -> Option<(i64, u64)> {
    let (seq, impronta) = token.split_once('.')?;
    let seq = i64::from_str_radix(seq, 16).ok().filter(|s| *s > 0)?;
    let impronta = u64::from_str_radix(impronta, 16).ok()?;
    Some((seq, impronta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_defaults_and_caps() {
        let mut v = Violations::new();
        assert_eq!(Pagina::decodifica(&mut v, "DEL-1", 0, "", 1).limite, 50);
        assert_eq!(Pagina::decodifica(&mut v, "DEL-1", 10_000, "", 1).limite, 500);
        assert_eq!(Pagina::decodifica(&mut v, "DEL-1", 7, "", 1).limite, 7);
        assert!(v.is_empty());
        Pagina::decodifica(&mut v, "DEL-1", -1, "", 1);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn tokens_round_trip_and_are_bound_to_filters() {
        let mut v = Violations::new();
        let i = impronta(&["RM", ""]);
        let p = Pagina::decodifica(&mut v, "DEL-4", 2, "", i);
        let (page, next) = p.taglia(vec![(9, 'a'), (7, 'b'), (3, 'c')]);
        assert_eq!(page, vec!['a', 'b']);
        let again = Pagina::decodifica(&mut v, "DEL-4", 2, &next, i);
        assert_eq!(again.cursore, Some(7));
        assert!(v.is_empty());
        Pagina::decodifica(&mut v, "DEL-4", 2, &next, impronta(&["MI", ""]));
        Pagina::decodifica(&mut v, "DEL-4", 2, "garbage", i);
        assert_eq!(v.len(), 2);
        let (_, last) = p.taglia(vec![(9, 'a')]);
        assert!(last.is_empty());
        assert_eq!(p.prossima(2, Some(5)), p.token(5));
        assert_eq!(p.prossima(1, Some(5)), "");
        assert_ne!(impronta(&["a", "b"]), impronta(&["ab", ""]));
    }

    #[test]
    fn id_tokens_round_trip_and_refuse_forgeries() {
        let e_un_id = |s: &str| s.starts_with("pre_") && !s.contains('\'');
        let mut v = Violations::new();
        let i = impronta(&["RM"]);
        let p = PaginaPerId::decodifica(&mut v, "PRE-16", 2, "", i, e_un_id);
        assert_eq!(p.da_leggere(), 3);
        let (page, next) = p.taglia(vec![
            ("pre_9".into(), 'a'),
            ("pre_7".into(), 'b'),
            ("pre_3".into(), 'c'),
        ]);
        assert_eq!(page, vec!['a', 'b']);
        let again = PaginaPerId::decodifica(&mut v, "PRE-16", 2, &next, i, e_un_id);
        assert_eq!(again.cursore.as_deref(), Some("pre_7"));
        assert!(v.is_empty());
        PaginaPerId::decodifica(&mut v, "PRE-16", 2, &next, impronta(&["MI"]), e_un_id);
        PaginaPerId::decodifica(&mut v, "PRE-16", 2, "x' OR 1=1.00", i, e_un_id);
        PaginaPerId::decodifica(&mut v, "PRE-16", -3, "", i, e_un_id);
        assert_eq!(v.len(), 3);
        assert_eq!(
            PaginaPerId::decodifica(&mut v, "PRE-16", 9999, "", i, e_un_id).limite,
            MAX_PAGE_SIZE
        );
        let (_, last) = p.taglia(vec![("pre_9".into(), 'a')]);
        assert!(last.is_empty());
    }
}
