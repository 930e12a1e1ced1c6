//! POR-7: operators return a wrong F24 to the payer or transfer it to another wallet, never
//! taking what is reserved.

use occasionali_proto::portafoglio as pb;
use occasionali_runtime::testing::TestDb;
use tonic::Code;

use crate::common::*;

both_engines!(
    por_7_storno_return_never_below_reserved,
    por_7_storno_transfer_from_the_queue_and_between_wallets,
);

fn restituzione(request_id: &str, versamento: &str, importo: &str) -> pb::StornaVersamentoRequest {
    pb::StornaVersamentoRequest {
        request_id: request_id.into(),
        versamento_id: versamento.into(),
        destinazione: Some(pb::storna_versamento_request::Destinazione::Restituzione(
            pb::Restituzione { iban: IBAN.into() },
        )),
        importo: importo.into(),
        nota: "F24 con causale errata".into(),
    }
}

fn trasferimento(
    request_id: &str,
    versamento: &str,
    dest: pb::PortafoglioRef,
    importo: &str,
) -> pb::StornaVersamentoRequest {
    pb::StornaVersamentoRequest {
        request_id: request_id.into(),
        versamento_id: versamento.into(),
        destinazione: Some(pb::storna_versamento_request::Destinazione::Trasferimento(
            pb::Trasferimento {
                destinazione: Some(dest),
            },
        )),
        importo: importo.into(),
        nota: "CF errato nel modello F24".into(),
    }
}

async fn por_7_storno_return_never_below_reserved(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let u = persona_n(1);
    let p = persona_n(2).codice_fiscale;
    h.registra_lf(&u, roma()).await;
    let cf = &u.codice_fiscale;
    let v = h
        .paga("PPA-1", cf, LF, "100.00")
        .await
        .versamento
        .expect("versamento");
    h.riserva(riserva(
        "prest_1",
        cf,
        LF,
        &p,
        "2026-06-10",
        costo("56.00", "11.55", "1.75", "0.70", "70.00"),
    ))
    .await?;
    let s = rifiuto(
        h.c()
            .storna_versamento(h.op("RM").req(restituzione("s-1", &v.id, "")))
            .await,
        Code::FailedPrecondition,
        "POR-7",
    );
    assert_eq!(reason_of(&s), "POR_7_BELOW_RESERVED");
    assert_eq!(metadata_of(&s, "available"), "30.00");
    assert_eq!(metadata_of(&s, "needed"), "100.00");
    rifiuto(
        h.c()
            .storna_versamento(h.op("MI").req(restituzione("s-1", &v.id, "30.00")))
            .await,
        Code::PermissionDenied,
        "POR-7",
    );
    rifiuto(
        h.c()
            .storna_versamento(h.utilizzatore(cf).req(restituzione("s-1", &v.id, "30.00")))
            .await,
        Code::PermissionDenied,
        "POR-7",
    );
    let mut senza_nota = restituzione("s-1", &v.id, "30.00");
    senza_nota.nota = String::new();
    senza_nota.destinazione = None;
    invalid(
        h.c().storna_versamento(h.op("RM").req(senza_nota)).await,
        &["nota", "destinazione"],
        "POR-7",
    );
    let r = ok(h
        .c()
        .storna_versamento(h.op("RM").req(restituzione("s-1", &v.id, "30.00")))
        .await);
    let st = r.storno.expect("storno");
    assert_eq!(st.tipo, pb::TipoStorno::Restituzione as i32);
    assert_eq!(st.importo, "30.00");
    assert_eq!(st.operatore_cf, OP_RM);
    let dopo = r.versamento.expect("versamento");
    assert_eq!(dopo.importo_stornato, "30.00");
    assert_eq!(dopo.stato, pb::StatoVersamento::Accreditato as i32);
    // A retry is the same storno.
    let again = ok(h
        .c()
        .storna_versamento(h.op("RM").req(restituzione("s-1", &v.id, "30.00")))
        .await);
    assert_eq!(again.storno.expect("storno").id, st.id);
    rifiuto(
        h.c()
            .storna_versamento(h.op("RM").req(restituzione("s-1", &v.id, "10.00")))
            .await,
        Code::AlreadyExists,
        "POR-7",
    );
    assert_eq!(
        h.saldi(cf, LF).await,
        ("0.00".into(), "70.00".into(), "0.00".into(), "0.00".into())
    );
    assert_eq!(h.saldo_conto(pb::TipoConto::Restituzioni).await, "30.00");
    // Once the prestazione is revoked the rest can go back too; then nothing is left.
    ok(h.i()
        .release_funds(h.prestazioni().req(pb::ReleaseFundsRequest {
            prestazione_id: "prest_1".into(),
        }))
        .await);
    let fine = ok(h
        .c()
        .storna_versamento(h.dg().req(restituzione("s-2", &v.id, "")))
        .await);
    assert_eq!(fine.storno.expect("storno").importo, "70.00");
    assert_eq!(
        fine.versamento.expect("versamento").stato,
        pb::StatoVersamento::Restituito as i32
    );
    let s = rifiuto(
        h.c()
            .storna_versamento(h.dg().req(restituzione("s-3", &v.id, "1.00")))
            .await,
        Code::FailedPrecondition,
        "POR-7",
    );
    assert_eq!(reason_of(&s), "POR_7_NOTHING_LEFT");
    let eventi: Vec<pb::VersamentoStornato> = h.eventi("portafoglio.versamento.stornato").await;
    assert_eq!(eventi.len(), 2);
    h.fine().await;
    Ok(())
}

async fn por_7_storno_transfer_from_the_queue_and_between_wallets(t: &TestDb) -> anyhow::Result<()> {
    let h = Harness::start(t).await?;
    let giusto = persona_n(3);
    let sbagliato = persona_n(4);
    h.registra_lf(&giusto, roma()).await;
    h.registra_lf(&sbagliato, roma()).await;
    let (g, s) = (&giusto.codice_fiscale, &sbagliato.codice_fiscale);
    // An F24 with a mistyped CF waits in the queue; the operator moves it to the right wallet.
    let ignoto = cf_sconosciuto();
    h.importa(vec![f24("F24-Q", &ignoto, pb::CodiceTributo::Lifa, "40.00")])
        .await?;
    let queue = ok(h
        .c()
        .list_versamenti_non_abbinati(h.dg().req(pb::ListVersamentiNonAbbinatiRequest {
            page_size: 10,
            ..Default::default()
        }))
        .await)
    .versamenti;
    let q = &queue[0];
    // Not to someone who is not an utilizzatore of that type.
    let e = rifiuto(
        h.c()
            .storna_versamento(h.dg().req(trasferimento("t-0", &q.id, w(g, CPO), "")))
            .await,
        Code::FailedPrecondition,
        "POR-7",
    );
    assert_eq!(reason_of(&e), "POR_7_DESTINATION_NOT_UTILIZZATORE");
    let r = ok(h
        .c()
        .storna_versamento(h.dg().req(trasferimento("t-1", &q.id, w(g, LF), "")))
        .await);
    let v = r.versamento.expect("versamento");
    assert_eq!(v.stato, pb::StatoVersamento::Trasferito as i32);
    assert_eq!(v.portafoglio, Some(w(g, LF)));
    assert_eq!(
        v.modalita_abbinamento,
        pb::ModalitaAbbinamento::Trasferimento as i32
    );
    assert_eq!(h.saldi(g, LF).await.0, "40.00");
    assert_eq!(h.saldo_conto(pb::TipoConto::VersamentiNonAbbinati).await, "0.00");

    // A payment credited to the wrong wallet: part of it moves to the right one.
    let v2 = h
        .paga("PPA-2", s, LF, "60.00")
        .await
        .versamento
        .expect("versamento");
    rifiuto(
        h.c()
            .storna_versamento(h.op("RM").req(trasferimento("t-2", &v2.id, w(s, LF), "")))
            .await,
        Code::InvalidArgument,
        "POR-7",
    );
    let r = ok(h
        .c()
        .storna_versamento(h.op("RM").req(trasferimento("t-3", &v2.id, w(g, LF), "25.00")))
        .await);
    assert_eq!(r.versamento.expect("versamento").importo_stornato, "25.00");
    assert_eq!(h.saldi(g, LF).await.0, "65.00");
    assert_eq!(h.saldi(s, LF).await.0, "35.00");
    let e = rifiuto(
        h.c()
            .storna_versamento(h.op("RM").req(trasferimento("t-4", &v2.id, w(g, LF), "35.01")))
            .await,
        Code::FailedPrecondition,
        "POR-7",
    );
    assert_eq!(reason_of(&e), "POR_7_EXCEEDS_VERSAMENTO");
    // The destination's riepilogo shows both sums as deposits by transfer.
    let rg = h.riepilogo(g, LF).await;
    let importi: Vec<&str> = rg.versamenti.iter().map(|v| v.importo.as_str()).collect();
    assert_eq!(importi, vec!["40.00", "25.00"]);
    let eventi: Vec<pb::VersamentoAccreditato> = h.eventi("portafoglio.versamento.accreditato").await;
    let trasferiti: Vec<&str> = eventi
        .iter()
        .filter(|e| {
            e.versamento.as_ref().map(|v| v.modalita_abbinamento)
                == Some(pb::ModalitaAbbinamento::Trasferimento as i32)
        })
        .map(|e| e.importo.as_str())
        .collect();
    assert_eq!(trasferiti, vec!["40.00", "25.00"]);
    h.fine().await;
    Ok(())
}
