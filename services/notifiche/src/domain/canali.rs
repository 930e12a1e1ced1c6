//! Which channels a notice goes to, and where (NOT-1): the MyINPS inbox always; App IO with no
//! consent (service messages; the IO API itself says whether the citizen allows the sender);
//! SMS and e-mail only with the person's consent and a contact.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Canale {
    Sms,
    Email,
    AppIo,
    Inbox,
}

impl Canale {
    pub const ALL: [Canale; 4] = [Canale::Inbox, Canale::AppIo, Canale::Email, Canale::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Canale::Sms => "sms",
            Canale::Email => "email",
            Canale::AppIo => "app_io",
            Canale::Inbox => "inbox",
        }
    }

    pub fn parse(s: &str) -> Option<Canale> {
        Canale::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Only SMS and e-mail take a consent (NOT-1).
    pub fn chiede_consenso(self) -> bool {
        matches!(self, Canale::Sms | Canale::Email)
    }
}

impl fmt::Display for Canale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person's contacts (from anagrafica) and consents (given to notifiche).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recapiti {
    pub cellulare: Option<String>,
    pub email: Option<String>,
    pub consenso_sms: bool,
    pub consenso_email: bool,
}

/// What to do on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decisione {
    /// Send, to this address (empty where the channel addresses by codice fiscale).
    Invia(String),
    /// Do not send, and say why (recorded as SKIPPED).
    Salta(&'static str),
}

pub fn decidi(canale: Canale, r: &Recapiti) -> Decisione {
    let con = |consenso: bool, contatto: &Option<String>, cosa: &'static str| match (consenso, contatto) {
        (false, _) => Decisione::Salta("no consent for the channel (NOT-1)"),
        (true, Some(c)) if !c.trim().is_empty() => Decisione::Invia(c.clone()),
        (true, _) => Decisione::Salta(cosa),
    };
    match canale {
        Canale::Inbox | Canale::AppIo => Decisione::Invia(String::new()),
        Canale::Sms => con(r.consenso_sms, &r.cellulare, "no mobile number (NOT-1)"),
        Canale::Email => con(r.consenso_email, &r.email, "no e-mail address (NOT-1)"),
    }
}

/// An address as lists show it (NOT-6: personal data never in full): a mobile keeps its first
/// six and last three characters, an e-mail the first letter of its local part and its domain.
pub fn maschera(indirizzo: &str) -> String {
    let c: Vec<char> = indirizzo.chars().collect();
    if let Some((locale, dominio)) = indirizzo.split_once('@') {
        let primo: String = locale.chars().take(1).collect();
        return format!("{primo}***@{dominio}");
    }
    if c.len() <= 9 {
        return "*".repeat(c.len());
    }
    let inizio: String = c[..6].iter().collect();
    let fine: String = c[c.len() - 3..].iter().collect();
    format!("{inizio}{}{fine}", "*".repeat(c.len() - 9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_6_addresses_are_listed_masked() {
        assert_eq!(maschera("+393331234567"), "+39333****567");
        assert_eq!(maschera("mario.rossi@example.it"), "m***@example.it");
        assert_eq!(maschera("12345"), "*****");
    }

    #[test]
    fn not_1_sms_and_email_need_consent_and_a_contact_inbox_and_io_do_not() {
        let mut r = Recapiti {
            cellulare: Some("+393331234567".into()),
            email: Some("a@example.it".into()),
            ..Default::default()
        };
        assert!(matches!(decidi(Canale::Sms, &r), Decisione::Salta(_)));
        assert!(matches!(decidi(Canale::Email, &r), Decisione::Salta(_)));
        assert_eq!(decidi(Canale::Inbox, &r), Decisione::Invia(String::new()));
        assert_eq!(decidi(Canale::AppIo, &r), Decisione::Invia(String::new()));
        r.consenso_sms = true;
        assert_eq!(decidi(Canale::Sms, &r), Decisione::Invia("+393331234567".into()));
        r.consenso_email = true;
        r.email = None;
        assert!(matches!(decidi(Canale::Email, &r), Decisione::Salta(_)));
        r.email = Some("  ".into());
        assert!(matches!(decidi(Canale::Email, &r), Decisione::Salta(_)));
    }
}
