//! Data that survives (issue 14, points 5 and 6), on the real PostgreSQL server
//! (`OCCASIONALI_TEST_PG`; skipped with the reason printed otherwise):
//! - the restore rehearsal: money through the cluster, every context's database dumped with
//!   `pg_dump -Fc` while it serves, restored with `pg_restore` into fresh databases, a cluster
//!   started on those (checking, not migrating, the schema), and through the API the ledger
//!   balanced and the balances as before; the relay's backlog drains there;
//! - the services' role with data rights only (`database.runtime_role`, granted by `occasionali
//!   migrate`) runs the normal operations and can neither create, alter nor drop a table;
//! - with `database.migrate_on_start` off, a context refuses to start on pending migrations.
//!
//! docs/runbook.md ("Restore") describes the same procedures on the production cluster, and
//! k8s/restore/restore-check.sh, the operator's version of the rehearsal, is run here too.

use std::path::Path;
use std::time::{Duration, Instant};

use occasionali_e2e::Cluster;
use occasionali_e2e::basi::Basi;
use occasionali_runtime::config::Config;
use occasionali_runtime::context::Context;
use occasionali_runtime::identity::Profile;
use occasionali_runtime::testing::pg_server_url;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

use crate::persona;

const ANA: &str = "occasionali.anagrafica.v1.AnagraficaService";
const POR: &str = "occasionali.portafoglio.v1.PortafoglioService";
const PRE: &str = "occasionali.prestazioni.v1.PrestazioniService";
const AZIENDA: &str = "00743110157";

fn server_or_skip(test: &str) -> Option<String> {
    let server = pg_server_url();
    if server.is_none() {
        eprintln!("{test}: skipped: set OCCASIONALI_TEST_PG to run on PostgreSQL");
    }
    server
}

fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-06-10T10:00:00+02:00")
        .unwrap()
        .to_utc()
}

/// What the money looks like from outside: the company's wallet and the ledger.
#[derive(Debug, PartialEq)]
struct Saldi {
    disponibile: Value,
    totale_ledger: Value,
    prestazioni: Value,
}

/// A company funds its CPO wallet through the payments feed and charges two prestazioni to a
/// worker: money in the ledger, outbox messages through the relay, a saga across contexts.
async fn movimenta(c: &Cluster) -> anyhow::Result<()> {
    let g = c.grpcurl();
    let azienda = c.token(Profile::Azienda, AZIENDA, None)?;
    let anna = persona("Bianchi", "Anna", "1975-08-30", true, "F205");
    let mario = persona("Rossi", "Mario", "1999-04-12", false, "H501");
    let o = g
        .call(
            Some(&azienda),
            &format!("{ANA}/RegisterUtilizzatore"),
            &json!({"tipo": "TIPO_UTILIZZATORE_CPO",
                    "organizzazione": {"codice_fiscale": AZIENDA, "denominazione": "Trattoria da Anna srl", "legale_rappresentante_cf": anna.cf},
                    "domicilio": {"comune": "F205", "indirizzo": "Corso Como 1", "cap": "20154"},
                    "categoria": "CATEGORIA_UTILIZZATORE_IMPRESA", "ateco": "56.10.11", "dipendenti_tempo_indeterminato": 3}),
        )
        .await?;
    anyhow::ensure!(o.code == 0, "RegisterUtilizzatore: {o:?}");
    let t_mario = c.token(Profile::Prestatore, &mario.cf, None)?;
    let o = g
        .call(
            Some(&t_mario),
            &format!("{ANA}/RegisterPrestatore"),
            &json!({"persona": mario.json(), "domicilio": {"comune": "H501", "indirizzo": "Via Appia 10", "cap": "00179"},
                    "metodo_pagamento": {"tipo": "TIPO_METODO_PAGAMENTO_CONTO_CORRENTE", "iban": "IT60X0542811101000000123456"}}),
        )
        .await?;
    anyhow::ensure!(o.code == 0, "RegisterPrestatore: {o:?}");
    let flusso = c.token(Profile::FlussoPagamenti, "AGENZIA-ENTRATE", None)?;
    let f24 = json!({"record": {"id_pagamento": "F24-DATI-1", "modello": "MODELLO_F24_ELIDE", "codice_fiscale_versante": AZIENDA,
        "tipo": "I", "codice_tributo": "CODICE_TRIBUTO_CLOC", "anno": 2026, "importo": "500.00", "data_versamento": "2026-06-09"}});
    let o = g.call(Some(&flusso), &format!("{POR}/ImportF24"), &f24).await?;
    anyhow::ensure!(o.code == 0, "ImportF24: {o:?}");
    // Friday 12 and Monday 15 June, 09:00–13:00 Rome: four hours at the daily minimum (PRE-3).
    for (id, inizio, fine) in [
        ("dati-1", "2026-06-12T07:00:00Z", "2026-06-12T11:00:00Z"),
        ("dati-2", "2026-06-15T07:00:00Z", "2026-06-15T11:00:00Z"),
    ] {
        let prestazione = json!({"tipo": "TIPO_PRESTAZIONE_CPO", "utilizzatore_cf": AZIENDA, "prestatore_cf": mario.cf,
            "luogo": {"comune": "F205", "indirizzo": "Corso Como 1"},
            "cpo": {"descrizione": "servizio ai tavoli", "inizio": inizio, "fine": fine},
            "compenso": "36.00", "dichiarazioni": {"appalto": false, "rapporto_lavoro_recente": false}});
        let o = g
            .call(
                Some(&azienda),
                &format!("{PRE}/InsertPrestazione"),
                &json!({"request_id": id, "prestazione": prestazione}),
            )
            .await?;
        anyhow::ensure!(o.code == 0, "InsertPrestazione: {o:?}");
        let stato = o.json()?["prestazione"]["stato"].clone();
        anyhow::ensure!(stato == "STATO_PRESTAZIONE_ACCEPTED", "{o:?}");
    }
    Ok(())
}

/// The balances as a client reads them; fails unless the ledger is balanced (POR-1).
async fn saldi(c: &Cluster) -> anyhow::Result<Saldi> {
    let g = c.grpcurl();
    let azienda = c.token(Profile::Azienda, AZIENDA, None)?;
    let dg = c.token(Profile::OperatoreDg, "DGXOPR70A01H501Z", None)?;
    let o = g
        .call(
            Some(&azienda),
            &format!("{POR}/GetRiepilogo"),
            &json!({"portafoglio": {"utilizzatore_cf": AZIENDA, "tipo": "TIPO_PORTAFOGLIO_CPO"}, "anno": 2026}),
        )
        .await?;
    anyhow::ensure!(o.code == 0, "GetRiepilogo: {o:?}");
    let disponibile = o.json()?["riepilogo"]["disponibile"].clone();
    let o = g
        .call(Some(&dg), &format!("{POR}/GetLedgerBalance"), &json!({}))
        .await?;
    anyhow::ensure!(o.code == 0, "GetLedgerBalance: {o:?}");
    let ledger = o.json()?;
    anyhow::ensure!(
        ledger["bilanciato"] == true,
        "the ledger is not balanced: {ledger}"
    );
    let o = g
        .call(
            Some(&azienda),
            &format!("{PRE}/ListPrestazioni"),
            &json!({"utilizzatore_cf": AZIENDA}),
        )
        .await?;
    anyhow::ensure!(o.code == 0, "ListPrestazioni: {o:?}");
    let mut ids: Vec<String> = o.json()?["prestazioni"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    Ok(Saldi {
        disponibile,
        totale_ledger: ledger["totale"].clone(),
        prestazioni: json!(ids),
    })
}

/// Runs a PostgreSQL client tool (pg_dump, pg_restore), failing with what it printed.
fn strumento(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|e| anyhow::anyhow!("running {program} (Debian package postgresql-client): {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

async fn connetti(url: &str) -> anyhow::Result<DatabaseConnection> {
    occasionali_runtime::db::connect_with(url, &occasionali_runtime::db::PoolSettings::migrations()).await
}

/// Messages every context's outbox still has to deliver.
async fn arretrato(basi: &Basi) -> anyhow::Result<i64> {
    let mut totale = 0;
    for ctx in Context::ALL {
        let db = connetti(&basi.url(ctx)).await?;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) AS n FROM outbox WHERE delivered_at_ms IS NULL AND failed_at_ms IS NULL",
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no count"))?;
        totale += row.try_get::<i64>("", "n")?;
        db.close().await?;
    }
    Ok(totale)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dump_restored_into_fresh_databases_keeps_the_ledger_balanced() -> anyhow::Result<()> {
    let Some(server) = server_or_skip("restore rehearsal") else {
        return Ok(());
    };
    let originali = Basi::crea(&server, "occ_backup").await?;
    let c = Cluster::start_with(Some(start()), |cfg| originali.configura(cfg)).await?;
    c.wait_all_serving().await?;
    movimenta(&c).await?;
    let prima = saldi(&c).await?;
    assert_eq!(
        prima.disponibile, "400.74",
        "500.00 less two prestazioni with their contributions: {prima:?}"
    );

    // The backup, taken while the cluster serves (pg_dump reads one consistent snapshot).
    let dir = std::env::temp_dir().join(format!("occasionali-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    for ctx in Context::ALL {
        let file = dir.join(format!("{}.dump", ctx.name()));
        strumento(
            "pg_dump",
            &["-Fc", "--no-owner", "-d", &originali.url(ctx), "-f", path(&file)?],
        )?;
    }
    c.stop().await?;
    // The operator's script, on the same databases: its own dump, restore and checks.
    restore_check(&server, &originali)?;
    originali.elimina().await?;

    // The restore, into fresh databases that never saw the cluster.
    let ripristinate = Basi::crea(&server, "occ_restore").await?;
    for ctx in Context::ALL {
        let file = dir.join(format!("{}.dump", ctx.name()));
        strumento(
            "pg_restore",
            &[
                "--no-owner",
                "--exit-on-error",
                "-d",
                &ripristinate.url(ctx),
                path(&file)?,
            ],
        )?;
    }
    std::fs::remove_dir_all(&dir)?;
    // The restored schema must be this binary's as it is: checked, not migrated.
    let c = Cluster::start_with(Some(start()), |cfg| {
        ripristinate.configura(cfg);
        cfg.database.migrate_on_start = false;
    })
    .await?;
    c.wait_all_serving().await?;
    let dopo = saldi(&c).await?;
    assert_eq!(dopo, prima, "the balances after the restore");
    // The relay resumes from the restored outboxes: what was waiting is delivered.
    let inizio = Instant::now();
    loop {
        let n = arretrato(&ripristinate).await?;
        if n == 0 {
            break;
        }
        assert!(
            inizio.elapsed() < Duration::from_secs(30),
            "{n} outbox messages still undelivered 30 s after the restore"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    c.stop().await?;
    ripristinate.elimina().await
}

/// k8s/restore/restore-check.sh from `basi` to fresh databases of the same server.
fn restore_check(server: &str, basi: &Basi) -> anyhow::Result<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../k8s/restore/restore-check.sh");
    let anagrafica = basi.url(Context::Anagrafica);
    let pattern = anagrafica
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replacen("_anagrafica_", "_%s_", 1);
    // Ports of its own: a block of ten below the ephemeral range, by process.
    let port_base = 10_000 + (std::process::id() % 2_000) * 10;
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args([server, server])
        .env("OCCASIONALI_BIN", occasionali_e2e::occasionali_binary()?)
        .env("SOURCE_DB", pattern)
        .env("PORT_BASE", port_base.to_string())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success() && stdout.contains("RESTORE CHECK OK") && stdout.contains("bilanciato"),
        "restore-check.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn path(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow::anyhow!("not UTF-8: {}", p.display()))
}

/// `server` (a URL without database) with `user:password` instead of its credentials.
fn come(server: &str, user: &str, password: &str) -> anyhow::Result<String> {
    let (scheme, rest) = server
        .split_once("://")
        .ok_or_else(|| anyhow::anyhow!("not a URL: {server}"))?;
    let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    Ok(format!("{scheme}://{user}:{password}@{host}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_services_run_with_data_rights_only() -> anyhow::Result<()> {
    let Some(server) = server_or_skip("DML-only runtime role") else {
        return Ok(());
    };
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_micros();
    let role = format!("occ_dml_{}_{stamp}", std::process::id());
    let password = format!("pw{stamp}");
    let admin = connetti(&format!("{server}/postgres")).await?;
    admin
        .execute_unprepared(&format!(
            "CREATE ROLE {role} LOGIN PASSWORD '{password}' NOSUPERUSER NOCREATEDB NOCREATEROLE"
        ))
        .await?;
    let basi = Basi::crea(&server, "occ_dml").await?;
    let esito = dml_only(&server, &basi, &role, &password).await;
    basi.elimina().await?;
    // Its privileges went with the databases.
    admin.execute_unprepared(&format!("DROP ROLE {role}")).await?;
    admin.close().await?;
    esito
}

async fn dml_only(server: &str, basi: &Basi, role: &str, password: &str) -> anyhow::Result<()> {
    // The init container: `occasionali migrate` as the owner, granting the runtime role.
    let mut owner = Config::default();
    basi.configura(&mut owner);
    owner.database.runtime_role = Some(role.to_string());
    for ctx in Context::ALL {
        occasionali::migrate(&owner, ctx).await?;
    }
    // Errors return (never panic) so the caller drops the role, which outlives the databases.
    // The services: the runtime role, no migration on start.
    let runtime_server = come(server, role, password)?;
    let c = Cluster::start_with(Some(start()), |cfg| {
        for ctx in Context::ALL {
            let name = basi.url(ctx);
            let db = name.rsplit('/').next().unwrap_or_default();
            cfg.services.entry(ctx).or_default().database_url = Some(format!("{runtime_server}/{db}"));
        }
        cfg.database.migrate_on_start = false;
    })
    .await?;
    c.wait_all_serving().await?;
    movimenta(&c).await?;
    let s = saldi(&c).await?;
    anyhow::ensure!(s.disponibile == "400.74", "{s:?}");
    c.stop().await?;

    // A table a later migration creates (as the owner, who made the grants) is the runtime
    // role's to use at once: the default privileges cover it.
    let owner_db = connetti(&basi.url(Context::Portafoglio)).await?;
    owner_db
        .execute_unprepared("CREATE TABLE migrazione_futura (id integer)")
        .await?;
    owner_db.close().await?;

    // And nothing beyond data: no table created, altered or dropped.
    let db_name = basi.url(Context::Portafoglio);
    let db_name = db_name.rsplit('/').next().unwrap_or_default();
    let db = connetti(&format!("{runtime_server}/{db_name}")).await?;
    db.execute_unprepared("INSERT INTO migrazione_futura VALUES (1)")
        .await
        .map_err(|e| anyhow::anyhow!("a later migration's table is not the runtime role's: {e}"))?;
    for ddl in [
        "CREATE TABLE intrusa (id integer)",
        "ALTER TABLE outbox ADD COLUMN intrusa integer",
        "DROP TABLE outbox",
        "CREATE INDEX intrusa ON outbox (id)",
        "TRUNCATE outbox",
    ] {
        let Err(e) = db.execute_unprepared(ddl).await else {
            anyhow::bail!("the runtime role could run {ddl:?}");
        };
        let e = e.to_string();
        anyhow::ensure!(
            e.contains("permission denied") || e.contains("must be owner"),
            "{ddl}: {e}"
        );
    }
    db.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_migrate_on_start_pending_migrations_stop_the_start() -> anyhow::Result<()> {
    let Some(server) = server_or_skip("pending migrations refused") else {
        return Ok(());
    };
    let basi = Basi::crea(&server, "occ_pending").await?;
    let esito = Cluster::start_with(Some(start()), |cfg| {
        basi.configura(cfg);
        cfg.database.migrate_on_start = false;
    })
    .await;
    let e = match esito {
        Ok(c) => {
            c.stop().await?;
            panic!("a cluster started on databases never migrated");
        }
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("pending migration"), "{e}");
    assert!(
        e.contains("occasionali migrate"),
        "the message says what to do: {e}"
    );
    // Nothing was created by the check either.
    let db = connetti(&basi.url(Context::Portafoglio)).await?;
    let tables = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no count"))?
        .try_get::<i64>("", "n")?;
    assert_eq!(tables, 0);
    db.close().await?;
    basi.elimina().await
}
