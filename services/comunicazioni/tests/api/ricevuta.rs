//! PDF receipts of P, V and A (LAO-10), streamed in chunks and read back with pdftotext.

use occasionali_runtime::testing::TestDb;

use crate::common::*;

both_engines!(
    lao_10_receipts_of_p_v_and_a_carry_every_field,
    lao_10_a_receipt_is_the_same_every_time,
);

/// pdftotext -layout may put runs of spaces between words; compare on single spaces.
fn compatto(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[track_caller]
fn contiene(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "{w:?} not in receipt:\n{text}");
    }
}

async fn lao_10_receipts_of_p_v_and_a_carry_every_field(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let w = lavoratore_extra_ue();
    let mut r = preventiva("", w.clone());
    {
        let ra = r.rapporto.as_mut().unwrap();
        ra.luoghi_lavoro
            .push(luogo("F205", "Piazza del Duomo 1", "20122"));
        // Enough workplaces for a receipt of several pages and several chunks.
        for i in 0..98 {
            ra.luoghi_lavoro
                .push(luogo("L219", &format!("Via Nizza {}", i + 2), "10126"));
        }
        ra.descrizione = format!(
            "Installazione e collaudo di macchinari. {}",
            "Dettagli tecnici. ".repeat(40)
        );
    }
    let p = h.inserisci(&a, r).await;
    let rp = h.ricevuta(&a, ricevuta_di(&codice(&p))).await?;
    assert_eq!(rp.content_type, "application/pdf");
    assert_eq!(rp.filename, format!("ricevuta_{}.pdf", codice(&p)));
    assert!(rp.pdf.starts_with(b"%PDF-"));
    assert!(rp.pdf.len() > 16 * 1024);
    assert_eq!(
        rp.chunks.len(),
        rp.pdf.len().div_ceil(16 * 1024),
        "{:?}",
        rp.chunks
    );
    assert!(rp.chunks.iter().all(|n| *n <= 16 * 1024));
    let text = compatto(&pdf_text(&rp.pdf));
    contiene(
        &text,
        &[
            &format!("Codice comunicazione: {}", codice(&p)),
            "Tipo comunicazione: P - Preventiva",
            "Data invio: 15/06/2026",
            "Inviata il: 15/06/2026 12:00:00",
            &format!("Codice fiscale compilatore: {PIVA}"),
            "E-mail compilatore: compilatore@example.it",
            // Committente
            PIVA,
            "Officine Meccaniche Lombarde SpA",
            "Via Torino 10, 20123 Milano (MI)",
            "amministrazione@oml.example.it",
            // Lavoratore
            &w.codice_fiscale,
            "Cognome: ALAOUI",
            "Nome: YOUSSEF",
            "Data di nascita: 04/03/1992",
            "Sesso: M",
            "Marocco (Z330)",
            "Cittadinanza: MA",
            "Permesso di soggiorno: n. I0123456",
            "questura di Milano",
            "Domicilio: Via Garibaldi 1, 20121 Milano (MI)",
            // Rapporto
            "Data inizio: 20/06/2026",
            "entro 15 giorni (fino al 05/07/2026)",
            "Compenso stimato: 1500.00 euro",
            "Installazione e collaudo di macchinari.",
            "Luoghi di lavoro: 100",
            "100: Via Nizza 99, 10126 Torino (TO)",
            "pagina 1 di 3",
            "Via dei Fori Imperiali 1, 00186 Roma (RM)",
            "Piazza del Duomo 1, 20122 Milano (MI)",
        ],
    );
    contiene(&text, &["Codice comunicazione precedente: -"]);

    let mut vr = variazione(&codice(&p), &p);
    vr.rapporto.as_mut().unwrap().compenso_stimato = "1750.50".into();
    let v = h.varia(&a, vr).await;
    let text = compatto(&pdf_text(&h.ricevuta(&a, ricevuta_di(&codice(&v))).await?.pdf));
    contiene(
        &text,
        &[
            &format!("Codice comunicazione: {}", codice(&v)),
            "Tipo comunicazione: V - Variazione",
            &format!("Codice comunicazione precedente: {}", codice(&p)),
            "Compenso stimato: 1750.50 euro",
        ],
    );

    h.alle("2026-06-19 08:15");
    let an = h.annulla(&a, &codice(&v)).await;
    let text = compatto(&pdf_text(&h.ricevuta(&a, ricevuta_di(&codice(&an))).await?.pdf));
    contiene(
        &text,
        &[
            &format!("Codice comunicazione: {}", codice(&an)),
            "Tipo comunicazione: A - Annullamento",
            &format!("Codice comunicazione precedente: {}", codice(&v)),
            "Data invio: 19/06/2026",
            "Inviata il: 19/06/2026 08:15:00",
            "Compenso stimato: 1750.50 euro",
            &w.codice_fiscale,
            "Data inizio: 20/06/2026",
        ],
    );
    // The P's receipt is still the P's, after its chain moved on.
    let again = h.ricevuta(&a, ricevuta_di(&codice(&p))).await?;
    assert_eq!(again.pdf, rp.pdf);
    h.stop().await;
    Ok(())
}

async fn lao_10_a_receipt_is_the_same_every_time(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let a = h.azienda(PIVA);
    let w = lavoratore_n(1);
    let mut r = preventiva("", w.clone());
    r.lavoratore.as_mut().unwrap().domicilio = Some(domicilio_estero("Z110", "Parigi"));
    let p = h.inserisci(&a, r).await;
    let x = h.ricevuta(&a, ricevuta_di(&codice(&p))).await?;
    h.clock.advance(chrono::Duration::days(3));
    let y = h.ricevuta(&h.dg(), ricevuta_di(&codice(&p))).await?;
    assert_eq!(x.pdf, y.pdf, "generated from stored data only");
    let text = compatto(&pdf_text(&x.pdf));
    contiene(
        &text,
        &[
            "Domicilio estero: Rue de Rivoli 10, Parigi, Francia (Z110)",
            "Documento di identità: Carta d'identità n. CA12345AB, rilasciato da Comune di Roma il 01/03/2021, scadenza 01/03/2031",
            "Luogo di nascita: Roma (RM) (H501)",
        ],
    );
    h.stop().await;
    Ok(())
}
