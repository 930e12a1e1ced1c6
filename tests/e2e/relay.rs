//! Issue 9 through the real cluster (`occasionali dev`, the same `run_context` as `serve`):
//! every context's relay runs without a test starting it, events reach notifiche, operators
//! (DG only) see each context's relay through the gateway, and the internal services are not
//! reachable through it.

use std::time::Duration;

use occasionali_e2e::Cluster;
use occasionali_runtime::identity::Profile;
use serde_json::json;

use crate::persona;

const RELAY: &str = "occasionali.gateway.v1.RelayService";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relay_runs_in_every_context_process_and_dg_sees_it() -> anyhow::Result<()> {
    let c = Cluster::start().await?;
    let g = c.grpcurl();
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let mario = persona("Rossi", "Mario", "1999-04-12", false, "H501");
    let t_mario = c.token(Profile::Prestatore, &mario.cf, None)?;
    // A registration writes an event to anagrafica's outbox (ANA-4)…
    let o = g
        .call(
            Some(&t_mario),
            "occasionali.anagrafica.v1.AnagraficaService/RegisterPrestatore",
            &json!({"persona": mario.json(), "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
                    "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"}}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    // …which the relay of the anagrafica process delivers to notifiche, with nobody asking.
    let mut delivered = false;
    let mut last = serde_json::Value::Null;
    for _ in 0..100 {
        let o = g
            .call(Some(&dg), &format!("{RELAY}/GetRelayStatus"), &json!({}))
            .await?;
        assert_eq!(o.code, 0, "{o:?}");
        last = o.json()?;
        let contesti = last["contesti"].as_array().cloned().unwrap_or_default();
        assert_eq!(contesti.len(), 6, "every context answers: {last}");
        let ana = contesti
            .iter()
            .find(|x| x["contesto"] == "anagrafica")
            .cloned()
            .unwrap_or_default();
        let recapitati = ana["stato"]["recapitati"]
            .as_str()
            .unwrap_or("0")
            .parse::<i64>()?;
        let in_attesa = ana["stato"]["inAttesa"].as_str().unwrap_or("0").parse::<i64>()?;
        if recapitati >= 1 && in_attesa == 0 {
            delivered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered, "anagrafica's event delivered: {last}");
    let o = g
        .call(
            Some(&dg),
            &format!("{RELAY}/ListRelayMessages"),
            &json!({"contesto": "anagrafica", "stato": "STATO_RECAPITO_RECAPITATO"}),
        )
        .await?;
    assert_eq!(o.code, 0, "{o:?}");
    let m = o.json()?;
    assert_eq!(m["messaggi"][0]["destinazione"], "notifiche", "{m}");
    assert_eq!(m["messaggi"][0]["tipo"], "TIPO_MESSAGGIO_EVENTO", "{m}");
    // Nobody but DG sees the relay; an unknown context is a precise error.
    let o = g
        .call(Some(&t_mario), &format!("{RELAY}/GetRelayStatus"), &json!({}))
        .await?;
    assert_eq!(o.code, 7, "PERMISSION_DENIED: {o:?}");
    let sede = c.token(Profile::OperatoreSede, "SDEOPR70A01H501Z", Some("RM"))?;
    let o = g
        .call(Some(&sede), &format!("{RELAY}/GetRelayStatus"), &json!({}))
        .await?;
    assert_eq!(o.code, 7, "PERMISSION_DENIED: {o:?}");
    let o = g
        .call(
            Some(&dg),
            &format!("{RELAY}/RetryRelayMessages"),
            &json!({"contesto": "nessuno", "tutti_falliti": true}),
        )
        .await?;
    assert_eq!(o.code, 3, "INVALID_ARGUMENT: {o:?}");
    // The contexts' own relay service and notifiche's ingest are internal: never routed.
    for method in [
        "occasionali.common.v1.OutboxInternalService/GetOutboxStatus",
        "occasionali.notifiche.v1.NotificheInternalService/IngestEvent",
    ] {
        let o = g.call(Some(&dg), method, &json!({})).await?;
        assert_ne!(o.code, 0, "{method} must not be reachable: {o:?}");
    }
    c.stop().await
}
