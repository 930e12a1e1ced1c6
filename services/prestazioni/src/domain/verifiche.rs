//! PRE-1..PRE-8: every check of a declaration, all collected (a refusal lists every rule broken).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use occasionali_kernel::calendar::{day_of_month_next_month, end_of_day_exclusive, rome_date};
use occasionali_kernel::{CodiceFiscale, Euro};

use super::regole::{Costo, Regole};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tipo {
    Lf,
    Cpo,
}

impl Tipo {
    pub fn code(self) -> &'static str {
        match self {
            Tipo::Lf => "LF",
            Tipo::Cpo => "CPO",
        }
    }
}

/// When the work is done (PRE-1, PRE-3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Quando {
    /// LF: a day and a duration, paid in titoli.
    Lf {
        data: NaiveDate,
        minuti: i64,
        titoli: i64,
    },
    /// CPO: exact start and end.
    Orario {
        inizio: DateTime<Utc>,
        fine: DateTime<Utc>,
    },
    /// CPO agricultural window (years allowing agriculture).
    Finestra {
        dal: NaiveDate,
        al: NaiveDate,
        minuti: i64,
    },
}

/// A decoded declaration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dichiarazione {
    pub tipo: Tipo,
    pub utilizzatore_cf: String,
    pub prestatore_cf: String,
    pub quando: Quando,
    pub compenso: Option<Euro>,
    pub finalita_pa: bool,
    pub appalto: bool,
    pub rapporto_recente: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CategoriaUtilizzatore {
    Impresa,
    Professionista,
    ImpresaAgricola,
    PubblicaAmministrazione,
    AssociazioneEnte,
    Altro,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfiloUtilizzatore {
    pub categoria: Option<CategoriaUtilizzatore>,
    pub ateco: String,
    pub dipendenti: i32,
}

/// What the registry says of the utilizzatore (ANA-*).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Utilizzatore {
    pub lf: Option<ProfiloUtilizzatore>,
    pub cpo: Option<ProfiloUtilizzatore>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Categoria {
    Pensionato,
    Studente,
    Disoccupato,
    SostegnoReddito,
    ElenchiAgricoli,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoriaValida {
    pub categoria: Categoria,
    pub dal: Option<NaiveDate>,
    pub al: Option<NaiveDate>,
}

impl CategoriaValida {
    fn copre(&self, d: NaiveDate) -> bool {
        self.dal.is_none_or(|x| x <= d) && self.al.is_none_or(|x| d <= x)
    }

    fn interseca_anno(&self, anno: i32) -> bool {
        self.dal.is_none_or(|x| x.year() <= anno) && self.al.is_none_or(|x| x.year() >= anno)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Prestatore {
    pub registrato: bool,
    pub categorie: Vec<CategoriaValida>,
}

impl Prestatore {
    /// ANA-4 special categories valid on `d` (students only under 25 on that day).
    pub fn speciale(&self, cf: &str, d: NaiveDate) -> bool {
        self.categorie.iter().any(|c| {
            c.copre(d)
                && match c.categoria {
                    Categoria::Pensionato | Categoria::Disoccupato | Categoria::SostegnoReddito => true,
                    Categoria::Studente => sotto_25(cf, d),
                    Categoria::ElenchiAgricoli => false,
                }
        })
    }
}

fn sotto_25(cf: &str, d: NaiveDate) -> bool {
    let Ok(cf) = CodiceFiscale::parse(cf) else {
        return false;
    };
    let nascita = cf.data_nascita(d);
    let mut anni = d.year() - nascita.year();
    if (d.month(), d.day()) < (nascita.month(), nascita.day()) {
        anni -= 1;
    }
    anni < 25
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violazione {
    pub rule: &'static str,
    pub reason: &'static str,
    /// The field's path in the request (InsertPrestazioneRequest and CheckPrestazioneRequest both
    /// nest the declaration under `prestazione`): `prestazione.compenso`, as decoding names it.
    pub field: &'static str,
    pub description: String,
}

fn viol(rule: &'static str, reason: &'static str, field: &'static str, d: impl Into<String>) -> Violazione {
    Violazione {
        rule,
        reason,
        field,
        description: d.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TipoLimite {
    Prestatore,
    Utilizzatore,
    Coppia,
    OreCoppia,
}

/// What a prestazione asks of one annual limit (PRE-8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quota {
    pub tipo: TipoLimite,
    /// Counter row id: kind, year and subjects.
    pub id: String,
    pub anno: i32,
    pub prestatore_cf: String,
    pub utilizzatore_cf: String,
    /// Cents (euro limits) or minutes (hours per pair).
    pub limite: i64,
    pub richiesto: i64,
}

pub fn id_contatore(tipo: TipoLimite, anno: i32, prestatore_cf: &str, utilizzatore_cf: &str) -> String {
    match tipo {
        TipoLimite::Prestatore => format!("P:{anno}:{prestatore_cf}"),
        TipoLimite::Utilizzatore => format!("U:{anno}:{utilizzatore_cf}"),
        TipoLimite::Coppia => format!("C:{anno}:{prestatore_cf}:{utilizzatore_cf}"),
        TipoLimite::OreCoppia => format!("H:{anno}:{prestatore_cf}:{utilizzatore_cf}"),
    }
}

/// The outcome of the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Valutazione {
    pub violazioni: Vec<Violazione>,
    pub data: NaiveDate,
    pub minuti: i64,
    pub costo: Costo,
    pub quote: Vec<Quota>,
    pub speciale: bool,
}

/// The scheduled day of a declaration (Rome).
pub fn giorno(q: &Quando) -> NaiveDate {
    match q {
        Quando::Lf { data, .. } => *data,
        Quando::Orario { inizio, .. } => rome_date(*inizio),
        Quando::Finestra { dal, .. } => *dal,
    }
}

fn euro(cents: i64) -> String {
    Euro::from_cents(cents).to_string()
}

/// Every rule of PRE-1..PRE-7, and the quotas of PRE-8 (their used/left are the store's).
pub fn valuta(
    d: &Dichiarazione,
    r: &Regole,
    u: Option<&Utilizzatore>,
    p: &Prestatore,
    adesso: DateTime<Utc>,
) -> Valutazione {
    let mut out = Vec::new();
    let data = giorno(&d.quando);
    let anno = data.year();
    if u.is_none() {
        out.push(viol(
            "PRE-1",
            "PRE_1_UTILIZZATORE_NOT_REGISTERED",
            "prestazione.utilizzatore_cf",
            "the utilizzatore is not registered",
        ));
    }
    if !p.registrato {
        out.push(viol(
            "PRE-1",
            "PRE_1_PRESTATORE_NOT_REGISTERED",
            "prestazione.prestatore_cf",
            "the prestatore is not registered",
        ));
    }
    let speciale = p.speciale(&d.prestatore_cf, data);
    let (minuti, costo) = match (&d.quando, d.tipo) {
        (Quando::Lf { data, minuti, titoli }, _) => {
            if u.is_some_and(|u| u.lf.is_none()) {
                out.push(viol(
                    "PRE-2",
                    "PRE_2_NOT_LF_UTILIZZATORE",
                    "prestazione.utilizzatore_cf",
                    "the utilizzatore is not registered for the Libretto Famiglia",
                ));
            }
            let necessari = (minuti + 59) / 60;
            if *titoli < necessari {
                out.push(viol(
                    "PRE-1",
                    "PRE_1_LF_TITOLI",
                    "prestazione.lf.titoli",
                    format!("{minuti} minutes need at least {necessari} titoli (one per hour or fraction)"),
                ));
            }
            let costo = r.costo_lf(*titoli);
            if let Some(c) = d.compenso
                && c != costo.compenso
            {
                out.push(viol(
                    "PRE-1",
                    "PRE_1_LF_COMPENSO",
                    "prestazione.compenso",
                    format!("must be {} ({titoli} titoli)", costo.compenso),
                ));
            }
            let scadenza = end_of_day_exclusive(day_of_month_next_month(*data, r.giorno_scadenza_lf as u32));
            if adesso >= scadenza {
                out.push(viol(
                    "PRE-2",
                    "PRE_2_LF_DEADLINE",
                    "prestazione.lf.data",
                    format!(
                        "an LF prestazione must be declared by day {} of the following month",
                        r.giorno_scadenza_lf
                    ),
                ));
            }
            (*minuti, costo)
        }
        (q, _) => {
            let profilo = u.and_then(|u| u.cpo.as_ref());
            if u.is_some() && profilo.is_none() {
                out.push(viol(
                    "PRE-3",
                    "PRE_3_NOT_CPO_UTILIZZATORE",
                    "prestazione.utilizzatore_cf",
                    "the utilizzatore is not registered for the CPO",
                ));
            }
            let agricolo =
                profilo.is_some_and(|p| p.categoria == Some(CategoriaUtilizzatore::ImpresaAgricola));
            let compenso = d.compenso.unwrap_or(Euro::ZERO);
            let (minuti, orario_minimo) = match q {
                Quando::Orario { inizio, fine } => {
                    if adesso + Duration::minutes(i64::from(r.preavviso_cpo_minuti)) > *inizio {
                        out.push(viol(
                            "PRE-3",
                            "PRE_3_CPO_NOTICE",
                            "prestazione.cpo.inizio",
                            format!(
                                "a CPO must be declared at least {} minutes before the start",
                                r.preavviso_cpo_minuti
                            ),
                        ));
                    }
                    ((*fine - *inizio).num_minutes(), r.orario_minimo)
                }
                Quando::Finestra { dal, al, minuti } => {
                    if !(r.agricoltura_ammessa && agricolo) {
                        out.push(viol("PRE-3", "PRE_3_AGRICULTURAL_WINDOW_NOT_ALLOWED", "prestazione.cpo.finestra_agricola", "a time window is only for agricultural utilizzatori in years allowing agriculture"));
                    } else if (*al - *dal).num_days() + 1 > i64::from(r.giorni_finestra_agricola) {
                        out.push(viol(
                            "PRE-3",
                            "PRE_3_AGRICULTURAL_WINDOW_TOO_LONG",
                            "prestazione.cpo.finestra_agricola.periodo",
                            format!("the window is at most {} days", r.giorni_finestra_agricola),
                        ));
                    }
                    if adesso
                        >= occasionali_kernel::calendar::start_of_day(*dal)
                            - Duration::minutes(i64::from(r.preavviso_cpo_minuti))
                    {
                        out.push(viol(
                            "PRE-3",
                            "PRE_3_CPO_NOTICE",
                            "prestazione.cpo.finestra_agricola.periodo",
                            format!(
                                "a CPO must be declared at least {} minutes before the start",
                                r.preavviso_cpo_minuti
                            ),
                        ));
                    }
                    (
                        *minuti,
                        r.orario_minimo_agricolo
                            .filter(|_| agricolo)
                            .unwrap_or(r.orario_minimo),
                    )
                }
                Quando::Lf { .. } => (0, r.orario_minimo),
            };
            // PRE-3: at least the hourly minimum pro rata (rounded up to the cent), and at least the
            // daily minimum for prestazioni of at most the threshold's continuous hours.
            let minimo_orario = (orario_minimo * minuti + 59) / 60;
            if compenso.cents() < minimo_orario {
                out.push(viol(
                    "PRE-3",
                    "PRE_3_CPO_HOURLY_MINIMUM",
                    "prestazione.compenso",
                    format!(
                        "at least {} for {minuti} minutes ({} per hour)",
                        euro(minimo_orario),
                        euro(orario_minimo)
                    ),
                ));
            }
            if matches!(q, Quando::Orario { .. })
                && minuti <= i64::from(r.ore_soglia_giornaliero) * 60
                && compenso.cents() < r.giornaliero_minimo
            {
                out.push(viol(
                    "PRE-3",
                    "PRE_3_CPO_DAILY_MINIMUM",
                    "prestazione.compenso",
                    format!(
                        "at least {} per day for prestazioni of at most {} hours",
                        euro(r.giornaliero_minimo),
                        r.ore_soglia_giornaliero
                    ),
                ));
            }
            if let Some(pr) = profilo {
                if r.settore_escluso(&pr.ateco) {
                    out.push(viol(
                        "PRE-4",
                        "PRE_4_EXCLUDED_SECTOR",
                        "prestazione.utilizzatore_cf",
                        format!("ATECO {} is excluded from the CPO in {anno}", pr.ateco),
                    ));
                }
                if agricolo && !r.agricoltura_ammessa {
                    out.push(viol(
                        "PRE-4",
                        "PRE_4_AGRICULTURE_EXCLUDED",
                        "prestazione.utilizzatore_cf",
                        format!("agriculture is excluded from the CPO in {anno} (L. 197/2022)"),
                    ));
                }
                let max = r.dipendenti_max_per(&pr.ateco);
                if pr.dipendenti > max {
                    out.push(viol(
                        "PRE-4",
                        "PRE_4_TOO_MANY_EMPLOYEES",
                        "prestazione.utilizzatore_cf",
                        format!("{} open-ended employees, at most {max}", pr.dipendenti),
                    ));
                }
                let pa = pr.categoria == Some(CategoriaUtilizzatore::PubblicaAmministrazione);
                if pa && !d.finalita_pa {
                    out.push(viol(
                        "PRE-6",
                        "PRE_6_PA_PURPOSE_REQUIRED",
                        "prestazione.cpo.finalita_pa",
                        "a public administration must state one of the four purposes",
                    ));
                }
                if !pa && d.finalita_pa {
                    out.push(viol(
                        "PRE-6",
                        "PRE_6_PURPOSE_ONLY_FOR_PA",
                        "prestazione.cpo.finalita_pa",
                        "only a public administration states a purpose",
                    ));
                }
                if agricolo && r.agricoltura_ammessa {
                    let ammesso = p.categorie.iter().any(|c| {
                        c.copre(data)
                            && match c.categoria {
                                Categoria::Pensionato
                                | Categoria::Disoccupato
                                | Categoria::SostegnoReddito => true,
                                Categoria::Studente => sotto_25(&d.prestatore_cf, data),
                                Categoria::ElenchiAgricoli => false,
                            }
                    });
                    let elenchi = p
                        .categorie
                        .iter()
                        .any(|c| c.categoria == Categoria::ElenchiAgricoli && c.interseca_anno(anno - 1));
                    if !ammesso || elenchi {
                        out.push(viol("PRE-7", "PRE_7_AGRICULTURAL_PRESTATORE", "prestazione.prestatore_cf", "an agricultural utilizzatore may only use pensioners, students under 25, unemployed or income-support recipients not in last year's agricultural lists"));
                    }
                }
            }
            if d.appalto {
                out.push(viol(
                    "PRE-4",
                    "PRE_4_APPALTO",
                    "prestazione.dichiarazioni.appalto",
                    "a CPO cannot be used inside an appalto",
                ));
            }
            (minuti, r.costo_cpo(compenso))
        }
    };
    if d.rapporto_recente {
        out.push(viol(
            "PRE-5",
            "PRE_5_RECENT_EMPLOYMENT",
            "prestazione.dichiarazioni.rapporto_lavoro_recente",
            format!(
                "the prestatore had an employment relationship with the utilizzatore less than {} months ago",
                r.mesi_rapporto_recente
            ),
        ));
    }
    // PRE-8 quotas.
    let ateco = u
        .and_then(|u| {
            if d.tipo == Tipo::Cpo {
                u.cpo.as_ref()
            } else {
                u.lf.as_ref()
            }
        })
        .map(|p| p.ateco.clone())
        .unwrap_or_default();
    let compenso = costo.compenso.cents();
    let quota_u = if speciale {
        Euro::from_cents(compenso)
            .percent_half_up(super::regole::frazione(r.percentuale_categorie_speciali))
            .cents()
    } else {
        compenso
    };
    let (pcf, ucf) = (d.prestatore_cf.as_str(), d.utilizzatore_cf.as_str());
    let q = |tipo, limite, richiesto| Quota {
        tipo,
        id: id_contatore(tipo, anno, pcf, ucf),
        anno,
        prestatore_cf: pcf.to_string(),
        utilizzatore_cf: ucf.to_string(),
        limite,
        richiesto,
    };
    let mut quote = vec![
        q(TipoLimite::Prestatore, r.limite_prestatore, compenso),
        q(
            TipoLimite::Utilizzatore,
            r.limite_utilizzatore_per(&ateco),
            quota_u,
        ),
        q(TipoLimite::Coppia, r.limite_coppia, compenso),
    ];
    if d.tipo == Tipo::Cpo {
        quote.push(q(TipoLimite::OreCoppia, i64::from(r.ore_coppia) * 60, minuti));
    }
    Valutazione {
        violazioni: out,
        data,
        minuti,
        costo,
        quote,
        speciale,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::regole::semi;

    fn r2026() -> Regole {
        semi().into_iter().rev().find(|r| r.anno <= 2026).unwrap()
    }

    fn impresa() -> Utilizzatore {
        Utilizzatore {
            lf: None,
            cpo: Some(ProfiloUtilizzatore {
                categoria: Some(CategoriaUtilizzatore::Impresa),
                ateco: "56.10.11".into(),
                dipendenti: 3,
            }),
        }
    }

    fn cpo(minuti: i64, compenso: i64) -> Dichiarazione {
        let inizio: DateTime<Utc> = "2026-06-16T07:00:00Z".parse().unwrap();
        Dichiarazione {
            tipo: Tipo::Cpo,
            utilizzatore_cf: "00743110157".into(),
            prestatore_cf: "RSSMRA80A01H501U".into(),
            quando: Quando::Orario {
                inizio,
                fine: inizio + Duration::minutes(minuti),
            },
            compenso: Some(Euro::from_cents(compenso)),
            finalita_pa: false,
            appalto: false,
            rapporto_recente: false,
        }
    }

    fn reasons(d: &Dichiarazione) -> Vec<&'static str> {
        let p = Prestatore {
            registrato: true,
            categorie: Vec::new(),
        };
        let adesso = "2026-06-15T10:00:00Z".parse().unwrap();
        valuta(d, &r2026(), Some(&impresa()), &p, adesso)
            .violazioni
            .into_iter()
            .map(|v| v.reason)
            .collect()
    }

    #[test]
    fn pre_3_hourly_minimum_is_pro_rata_rounded_up() {
        // 4 h 50 min: 43.50 exactly.
        assert!(reasons(&cpo(290, 4350)).is_empty());
        assert_eq!(reasons(&cpo(290, 4349)), vec!["PRE_3_CPO_HOURLY_MINIMUM"]);
        // 4 h 01 min: 36.15 (36.135 rounded up).
        assert!(reasons(&cpo(241, 3615)).is_empty());
        assert_eq!(reasons(&cpo(241, 3614)), vec!["PRE_3_CPO_HOURLY_MINIMUM"]);
    }

    #[test]
    fn pre_3_daily_minimum_applies_up_to_four_hours() {
        assert_eq!(reasons(&cpo(120, 3599)), vec!["PRE_3_CPO_DAILY_MINIMUM"]);
        assert!(reasons(&cpo(120, 3600)).is_empty());
        assert_eq!(
            reasons(&cpo(60, 900)),
            vec!["PRE_3_CPO_DAILY_MINIMUM"],
            "one hour at 9.00 meets the hourly minimum only"
        );
    }

    #[test]
    fn pre_8_students_count_at_75_percent_only_under_25() {
        let p = Prestatore {
            registrato: true,
            categorie: vec![CategoriaValida {
                categoria: Categoria::Studente,
                dal: None,
                al: None,
            }],
        };
        // Born 1 January 2002: 24 until 31 December 2026, 25 from 1 January 2027.
        let cf = occasionali_kernel::cf::genera(&occasionali_kernel::DatiAnagrafici {
            cognome: "Rossi".into(),
            nome: "Mario".into(),
            data_nascita: NaiveDate::from_ymd_opt(2002, 1, 1).unwrap(),
            sesso: occasionali_kernel::Sesso::M,
            luogo_nascita: "H501".into(),
        });
        let cf = cf.as_str();
        assert!(p.speciale(cf, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
        assert!(!p.speciale(cf, NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
    }
}
