//! POR-2 deposits (F24 ELIDE/EP, pagoPA), idempotent per payment id, matched automatically;
//! POR-3 the unmatched queue and the abbinamento manuale.

use occasionali_kernel::Sesso;
use occasionali_proto::portafoglio as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    por_2_f24_credited_automatically_queued_or_discarded,
    por_2_pagopa_same_id_is_one_deposit,
    por_2_payments_come_only_from_the_feed,
    por_2_bad_pagopa_reports_every_field,
    por_2_a_day_in_batches_lists_its_first_discards_and_pages_them_all,
    por_3_queue_with_reason_and_sede_scope,
    por_3_manual_match_only_for_the_legal_representative,
    por_3_representative_payment_waits_in_the_company_sede,
    por_8_deposit_to_a_new_wallet_survives_restart_of_the_service,
);

async fn por_2_f24_credited_automatically_queued_or_discarded(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let famiglia = persona_n(1);
    let legale = persona("Bianchi", "Mario", "1970-03-04", Sesso::M);
    h.registra_lf(&famiglia, roma()).await;
    h.registra_azienda(PIVA, &legale.codice_fiscale, milano()).await;
    let p = &famiglia.codice_fiscale;
    let sconosciuto = cf_sconosciuto();
    let mut altro_importo = f24("F24-A", p, pb::CodiceTributo::Lifa, "100.01");
    altro_importo.anno = 2025;
    let mut malformato = f24("F24-BAD", "RSSMRA85T10A562X", pb::CodiceTributo::Lifa, "10.00");
    malformato.tipo = "F".into();
    let mut ep_sbagliato = f24_ep("F24-EP-BAD", PIVA, "10.00", "0013", "2026");
    ep_sbagliato.riferimento_b = "20X6".into();
    let esito = h
        .importa(vec![
            f24("F24-A", p, pb::CodiceTributo::Lifa, "100.00"),
            f24("F24-B", PIVA, pb::CodiceTributo::Cloc, "200.00"),
            f24("F24-A", p, pb::CodiceTributo::Lifa, "100.00"),
            altro_importo,
            malformato,
            f24_ep("F24-EP", PIVA, "49.63", "0005", "2026"),
            f24("F24-C", p, pb::CodiceTributo::Cloc, "30.00"),
            f24("F24-D", &sconosciuto, pb::CodiceTributo::Lifa, "40.00"),
            ep_sbagliato,
        ])
        .await?;
    assert_eq!(esito.numero_ricevuti, 9);
    assert_eq!(esito.numero_accreditati, 3, "{esito:?}");
    assert_eq!(
        esito.numero_duplicati, 2,
        "the same id twice is one deposit, whatever its content"
    );
    assert_eq!(esito.numero_non_abbinati, 2);
    assert_eq!(esito.numero_scartati, 2);
    let scartati: Vec<(i64, String)> = esito
        .scartati
        .iter()
        .map(|s| (s.posizione, s.id_pagamento.clone()))
        .collect();
    assert_eq!(scartati, vec![(4, "F24-BAD".into()), (8, "F24-EP-BAD".into())]);
    assert!(esito.scartati[0].motivo.contains("codice_fiscale_versante"));
    assert!(esito.scartati[0].motivo.contains("tipo"));
    assert!(esito.scartati[1].motivo.contains("riferimento_a"));
    assert!(esito.scartati[1].motivo.contains("riferimento_b"));

    assert_eq!(h.saldi(p, LF).await.0, "100.00");
    assert_eq!(h.saldi(PIVA, CPO).await.0, "249.63");
    assert_eq!(
        h.saldi(p, CPO).await.0,
        "0.00",
        "a LF utilizzatore has no CPO wallet"
    );
    let r = h.riepilogo(PIVA, CPO).await;
    assert_eq!(r.versamenti.len(), 2);
    let ep = r
        .versamenti
        .iter()
        .find(|v| v.id_pagamento == "F24-EP")
        .expect("ep");
    assert_eq!(ep.canale, pb::CanaleVersamento::F24Ep as i32);
    assert_eq!(
        (ep.riferimento_a.as_str(), ep.riferimento_b.as_str()),
        ("0005", "2026")
    );
    assert_eq!(
        ep.modalita_abbinamento,
        pb::ModalitaAbbinamento::Automatico as i32
    );
    assert_eq!(ep.sede, "MI");
    assert_eq!(h.saldo_conto(pb::TipoConto::VersamentiNonAbbinati).await, "70.00");
    assert_eq!(h.saldo_conto(pb::TipoConto::Incassi).await, "-419.63");

    // Importing again the whole stream credits nothing more.
    let again = h
        .importa(vec![
            f24("F24-A", p, pb::CodiceTributo::Lifa, "100.00"),
            f24("F24-B", PIVA, pb::CodiceTributo::Cloc, "200.00"),
        ])
        .await?;
    assert_eq!((again.numero_duplicati, again.numero_accreditati), (2, 0));
    assert_eq!(h.saldi(p, LF).await.0, "100.00");

    let eventi: Vec<pb::VersamentoAccreditato> = h.eventi("portafoglio.versamento.accreditato").await;
    assert_eq!(eventi.len(), 3);
    assert!(eventi.iter().any(|e| e.importo == "200.00"));
    h.fine().await;
    Ok(())
}

async fn por_2_pagopa_same_id_is_one_deposit(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(2);
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    let first = h.paga("PPA-1", cf, LF, "50.00").await;
    assert!(!first.duplicato);
    let v = first.versamento.expect("versamento");
    assert_eq!(v.stato, pb::StatoVersamento::Accreditato as i32);
    assert_eq!(v.canale, pb::CanaleVersamento::Pagopa as i32);
    assert!(v.id.starts_with("ver_"));
    let second = h.paga("PPA-1", cf, LF, "50.00").await;
    assert!(second.duplicato);
    assert_eq!(second.versamento.expect("versamento").id, v.id);
    // Same id, other content: still the first deposit, never a second credit.
    let third = h.paga("PPA-1", cf, LF, "70.00").await;
    assert!(third.duplicato);
    assert_eq!(third.versamento.expect("versamento").importo, "50.00");
    assert_eq!(h.saldi(cf, LF).await.0, "50.00");
    assert_eq!(h.movimenti(cf, LF).await.len(), 1);
    h.fine().await;
    Ok(())
}

/// A day of the feed (issue 12): records committed in batches with the same outcomes one by
/// one would give; the answer lists the first 1,000 discards, ListScartiImport all of them.
async fn por_2_a_day_in_batches_lists_its_first_discards_and_pages_them_all(
    t: &TestDb,
) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let famiglia = persona_n(5);
    h.registra_lf(&famiglia, roma()).await;
    let p = &famiglia.codice_fiscale;
    let sconosciuto = cf_sconosciuto();
    // Known before the day: a duplicate inside a batch.
    h.importa(vec![f24("F24-G-0", p, pb::CodiceTributo::Lifa, "1.00")])
        .await?;
    let mut records = Vec::new();
    for i in 0..600 {
        records.push(f24(&format!("F24-G-{i}"), p, pb::CodiceTributo::Lifa, "1.00"));
        records.push(f24(&format!("F24-S-{i}"), p, pb::CodiceTributo::Lifa, "abc"));
        records.push(f24(&format!("F24-T-{i}"), p, pb::CodiceTributo::Lifa, "abc"));
    }
    records.push(f24("F24-U", &sconosciuto, pb::CodiceTributo::Lifa, "5.00"));
    // A malformed record's megabytes are not kept: its id is cut to 64 characters.
    records.push(f24(&"X".repeat(10_000), p, pb::CodiceTributo::Lifa, "abc"));
    let esito = h.importa(records).await?;
    assert_eq!(
        (
            esito.numero_ricevuti,
            esito.numero_accreditati,
            esito.numero_duplicati,
            esito.numero_non_abbinati,
            esito.numero_scartati
        ),
        (1802, 599, 1, 1, 1201),
        "{:?}",
        (esito.numero_accreditati, esito.numero_duplicati)
    );
    assert_eq!(esito.scartati.len(), 1000, "the answer lists the first 1,000");
    assert!(esito.id_import.starts_with("imp_"), "{}", esito.id_import);
    assert_eq!(h.saldi(p, LF).await.0, "600.00");

    let mut tutti = Vec::new();
    let mut token = String::new();
    loop {
        let r = ok(h
            .c()
            .list_scarti_import(h.flusso().req(pb::ListScartiImportRequest {
                id_import: esito.id_import.clone(),
                page_size: 500,
                page_token: token.clone(),
            }))
            .await);
        assert!(r.scartati.len() <= 500);
        tutti.extend(r.scartati);
        if r.next_page_token.is_empty() {
            break;
        }
        token = r.next_page_token;
    }
    assert_eq!(tutti.len(), 1201);
    assert_eq!(tutti[..1000], esito.scartati[..]);
    assert!(tutti.windows(2).all(|w| w[0].posizione < w[1].posizione));
    assert_eq!(
        (tutti[1199].posizione, tutti[1199].id_pagamento.as_str()),
        (1799, "F24-T-599")
    );
    assert_eq!(tutti[1200].id_pagamento, "X".repeat(64));
    assert!(
        tutti.iter().all(|s| s.motivo.contains("importo")),
        "{:?}",
        tutti[0]
    );

    // The feed's business: not an operator's, not a person's.
    for who in [h.dg(), h.utilizzatore(p)] {
        rifiuto(
            h.c()
                .list_scarti_import(who.req(pb::ListScartiImportRequest {
                    id_import: esito.id_import.clone(),
                    ..Default::default()
                }))
                .await,
            Code::PermissionDenied,
            "POR-2",
        );
    }
    // Another import's id lists nothing; no id is a field error.
    let r = ok(h
        .c()
        .list_scarti_import(h.flusso().req(pb::ListScartiImportRequest {
            id_import: "imp_altro".into(),
            ..Default::default()
        }))
        .await);
    assert!(r.scartati.is_empty());
    let s = h
        .c()
        .list_scarti_import(h.flusso().req(pb::ListScartiImportRequest::default()))
        .await;
    assert_eq!(s.map(|_| ()).map_err(|s| s.code()), Err(Code::InvalidArgument));
    h.fine().await;
    Ok(())
}

async fn por_2_payments_come_only_from_the_feed(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(3);
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    // Never from a person: not the utilizzatore, not an operator of its sede, not DG.
    for who in [h.utilizzatore(cf), h.op("RM"), h.dg()] {
        let s = rifiuto(
            h.c()
                .notify_pago_pa(who.req(pagopa("PPA-X", cf, LF, "10.00")))
                .await,
            Code::PermissionDenied,
            "POR-2",
        );
        assert_eq!(reason_of(&s), "POR_2_FEED_ONLY");
        rifiuto(
            h.importa_come(&who, vec![f24("F24-X", cf, pb::CodiceTributo::Lifa, "10.00")])
                .await,
            Code::PermissionDenied,
            "POR-2",
        );
    }
    assert_eq!(h.movimenti(cf, LF).await.len(), 0);
    // The feed's own identity imports and notifies; so may the platform.
    let esito = h
        .importa_come(
            &h.flusso(),
            vec![f24("F24-Y", cf, pb::CodiceTributo::Lifa, "10.00")],
        )
        .await?;
    assert_eq!(esito.numero_accreditati, 1);
    ok(h.c()
        .notify_pago_pa(h.flusso().req(pagopa("PPA-Y", cf, LF, "5.00")))
        .await);
    ok(h.c()
        .notify_pago_pa(h.prestazioni().req(pagopa("PPA-Z", cf, LF, "5.00")))
        .await);
    assert_eq!(h.saldi(cf, LF).await.0, "20.00");
    h.fine().await;
    Ok(())
}

async fn por_2_bad_pagopa_reports_every_field(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let r = pb::NotifyPagoPaRequest {
        id_pagamento: " ".into(),
        iuv: String::new(),
        codice_fiscale_versante: "RSSMRA85T10A562X".into(),
        tipo_portafoglio: 0,
        importo: "10.001".into(),
        pagato_il: None,
    };
    invalid(
        h.c().notify_pago_pa(h.prestazioni().req(r)).await,
        &[
            "id_pagamento",
            "codice_fiscale_versante",
            "tipo_portafoglio",
            "importo",
        ],
        "POR-2",
    );
    let mut futuro = pagopa("PPA-F", &cf_sconosciuto(), LF, "10.00");
    futuro.pagato_il = Some(istante(ora() + chrono::Duration::days(2)));
    invalid(
        h.c().notify_pago_pa(h.prestazioni().req(futuro)).await,
        &["pagato_il"],
        "POR-2",
    );
    h.fine().await;
    Ok(())
}

fn coda(sede: &str) -> pb::ListVersamentiNonAbbinatiRequest {
    pb::ListVersamentiNonAbbinatiRequest {
        sede: sede.into(),
        page_size: 100,
        ..Default::default()
    }
}

async fn por_3_queue_with_reason_and_sede_scope(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let romano = persona_n(4);
    let milanese = persona_n(5);
    h.registra_lf(&romano, roma()).await;
    h.registra_lf(&milanese, milano()).await;
    let sconosciuto = cf_sconosciuto();
    let esito = h
        .importa(vec![
            f24("Q-1", &sconosciuto, pb::CodiceTributo::Lifa, "10.00"),
            f24("Q-2", &romano.codice_fiscale, pb::CodiceTributo::Cloc, "20.00"),
            f24("Q-3", &milanese.codice_fiscale, pb::CodiceTributo::Cloc, "30.00"),
        ])
        .await?;
    assert_eq!(esito.numero_non_abbinati, 3);

    let dg = ok(h.c().list_versamenti_non_abbinati(h.dg().req(coda(""))).await).versamenti;
    let ids: Vec<&str> = dg.iter().map(|v| v.id_pagamento.as_str()).collect();
    assert_eq!(
        ids,
        vec!["Q-1", "Q-2", "Q-3"],
        "DG sees the whole queue, oldest first"
    );
    assert_eq!(dg[0].sede, "", "an unknown payer has no sede: DG only");
    assert!(dg[0].nota_abbinamento.starts_with("POR_2_PAYER_NOT_REGISTERED"));
    assert_eq!(dg[1].sede, "RM");
    assert!(
        dg[1]
            .nota_abbinamento
            .starts_with("POR_2_PAYER_NOT_UTILIZZATORE_CPO")
    );
    assert!(
        dg.iter()
            .all(|v| v.stato == pb::StatoVersamento::NonAbbinato as i32)
    );

    let rm = ok(h.c().list_versamenti_non_abbinati(h.op("RM").req(coda(""))).await).versamenti;
    assert_eq!(rm.len(), 1);
    assert_eq!(rm[0].id_pagamento, "Q-2");
    let mi = ok(h
        .c()
        .list_versamenti_non_abbinati(h.op("MI").req(coda("MI")))
        .await)
    .versamenti;
    assert_eq!(mi.len(), 1);
    assert_eq!(mi[0].id_pagamento, "Q-3");
    rifiuto(
        h.c()
            .list_versamenti_non_abbinati(h.op("RM").req(coda("MI")))
            .await,
        Code::PermissionDenied,
        "POR-3",
    );
    let dg_rm = ok(h.c().list_versamenti_non_abbinati(h.dg().req(coda("rm"))).await).versamenti;
    assert_eq!(dg_rm.len(), 1);
    rifiuto(
        h.c()
            .list_versamenti_non_abbinati(h.utilizzatore(&romano.codice_fiscale).req(coda("")))
            .await,
        Code::PermissionDenied,
        "POR-3",
    );
    // Filters and pages.
    let mut f = coda("");
    f.codice_tributo = pb::CodiceTributo::Cloc as i32;
    f.page_size = 1;
    let p1 = ok(h.c().list_versamenti_non_abbinati(h.dg().req(f.clone())).await);
    assert_eq!(p1.versamenti[0].id_pagamento, "Q-2");
    f.page_token = p1.next_page_token;
    let p2 = ok(h.c().list_versamenti_non_abbinati(h.dg().req(f.clone())).await);
    assert_eq!(p2.versamenti[0].id_pagamento, "Q-3");
    f.codice_tributo = pb::CodiceTributo::Lifa as i32;
    rifiuto(
        h.c().list_versamenti_non_abbinati(h.dg().req(f)).await,
        Code::InvalidArgument,
        "POR-3",
    );
    h.fine().await;
    Ok(())
}

async fn por_3_manual_match_only_for_the_legal_representative(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    // The legal representative is not registered himself: his F24 waits in the queue.
    let legale = persona("Bianchi", "Mario", "1970-03-04", Sesso::M);
    let estraneo = persona("Verdi", "Anna", "1980-05-06", Sesso::F);
    h.registra_azienda(PIVA, &legale.codice_fiscale, roma()).await;
    h.importa(vec![
        f24("M-1", &legale.codice_fiscale, pb::CodiceTributo::Cloc, "120.00"),
        f24("M-2", &estraneo.codice_fiscale, pb::CodiceTributo::Cloc, "80.00"),
    ])
    .await?;
    let queue = ok(h.c().list_versamenti_non_abbinati(h.dg().req(coda(""))).await).versamenti;
    let v1 = queue
        .iter()
        .find(|v| v.id_pagamento == "M-1")
        .expect("M-1")
        .clone();
    let v2 = queue
        .iter()
        .find(|v| v.id_pagamento == "M-2")
        .expect("M-2")
        .clone();
    let abbina = |id: &str, nota: &str| pb::AbbinaVersamentoRequest {
        versamento_id: id.into(),
        utilizzatore_cf: PIVA.into(),
        nota: nota.into(),
    };
    invalid(
        h.c().abbina_versamento(h.dg().req(abbina(&v1.id, " "))).await,
        &["nota"],
        "POR-3",
    );
    // The payment waits in the sede of the company its payer represents (RM), not elsewhere.
    assert_eq!(v1.sede, "RM");
    rifiuto(
        h.c()
            .abbina_versamento(h.op("MI").req(abbina(&v1.id, "legale rappresentante")))
            .await,
        Code::PermissionDenied,
        "POR-3",
    );
    rifiuto(
        h.c()
            .abbina_versamento(h.utilizzatore(PIVA).req(abbina(&v1.id, "mio")))
            .await,
        Code::PermissionDenied,
        "POR-3",
    );
    let fatto = ok(h
        .c()
        .abbina_versamento(h.dg().req(abbina(&v1.id, "versante = legale rappresentante")))
        .await)
    .versamento
    .expect("versamento");
    assert_eq!(fatto.stato, pb::StatoVersamento::Accreditato as i32);
    assert_eq!(
        fatto.modalita_abbinamento,
        pb::ModalitaAbbinamento::Manuale as i32
    );
    assert_eq!(fatto.abbinato_da_cf, OP_DG);
    assert_eq!(fatto.nota_abbinamento, "versante = legale rappresentante");
    assert_eq!(fatto.sede, "RM");
    assert_eq!(fatto.portafoglio, Some(w(PIVA, CPO)));
    assert_eq!(h.saldi(PIVA, CPO).await.0, "120.00");
    // A retry answers the same and credits nothing more.
    let again = ok(h
        .c()
        .abbina_versamento(h.dg().req(abbina(&v1.id, "versante = legale rappresentante")))
        .await)
    .versamento
    .expect("versamento");
    assert_eq!(again.id, fatto.id);
    assert_eq!(h.saldi(PIVA, CPO).await.0, "120.00");
    // Anyone else's payment cannot be matched to the company.
    let s = rifiuto(
        h.c()
            .abbina_versamento(h.dg().req(abbina(&v2.id, "tentativo")))
            .await,
        Code::FailedPrecondition,
        "POR-3",
    );
    assert_eq!(reason_of(&s), "POR_3_PAYER_NOT_LEGAL_REPRESENTATIVE");
    let mut not_cpo = abbina(&v2.id, "x");
    not_cpo.utilizzatore_cf = estraneo.codice_fiscale.clone();
    let s = rifiuto(
        h.c().abbina_versamento(h.dg().req(not_cpo)).await,
        Code::FailedPrecondition,
        "POR-3",
    );
    assert_eq!(reason_of(&s), "POR_3_NOT_A_CPO_UTILIZZATORE");
    let rimasti = ok(h.c().list_versamenti_non_abbinati(h.dg().req(coda(""))).await).versamenti;
    assert_eq!(rimasti.len(), 1);
    assert_eq!(h.saldo_conto(pb::TipoConto::VersamentiNonAbbinati).await, "80.00");
    let eventi: Vec<pb::VersamentoAccreditato> = h.eventi("portafoglio.versamento.accreditato").await;
    assert_eq!(eventi.len(), 1);
    let missing = h
        .c()
        .abbina_versamento(h.dg().req(abbina("ver_nonexistent", "x")))
        .await;
    assert_eq!(missing.err().map(|s| s.code()), Some(Code::NotFound));
    h.fine().await;
    Ok(())
}

async fn por_8_deposit_to_a_new_wallet_survives_restart_of_the_service(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(6);
    h.registra_lf(&u, roma()).await;
    h.paga("PPA-R", &u.codice_fiscale, LF, "25.00").await;
    h.fine().await;
    // A new service on the same database sees the acknowledged deposit.
    let h = Harness::start(t).await?;
    assert_eq!(h.saldi(&u.codice_fiscale, LF).await.0, "25.00");
    h.fine().await;
    Ok(())
}

/// POR-3: an F24 paid by a company's legal representative waits in the queue of the sede of the
/// company the payer represents (of every company, when several), never in the payer's own
/// sede as a registered person, nor in DG's only because the payer is not registered.
async fn por_3_representative_payment_waits_in_the_company_sede(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    // Unregistered representative of a Rome company.
    let anonimo = persona("Bianchi", "Mario", "1970-03-04", Sesso::M);
    h.registra_azienda(PIVA, &anonimo.codice_fiscale, roma()).await;
    // A representative registered as a prestatore in Milan, of a Rome company.
    let milanese = persona("Brambilla", "Luca", "1972-01-02", Sesso::M);
    let r = occasionali_proto::anagrafica::RegisterPrestatoreRequest {
        persona: Some(milanese.clone()),
        domicilio: Some(milano()),
        contatti: Some(contatti()),
        metodo_pagamento: Some(conto(IBAN)),
        ..Default::default()
    };
    ok(h.a()
        .register_prestatore(h.prestatore(&milanese.codice_fiscale).req(r))
        .await);
    h.registra_azienda("01234567897", &milanese.codice_fiscale, roma())
        .await;
    // A representative of two companies, in Rome and in Milan.
    let doppio = persona("Verdi", "Anna", "1980-05-06", Sesso::F);
    h.registra_azienda("02345678904", &doppio.codice_fiscale, roma())
        .await;
    h.registra_azienda("03456789019", &doppio.codice_fiscale, milano())
        .await;
    h.importa(vec![
        f24("R-1", &anonimo.codice_fiscale, pb::CodiceTributo::Cloc, "10.00"),
        f24("R-2", &milanese.codice_fiscale, pb::CodiceTributo::Cloc, "20.00"),
        f24("R-3", &doppio.codice_fiscale, pb::CodiceTributo::Cloc, "30.00"),
    ])
    .await?;
    let ids = |v: &[pb::Versamento]| {
        let mut ids: Vec<String> = v.iter().map(|v| v.id_pagamento.clone()).collect();
        ids.sort();
        ids
    };
    let dg = ok(h.c().list_versamenti_non_abbinati(h.dg().req(coda(""))).await).versamenti;
    let sede = |id: &str| dg.iter().find(|v| v.id_pagamento == id).map(|v| v.sede.clone());
    assert_eq!(sede("R-1").as_deref(), Some("RM"), "{dg:?}");
    assert_eq!(sede("R-2").as_deref(), Some("RM"), "{dg:?}");
    assert_eq!(sede("R-3").as_deref(), Some("MI,RM"), "{dg:?}");
    let rm = ok(h.c().list_versamenti_non_abbinati(h.op("RM").req(coda(""))).await).versamenti;
    assert_eq!(ids(&rm), ["R-1", "R-2", "R-3"]);
    let mi = ok(h.c().list_versamenti_non_abbinati(h.op("MI").req(coda(""))).await).versamenti;
    assert_eq!(ids(&mi), ["R-3"]);
    let id_di = |p: &str| {
        dg.iter()
            .find(|v| v.id_pagamento == p)
            .map(|v| v.id.clone())
            .unwrap_or_default()
    };
    let abbina = |id: String, cf: &str| pb::AbbinaVersamentoRequest {
        versamento_id: id,
        utilizzatore_cf: cf.into(),
        nota: "versante = legale rappresentante".into(),
    };
    // The Milan operator cannot match the Rome company's payment of a Milan resident ...
    rifiuto(
        h.c()
            .abbina_versamento(h.op("MI").req(abbina(id_di("R-2"), "01234567897")))
            .await,
        Code::PermissionDenied,
        "POR-3",
    );
    // ... the Rome operator can, and the unregistered representative's too.
    for (p, cf) in [("R-2", "01234567897"), ("R-1", PIVA)] {
        let v = ok(h
            .c()
            .abbina_versamento(h.op("RM").req(abbina(id_di(p), cf)))
            .await)
        .versamento
        .expect("versamento");
        assert_eq!(v.stato, pb::StatoVersamento::Accreditato as i32);
        assert_eq!(v.sede, "RM");
    }
    // Several companies: either sede's operator may match it, to a company of its own sede.
    rifiuto(
        h.c()
            .abbina_versamento(h.op("MI").req(abbina(id_di("R-3"), "02345678904")))
            .await,
        Code::PermissionDenied,
        "POR-3",
    );
    let v = ok(h
        .c()
        .abbina_versamento(h.op("MI").req(abbina(id_di("R-3"), "03456789019")))
        .await)
    .versamento
    .expect("versamento");
    assert_eq!(v.sede, "MI");
    verifica_libro(&h).await;
    h.fine().await;
    Ok(())
}
