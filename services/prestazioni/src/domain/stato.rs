//! The prestazione's lifecycle (PRE-10..PRE-15) as an explicit state machine.

use super::errore::Errore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stato {
    Pending,
    Accepted,
    Rejected,
    Revoked,
    Contested,
    Paid,
}

/// What happens to a prestazione. The names are the ones a refused transition shows
/// ("a prestazione REJECTED cannot be Revoca").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evento {
    Accetta,
    Rifiuta,
    Revoca,
    Contesta,
    Paga,
}

impl Stato {
    pub fn code(self) -> &'static str {
        match self {
            Stato::Pending => "PENDING",
            Stato::Accepted => "ACCEPTED",
            Stato::Rejected => "REJECTED",
            Stato::Revoked => "REVOKED",
            Stato::Contested => "CONTESTED",
            Stato::Paid => "PAID",
        }
    }

    pub fn from_code(s: &str) -> Option<Stato> {
        [
            Stato::Pending,
            Stato::Accepted,
            Stato::Rejected,
            Stato::Revoked,
            Stato::Contested,
            Stato::Paid,
        ]
        .into_iter()
        .find(|st| st.code() == s)
    }

    /// Whether the prestazione counts toward the limits and is due (PRE-8: not revoked).
    pub fn conta(self) -> bool {
        matches!(
            self,
            Stato::Pending | Stato::Accepted | Stato::Contested | Stato::Paid
        )
    }

    /// What the payment of a prestazione in this state is (PRE-16).
    pub fn pagamento(self) -> StatoPagamento {
        match self {
            Stato::Pending | Stato::Accepted | Stato::Contested => StatoPagamento::Dovuto,
            Stato::Paid => StatoPagamento::Pagato,
            Stato::Rejected | Stato::Revoked => StatoPagamento::NonDovuto,
        }
    }

    pub fn transition(self, e: Evento) -> Result<Stato, Errore> {
        use Evento as E;
        use Stato as S;
        match (self, e) {
            (S::Pending, E::Accetta) => Ok(S::Accepted),
            (S::Pending, E::Rifiuta) => Ok(S::Rejected),
            (S::Accepted, E::Revoca) => Ok(S::Revoked),
            (S::Revoked, E::Contesta) => Ok(S::Contested),
            (S::Accepted | S::Contested, E::Paga) => Ok(S::Paid),
            (stato, evento) => Err(Errore::TransizioneNonValida { stato, evento }),
        }
    }
}

/// The payment state as the prestatore sees it (PRE-16): it follows from the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatoPagamento {
    NonDovuto,
    Dovuto,
    Pagato,
}

impl StatoPagamento {
    /// The states whose payment is this one (a listing's filter).
    pub fn stati(self) -> &'static [Stato] {
        match self {
            StatoPagamento::NonDovuto => &[Stato::Rejected, Stato::Revoked],
            StatoPagamento::Dovuto => &[Stato::Pending, Stato::Accepted, Stato::Contested],
            StatoPagamento::Pagato => &[Stato::Paid],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn transitions_table() {
        use Evento as E;
        use Stato as S;
        let ok = [
            (S::Pending, E::Accetta, S::Accepted),
            (S::Pending, E::Rifiuta, S::Rejected),
            (S::Accepted, E::Revoca, S::Revoked),
            (S::Revoked, E::Contesta, S::Contested),
            (S::Contested, E::Paga, S::Paid),
            (S::Accepted, E::Paga, S::Paid),
        ];
        for (s, e, t) in ok {
            assert_eq!(s.transition(e).ok(), Some(t));
        }
        for (s, e) in [
            (S::Rejected, E::Revoca),
            (S::Paid, E::Revoca),
            (S::Contested, E::Revoca),
            (S::Accepted, E::Contesta),
            (S::Revoked, E::Paga),
        ] {
            assert_eq!(
                s.transition(e),
                Err(Errore::TransizioneNonValida { stato: s, evento: e })
            );
        }
        for s in [
            S::Pending,
            S::Accepted,
            S::Rejected,
            S::Revoked,
            S::Contested,
            S::Paid,
        ] {
            assert_eq!(Stato::from_code(s.code()), Some(s));
            assert!(s.pagamento().stati().contains(&s));
        }
    }
}
