//! Who calls a context under test: the identity the gateway would forward (or a context's own
//! `sistema` identity), signed by its rightful signer's test key for the context under test
//! ([`super::chiavi_di_prova`]), and the usual callers of every suite (GW-1, GW-6, DEL-2).

use tonic::Request;

use super::persone::{FLUSSO, OP_DG, OP_MI, OP_RM};
use crate::context::Context;
use crate::firme::Firmatario;
use crate::identity::{IDENTITY_HEADER, Identity, InternalTokens, OnBehalf, Principal, Profile};

/// A caller: its identity, and the context its requests go to.
#[derive(Clone)]
pub struct Chi {
    destinazione: Context,
    pub identity: Identity,
}

impl Chi {
    /// `message` as this caller sends it: a client's identity signed by the gateway, a
    /// `SISTEMA-<NAME>` one by that process, for the context under test.
    #[allow(clippy::expect_used)]
    pub fn req<T>(&self, message: T) -> Request<T> {
        let mut r = Request::new(message);
        let token = super::chiavi_di_prova()
            .mint_for(
                &self.identity,
                destinazione_di::<T>().unwrap_or(self.destinazione),
            )
            .expect("mint a token");
        r.metadata_mut()
            .insert(IDENTITY_HEADER, token.parse().expect("an ascii token"));
        r
    }

    pub fn cf(&self) -> String {
        self.identity.caller.cf.clone()
    }

    /// The same caller acting for `cf` under a delega of `ruolo` the gateway verified (DEL-2).
    pub fn per_conto_di(mut self, cf: &str, ruolo: &str) -> Chi {
        self.identity.on_behalf_of = Some(OnBehalf {
            cf: cf.into(),
            ruolo: ruolo.into(),
            delega_id: "del_test_1".into(),
        });
        self
    }

    /// The same caller calling because of `origin` (GW-6: the client's scope travels with it):
    /// a platform identity, the gateway's or a context's own, acting for a client. Suites whose
    /// platform caller has a name of its own build it with [`Chiamanti::sistema_di`] and send it
    /// with this.
    pub fn per(mut self, origin: &Chi) -> Chi {
        self.identity.origin = Some(Box::new(origin.identity.clone()));
        self
    }
}

/// The context a request of type `T` is for, from the proto package of its message (e.g.
/// `occasionali_proto::occasionali::anagrafica::v1::GetSoggettoRequest`): a suite's harness
/// also calls the real contexts it depends on with the same callers, and each token is good for
/// one context only (issue 14). None for the packages of no context (`common`).
fn destinazione_di<T>() -> Option<Context> {
    std::any::type_name::<T>()
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find_map(|segment| segment.parse::<Context>().ok())
}

/// Makes a suite's harness answer for its callers, `h.dg()`, `h.op("RM")`, `h.prestatore(cf)`:
/// `deref_chiamanti!(Harness, chi)` derefs `Harness` to the [`Chiamanti`] in its field `chi`.
/// Every harness holds its callers the same way, so the impl is written once, here.
#[macro_export]
macro_rules! deref_chiamanti {
    ($harness:ty, $field:ident) => {
        impl ::std::ops::Deref for $harness {
            type Target = $crate::testing::Chiamanti;
            fn deref(&self) -> &$crate::testing::Chiamanti {
                &self.$field
            }
        }
    };
}

/// The callers of a suite, each signed by its rightful signer for the context under test.
#[derive(Clone)]
pub struct Chiamanti {
    tokens: InternalTokens,
    destinazione: Context,
}

impl Chiamanti {
    /// The callers of the context whose own `tokens` these are ([`super::tokens_di_prova`]).
    #[allow(clippy::panic)]
    pub fn new(tokens: InternalTokens) -> Chiamanti {
        let destinazione = match tokens.firmatario() {
            Firmatario::Contesto(c) => c,
            Firmatario::Gateway => panic!("the callers of a context are built with that context's tokens"),
        };
        Chiamanti { tokens, destinazione }
    }

    /// The tokens of the context under test: what its deps and its relay sign and verify with.
    pub fn tokens(&self) -> &InternalTokens {
        &self.tokens
    }

    /// Anyone: a profile and a codice fiscale (and, for a sede operator, its sede).
    pub fn who(&self, profile: Profile, cf: &str, sede: Option<&str>) -> Chi {
        Chi {
            destinazione: self.destinazione,
            identity: Identity::new(Principal {
                cf: cf.into(),
                profile,
                sede: sede.map(str::to_string),
            }),
        }
    }

    pub fn prestatore(&self, cf: &str) -> Chi {
        self.who(Profile::Prestatore, cf, None)
    }

    pub fn utilizzatore(&self, cf: &str) -> Chi {
        self.who(Profile::Utilizzatore, cf, None)
    }

    pub fn azienda(&self, cf: &str) -> Chi {
        self.who(Profile::Azienda, cf, None)
    }

    pub fn intermediario(&self, cf: &str) -> Chi {
        self.who(Profile::Intermediario, cf, None)
    }

    pub fn soggetto_abilitato(&self, cf: &str) -> Chi {
        self.who(Profile::SoggettoAbilitato, cf, None)
    }

    /// The operator of a sede (Milan's for "MI", Rome's otherwise).
    pub fn op(&self, sede: &str) -> Chi {
        let cf = if sede == "MI" { OP_MI } else { OP_RM };
        self.who(Profile::OperatoreSede, cf, Some(sede))
    }

    pub fn dg(&self) -> Chi {
        self.who(Profile::OperatoreDg, OP_DG, None)
    }

    /// The platform itself (no client behind it): the gateway's own `sistema` identity, the
    /// one platform caller every context may receive.
    pub fn sistema(&self) -> Chi {
        self.servizio("gateway")
    }

    /// A platform call made because of `origin` (GW-6: the client's scope travels with it).
    pub fn sistema_per(&self, origin: &Chi) -> Chi {
        self.sistema().per(origin)
    }

    /// A named platform service calling (a saga's steps, the gateway's checks): `sistema` with
    /// the codice fiscale the platform mints for it, `SISTEMA-<NOME>` (as
    /// `InternalTokens::system_call` does), so the context sees who called, as in production
    /// (a rule table records its author). With [`Chi::per`] for a call made because of a client.
    pub fn servizio(&self, nome: &str) -> Chi {
        let cf = format!("SISTEMA-{}", nome.to_ascii_uppercase());
        self.who(Profile::Sistema, &cf, None)
    }

    /// The payments feed (POR-2): a service identity, never a person.
    pub fn flusso(&self) -> Chi {
        self.who(Profile::FlussoPagamenti, FLUSSO, None)
    }
}
