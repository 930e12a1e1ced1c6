//! m0004 (issue 15): the prestazione stored as the domain's, no longer as the wire's.
//!
//! Until m0003 a prestazione was its protobuf message encoded into `prestazioni.dati` (with its
//! state kept again in `stato`, `confermata` and `reintegrata`), its request's bytes in
//! `richiesta` (PRE-18 compared them), its refusal a protobuf `rifiuto`; a payment was its
//! message in `pagamenti.dati`. This migration adds the columns of [`super::super::prestazioni`]
//! and [`super::super::pagamenti`], converts every row by decoding its old blobs, and drops the
//! blobs and the state's copies, so that an upgraded database and a fresh one are the same.
//!
//! One way only: its `down` refuses (the blobs cannot be rebuilt byte for byte); restore the
//! backup taken before upgrading instead.

use chrono::{DateTime, Utc};
use occasionali_kernel::Euro;
use occasionali_proto::prestazioni as pb;
use prost::Message;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use sea_orm_migration::prelude::*;

use crate::store::{dichiarazione, istante, sql};
use sea_orm_migration::schema::{big_integer, blob_null, integer_null, string, text, text_null};

pub struct PrestazioneInColonne;

impl MigrationName for PrestazioneInColonne {
    fn name(&self) -> &str {
        "m0004_prestazione_in_colonne"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for PrestazioneInColonne {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        aggiungi_colonne(manager).await?;
        let db = manager.get_connection();
        converti_prestazioni(db).await?;
        converti_pagamenti(db).await?;
        togli_i_blob(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "m0004_prestazione_in_colonne is one way: restore the backup taken before it".into(),
        ))
    }
}

/// The prestazione's columns (declaration document, cost split, insertion, each lifecycle step)
/// and the payment's. One column per statement: SQLite alters one thing at a time.
async fn aggiungi_colonne(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let prestazioni = [
        text("dichiarazione").default("").to_owned(),
        big_integer("contributi_ivs").default(0).to_owned(),
        big_integer("premio_inail").default(0).to_owned(),
        big_integer("oneri_gestione").default(0).to_owned(),
        text("revocabile_fino_al").default("").to_owned(),
        string("inserita_da_cf").default("").to_owned(),
        text("inserita_il").default("").to_owned(),
        text_null("accettata_il"),
        text_null("motivo_rifiuto"),
        integer_null("rifiuto_codice"),
        text_null("rifiuto_messaggio"),
        blob_null("rifiuto_dettagli"),
        text_null("revocata_il"),
        text_null("motivo_revoca"),
        text_null("confermata_il"),
        text_null("contestata_il"),
        text_null("nota_contestazione"),
        text_null("pagata_il"),
    ];
    let pagamenti = [
        string("data_pagamento").default("").to_owned(),
        string("importo_lordo").default("").to_owned(),
        string("commissione").default("").to_owned(),
        string("importo_netto").default("").to_owned(),
        text("prestazione_ids").default("[]").to_owned(),
        text_null("pagato_il"),
    ];
    let colonne = prestazioni
        .into_iter()
        .map(|c| ("prestazioni", c))
        .chain(pagamenti.into_iter().map(|c| ("pagamenti", c)));
    for (table, c) in colonne {
        manager
            .alter_table(Table::alter().table(table).add_column(c).to_owned())
            .await?;
    }
    Ok(())
}

/// The blobs and the state's copies, now in their columns.
async fn togli_i_blob(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let colonne = [
        ("prestazioni", "richiesta"),
        ("prestazioni", "dati"),
        ("prestazioni", "rifiuto"),
        ("prestazioni", "confermata"),
        ("prestazioni", "reintegrata"),
        ("pagamenti", "dati"),
    ];
    for (table, c) in colonne {
        manager
            .alter_table(Table::alter().table(table).drop_column(c).to_owned())
            .await?;
    }
    Ok(())
}

/// Rows are converted a page at a time (by id), so memory does not grow with the table.
const PAGINA: u64 = 200;

fn errore(id: &str, e: impl std::fmt::Display) -> DbErr {
    DbErr::Migration(format!("m0004, row {id}: {e}"))
}

fn da_timestamp(id: &str, t: &Option<prost_types::Timestamp>) -> Result<Option<String>, DbErr> {
    t.as_ref()
        .map(|t| {
            let nanos: u32 = std::convert::TryFrom::try_from(t.nanos).map_err(|e| errore(id, e))?;
            DateTime::<Utc>::from_timestamp(t.seconds, nanos)
                .map(istante)
                .ok_or_else(|| errore(id, format!("instant {t:?}")))
        })
        .transpose()
}

fn centesimi(id: &str, s: &str) -> Result<i64, DbErr> {
    Euro::parse(s).map(|e| e.cents()).map_err(|e| errore(id, e))
}

/// PRE-18: the refusal as it was kept by m0003: the gRPC code, message and status details.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RifiutoSalvato {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(bytes = "vec", tag = "3")]
    pub details: Vec<u8>,
}

async fn converti_prestazioni(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let mut dopo = String::new();
    loop {
        let rows = db
            .query_all_raw(sql(
                db,
                &format!(
                    "SELECT id, stato, richiesta, dati, rifiuto, confermata FROM prestazioni WHERE id > ? ORDER BY id LIMIT {PAGINA}"
                ),
                vec![dopo.clone().into()],
            ))
            .await?;
        for r in &rows {
            converti_prestazione(db, r).await?;
        }
        match rows.last() {
            Some(r) => dopo = r.try_get("", "id")?,
            None => return Ok(()),
        }
    }
}

/// One row: the declaration decoded again from its request's bytes (what a retry's decoded
/// request is compared with, PRE-18), everything else from the stored message.
async fn converti_prestazione(db: &impl ConnectionTrait, r: &QueryResult) -> Result<(), DbErr> {
    let id: String = r.try_get("", "id")?;
    let stato: String = r.try_get("", "stato")?;
    let richiesta: Vec<u8> = r.try_get("", "richiesta")?;
    let dati: Vec<u8> = r.try_get("", "dati")?;
    let rifiuto: Option<Vec<u8>> = r.try_get("", "rifiuto")?;
    let confermata = r.try_get::<i32>("", "confermata")? != 0;
    let richiesta = pb::DatiPrestazione::decode(richiesta.as_slice()).map_err(|e| errore(&id, e))?;
    let dichiarazione = crate::decode::dichiarazione(Some(&richiesta))
        .map_err(|v| errore(&id, format!("the stored request no longer decodes: {v:?}")))?;
    let p = pb::Prestazione::decode(dati.as_slice()).map_err(|e| errore(&id, e))?;
    let costo = p.costo.clone().unwrap_or_default();
    let rifiuto = rifiuto
        .map(|b| RifiutoSalvato::decode(b.as_slice()))
        .transpose()
        .map_err(|e| errore(&id, e))?;
    let revocata_il = da_timestamp(&id, &p.revocata_il)?;
    let contestata_il = da_timestamp(&id, &p.contestata_il)?;
    let inserita_il = da_timestamp(&id, &p.inserita_il)?.unwrap_or_default();
    // Confirmation always stamped its time; the flag is what counted.
    let confermata_il = if confermata {
        da_timestamp(&id, &p.confermata_il)?.or(Some(inserita_il.clone()))
    } else {
        None
    };
    let values: Vec<Value> = vec![
        dichiarazione::scrivi(&dichiarazione).into(),
        centesimi(&id, &costo.contributi_ivs)?.into(),
        centesimi(&id, &costo.premio_inail)?.into(),
        centesimi(&id, &costo.oneri_gestione)?.into(),
        da_timestamp(&id, &p.revocabile_fino_al)?
            .unwrap_or_default()
            .into(),
        p.inserita_da_cf.clone().into(),
        inserita_il.into(),
        da_timestamp(&id, &p.accettata_il)?.into(),
        (stato == "REJECTED").then(|| p.motivo_rifiuto.clone()).into(),
        rifiuto.as_ref().map(|x| x.code).into(),
        rifiuto.as_ref().map(|x| x.message.clone()).into(),
        rifiuto.map(|x| x.details).into(),
        revocata_il.clone().into(),
        revocata_il.map(|_| p.motivo_revoca.clone()).into(),
        confermata_il.into(),
        contestata_il.clone().into(),
        contestata_il.map(|_| p.nota_contestazione.clone()).into(),
        da_timestamp(&id, &p.pagata_il)?.into(),
        id.into(),
    ];
    db.execute_raw(sql(
        db,
        "UPDATE prestazioni SET dichiarazione = ?, contributi_ivs = ?, premio_inail = ?, oneri_gestione = ?, \
         revocabile_fino_al = ?, inserita_da_cf = ?, inserita_il = ?, accettata_il = ?, motivo_rifiuto = ?, \
         rifiuto_codice = ?, rifiuto_messaggio = ?, rifiuto_dettagli = ?, revocata_il = ?, motivo_revoca = ?, \
         confermata_il = ?, contestata_il = ?, nota_contestazione = ?, pagata_il = ? WHERE id = ?",
        values,
    ))
    .await?;
    Ok(())
}

async fn converti_pagamenti(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let mut dopo = String::new();
    loop {
        let rows = db
            .query_all_raw(sql(
                db,
                &format!(
                    "SELECT payout_order_id, dati FROM pagamenti WHERE payout_order_id > ? ORDER BY payout_order_id LIMIT {PAGINA}"
                ),
                vec![dopo.clone().into()],
            ))
            .await?;
        for r in &rows {
            let id: String = r.try_get("", "payout_order_id")?;
            let dati: Vec<u8> = r.try_get("", "dati")?;
            let p = pb::Pagamento::decode(dati.as_slice()).map_err(|e| errore(&id, e))?;
            let ids = serde_json::to_string(&p.prestazione_ids).map_err(|e| errore(&id, e))?;
            db.execute_raw(sql(
                db,
                "UPDATE pagamenti SET data_pagamento = ?, importo_lordo = ?, commissione = ?, importo_netto = ?, \
                 prestazione_ids = ?, pagato_il = ? WHERE payout_order_id = ?",
                vec![
                    p.data_pagamento.into(),
                    p.importo_lordo.into(),
                    p.commissione.into(),
                    p.importo_netto.into(),
                    ids.into(),
                    da_timestamp(&id, &p.pagato_il)?.into(),
                    id.clone().into(),
                ],
            ))
            .await?;
        }
        match rows.last() {
            Some(r) => dopo = r.try_get("", "payout_order_id")?,
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use chrono::{DateTime, Utc};
    use occasionali_proto::common::Periodo;
    use occasionali_proto::prestazioni as pb;
    use occasionali_runtime::testing::{Engine, TestDb};
    use prost::Message;
    use sea_orm::{ConnectionTrait, Value};
    use sea_orm_migration::MigratorTrait;

    use super::RifiutoSalvato;
    use crate::domain::prestazione::{Rifiuto, Risposta};
    use crate::domain::{Pagamento, QuotaPresa};
    use crate::encode::{self, timestamp};
    use crate::store::{self, Migrator, sql};

    const PIVA: &str = "00743110157";
    const CF: &str = "RSSMRA80A01H501U";

    fn ts(s: &str) -> Option<prost_types::Timestamp> {
        Some(timestamp(s.parse::<DateTime<Utc>>().unwrap()))
    }

    fn luogo() -> pb::Luogo {
        pb::Luogo {
            comune: "058091".into(),
            indirizzo: "Via Roma 1".into(),
            comune_nome: crate::decode::comune("058091").unwrap(),
        }
    }

    fn dichiarazioni() -> Option<pb::Dichiarazioni> {
        Some(pb::Dichiarazioni {
            appalto: Some(false),
            rapporto_lavoro_recente: Some(false),
        })
    }

    fn costo(
        compenso: &str,
        ivs: &str,
        inail: &str,
        oneri: &str,
        totale: &str,
    ) -> Option<pb::CostoPrestazione> {
        Some(pb::CostoPrestazione {
            compenso: compenso.into(),
            contributi_ivs: ivs.into(),
            premio_inail: inail.into(),
            oneri_gestione: oneri.into(),
            totale: totale.into(),
        })
    }

    /// A row as m0001..m0003 kept it, with the message the old code wrote into `dati`.
    struct Vecchia {
        richiesta: pb::DatiPrestazione,
        p: pb::Prestazione,
        stato: &'static str,
        rifiuto: Option<RifiutoSalvato>,
        quote: &'static str,
    }

    fn vecchie() -> Vec<Vecchia> {
        let lf = pb::DettaglioLf {
            attivita: pb::AttivitaLf::AssistenzaDomiciliare as i32,
            data: "2026-06-16".into(),
            durata_minuti: 90,
            titoli: 0,
        };
        let orario = pb::DettaglioCpo {
            descrizione: "servizio ai tavoli".into(),
            inizio: ts("2026-06-16T07:00:00.250Z"),
            fine: ts("2026-06-16T11:00:00.250Z"),
            finestra_agricola: None,
            finalita_pa: 0,
        };
        let finestra = pb::DettaglioCpo {
            descrizione: "vendemmia".into(),
            inizio: None,
            fine: None,
            finestra_agricola: Some(pb::FinestraAgricola {
                periodo: Some(Periodo {
                    dal: "2022-09-10".into(),
                    al: "2022-09-12".into(),
                }),
                durata_minuti: 480,
            }),
            finalita_pa: 7,
        };
        let dati = |tipo: pb::TipoPrestazione, d, compenso: &str| pb::DatiPrestazione {
            tipo: tipo as i32,
            utilizzatore_cf: PIVA.into(),
            prestatore_cf: CF.into(),
            luogo: Some(luogo()),
            dettaglio: Some(d),
            compenso: compenso.into(),
            dichiarazioni: dichiarazioni(),
        };
        let base = |id: &str, tipo: pb::TipoPrestazione, d, data: &str, minuti| pb::Prestazione {
            id: id.into(),
            tipo: tipo as i32,
            utilizzatore_cf: PIVA.into(),
            prestatore_cf: CF.into(),
            luogo: Some(luogo()),
            dettaglio: Some(d),
            dichiarazioni: dichiarazioni(),
            data_prestazione: data.into(),
            durata_minuti: minuti,
            revocabile_fino_al: ts("2026-06-19T22:00:00Z"),
            inserita_da_cf: "NRELSN68C12H501Z".into(),
            request_id: format!("req-{id}"),
            inserita_il: ts("2026-06-15T10:00:00.123456789Z"),
            ..Default::default()
        };
        vec![
            // LF accepted and confirmed: the titoli computed, the compensation the titoli's.
            Vecchia {
                richiesta: dati(
                    pb::TipoPrestazione::LibrettoFamiglia,
                    pb::dati_prestazione::Dettaglio::Lf(lf.clone()),
                    "",
                ),
                p: pb::Prestazione {
                    compenso: "16.00".into(),
                    costo: costo("16.00", "3.30", "0.50", "0.20", "20.00"),
                    stato: pb::StatoPrestazione::Accepted as i32,
                    stato_pagamento: pb::StatoPagamento::Due as i32,
                    confermata: true,
                    confermata_il: ts("2026-06-17T08:00:00Z"),
                    accettata_il: ts("2026-06-15T10:00:01Z"),
                    ..base(
                        "pre_a",
                        pb::TipoPrestazione::LibrettoFamiglia,
                        pb::prestazione::Dettaglio::Lf(pb::DettaglioLf { titoli: 2, ..lf }),
                        "2026-06-16",
                        90,
                    )
                },
                stato: "ACCEPTED",
                rifiuto: None,
                quote: r#"[{"id":"P:2026:RSSMRA80A01H501U","valore":1600}]"#,
            },
            // CPO refused by the wallet, its answer kept (m0003).
            Vecchia {
                richiesta: dati(
                    pb::TipoPrestazione::Cpo,
                    pb::dati_prestazione::Dettaglio::Cpo(orario.clone()),
                    "36",
                ),
                p: pb::Prestazione {
                    compenso: "36.00".into(),
                    costo: costo("36.00", "8.28", "1.26", "4.09", "49.63"),
                    stato: pb::StatoPrestazione::Rejected as i32,
                    stato_pagamento: pb::StatoPagamento::NotDue as i32,
                    motivo_rifiuto: "PRE-10: [POR-4] insufficient funds".into(),
                    ..base(
                        "pre_b",
                        pb::TipoPrestazione::Cpo,
                        pb::prestazione::Dettaglio::Cpo(orario),
                        "2026-06-16",
                        240,
                    )
                },
                stato: "REJECTED",
                rifiuto: Some(RifiutoSalvato {
                    code: 9,
                    message: "[POR-4] insufficient funds".into(),
                    details: vec![8, 9, 18, 3],
                }),
                quote: "[]",
            },
            // An agricultural window revoked, contested and paid; a purpose the law does not list.
            Vecchia {
                richiesta: dati(
                    pb::TipoPrestazione::Cpo,
                    pb::dati_prestazione::Dettaglio::Cpo(finestra.clone()),
                    "100.00",
                ),
                p: pb::Prestazione {
                    compenso: "100.00".into(),
                    costo: costo("100.00", "23.00", "3.50", "11.35", "137.85"),
                    stato: pb::StatoPrestazione::Paid as i32,
                    stato_pagamento: pb::StatoPagamento::Paid as i32,
                    accettata_il: ts("2022-09-01T10:00:00Z"),
                    revocata_il: ts("2022-09-13T10:00:00Z"),
                    motivo_revoca: String::new(),
                    contestata_il: ts("2022-09-14T10:00:00Z"),
                    nota_contestazione: "lavoro svolto".into(),
                    pagata_il: ts("2022-10-15T09:00:00Z"),
                    payout_order_id: "po_1".into(),
                    ..base(
                        "pre_c",
                        pb::TipoPrestazione::Cpo,
                        pb::prestazione::Dettaglio::Cpo(finestra),
                        "2022-09-10",
                        480,
                    )
                },
                stato: "PAID",
                rifiuto: None,
                quote: r#"[{"id":"C:2022:RSSMRA80A01H501U:00743110157","valore":10000},{"id":"H:2022:RSSMRA80A01H501U:00743110157","valore":480}]"#,
            },
        ]
    }

    async fn inserisci_vecchia(db: &impl ConnectionTrait, v: &Vecchia) {
        let p = &v.p;
        let anno: i32 = p.data_prestazione[..4].parse().unwrap();
        let mese: i32 = p.data_prestazione[5..7].parse().unwrap();
        let cents = |s: &str| occasionali_kernel::Euro::parse(s).unwrap().cents();
        let costo = p.costo.clone().unwrap();
        let tipo = if p.tipo == pb::TipoPrestazione::Cpo as i32 {
            "CPO"
        } else {
            "LF"
        };
        db.execute_raw(sql(
            db,
            "INSERT INTO prestazioni (id, utilizzatore_cf, prestatore_cf, request_id, richiesta, tipo, anno, mese, data, minuti, compenso, totale, stato, confermata, reintegrata, quote, payout_order_id, dati, sede_utilizzatore, sede_prestatore, rifiuto) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
            vec![
                p.id.clone().into(),
                p.utilizzatore_cf.clone().into(),
                p.prestatore_cf.clone().into(),
                p.request_id.clone().into(),
                v.richiesta.encode_to_vec().into(),
                tipo.into(),
                anno.into(),
                mese.into(),
                p.data_prestazione.clone().into(),
                i64::from(p.durata_minuti).into(),
                cents(&costo.compenso).into(),
                cents(&costo.totale).into(),
                v.stato.into(),
                i32::from(p.confermata).into(),
                v.quote.into(),
                p.payout_order_id.clone().into(),
                p.encode_to_vec().into(),
                Some("RM".to_string()).into(),
                Value::String(None),
                v.rifiuto.as_ref().map(|r| r.encode_to_vec()).into(),
            ],
        ))
        .await
        .unwrap();
    }

    fn pagamento() -> pb::Pagamento {
        pb::Pagamento {
            payout_order_id: "po_1".into(),
            prestatore_cf: CF.into(),
            anno: 2022,
            mese: 9,
            data_pagamento: "2022-10-15".into(),
            importo_lordo: "100.00".into(),
            commissione: "0.00".into(),
            importo_netto: "100.00".into(),
            prestazione_ids: vec!["pre_c".into()],
            pagato_il: ts("2022-10-15T09:00:00.5Z"),
        }
    }

    /// An upgraded database answers every prestazione and payment as the old one did, and a
    /// retry's declaration is the one its old request decodes to (PRE-18).
    async fn un_database_aggiornato_risponde_come_prima(engine: Engine) -> anyhow::Result<()> {
        let Some(t) = TestDb::empty(engine, "prestazioni").await? else {
            return Ok(());
        };
        // Every migration before this one, whatever came after it.
        let prima_di_m0004 = Migrator::migrations()
            .iter()
            .position(|m| m.name() == "m0004_prestazione_in_colonne")
            .expect("m0004 is listed");
        Migrator::up(&t.db, Some(u32::try_from(prima_di_m0004)?)).await?;
        let vecchie = vecchie();
        for v in &vecchie {
            inserisci_vecchia(&t.db, v).await;
        }
        // A prestazione refused before m0003 kept its answer: only its motivo.
        let mut legacy = vecchie[1].p.clone();
        legacy.id = "pre_d".into();
        legacy.request_id = "req-pre_d".into();
        inserisci_vecchia(
            &t.db,
            &Vecchia {
                richiesta: vecchie[1].richiesta.clone(),
                p: legacy.clone(),
                stato: "REJECTED",
                rifiuto: None,
                quote: "[]",
            },
        )
        .await;
        let pag = pagamento();
        t.db.execute_raw(sql(
            &t.db,
            "INSERT INTO pagamenti (payout_order_id, prestatore_cf, anno, mese, dati) VALUES (?, ?, ?, ?, ?)",
            vec![
                pag.payout_order_id.clone().into(),
                pag.prestatore_cf.clone().into(),
                pag.anno.into(),
                pag.mese.into(),
                pag.encode_to_vec().into(),
            ],
        ))
        .await?;

        Migrator::up(&t.db, None).await?;

        for v in &vecchie {
            let p = store::prestazioni::carica(&t.db, &v.p.id, false).await?.unwrap();
            assert_eq!(encode::prestazione(&p), v.p, "{}", v.p.id);
            assert_eq!(
                p.dichiarazione,
                crate::decode::dichiarazione(Some(&v.richiesta)).unwrap()
            );
            assert_eq!(p.sedi.utilizzatore.as_deref(), Some("RM"));
        }
        let a = store::prestazioni::carica(&t.db, "pre_a", false).await?.unwrap();
        assert_eq!(
            a.quote,
            vec![QuotaPresa {
                id: "P:2026:RSSMRA80A01H501U".into(),
                valore: 1600
            }]
        );
        let b = store::prestazioni::carica(&t.db, "pre_b", false).await?.unwrap();
        assert_eq!(
            b.rifiuto,
            Some(Rifiuto {
                motivo: "PRE-10: [POR-4] insufficient funds".into(),
                risposta: Some(Risposta {
                    codice: 9,
                    messaggio: "[POR-4] insufficient funds".into(),
                    dettagli: vec![8, 9, 18, 3],
                }),
            })
        );
        let d = store::prestazioni::carica(&t.db, "pre_d", false).await?.unwrap();
        assert_eq!(encode::prestazione(&d), legacy);
        assert_eq!(d.rifiuto.and_then(|r| r.risposta), None);
        let pagamenti = store::pagamenti::del_prestatore(&t.db, CF, 0).await?;
        assert_eq!(
            pagamenti
                .iter()
                .map(encode::pagamento_registrato)
                .collect::<Vec<_>>(),
            vec![pag.clone()]
        );
        assert_eq!(
            pagamenti,
            vec![Pagamento {
                payout_order_id: "po_1".into(),
                prestatore_cf: CF.into(),
                anno: 2022,
                mese: 9,
                data_pagamento: "2022-10-15".into(),
                importo_lordo: "100.00".into(),
                commissione: "0.00".into(),
                importo_netto: "100.00".into(),
                prestazione_ids: vec!["pre_c".into()],
                pagato_il: Some("2022-10-15T09:00:00.5Z".parse()?),
            }]
        );
        // The blobs and the state's copies are gone.
        for (table, c) in [
            ("prestazioni", "dati"),
            ("prestazioni", "richiesta"),
            ("prestazioni", "rifiuto"),
            ("prestazioni", "confermata"),
            ("prestazioni", "reintegrata"),
            ("pagamenti", "dati"),
        ] {
            let q = format!("SELECT {c} FROM {table}");
            assert!(
                t.db.query_all_raw(sql(&t.db, &q, vec![])).await.is_err(),
                "{table}.{c}"
            );
        }
        t.close().await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn m0004_sqlite() -> anyhow::Result<()> {
        un_database_aggiornato_risponde_come_prima(Engine::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn m0004_postgres() -> anyhow::Result<()> {
        un_database_aggiornato_risponde_come_prima(Engine::Postgres).await
    }
}
