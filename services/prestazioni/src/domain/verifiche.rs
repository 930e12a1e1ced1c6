//! PRE-1..PRE-8: every check of a declaration, all collected (a refusal lists every rule broken),
//! in the order a refusal lists them.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use occasionali_kernel::Euro;
use occasionali_kernel::calendar::{day_of_month_next_month, end_of_day_exclusive, start_of_day};

use super::dichiarazione::{Dichiarazione, Lavoro, LavoroCpo, LavoroLf, TempoCpo};
use super::limiti::{Quota, euro, quote};
use super::regole::{Costo, Regole};
use super::soggetti::{CategoriaUtilizzatore, Prestatore, ProfiloUtilizzatore, Utilizzatore};

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

/// Every rule of PRE-1..PRE-7, and the quotas of PRE-8 (their used/left are the store's).
pub fn valuta(
    d: &Dichiarazione,
    r: &Regole,
    u: Option<&Utilizzatore>,
    p: &Prestatore,
    adesso: DateTime<Utc>,
) -> Valutazione {
    let mut out = Vec::new();
    let data = d.giorno();
    registrazione(u, p, &mut out);
    let speciale = p.speciale(&d.prestatore_cf, data);
    let costo = match &d.lavoro {
        Lavoro::Lf(lf) => verifica_lf(lf, d, r, u, adesso, &mut out),
        Lavoro::Cpo(c) => verifica_cpo(c, d, r, u, p, adesso, &mut out),
    };
    rapporto_recente(d, r, &mut out);
    let minuti = d.minuti();
    let quote = quote(d, r, u, data.year(), minuti, &costo, speciale);
    Valutazione {
        violazioni: out,
        data,
        minuti,
        costo,
        quote,
        speciale,
    }
}

/// PRE-1: both parties are registered.
fn registrazione(u: Option<&Utilizzatore>, p: &Prestatore, out: &mut Vec<Violazione>) {
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
}

/// PRE-1, PRE-2: a Libretto Famiglia utilizzatore, enough titoli for the hours, the compensation
/// they make, declared by the deadline of the following month. The cost is the titoli's.
fn verifica_lf(
    lf: &LavoroLf,
    d: &Dichiarazione,
    r: &Regole,
    u: Option<&Utilizzatore>,
    adesso: DateTime<Utc>,
    out: &mut Vec<Violazione>,
) -> Costo {
    let (minuti, titoli) = (lf.minuti, lf.titoli);
    if u.is_some_and(|u| u.lf.is_none()) {
        out.push(viol(
            "PRE-2",
            "PRE_2_NOT_LF_UTILIZZATORE",
            "prestazione.utilizzatore_cf",
            "the utilizzatore is not registered for the Libretto Famiglia",
        ));
    }
    let necessari = (minuti + 59) / 60;
    if titoli < necessari {
        out.push(viol(
            "PRE-1",
            "PRE_1_LF_TITOLI",
            "prestazione.lf.titoli",
            format!("{minuti} minutes need at least {necessari} titoli (one per hour or fraction)"),
        ));
    }
    let costo = r.costo_lf(titoli);
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
    let scadenza = end_of_day_exclusive(day_of_month_next_month(lf.data, r.giorno_scadenza_lf as u32));
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
    costo
}

/// PRE-3..PRE-7: a CPO utilizzatore, the notice and the minima, the utilizzatore's sector and
/// size, a PA's purpose, an agricultural utilizzatore's prestatori, no appalto. The cost is the
/// compensation's split.
fn verifica_cpo(
    c: &LavoroCpo,
    d: &Dichiarazione,
    r: &Regole,
    u: Option<&Utilizzatore>,
    p: &Prestatore,
    adesso: DateTime<Utc>,
    out: &mut Vec<Violazione>,
) -> Costo {
    let profilo = u.and_then(|u| u.cpo.as_ref());
    if u.is_some() && profilo.is_none() {
        out.push(viol(
            "PRE-3",
            "PRE_3_NOT_CPO_UTILIZZATORE",
            "prestazione.utilizzatore_cf",
            "the utilizzatore is not registered for the CPO",
        ));
    }
    let agricolo = profilo.is_some_and(|p| p.categoria == Some(CategoriaUtilizzatore::ImpresaAgricola));
    let compenso = d.compenso.unwrap_or(Euro::ZERO);
    let orario_minimo = match &c.tempo {
        TempoCpo::Orario { inizio, .. } => {
            preavviso(r, adesso, *inizio, "prestazione.cpo.inizio", out);
            r.orario_minimo
        }
        TempoCpo::Finestra { dal, al, .. } => {
            finestra_agricola(r, agricolo, *dal, *al, adesso, out);
            r.orario_minimo_agricolo
                .filter(|_| agricolo)
                .unwrap_or(r.orario_minimo)
        }
    };
    minimi(c, r, compenso, d.minuti(), orario_minimo, out);
    if let Some(pr) = profilo {
        requisiti_utilizzatore(pr, d, r, p, agricolo, out);
    }
    if d.appalto {
        out.push(viol(
            "PRE-4",
            "PRE_4_APPALTO",
            "prestazione.dichiarazioni.appalto",
            "a CPO cannot be used inside an appalto",
        ));
    }
    r.costo_cpo(compenso)
}

/// PRE-3: declared at least the year's notice before the work starts.
fn preavviso(
    r: &Regole,
    adesso: DateTime<Utc>,
    inizio: DateTime<Utc>,
    field: &'static str,
    out: &mut Vec<Violazione>,
) {
    if adesso + Duration::minutes(i64::from(r.preavviso_cpo_minuti)) > inizio {
        out.push(preavviso_mancato(r, field));
    }
}

fn preavviso_mancato(r: &Regole, field: &'static str) -> Violazione {
    viol(
        "PRE-3",
        "PRE_3_CPO_NOTICE",
        field,
        format!(
            "a CPO must be declared at least {} minutes before the start",
            r.preavviso_cpo_minuti
        ),
    )
}

/// PRE-3: a window only for an agricultural utilizzatore in a year allowing agriculture, at most
/// the year's days, declared the notice before its first day starts (Rome).
fn finestra_agricola(
    r: &Regole,
    agricolo: bool,
    dal: NaiveDate,
    al: NaiveDate,
    adesso: DateTime<Utc>,
    out: &mut Vec<Violazione>,
) {
    const PERIODO: &str = "prestazione.cpo.finestra_agricola.periodo";
    if !(r.agricoltura_ammessa && agricolo) {
        out.push(viol(
            "PRE-3",
            "PRE_3_AGRICULTURAL_WINDOW_NOT_ALLOWED",
            "prestazione.cpo.finestra_agricola",
            "a time window is only for agricultural utilizzatori in years allowing agriculture",
        ));
    } else if (al - dal).num_days() + 1 > i64::from(r.giorni_finestra_agricola) {
        out.push(viol(
            "PRE-3",
            "PRE_3_AGRICULTURAL_WINDOW_TOO_LONG",
            PERIODO,
            format!("the window is at most {} days", r.giorni_finestra_agricola),
        ));
    }
    if adesso >= start_of_day(dal) - Duration::minutes(i64::from(r.preavviso_cpo_minuti)) {
        out.push(preavviso_mancato(r, PERIODO));
    }
}

/// PRE-3: at least the hourly minimum pro rata (rounded up to the cent), and at least the daily
/// minimum for prestazioni of at most the threshold's continuous hours.
fn minimi(
    c: &LavoroCpo,
    r: &Regole,
    compenso: Euro,
    minuti: i64,
    orario_minimo: i64,
    out: &mut Vec<Violazione>,
) {
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
    if matches!(c.tempo, TempoCpo::Orario { .. })
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
}

/// PRE-4, PRE-6, PRE-7: what the registry says of the CPO utilizzatore — its sector, agriculture
/// in the year, its employees, a PA's purpose, an agricultural utilizzatore's prestatore.
fn requisiti_utilizzatore(
    pr: &ProfiloUtilizzatore,
    d: &Dichiarazione,
    r: &Regole,
    p: &Prestatore,
    agricolo: bool,
    out: &mut Vec<Violazione>,
) {
    const UTILIZZATORE: &str = "prestazione.utilizzatore_cf";
    let anno = d.giorno().year();
    if r.settore_escluso(&pr.ateco) {
        out.push(viol(
            "PRE-4",
            "PRE_4_EXCLUDED_SECTOR",
            UTILIZZATORE,
            format!("ATECO {} is excluded from the CPO in {anno}", pr.ateco),
        ));
    }
    if agricolo && !r.agricoltura_ammessa {
        out.push(viol(
            "PRE-4",
            "PRE_4_AGRICULTURE_EXCLUDED",
            UTILIZZATORE,
            format!("agriculture is excluded from the CPO in {anno} (L. 197/2022)"),
        ));
    }
    let max = r.dipendenti_max_per(&pr.ateco);
    if pr.dipendenti > max {
        out.push(viol(
            "PRE-4",
            "PRE_4_TOO_MANY_EMPLOYEES",
            UTILIZZATORE,
            format!("{} open-ended employees, at most {max}", pr.dipendenti),
        ));
    }
    let pa = pr.categoria == Some(CategoriaUtilizzatore::PubblicaAmministrazione);
    if pa && !d.finalita_pa() {
        out.push(viol(
            "PRE-6",
            "PRE_6_PA_PURPOSE_REQUIRED",
            "prestazione.cpo.finalita_pa",
            "a public administration must state one of the four purposes",
        ));
    }
    if !pa && d.finalita_pa() {
        out.push(viol(
            "PRE-6",
            "PRE_6_PURPOSE_ONLY_FOR_PA",
            "prestazione.cpo.finalita_pa",
            "only a public administration states a purpose",
        ));
    }
    // PRE-7: the special categories of PRE-8, and not in last year's agricultural lists.
    let speciale = p.speciale(&d.prestatore_cf, d.giorno());
    if agricolo && r.agricoltura_ammessa && (!speciale || p.negli_elenchi_agricoli(anno - 1)) {
        out.push(viol(
            "PRE-7",
            "PRE_7_AGRICULTURAL_PRESTATORE",
            "prestazione.prestatore_cf",
            "an agricultural utilizzatore may only use pensioners, students under 25, unemployed or income-support recipients not in last year's agricultural lists",
        ));
    }
}

/// PRE-5: no recent employment relationship between the parties.
fn rapporto_recente(d: &Dichiarazione, r: &Regole, out: &mut Vec<Violazione>) {
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
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::regole::semi;
    use crate::domain::soggetti::{Categoria, CategoriaValida};

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
            utilizzatore_cf: "00743110157".into(),
            prestatore_cf: "RSSMRA80A01H501U".into(),
            luogo: Default::default(),
            lavoro: Lavoro::Cpo(LavoroCpo {
                descrizione: String::new(),
                tempo: TempoCpo::Orario {
                    inizio,
                    fine: inizio + Duration::minutes(minuti),
                },
                finalita_pa: None,
            }),
            compenso: Some(Euro::from_cents(compenso)),
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
