//! The domestic-work read model (NOT-7): employers, their relationships and each quarter's
//! situation, as INPS's archives send them; each archive record once.

use chrono::NaiveDate;
use occasionali_runtime::AppError;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

use super::{esegui, opt_str, righe};
use crate::domain::campagna::{Datore, Rapporto, Situazione, StatoRapporto};
use crate::domain::trimestre::Trimestre;

/// A record decoded and checked.
#[derive(Clone, Debug)]
pub struct Record {
    pub record_id: String,
    pub datore: Datore,
    pub cognome: String,
    pub rapporti: Vec<(String, Rapporto)>,
}

/// Writes a record unless its id was imported before: `false` then (nothing written). A later
/// record about the same employer, relationship or quarter replaces what an earlier one said.
pub async fn importa(db: &impl ConnectionTrait, r: &Record, adesso_ms: i64) -> Result<bool, AppError> {
    let nuovo = esegui(
        db,
        "INSERT INTO ld_record (record_id, importato_ms) VALUES (?, ?) ON CONFLICT (record_id) DO NOTHING",
        vec![r.record_id.clone().into(), adesso_ms.into()],
    )
    .await?;
    if nuovo == 0 {
        return Ok(false);
    }
    let d = &r.datore;
    esegui(
        db,
        "INSERT INTO ld_datori (codice_fiscale, nome, cognome, data_nascita) VALUES (?, ?, ?, ?) \
         ON CONFLICT (codice_fiscale) DO UPDATE SET nome = excluded.nome, cognome = excluded.cognome, \
         data_nascita = excluded.data_nascita",
        vec![
            d.codice_fiscale.clone().into(),
            d.nome.clone().into(),
            r.cognome.clone().into(),
            d.data_nascita.map(|x| x.to_string()).into(),
        ],
    )
    .await?;
    for (lavoratore_cf, rapporto) in &r.rapporti {
        esegui(
            db,
            "INSERT INTO ld_rapporti (codice_rapporto, datore_cf, lavoratore_cf, lavoratore_nome) VALUES (?, ?, ?, ?) \
             ON CONFLICT (codice_rapporto) DO UPDATE SET datore_cf = excluded.datore_cf, \
             lavoratore_cf = excluded.lavoratore_cf, lavoratore_nome = excluded.lavoratore_nome",
            vec![
                rapporto.codice.clone().into(),
                d.codice_fiscale.clone().into(),
                lavoratore_cf.clone().into(),
                rapporto.lavoratore_nome.clone().into(),
            ],
        )
        .await?;
        for s in &rapporto.trimestri {
            esegui(
                db,
                "INSERT INTO ld_trimestri (codice_rapporto, anno, numero, stato, dovuti, pagati) VALUES (?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (codice_rapporto, anno, numero) DO UPDATE SET stato = excluded.stato, \
                 dovuti = excluded.dovuti, pagati = excluded.pagati",
                vec![
                    rapporto.codice.clone().into(),
                    s.trimestre.anno.into(),
                    i32::from(s.trimestre.numero).into(),
                    s.stato.as_str().into(),
                    opt_str(s.dovuti.map(|x| x.to_string()).as_deref()),
                    opt_str(s.pagati.map(|x| x.to_string()).as_deref()),
                ],
            )
            .await?;
        }
    }
    Ok(true)
}

/// The next `limite` employers after `dopo` in codice fiscale order, each with its relationships
/// and their quarters, in one statement (keyset pages: flat memory however many employers).
pub async fn pagina_datori(
    db: &impl ConnectionTrait,
    dopo: &str,
    limite: u64,
) -> Result<Vec<(Datore, Vec<Rapporto>)>, AppError> {
    let rows = righe(
        db,
        &format!(
            "SELECT d.codice_fiscale, d.nome, d.data_nascita, r.codice_rapporto, r.lavoratore_nome, \
             t.anno, t.numero, t.stato, t.dovuti, t.pagati \
             FROM (SELECT codice_fiscale, nome, data_nascita FROM ld_datori WHERE codice_fiscale > ? \
                   ORDER BY codice_fiscale LIMIT {limite}) d \
             LEFT JOIN ld_rapporti r ON r.datore_cf = d.codice_fiscale \
             LEFT JOIN ld_trimestri t ON t.codice_rapporto = r.codice_rapporto \
             ORDER BY d.codice_fiscale, r.codice_rapporto, t.anno, t.numero"
        ),
        vec![dopo.into()],
    )
    .await?;
    let mut out: Vec<(Datore, Vec<Rapporto>)> = Vec::new();
    for r in rows {
        let cf: String = r.try_get("", "codice_fiscale")?;
        if out.last().is_none_or(|(d, _)| d.codice_fiscale != cf) {
            let nascita: Option<String> = r.try_get("", "data_nascita")?;
            out.push((
                Datore {
                    codice_fiscale: cf,
                    nome: r.try_get("", "nome")?,
                    data_nascita: nascita.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()),
                },
                Vec::new(),
            ));
        }
        let Some((_, rapporti)) = out.last_mut() else {
            continue;
        };
        let Some(codice) = r.try_get::<Option<String>>("", "codice_rapporto")? else {
            continue;
        };
        if rapporti.last().is_none_or(|x| x.codice != codice) {
            rapporti.push(Rapporto {
                codice,
                lavoratore_nome: r
                    .try_get::<Option<String>>("", "lavoratore_nome")?
                    .unwrap_or_default(),
                trimestri: Vec::new(),
            });
        }
        let anno: Option<i32> = r.try_get("", "anno")?;
        let numero: Option<i32> = r.try_get("", "numero")?;
        let stato: Option<String> = r.try_get("", "stato")?;
        if let (Some(anno), Some(numero), Some(stato)) = (anno, numero, stato)
            && let (Some(t), Some(stato)) = (Trimestre::new(anno, numero), StatoRapporto::parse(&stato))
            && let Some(rapporto) = rapporti.last_mut()
        {
            let importo = |s: Option<String>| s.and_then(|v| v.parse::<Decimal>().ok());
            rapporto.trimestri.push(Situazione {
                trimestre: t,
                stato,
                dovuti: importo(r.try_get("", "dovuti")?),
                pagati: importo(r.try_get("", "pagati")?),
            });
        }
    }
    Ok(out)
}
