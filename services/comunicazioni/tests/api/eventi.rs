//! Every P, V and A is an outbox event (ComunicazioneInviata), written with the send.

use occasionali_proto::comunicazioni as pb;
use occasionali_runtime::testing::TestDb;

use crate::common::*;

both_engines!(every_p_v_and_a_is_an_outbox_event);

async fn every_p_v_and_a_is_an_outbox_event(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let p = h.inserisci(&a, preventiva("", lavoratore_n(1))).await;
    let mut r = variazione(&codice(&p), &p);
    r.rapporto.as_mut().unwrap().descrizione = "Variata".into();
    let v = h.varia(&a, r).await;
    let an = h.annulla(&a, &codice(&v)).await;
    let eventi = h.eventi().await;
    let got: Vec<(String, String, i32, String)> = eventi
        .iter()
        .map(|(topic, aggregate, e)| {
            let c = e.comunicazione.clone().unwrap();
            let d = invio(&c);
            (
                topic.clone(),
                aggregate.clone(),
                d.tipo,
                d.codice_comunicazione_precedente,
            )
        })
        .collect();
    let topic = "comunicazioni.comunicazione.inviata".to_string();
    use pb::TipoComunicazione as T;
    assert_eq!(
        got,
        [
            (topic.clone(), codice(&p), T::Preventiva as i32, String::new()),
            (topic.clone(), codice(&v), T::Variazione as i32, codice(&p)),
            (topic, codice(&an), T::Annullamento as i32, codice(&v)),
        ]
    );
    // The payload is the communication as sent.
    let sent = eventi[1].2.comunicazione.clone().unwrap();
    assert_eq!(sent.rapporto, v.rapporto);
    assert_eq!(sent.lavoratore, v.lavoratore);
    assert_eq!(sent.dati_invio, v.dati_invio);
    h.stop().await;
    Ok(())
}
