//! SPEC §2 through the gateway with grpcurl: deposits from the payments feed (never an operator)
//! credited and deduplicated (POR-2), manual match accepted and refused (POR-3), prestazioni
//! charged and refused beyond the balance (POR-4, through prestazioni's saga), the month's
//! payout run twice paying once (POR-5), a refund beyond the available refused (POR-7), and the
//! ledger summing to zero (POR-1).

use occasionali_e2e::Cluster;
use occasionali_runtime::identity::Profile;
use serde_json::{Value, json};

use crate::persona;

const ANA: &str = "occasionali.anagrafica.v1.AnagraficaService";
const POR: &str = "occasionali.portafoglio.v1.PortafoglioService";
const PRE: &str = "occasionali.prestazioni.v1.PrestazioniService";

fn m(rpc: &str) -> String {
    format!("{POR}/{rpc}")
}

fn metadata(o: &occasionali_e2e::Outcome, key: &str) -> String {
    o.json()
        .ok()
        .and_then(|v| {
            v["details"].as_array().and_then(|ds| {
                ds.iter()
                    .find(|d| d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")
                    .and_then(|d| d["metadata"][key].as_str().map(str::to_string))
            })
        })
        .unwrap_or_default()
}

fn f24(id: &str, cf: &str, codice: &str, importo: &str) -> Value {
    json!({"record": {"id_pagamento": id, "modello": "MODELLO_F24_ELIDE", "codice_fiscale_versante": cf, "tipo": "I",
                      "codice_tributo": codice, "anno": 2026, "importo": importo, "data_versamento": "2026-06-09"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn por_wallet_through_the_gateway() -> anyhow::Result<()> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")?.to_utc();
    let c = Cluster::start_at(Some(start)).await?;
    let g = c.grpcurl();
    let gw = c.gateway.to_string();
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    // POR-2: payments come from the payments feed's service identity.
    let flusso = c.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?;

    // The registry: a company (its legal representative Anna), a family, a worker.
    let anna = persona("Bianchi", "Anna", "1975-08-30", true, "F205");
    let luca = persona("Verdi", "Luca", "1980-02-02", false, "H501");
    let mario = persona("Rossi", "Mario", "1999-04-12", false, "H501");
    let azienda = c.token(Profile::Azienda, "00743110157", None)?;
    let o = g
        .call(
            Some(&azienda),
            &format!("{ANA}/RegisterUtilizzatore"),
            &json!({"tipo": "TIPO_UTILIZZATORE_CPO",
                    "organizzazione": {"codice_fiscale": "00743110157", "denominazione": "Trattoria da Anna srl", "legale_rappresentante_cf": anna.cf},
                    "domicilio": {"comune": "F205", "indirizzo": "Corso Como 1", "cap": "20154"},
                    "categoria": "CATEGORIA_UTILIZZATORE_IMPRESA", "ateco": "56.10.11", "dipendenti_tempo_indeterminato": 3}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let t_luca = c.token(Profile::Utilizzatore, &luca.cf, None)?;
    let o = g
        .call(
            Some(&t_luca),
            &format!("{ANA}/RegisterUtilizzatore"),
            &json!({"tipo": "TIPO_UTILIZZATORE_LIBRETTO_FAMIGLIA", "persona": luca.json(),
                    "domicilio": {"comune": "H501", "indirizzo": "Via Appia 1", "cap": "00179"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let t_mario = c.token(Profile::Prestatore, &mario.cf, None)?;
    let o = g
        .call(
            Some(&t_mario),
            &format!("{ANA}/RegisterPrestatore"),
            &json!({"persona": mario.json(), "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
                    "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");

    // POR-2: a stream of F24 records, one repeated, one unmatched, one malformed.
    let stream = [
        f24("F24-001", "00743110157", "CODICE_TRIBUTO_CLOC", "100.00"),
        f24("F24-001", "00743110157", "CODICE_TRIBUTO_CLOC", "100.00"),
        f24("F24-002", &luca.cf, "CODICE_TRIBUTO_LIFA", "50.00"),
        f24("F24-003", &anna.cf, "CODICE_TRIBUTO_CLOC", "30.00"),
        f24("F24-004", &luca.cf, "CODICE_TRIBUTO_LIFA", "abc"),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    // Not from an operator, not even DG (POR-2): nothing is imported.
    let auth = format!("authorization: Bearer {dg}");
    let o = g
        .run(&["-format-error", "-H", &auth, "-d", &stream, &gw, &m("ImportF24")])
        .await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert!(o.rules().contains("POR-2"), "{o:?}");
    let auth = format!("authorization: Bearer {flusso}");
    let o = g
        .run(&["-format-error", "-H", &auth, "-d", &stream, &gw, &m("ImportF24")])
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let r = o.json()?;
    assert_eq!(
        (
            r["numeroAccreditati"].as_str(),
            r["numeroDuplicati"].as_str(),
            r["numeroNonAbbinati"].as_str(),
            r["numeroScartati"].as_str()
        ),
        (Some("2"), Some("1"), Some("1"), Some("1")),
        "{r}"
    );
    // pagoPA: the same payment id twice is one deposit.
    let pagopa = json!({"id_pagamento": "PPA-1", "iuv": "01000000000000001", "codice_fiscale_versante": luca.cf,
                        "tipo_portafoglio": "TIPO_PORTAFOGLIO_LIBRETTO_FAMIGLIA", "importo": "20.00", "pagato_il": "2026-06-10T08:00:00Z"});
    let o = g.call(Some(&dg), &m("NotifyPagoPa"), &pagopa).await?;
    assert_eq!(o.code, 7, "{o:?}");
    assert!(o.rules().contains("POR-2"), "{o:?}");
    let first = g.call(Some(&flusso), &m("NotifyPagoPa"), &pagopa).await?;
    assert_eq!(first.code, 0, "{first:?}");
    let again = g.call(Some(&flusso), &m("NotifyPagoPa"), &pagopa).await?;
    assert_eq!(again.json()?["duplicato"], true, "{again:?}");
    let lf = json!({"portafoglio": {"utilizzatore_cf": luca.cf, "tipo": "TIPO_PORTAFOGLIO_LIBRETTO_FAMIGLIA"}, "anno": 2026});
    let o = g.call(Some(&t_luca), &m("GetRiepilogo"), &lf).await?;
    assert_eq!(o.json()?["riepilogo"]["disponibile"], "70.00", "{o:?}");

    // POR-3: the unmatched F24 paid by Anna goes to the company she represents, not elsewhere.
    let o = g
        .call(Some(&dg), &m("ListVersamentiNonAbbinati"), &json!({}))
        .await?;
    let versamento = o.json()?["versamenti"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!versamento.is_empty(), "{o:?}");
    let o = g
        .call(
            Some(&dg),
            &m("AbbinaVersamento"),
            &json!({"versamento_id": versamento, "utilizzatore_cf": luca.cf, "nota": "prova"}),
        )
        .await?;
    assert_eq!(o.code, 9, "{o:?}");
    assert!(o.rules().contains("POR-3"), "{o:?}");
    let o = g
        .call(
            Some(&dg),
            &m("AbbinaVersamento"),
            &json!({"versamento_id": versamento, "utilizzatore_cf": "00743110157", "nota": "versato dalla legale rappresentante"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let cpo = json!({"utilizzatore_cf": "00743110157", "tipo": "TIPO_PORTAFOGLIO_CPO"});
    let o = g
        .call(
            Some(&azienda),
            &m("GetRiepilogo"),
            &json!({"portafoglio": cpo, "anno": 2026}),
        )
        .await?;
    assert_eq!(o.json()?["riepilogo"]["disponibile"], "130.00", "{o:?}");

    // POR-4: the company declares a prestazione within the balance (prestazioni reserves its
    // cost), then one beyond it (refused with the wallet's amounts).
    let prestazione = |inizio: &str, fine: &str, compenso: &str| {
        json!({"tipo": "TIPO_PRESTAZIONE_CPO", "utilizzatore_cf": "00743110157", "prestatore_cf": mario.cf,
               "luogo": {"comune": "F205", "indirizzo": "Corso Como 1"},
               "cpo": {"descrizione": "servizio ai tavoli", "inizio": inizio, "fine": fine},
               "compenso": compenso, "dichiarazioni": {"appalto": false, "rapporto_lavoro_recente": false}})
    };
    let o = g
        .call(
            Some(&azienda),
            &format!("{PRE}/InsertPrestazione"),
            &json!({"request_id": "por-e2e-1", "prestazione":
                prestazione("2026-06-11T07:00:00Z", "2026-06-11T11:00:00Z", "36.00")}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    assert_eq!(o.json()?["prestazione"]["costo"]["totale"], "49.63", "{o:?}");
    let o = g
        .call(
            Some(&azienda),
            &format!("{PRE}/InsertPrestazione"),
            &json!({"request_id": "por-e2e-2", "prestazione":
                prestazione("2026-06-12T07:00:00Z", "2026-06-12T11:00:00Z", "200.00")}),
        )
        .await?;
    assert_eq!(o.code, 9, "{o:?}");
    assert!(o.rules().contains("POR-4"), "{o:?}");
    assert_eq!(metadata(&o, "available"), "80.37", "{o:?}");

    // POR-7: a refund beyond what is available is refused.
    let o = g
        .call(
            Some(&azienda),
            &m("RequestRimborso"),
            &json!({"request_id": "rimb-1", "portafoglio": cpo, "importo": "100.00",
                                                          "iban": "IT60X0542811101000000123456"}),
        )
        .await?;
    assert_eq!(o.code, 9, "{o:?}");

    // POR-5: from the 15th of July the June payout runs, once.
    let o = g
        .call(
            Some(&dg),
            "occasionali.gateway.v1.DevClockService/SetClock",
            &json!({"now": "2026-07-15T08:00:00Z"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let o = g
        .call(Some(&dg), &m("RunPayout"), &json!({"anno": 2026, "mese": 6}))
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let run = o.json()?["run"].clone();
    assert_eq!(run["numeroOrdini"], "1", "{run}");
    assert_eq!(run["totaleNetto"], "36.00", "{run}");
    let o = g
        .call(Some(&dg), &m("RunPayout"), &json!({"anno": 2026, "mese": 6}))
        .await?;
    let again = o.json()?["run"].clone();
    assert_eq!(again["giaEseguito"], true, "{again}");
    assert_ne!(again["numeroOrdini"], "1", "paid twice: {again}");

    // POR-1: the ledger sums to zero.
    let o = g.call(Some(&dg), &m("GetLedgerBalance"), &json!({})).await?;
    let b = o.json()?;
    assert_eq!(b["bilanciato"], true, "{b}");
    assert_eq!(b["totale"], "0.00", "{b}");
    c.stop().await
}
